"""``audit reveal`` / ``audit check-reveal``: disclose one query and check it against the log."""

from __future__ import annotations

import json

from audit.canonical import unb64
from audit.commitment import Opening
from audit.verify import ExportView
from fedlookup.errors import VerificationError

__all__ = ["bound_request_hashes", "check_reveal"]


def check_reveal(
    view: ExportView, opening: Opening, *, size: int | None = None
) -> list[tuple[int, str]]:
    """Check an opening against every entry of ``view`` that commits to its request.

    Args:
        view: the export.
        opening: the disclosed opening.
        size: look only at the first ``size`` entries (those a signed checkpoint covers).

    Returns:
        ``(index, kind)`` of each entry the opening matches.

    Raises:
        VerificationError: no entry commits to this request, or one commitment differs.
    """
    matched = []
    entries = view.entries if size is None else view.entries[:size]
    for index, entry in enumerate(entries):
        if entry is None or entry.get("request_id") != opening.request_id:
            continue
        if "commitment" not in entry.fields:
            continue
        try:
            opening.check(unb64(entry["commitment"], "commitment"))
        except VerificationError as exc:
            raise VerificationError(f"entry {index} ({entry.kind}): {exc}") from exc
        matched.append((index, entry.kind))
    if not matched:
        raise VerificationError(f"no entry in the export commits to request {opening.request_id}")
    return matched


def bound_request_hashes(view: ExportView, request_id: str) -> list[str]:
    """The request SHA-256 each answering node's receipt for ``request_id`` binds.

    Found in the asker's export (its ``receipt`` entries hold the peers' signed receipts;
    ``audit verify`` checks their signatures). An auditor compares them with the request
    recomputed from a revealed opening (``fedlookup audit check-reveal``).
    """
    out = []
    for entry in view.entries:
        if entry is None or entry.kind != "receipt" or entry.get("request_id") != request_id:
            continue
        raw = unb64(entry["receipt"], "receipt")
        if not raw:
            continue
        try:
            binding = json.loads(raw)["receipt"].get("binding")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise VerificationError(f"receipt of {request_id}: not a receipt object") from exc
        if isinstance(binding, dict) and isinstance(binding.get("request_sha256"), str):
            out.append(binding["request_sha256"])
    return out
