"""How a hit check lays firearms out in requests, and reads a firearm's answer back.

A firearm is a variable number of identifier items (:meth:`CheckItem.items`: make+serial
when the make is known, serial-only, serial variants) in the form its peer reads
(:meth:`CheckItem.under` the versions the peer speaks). A request holds as many whole
firearms as fit in the peer's ``max_items_per_request``; its *layout* says where each
firearm's items sit, so the answer is read back per firearm: ``hit`` when one of its
make+serial items matched, ``possible`` when only a serial-only one did.
"""

from __future__ import annotations

from collections.abc import Sequence

from federation.hitcheck_types import CheckItem, Outcome, classify
from federation.labels import Label
from fedlookup.errors import PeerRejectedError

__all__ = ["Bounds", "Found", "Layout", "flatten", "next_chunk", "read_found"]

#: One firearm's outcome and the labels of the records it matched.
Found = tuple[Outcome, tuple[Label, ...]]
#: Where each firearm's items sit in a request: ``(first item, item count, hit items)``.
Layout = list[tuple[int, int, int]]
#: A chunk: ``(first firearm, end firearm, identifier versions the peer reads)``.
Bounds = tuple[int, int, frozenset[str]]


def read_found(per_item: list[list[Label]], hit_items: int) -> Found:
    """A firearm's outcome from the labels of its items (the first ``hit_items`` are
    make+serial, the rest serial-only, read by :func:`~federation.hitcheck_types.classify`);
    labels found twice are reported once."""
    hit = [lb for labels in per_item[:hit_items] for lb in labels]
    possible = [lb for labels in per_item[hit_items:] for lb in labels]
    return classify(tuple(dict.fromkeys(hit)), tuple(dict.fromkeys(possible)))


def next_chunk(
    items: Sequence[CheckItem], start: int, max_items: int, speaks: frozenset[str], country: str
) -> Bounds:
    """The next chunk for a peer: as many whole firearms from ``start`` as fit in its
    ``max_items`` per request, in the form it reads.

    Raises:
        PeerRejectedError: not even one firearm fits (the peer is reported ``refused``).
    """
    total, end = 0, start
    while end < len(items):
        n = len(items[end].under(speaks).items())
        if total + n > max_items:
            break
        total, end = total + n, end + 1
    if end == start:
        raise PeerRejectedError(
            country, f"it accepts {max_items} items per request, fewer than one firearm"
        )
    return start, end, speaks


def flatten(items: Sequence[CheckItem], bounds: Bounds) -> tuple[list[bytes], Layout]:
    """The items of a chunk's firearms, in the form its peer reads, and where each sits."""
    lo, hi, speaks = bounds
    flat: list[bytes] = []
    layout: Layout = []
    for item in items[lo:hi]:
        form = item.under(speaks)
        its = form.items()
        layout.append((len(flat), len(its), form.hit_items))
        flat.extend(its)
    return flat, layout
