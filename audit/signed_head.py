"""The signed head of an export: what ``audit proof`` and ``check-reveal`` stand on.

An export's entries are only evidence up to the checkpoint the log signed over them. The
head is the export's ``checkpoint`` file, opened under the policy's log key (the auditor's
trust root with ``--policy``), and the root it signs must be the root recomputed from the
exported entries up to its size; an edited entry, an unsigned or re-signed head all fail.

Example::

    view, _ = load_export(Path("de-export"), trusted_policy)
    head = signed_head(view)          # Checkpoint(origin, size, root)
"""

from __future__ import annotations

from audit.checkpoint import Checkpoint, open_checkpoint
from audit.verify import ExportView
from fedlookup.errors import InputError, VerificationError

__all__ = ["signed_head"]


def signed_head(view: ExportView) -> Checkpoint:
    """The export's latest checkpoint, its signature and root checked.

    Raises:
        InputError: the export has no ``checkpoint`` file.
        VerificationError: the signature does not verify under the policy's log key, or the
            signed root is not the root of the exported entries.
    """
    path = view.path / "checkpoint"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from exc
    cp, _ = open_checkpoint(data, view.policy.log_verifier())
    if cp.size > view.tree.size:
        raise VerificationError(f"checkpoint covers {cp.size} entries, export has {view.tree.size}")
    if cp.root != view.tree.root(cp.size):
        raise VerificationError(
            f"the signed root of size {cp.size} is not the root of the exported entries"
        )
    return cp
