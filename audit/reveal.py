"""``audit reveal`` / ``audit check-reveal``: disclose one query and check it against the log."""

from __future__ import annotations

from audit.canonical import unb64
from audit.commitment import Opening
from audit.verify import ExportView
from fedlookup.errors import VerificationError

__all__ = ["check_reveal"]


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
