"""Following logs over time, the way transparency-log monitors and witnesses do.

A :class:`LogMonitor` keeps, per log origin, the last checkpoint it accepted (its witness
state, one small JSON file per log under a state folder). Each :meth:`LogMonitor.observe`
takes a fresh export of a log, verifies the export's latest checkpoint against the
*trusted* policy for that origin (never the export's own), and compares it with the state:

* smaller tree than before: ``rollback``;
* same size, other root, or a larger tree whose first ``old size`` leaves do not hash to the
  old root (the RFC 6962 consistency proof from the old to the new checkpoint fails):
  ``fork``, the log showed two histories;
* fewer valid cosignatures from trusted cosigners than the policy's quorum on the newest
  checkpoint: ``missing_cosignature`` (the peers have not vouched for this history);
* an export that does not verify, a checkpoint not signed by the log's key, or a log with
  no trusted policy: ``invalid``.

A fork, rollback or invalid export leaves the state where it was, so the alert repeats on
every run until someone looks. A consistent checkpoint replaces the state (even when a
cosignature is missing: the history is the same, only its witnessing is behind).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

from audit.checkpoint import Checkpoint, open_checkpoint
from audit.cosignature import verify_cosignature
from audit.merkle import verify_consistency
from audit.note import SignedNote
from audit.policy import Policy
from audit.verify import load_export, verify_export
from fedlookup.errors import AuditError, InputError, VerificationError
from fedlookup.files import write_atomic

__all__ = ["ALERT_KINDS", "Alert", "LogMonitor", "Observation"]

#: Kinds of alert, in the order a report lists them.
ALERT_KINDS = ("fork", "rollback", "invalid", "missing_cosignature")


@dataclass(frozen=True)
class Alert:
    """Something an auditor must look at: ``kind`` (see :data:`ALERT_KINDS`) and why."""

    origin: str
    kind: str
    detail: str


@dataclass(frozen=True)
class Observation:
    """What one look at one export found.

    Attributes:
        origin: the log.
        export: the export directory.
        previous_size: the size held before (``None``: first sight).
        size: the size of the export's latest checkpoint (0 when it could not be read).
        cosignatures: valid cosignatures by trusted cosigners on that checkpoint.
        alerts: what is wrong (empty: consistent and witnessed).
    """

    origin: str
    export: Path
    previous_size: int | None
    size: int
    cosignatures: int
    alerts: tuple[Alert, ...]


def _state_name(origin: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", origin) + ".json"


class LogMonitor:
    """Witness state for a set of logs, and the checks run on each new export.

    Args:
        state_dir: folder of the state files (created).
        policies: the trusted policy of every log to follow (from the signed directory).
    """

    def __init__(self, state_dir: Path, policies: list[Policy]) -> None:
        self.state_dir = state_dir
        self.policies = {p.origin: p for p in policies}
        state_dir.mkdir(parents=True, exist_ok=True)

    def held(self, origin: str) -> tuple[int, bytes] | None:
        """The ``(size, root)`` last accepted for ``origin``, or ``None``."""
        path = self.state_dir / _state_name(origin)
        if not path.is_file():
            return None
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            return int(doc["size"]), base64.b64decode(doc["root"], validate=True)
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"damaged monitor state: {exc}", file=str(path)) from exc

    def _accept(self, checkpoint: Checkpoint, signed: bytes) -> None:
        doc = {
            "origin": checkpoint.origin,
            "size": checkpoint.size,
            "root": base64.b64encode(checkpoint.root).decode(),
            "checkpoint": signed.decode("utf-8"),
        }
        data = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
        write_atomic(self.state_dir / _state_name(checkpoint.origin), data)

    def observe(self, export: Path) -> Observation:
        """Check one fresh export of a followed log against the witness state.

        Raises:
            InputError: ``export`` is not an audit export at all.
        """
        own, _ = load_export(export)
        origin = own.policy.origin
        policy = self.policies.get(origin)
        held = self.held(origin)
        previous = held[0] if held else None

        def fail(kind: str, detail: str, size: int = 0, cosigs: int = 0) -> Observation:
            alert = Alert(origin, kind, detail)
            return Observation(origin, export, previous, size, cosigs, (alert,))

        if policy is None:
            return fail("invalid", "no trusted policy for this log (not a directory member?)")
        # Structure and signatures here; the quorum is judged below, as its own alert.
        report = verify_export(export, policy=replace(policy, quorum=0))
        if not report.ok:
            bad = [f"{f.artefact}: {f.reason}" for f in report.findings if not f.valid][:3]
            return fail("invalid", "export does not verify: " + "; ".join(bad))
        try:
            signed = (export / "checkpoint").read_bytes()
            checkpoint, note = open_checkpoint(signed, policy.log_verifier())
        except (OSError, VerificationError) as exc:
            return fail("invalid", f"latest checkpoint: {exc}")
        cosigs = self._cosignatures(note, policy)
        if held is not None:
            old_size, old_root = held
            problem = self._history(old_size, old_root, checkpoint, export, policy)
            if problem is not None:
                return fail(problem[0], problem[1], checkpoint.size, cosigs)
        self._accept(checkpoint, signed)
        alerts: tuple[Alert, ...] = ()
        if cosigs < policy.quorum:
            alerts = (
                Alert(
                    origin,
                    "missing_cosignature",
                    f"checkpoint of size {checkpoint.size} carries {cosigs} valid "
                    f"cosignature(s) of the {policy.quorum} required",
                ),
            )
        return Observation(origin, export, previous, checkpoint.size, cosigs, alerts)

    @staticmethod
    def _cosignatures(note: SignedNote, policy: Policy) -> int:
        valid = 0
        for verifier in policy.cosigner_verifiers():
            try:
                verify_cosignature(note, verifier)
                valid += 1
            except VerificationError:
                continue
        return valid

    @staticmethod
    def _history(
        old_size: int, old_root: bytes, new: Checkpoint, export: Path, policy: Policy
    ) -> tuple[str, str] | None:
        """``(kind, detail)`` when ``new`` does not extend the held checkpoint."""
        if new.size < old_size:
            return "rollback", f"tree size went from {old_size} down to {new.size}"
        if new.size == old_size:
            if new.root != old_root:
                return "fork", f"two different roots for tree size {new.size}"
            return None
        if old_size == 0:
            return None  # every tree extends the empty one
        view, _ = load_export(export, policy)
        try:
            proof = view.tree.consistency_proof(old_size, new.size)
            verify_consistency(old_size, new.size, proof, old_root, new.root)
        except (AuditError, ValueError) as exc:
            return "fork", f"size {new.size} is not an extension of size {old_size}: {exc}"
        return None
