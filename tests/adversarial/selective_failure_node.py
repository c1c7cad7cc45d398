"""A dishonest node for the selective-failure attacks, run as its own process.

It is a real node (its own certificate, directory entry and audit log) whose responder is
rewritten in this process only, and which writes one JSON line per ``Evaluate`` call it
receives (item count, arrival time) to the file it is given: what a dishonest node would
watch to learn which of an asker's items hit.

Usage::

    python tests/adversarial/selective_failure_node.py NODE_TOML PORT_FILE OBSERVED ATTACK

ATTACK is ``header`` (its index names another country, which used to make every hit
raise while labels were opened) or ``labels`` (every sealed label is garbage, so hits do
not open).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from audit.keys import load_private_key
from audit.statements import QueryStatement
from federation import index_format
from federation.index_head import IndexHead, sign_head
from federation.responder import IndexExport, Responder
from federation.transport import Evaluation
from node.config import NodeConfig
from node.serve.server import write_port_file
from node.serve.service import serving


def _rewrite(blob: bytes, attack: str) -> bytes:
    parsed = index_format.decode(blob)
    if attack == "header":
        parsed = dataclasses.replace(parsed, country="X1")
    elif parsed.labels is not None:
        parsed = dataclasses.replace(parsed, labels=bytes(b ^ 0x5A for b in parsed.labels))
    return index_format.encode(parsed)


def main(config_path: Path, port_file: Path, observed: Path, attack: str) -> None:
    """Serve as a dishonest node until SIGTERM."""
    honest_sync, honest_evaluate = Responder.sync_index, Responder.evaluate
    config = NodeConfig.from_toml(config_path)
    audit_key = load_private_key(config.audit.key)

    def sync_index(
        self: Responder, peer: str, since_version: int | None, epoch_id: str | None
    ) -> IndexExport:
        # The rewritten index goes out under a head this node signs: it is its own index.
        export = honest_sync(self, peer, since_version, epoch_id)
        blob = _rewrite(export.blob, attack)
        full = _rewrite(honest_sync(self, peer, None, None).blob, attack)
        state = hashlib.sha256(full).hexdigest() if index_format.is_delta(blob) else None
        head = IndexHead.of_blob(blob, state_sha256=state)
        return dataclasses.replace(
            export, blob=blob, head=head.canonical(), signature=sign_head(head, audit_key)
        )

    def evaluate(
        self: Responder, peer: str, statement: bytes, signature: bytes, request: bytes
    ) -> Evaluation:
        seen = {"items": QueryStatement.parse(statement).item_count, "t": time.monotonic()}
        with observed.open("a") as out:
            out.write(json.dumps(seen) + "\n")
        return honest_evaluate(self, peer, statement, signature, request)

    Responder.sync_index = sync_index  # type: ignore[method-assign]
    Responder.evaluate = evaluate  # type: ignore[method-assign]
    with serving(config) as node:

        def stop(signum: int, frame: FrameType | None) -> None:
            node.stop()

        signal.signal(signal.SIGTERM, stop)
        write_port_file(port_file, node.port)
        while not node.wait(0.5):
            pass


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
