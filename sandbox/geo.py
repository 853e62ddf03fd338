"""The 21 major US Ticketmaster markets and real cities in each, for the sandbox catalogue."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MARKETS", "STATE_NAMES", "City", "Market"]


@dataclass(frozen=True, slots=True)
class City:
    name: str
    state_code: str
    latitude: float
    longitude: float
    postal_prefix: str
    timezone: str


@dataclass(frozen=True, slots=True)
class Market:
    id: int
    name: str
    dma_id: int
    cities: tuple[City, ...]


STATE_NAMES: dict[str, str] = {
    "AZ": "Arizona",
    "CA": "California",
    "CO": "Colorado",
    "DC": "District of Columbia",
    "DE": "Delaware",
    "FL": "Florida",
    "GA": "Georgia",
    "IL": "Illinois",
    "MA": "Massachusetts",
    "MD": "Maryland",
    "MI": "Michigan",
    "MN": "Minnesota",
    "NJ": "New Jersey",
    "NV": "Nevada",
    "NY": "New York",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "TN": "Tennessee",
    "TX": "Texas",
    "VA": "Virginia",
    "WA": "Washington",
}

_CHI = "America/Chicago"
_NYC = "America/New_York"
_LAX = "America/Los_Angeles"
_DEN = "America/Denver"

MARKETS: tuple[Market, ...] = (
    Market(
        3,
        "Chicagoland & Northern IL",
        249,
        (
            City("Chicago", "IL", 41.8781, -87.6298, "606", _CHI),
            City("Rosemont", "IL", 41.9953, -87.8845, "600", _CHI),
            City("Evanston", "IL", 42.0451, -87.6877, "602", _CHI),
        ),
    ),
    Market(
        5,
        "Dallas - Fort Worth & More",
        261,
        (
            City("Dallas", "TX", 32.7767, -96.7970, "752", _CHI),
            City("Fort Worth", "TX", 32.7555, -97.3308, "761", _CHI),
            City("Irving", "TX", 32.8140, -96.9489, "750", _CHI),
        ),
    ),
    Market(
        6,
        "Denver & More",
        264,
        (
            City("Denver", "CO", 39.7392, -104.9903, "802", _DEN),
            City("Morrison", "CO", 39.6536, -105.1911, "804", _DEN),
            City("Englewood", "CO", 39.6478, -104.9878, "801", _DEN),
        ),
    ),
    Market(
        7,
        "Detroit, Toledo & More",
        266,
        (
            City("Detroit", "MI", 42.3314, -83.0458, "482", "America/Detroit"),
            City("Clarkston", "MI", 42.7359, -83.4188, "483", "America/Detroit"),
            City("Sterling Heights", "MI", 42.5803, -83.0302, "483", "America/Detroit"),
        ),
    ),
    Market(
        10,
        "Atlanta & More",
        212,
        (
            City("Atlanta", "GA", 33.7490, -84.3880, "303", _NYC),
            City("Alpharetta", "GA", 34.0754, -84.2941, "300", _NYC),
            City("Duluth", "GA", 34.0029, -84.1446, "300", _NYC),
        ),
    ),
    Market(
        11,
        "Boston & More",
        222,
        (
            City("Boston", "MA", 42.3601, -71.0589, "021", _NYC),
            City("Mansfield", "MA", 42.0334, -71.2190, "020", _NYC),
            City("Worcester", "MA", 42.2626, -71.8023, "016", _NYC),
        ),
    ),
    Market(
        14,
        "Las Vegas & More",
        319,
        (
            City("Las Vegas", "NV", 36.1699, -115.1398, "891", _LAX),
            City("Henderson", "NV", 36.0395, -114.9817, "890", _LAX),
        ),
    ),
    Market(
        15,
        "South Florida",
        334,
        (
            City("Miami", "FL", 25.7617, -80.1918, "331", _NYC),
            City("Fort Lauderdale", "FL", 26.1224, -80.1373, "333", _NYC),
            City("West Palm Beach", "FL", 26.7153, -80.0534, "334", _NYC),
        ),
    ),
    Market(
        16,
        "Minneapolis/St. Paul & More",
        336,
        (
            City("Minneapolis", "MN", 44.9778, -93.2650, "554", _CHI),
            City("St. Paul", "MN", 44.9537, -93.0900, "551", _CHI),
        ),
    ),
    Market(
        18,
        "Philadelphia & Surrounding (Incl. Wilmington DE)",
        358,
        (
            City("Philadelphia", "PA", 39.9526, -75.1652, "191", _NYC),
            City("Camden", "NJ", 39.9259, -75.1196, "081", _NYC),
            City("Wilmington", "DE", 39.7391, -75.5398, "198", _NYC),
        ),
    ),
    Market(
        20,
        "San Diego",
        382,
        (
            City("San Diego", "CA", 32.7157, -117.1611, "921", _LAX),
            City("Chula Vista", "CA", 32.6401, -117.0842, "919", _LAX),
            City("Del Mar", "CA", 32.9595, -117.2653, "920", _LAX),
        ),
    ),
    Market(
        22,
        "Houston & More",
        300,
        (
            City("Houston", "TX", 29.7604, -95.3698, "770", _CHI),
            City("The Woodlands", "TX", 30.1658, -95.4613, "773", _CHI),
            City("Sugar Land", "TX", 29.6197, -95.6349, "774", _CHI),
        ),
    ),
    Market(
        27,
        "Los Angeles",
        324,
        (
            City("Los Angeles", "CA", 34.0522, -118.2437, "900", _LAX),
            City("Inglewood", "CA", 33.9617, -118.3531, "903", _LAX),
            City("Anaheim", "CA", 33.8366, -117.9143, "928", _LAX),
            City("Pasadena", "CA", 34.1478, -118.1445, "911", _LAX),
        ),
    ),
    Market(
        31,
        "Nashville & More",
        343,
        (
            City("Nashville", "TN", 36.1627, -86.7816, "372", _CHI),
            City("Franklin", "TN", 35.9251, -86.8689, "370", _CHI),
        ),
    ),
    Market(
        35,
        "New York/Tri-State Area",
        345,
        (
            City("New York", "NY", 40.7128, -74.0060, "100", _NYC),
            City("Brooklyn", "NY", 40.6782, -73.9442, "112", _NYC),
            City("Newark", "NJ", 40.7357, -74.1724, "071", _NYC),
            City("Port Chester", "NY", 41.0018, -73.6657, "105", _NYC),
        ),
    ),
    Market(
        36,
        "Phoenix & Tucson",
        359,
        (
            City("Phoenix", "AZ", 33.4484, -112.0740, "850", "America/Phoenix"),
            City("Tempe", "AZ", 33.4255, -111.9400, "852", "America/Phoenix"),
            City("Glendale", "AZ", 33.5387, -112.1860, "853", "America/Phoenix"),
        ),
    ),
    Market(
        37,
        "Portland & More",
        368,
        (
            City("Portland", "OR", 45.5152, -122.6784, "972", _LAX),
            City("Eugene", "OR", 44.0521, -123.0868, "974", _LAX),
        ),
    ),
    Market(
        40,
        "San Antonio & Austin",
        381,
        (
            City("Austin", "TX", 30.2672, -97.7431, "787", _CHI),
            City("San Antonio", "TX", 29.4241, -98.4936, "782", _CHI),
        ),
    ),
    Market(
        41,
        "N. California/N. Nevada",
        383,
        (
            City("San Francisco", "CA", 37.7749, -122.4194, "941", _LAX),
            City("Oakland", "CA", 37.8044, -122.2712, "946", _LAX),
            City("Berkeley", "CA", 37.8715, -122.2730, "947", _LAX),
            City("San Jose", "CA", 37.3382, -121.8863, "951", _LAX),
            City("Sacramento", "CA", 38.5816, -121.4944, "958", _LAX),
        ),
    ),
    Market(
        42,
        "Seattle & More",
        385,
        (
            City("Seattle", "WA", 47.6062, -122.3321, "981", _LAX),
            City("Tacoma", "WA", 47.2529, -122.4443, "984", _LAX),
            City("Woodinville", "WA", 47.7543, -122.1635, "980", _LAX),
        ),
    ),
    Market(
        47,
        "Greater Washington Area",
        409,
        (
            City("Washington", "DC", 38.9072, -77.0369, "200", _NYC),
            City("Bristow", "VA", 38.7223, -77.5386, "201", _NYC),
            City("Columbia", "MD", 39.2037, -76.8610, "210", _NYC),
            City("Fairfax", "VA", 38.8462, -77.3064, "220", _NYC),
        ),
    ),
)
