"""The expensive part of indexing, in parallel worker processes: ``H(y)^b`` per identifier.

Each worker process builds its own openmined-psi object (objects must never be shared) and
turns a chunk of identifiers into, per identifier, the HKDF pseudo-random key ``prk`` of
:mod:`federation.labels` plus slot 0's tag and keystream (the common case, so the parent does
almost no hashing). Results come back in input order. Small batches (incremental updates) run
in-process: starting a worker costs more than a thousand evaluations.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import NamedTuple

from federation.labels import entry_prk, slot_stream, slot_tag
from federation.psi import evaluate_points

__all__ = ["CHUNK", "Evaluated", "Progress", "evaluate_identifiers"]

#: Identifiers per worker task: large enough to amortise IPC, small enough for a smooth bar.
CHUNK = 4096
#: Below this many identifiers, evaluate in-process.
IN_PROCESS_LIMIT = 3 * CHUNK

Progress = Callable[[int, int], None]


class Evaluated(NamedTuple):
    """One identifier's evaluation: its HKDF key and slot 0's tag and keystream."""

    prk: bytes
    tag0: int
    stream0: bytes


def _chunk(secret: bytes, epoch_id: str, items: Sequence[bytes]) -> list[Evaluated]:
    out = []
    for point in evaluate_points(secret, items):
        prk = entry_prk(point[1:], epoch_id)
        out.append(Evaluated(prk, slot_tag(prk, 0), slot_stream(prk, 0)))
    return out


def evaluate_identifiers(
    secret: bytes,
    epoch_id: str,
    items: Sequence[bytes],
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[Evaluated]:
    """Evaluate ``items`` under the epoch key, in parallel when worth it.

    Args:
        secret: the epoch's 32-byte PSI key.
        epoch_id: the epoch id the derivations are bound to.
        items: identifier bytes.
        workers: worker processes (default: every core); 1 evaluates in-process.
        progress: called with ``(done, total)`` identifiers after each chunk.

    Returns:
        One :class:`Evaluated` per item, in input order.
    """
    total = len(items)
    workers = workers or os.cpu_count() or 1
    if workers <= 1 or total <= IN_PROCESS_LIMIT:
        out: list[Evaluated] = []
        for start in range(0, total, CHUNK):
            out.extend(_chunk(secret, epoch_id, items[start : start + CHUNK]))
            if progress:
                progress(len(out), total)
        return out
    chunks = [items[i : i + CHUNK] for i in range(0, total, CHUNK)]
    # spawn: a forked child would inherit the parent's openmined objects and threads.
    context = multiprocessing.get_context("spawn")
    results: list[Evaluated] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        n = len(chunks)
        for part in pool.map(_chunk, [secret] * n, [epoch_id] * n, chunks):
            results.extend(part)
            if progress:
                progress(len(results), total)
    return results
