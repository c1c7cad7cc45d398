"""The expensive part of indexing, in parallel worker processes: ``H(y)^b`` per identifier.

Each worker process builds its own openmined-psi object (objects must never be shared) and
turns a chunk of identifiers into, per identifier, the HKDF pseudo-random key ``prk`` of
:mod:`federation.labels` plus the tag and keystream of slot 0 of its category's chain (the
common case, so the parent does almost no hashing). Results come back in input order.
Small batches (incremental updates) run in-process: starting a worker costs more than a
thousand evaluations.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import NamedTuple

from federation.labels import entry_prk, slot_keys
from federation.psi import evaluate_points

__all__ = ["CHUNK", "Evaluated", "Progress", "evaluate_identifiers"]

#: Identifiers per worker task: large enough to amortise IPC, small enough for a smooth bar.
CHUNK = 4096
#: Below this many identifiers, evaluate in-process.
IN_PROCESS_LIMIT = 3 * CHUNK

Progress = Callable[[int, int], None]


class Evaluated(NamedTuple):
    """A chunk of evaluations, in input order: HKDF keys, and the tags and keystreams of
    slot 0 in each identifier's category chain."""

    prks: list[bytes]
    tags0: list[int]
    streams0: list[bytes]


def _chunk(
    secret: bytes, epoch_id: str, items: Sequence[bytes], categories: Sequence[int], generation: int
) -> Evaluated:
    prks = [entry_prk(point[1:], epoch_id) for point in evaluate_points(secret, items)]
    keys = [slot_keys(p, c, 0, generation) for p, c in zip(prks, categories, strict=True)]
    return Evaluated(prks, [k[0] for k in keys], [k[1] for k in keys])


def evaluate_identifiers(
    secret: bytes,
    epoch_id: str,
    items: Sequence[bytes],
    categories: Sequence[int],
    *,
    generation: int = 0,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Iterator[Evaluated]:
    """Evaluate ``items`` under the epoch key, in parallel when worth it.

    Chunks are yielded as they complete, in input order, so the caller can store one while
    the workers compute the next.

    Args:
        secret: the epoch's 32-byte PSI key.
        epoch_id: the epoch id the derivations are bound to.
        items: identifier bytes.
        categories: the category code of each item's record (selects its slot chain).
        generation: the generation slot 0's keystream is derived for (the new version's).
        workers: worker processes (default: every core); 1 evaluates in-process.
        progress: called with ``(done, total)`` identifiers after each chunk.

    Yields:
        One :class:`Evaluated` per chunk of :data:`CHUNK` items, in input order.
    """
    total = len(items)
    workers = workers or os.cpu_count() or 1
    chunks = [items[i : i + CHUNK] for i in range(0, total, CHUNK)]
    cats = [categories[i : i + CHUNK] for i in range(0, total, CHUNK)]
    done = 0
    if workers <= 1 or total <= IN_PROCESS_LIMIT:
        for chunk, chunk_cats in zip(chunks, cats, strict=True):
            part = _chunk(secret, epoch_id, chunk, chunk_cats, generation)
            done += len(chunk)
            if progress:
                progress(done, total)
            yield part
        return
    # spawn: a forked child would inherit the parent's openmined objects and threads.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        n = len(chunks)
        gens = [generation] * n
        for part in pool.map(_chunk, [secret] * n, [epoch_id] * n, chunks, cats, gens):
            done += len(part.prks)
            if progress:
                progress(done, total)
            yield part
