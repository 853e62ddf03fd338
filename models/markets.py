"""Ticketmaster's major US markets (``marketId``): the default discovery markets, by name
(docs/upstream-apis.md). Geographic trending ranks every market a venue carries; these are the
ones it names."""

from __future__ import annotations

from typing import Final

__all__ = ["MARKET_NAMES"]

MARKET_NAMES: Final[dict[int, str]] = {
    3: "Chicagoland & Northern IL",
    5: "Dallas - Fort Worth & More",
    6: "Denver & More",
    7: "Detroit, Toledo & More",
    10: "Atlanta & More",
    11: "Boston & More",
    14: "Las Vegas & More",
    15: "South Florida",
    16: "Minneapolis/St. Paul & More",
    18: "Philadelphia & Surrounding (Incl. Wilmington DE)",
    20: "San Diego",
    22: "Houston & More",
    27: "Los Angeles",
    31: "Nashville & More",
    35: "New York/Tri-State Area",
    36: "Phoenix & Tucson",
    37: "Portland & More",
    40: "San Antonio & Austin",
    41: "N. California/N. Nevada",
    42: "Seattle & More",
    47: "Greater Washington Area",
}
