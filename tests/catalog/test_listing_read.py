"""Only a complete read of an artist's Ticketmaster events may delist its shows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from clients.errors import MalformedRecord
from clients.ticketmaster import EventPage, TmEvent
from tasks.upstream import _collect


def _event(event_id: str) -> TmEvent:
    return TmEvent.model_validate({"id": event_id, "name": event_id, "dates": {}})


def _page(number: int, total_pages: int, *ids: str, **flags: object) -> EventPage:
    page = EventPage([_event(i) for i in ids], [], number, total_pages, 2 * total_pages)
    return replace(page, **flags)  # type: ignore[arg-type]


async def _pages(*pages: EventPage) -> AsyncIterator[EventPage]:
    for page in pages:
        yield page


BAD = MalformedRecord(api="ticketmaster", kind="event", key="E9", errors=["no"], excerpt="{}")


@pytest.mark.parametrize(
    ("pages", "complete"),
    [
        ((_page(0, 2, "E1", "E2"), _page(1, 2, "E3")), True),
        ((_page(0, 1),), True),  # nothing listed, read to the end: complete
        ((_page(0, 2, "E1", "E2"),), False),  # paging stopped before the last page
        ((_page(0, 2, "E1", "E2"), _page(0, 1, "E3")), False),  # a window stopped short
        ((_page(0, 1, "E1", trusted=False),), False),  # a page contradicting itself
        ((_page(0, 1, "E1", deep_paging_end=True),), False),
        ((_page(0, 1, "E1", errors=[BAD]),), False),  # a refused record may be a listed event
        ((_page(0, 6, "E1", total_elements=1201),), False),  # beyond deep paging
    ],
    ids=["paged", "empty", "short", "window", "untrusted", "deep-end", "refused", "reach"],
)
async def test_a_read_is_complete_only_when_every_page_was_read(
    pages: tuple[EventPage, ...], complete: bool
) -> None:
    fetched = await _collect(_pages(*pages))
    assert fetched.complete is complete
    assert [e.id for e in fetched.events] == [e.id for p in pages for e in p.events]
