"""Generate the committed Python code for ``protos/`` and check it for drift.

Usage::

    python scripts/gen_protos.py           # regenerate protos/**/ *_pb2.py, *_pb2_grpc.py, *.pyi
    python scripts/gen_protos.py --check   # regenerate into a temporary directory and diff

Protos are compiled with ``-I .`` from the repository root, so generated modules import each
other as ``protos.fedlookup.v1...``. ``--check`` exits 1 and names each file that differs
from what is committed (CI runs it), 0 when everything matches.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2_grpc.py", "_pb2.pyi", "_pb2_grpc.pyi")


def _plugin(name: str) -> str:
    """Path of a protoc plugin installed next to this interpreter."""
    candidate = Path(sys.executable).parent / name
    found = candidate if candidate.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: install the dev extras (mypy-protobuf)")
    return str(found)


def _protos() -> list[Path]:
    return sorted(p.relative_to(ROOT) for p in PROTO_ROOT.rglob("*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Compile every ``.proto`` under ``protos/`` into ``out_dir``.

    Args:
        out_dir: directory that mirrors the repository root.

    Returns:
        The generated files, relative to ``out_dir``.

    Raises:
        SystemExit: protoc failed.
    """
    from grpc_tools import protoc

    protos = _protos()
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        "-I.",
        f"-I{include}",
        f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}",
        f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *(str(p) for p in protos),
    ]
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        code = protoc.main(args)
    finally:
        os.chdir(cwd)
    if code != 0:
        raise SystemExit(f"protoc failed with exit code {code}")
    return sorted(
        p.relative_to(out_dir)
        for p in (out_dir / "protos").rglob("*")
        if p.is_file() and p.name.endswith(GENERATED_SUFFIXES)
    )


def _committed() -> set[Path]:
    return {
        p.relative_to(ROOT)
        for p in PROTO_ROOT.rglob("*")
        if p.is_file() and p.name.endswith(GENERATED_SUFFIXES)
    }


def check() -> int:
    """Regenerate into a temporary directory and compare with the committed files.

    Returns:
        0 when identical, 1 when any file differs, is missing or is stale.
    """
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        drift = [
            str(rel)
            for rel in fresh
            if not (ROOT / rel).exists() or not filecmp.cmp(Path(tmp) / rel, ROOT / rel, False)
        ]
        drift += [f"{rel} (no .proto generates it)" for rel in sorted(_committed() - set(fresh))]
    if drift:
        print("generated code is out of date; run `make protos`:", file=sys.stderr)
        for name in drift:
            print(f"  {name}", file=sys.stderr)
        return 1
    print(f"generated code is up to date ({len(fresh)} files)")
    return 0


def main() -> int:
    """Parse arguments and generate or check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="diff instead of writing")
    if parser.parse_args().check:
        return check()
    for rel in generate(ROOT):
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
