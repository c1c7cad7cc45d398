"""A node and one colluding peer try to meet a cosignature quorum of 2 on their own.

Given the dishonest node's export, the colluding peer's audit key and its cosigner name,
it cosigns the export's latest checkpoint once and pastes that line twice, adds a line by a
key nobody trusts, and writes the note back to ``checkpoint`` and ``checkpoints/<size>``.

Usage::

    python tests/adversarial/members/quorum_forger.py --export de-export \
        --cosigner-key nl/keys/audit.key --cosigner-name fedlookup.example/NL
"""

from __future__ import annotations

import argparse
from pathlib import Path

from audit.checkpoint import Checkpoint
from audit.cosignature import cosign
from audit.keys import generate_key, load_private_key
from audit.note import SignedNote


def main() -> None:
    """Rewrite the export's latest checkpoint with the forged signature lines."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--export", type=Path, required=True)
    ap.add_argument("--cosigner-key", type=Path, required=True)
    ap.add_argument("--cosigner-name", required=True)
    args = ap.parse_args()
    head = args.export / "checkpoint"
    note = SignedNote.parse(head.read_bytes())
    line = cosign(note.text, args.cosigner_name, load_private_key(args.cosigner_key))
    stranger = cosign(note.text, "stranger.example/XX", generate_key())
    forged = SignedNote(note.text, (*note.signatures, line, line, stranger)).serialize()
    size = Checkpoint.parse_body(note.text).size
    head.write_bytes(forged)
    (args.export / "checkpoints" / str(size)).write_bytes(forged)
    print(size, flush=True)


if __name__ == "__main__":
    main()
