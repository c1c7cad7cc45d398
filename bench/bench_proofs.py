"""Verifiable evaluation: the hit check's PSI path with DLEQ proofs against the path without.

Usage::

    .venv/bin/python bench/bench_proofs.py                         # 10,000 records
    .venv/bin/python bench/bench_proofs.py --write bench/RESULTS.md

Both paths run in the SAME process, interleaved rep by rep (so a busy machine slows both
alike), in-process with no network: blind, evaluate, (prove, verify,) unblind, look up and
open labels. The crypto floor of ``bench_psi.py`` is measured in the same run. With
``pycryptodome`` or ``fastecdsa`` installed, one scalar multiplication of each is timed
beside ours (ADR 0008).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_psi import crypto_floor, registry, timed

from federation import dleq, p256, psi
from federation.evaluation import BlindedQuery, Evaluator
from federation.index import IndexMirror, NodeIndex
from federation.keys import EpochKeyStore

BEGIN, END = "<!-- bench_proofs:begin -->", "<!-- bench_proofs:end -->"
COUNTRY = "DE"


def plain(evaluator: Evaluator, mirror: IndexMirror, items: list[bytes]) -> None:
    query = BlindedQuery.create(items)
    query.finish(evaluator.evaluate(query.request), mirror)


def proven(evaluator: Evaluator, mirror: IndexMirror, items: list[bytes]) -> None:
    query = BlindedQuery.create(items, hashed=BlindedQuery.hash_once(items))
    response = evaluator.evaluate(query.request)
    proof = evaluator.prove(query.request, response, country=COUNTRY)
    context = dleq.proof_context(COUNTRY, evaluator.epoch_id)
    query.verify(response, proof, public=evaluator.public_key, context=context)
    query.finish(response, mirror)


def interleaved(fns: list[Callable[[], object]], reps: int) -> list[list[float]]:
    out: list[list[float]] = [[] for _ in fns]
    for _ in range(reps):
        for i, fn in enumerate(fns):
            out[i].append(timed(fn))
    return out


def libraries() -> dict[str, float]:
    """Microseconds per variable-base scalar multiplication, best of 200."""
    scalar = int.from_bytes(psi.new_key(), "big")
    point = p256.base_mul(12345)
    encoded = point.encode()
    out: dict[str, float] = {}

    def best(fn: Callable[[], object]) -> float:
        return min(timed(fn) for _ in range(200)) * 1e6

    out["ours (OpenSSL EC_POINT_mul via ctypes, incl. decode + encode)"] = best(
        lambda: p256.mul(scalar, p256.decode(encoded)).encode()
    )
    out["pyca/cryptography ECDH (x only, incl. decode)"] = best(
        lambda: psi.unblind(scalar, [encoded])
    )
    try:
        from Crypto.PublicKey import ECC  # type: ignore[import-not-found]

        q = ECC.generate(curve="P-256").pointQ
        out["pycryptodome EccPoint * scalar"] = best(lambda: q * scalar)
    except ImportError:
        pass
    try:
        from fastecdsa.curve import P256  # type: ignore[import-not-found]

        out["fastecdsa scalar * Point"] = best(lambda: scalar * P256.G)
    except ImportError:
        pass
    return out


def run(records: int, reps: int, batch: int) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="bench_proofs_"))
    key = EpochKeyStore(tmp / "keys").current()
    evaluator = Evaluator(key, max_items=max(2 * batch, 10))
    inputs = registry(records)
    index = NodeIndex(tmp / "index", key=key, country=COUNTRY)
    index.update(inputs, workers=os.cpu_count() or 1)
    mirror = IndexMirror()
    mirror.apply(index.export(since_version=None))
    one = list(inputs[records // 2].identifiers)
    many = [i for r in inputs[:batch] for i in r.identifiers]
    single = interleaved(
        [lambda: plain(evaluator, mirror, one), lambda: proven(evaluator, mirror, one)], reps
    )
    batched = interleaved(
        [lambda: plain(evaluator, mirror, many), lambda: proven(evaluator, mirror, many)],
        max(3, reps // 10),
    )
    query = BlindedQuery.create(one)
    response = evaluator.evaluate(query.request)
    proof = evaluator.prove(query.request, response, country=COUNTRY)
    context = dleq.proof_context(COUNTRY, key.epoch_id)
    prove_t = min(
        timed(lambda: evaluator.prove(query.request, response, country=COUNTRY)) for _ in range(100)
    )
    verify_t = min(
        timed(lambda: query.verify(response, proof, public=evaluator.public_key, context=context))
        for _ in range(100)
    )
    return {
        "records": records,
        "reps": reps,
        "batch": batch,
        "single": single,
        "batched": batched,
        "prove": prove_t,
        "verify": verify_t,
        "floor": crypto_floor(),
        "libraries": libraries(),
        "load": os.getloadavg(),
    }


def table(r: dict[str, object], command: str) -> str:
    single, batched = r["single"], r["batched"]
    assert isinstance(single, list)
    assert isinstance(batched, list)
    floor = r["floor"]
    assert isinstance(floor, dict)
    floor_serial = 2 * (floor["blind"] + floor["evaluate"] + floor["unblind"])
    med = [statistics.median(t) for t in single]
    best = [min(t) for t in single]
    bmed = [statistics.median(t) / int(str(r["batch"])) for t in batched]
    libs = r["libraries"]
    assert isinstance(libs, dict)
    load = r["load"]
    assert isinstance(load, tuple)
    lines = [
        "## Verifiable evaluation (`bench/bench_proofs.py`)",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {p256.libcrypto_version()}; {r['records']:,} records; "
        f"load average at the end {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}. Both paths in "
        "one process, interleaved rep by rep.",
        "",
        "| per serial (2 items) | without proofs | with proofs (prove + verify) | ratio |",
        "|---|---:|---:|---:|",
        f"| one-serial request, median of {r['reps']} | {med[0] * 1e3:.2f} ms | "
        f"{med[1] * 1e3:.2f} ms | {med[1] / med[0]:.2f}x |",
        f"| one-serial request, best of {r['reps']} | {best[0] * 1e3:.2f} ms | "
        f"{best[1] * 1e3:.2f} ms | {best[1] / best[0]:.2f}x |",
        f"| batch of {r['batch']} serials, per serial (median) | {bmed[0] * 1e3:.3f} ms | "
        f"{bmed[1] * 1e3:.3f} ms | {bmed[1] / bmed[0]:.2f}x |",
        f"| crypto floor (2 items x 3 operations, same run) | {floor_serial * 1e3:.2f} ms | | |",
        "",
        "Proof alone, one-serial request (best of 100): "
        f"prove {float(str(r['prove'])) * 1e6:.0f} us (node), "
        f"verify {float(str(r['verify'])) * 1e6:.0f} us (asker).",
        "",
        "| one variable-base P-256 scalar multiplication (best of 200) | us |",
        "|---|---:|",
        *[f"| {name} | {us:.0f} |" for name, us in libs.items()],
    ]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmark results\n\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section.rstrip("\n") + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=60)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--write", type=Path, help="update this RESULTS.md section")
    args = parser.parse_args()
    command = "python bench/bench_proofs.py" + (
        f" --records {args.records}" if args.records != 10_000 else ""
    )
    started = time.monotonic()
    result = run(args.records, args.reps, args.batch)
    text = table(result, command)
    print(text)
    print(f"({time.monotonic() - started:.0f} s)")
    if args.write:
        write_section(args.write, f"{BEGIN}\n{text}{END}")


if __name__ == "__main__":
    main()
