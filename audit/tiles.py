"""C2SP tlog-tiles static layout: hash tiles and entry bundles for a tree size.

Tiles are 256 hashes wide (height 8). ``tile/<L>/<N>[.p/<W>]`` holds, at level L, the Merkle
tree hashes of subtrees of ``256**L`` leaves; ``tile/entries/<N>[.p/<W>]`` holds the entries
of level-0 tile N, each prefixed by its big-endian uint16 length. ``<N>`` is written in
3-digit groups, all but the last prefixed with ``x`` (1234067 -> ``x001/x234/067``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

from audit.merkle import MerkleTree
from fedlookup.errors import AuditError

__all__ = ["TILE_WIDTH", "entry_bundles", "hash_tiles", "static_tiles", "tile_index_path"]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_BUNDLED_ENTRY = 0xFFFF


def tile_index_path(n: int) -> str:
    """Encode a tile index as zero-padded 3-digit path elements."""
    groups = [n % 1000]
    n //= 1000
    while n:
        groups.insert(0, n % 1000)
        n //= 1000
    return "/".join([*(f"x{g:03d}" for g in groups[:-1]), f"{groups[-1]:03d}"])


def _tiles(prefix: str, items: Sequence[bytes]) -> Iterator[tuple[str, bytes]]:
    for start in range(0, len(items), TILE_WIDTH):
        chunk = items[start : start + TILE_WIDTH]
        name = f"{prefix}/{tile_index_path(start // TILE_WIDTH)}"
        if len(chunk) < TILE_WIDTH:
            name += f".p/{len(chunk)}"
        yield name, b"".join(chunk)


def hash_tiles(tree: MerkleTree, size: int) -> Iterator[tuple[str, bytes]]:
    """Yield ``(path, content)`` of every hash tile (full and partial) for tree ``size``."""
    if size > tree.size:
        raise ValueError("size beyond the tree")
    level = 0
    while True:
        span = TILE_WIDTH**level
        count = size // span
        if count == 0:
            return
        hashes = tree.level(TILE_HEIGHT * level)[:count]
        yield from _tiles(f"tile/{level}", hashes)
        level += 1


def entry_bundles(entries: Sequence[bytes]) -> Iterator[tuple[str, bytes]]:
    """Yield ``(path, content)`` of every entry bundle for ``entries``.

    Raises:
        AuditError: an entry is longer than a bundle can hold (65535 bytes).
    """
    framed = []
    for i, entry in enumerate(entries):
        if len(entry) > MAX_BUNDLED_ENTRY:
            raise AuditError(f"entry {i} is {len(entry)} bytes, too long for an entry bundle")
        framed.append(struct.pack(">H", len(entry)) + entry)
    yield from _tiles("tile/entries", framed)


def static_tiles(
    tree: MerkleTree, entries: Sequence[bytes], sizes: Sequence[int]
) -> dict[str, bytes]:
    """Every hash tile and entry bundle a client of any of the tree ``sizes`` needs.

    A client that holds an earlier checkpoint reads the partial tiles of *that* size
    (``.p/<W>`` for its width), which the latest size's tiles do not include; full tiles
    are the same for every size.
    """
    out: dict[str, bytes] = {}
    for size in sorted(set(sizes)):
        out.update(hash_tiles(tree, size))
        out.update(entry_bundles(entries[:size]))
    return out
