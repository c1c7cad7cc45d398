"""``fedlookup audit verify``: recompute and check everything in an export, offline.

Each artefact (checkpoint, cosignature, entry, tile, bundle, file) yields a :class:`Finding`,
valid or not with a reason. Checks: every entry parses in canonical form; the Merkle tree is
recomputed from the entries and matches every checkpoint and every tile; entry bundles match
the entries; checkpoint signatures verify under the policy's log key; each signature line is
from a trusted key and verifies; the latest checkpoint covers every entry and carries the
policy's quorum of *distinct* trusted cosigners (signature lines of unknown keys are ignored,
as C2SP signed notes say); no unexpected file; and, given checkpoints seen earlier
(``--against``), the export is consistent with each of them (catches truncation and forks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from audit.checkpoint import Checkpoint, open_checkpoint
from audit.cosignature import verify_cosignature
from audit.entries import LogEntry
from audit.merkle import MerkleTree, hash_leaf, verify_consistency
from audit.note import SignedNote
from audit.policy import Policy
from audit.tiles import static_tiles
from fedlookup.errors import FedlookupError, InputError, VerificationError

__all__ = ["ExportView", "Finding", "VerifyReport", "load_export", "verify_export"]


@dataclass(frozen=True)
class Finding:
    """One artefact's verdict."""

    category: str
    artefact: str
    valid: bool
    reason: str = ""


@dataclass
class VerifyReport:
    """All findings of one verification, with per-category counts."""

    export: Path
    origin: str
    size: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: Whether the keys came from a trust root the auditor named (``--policy``), not from
    #: the export's own ``policy.json``.
    trusted: bool = False

    def add(self, category: str, artefact: str, error: Exception | None = None) -> None:
        """Record a verdict: valid when ``error`` is None."""
        self.findings.append(Finding(category, artefact, error is None, str(error or "")))

    @property
    def ok(self) -> bool:
        """True when every finding is valid."""
        return all(f.valid for f in self.findings)

    def counts(self) -> dict[str, tuple[int, int]]:
        """``category -> (valid, total)``."""
        out: dict[str, tuple[int, int]] = {}
        for f in self.findings:
            good, total = out.get(f.category, (0, 0))
            out[f.category] = (good + f.valid, total + 1)
        return out

    def raise_for_findings(self) -> None:
        """Raise on the first invalid finding.

        Raises:
            VerificationError: some artefact is invalid.
        """
        for f in self.findings:
            if not f.valid:
                raise VerificationError(f"{self.export}: {f.artefact}: {f.reason}")


@dataclass
class ExportView:
    """An export's entries and tree, parsed (what cross-check and report work on)."""

    path: Path
    policy: Policy
    raw_entries: list[bytes]
    entries: list[LogEntry | None]
    tree: MerkleTree


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from exc


def load_export(path: Path, policy: Policy | None = None) -> tuple[ExportView, VerifyReport]:
    """Parse an export's policy and entries, recording entry findings.

    Raises:
        InputError: not an export directory, or the given policy is for another log.
    """
    if not (path / "entries.jsonl").is_file() or not (path / "policy.json").is_file():
        raise InputError("not an audit export (entries.jsonl, policy.json missing)", file=str(path))
    own: Policy | None = None
    own_error: Exception | None = None
    try:
        own = Policy.parse(_read(path / "policy.json"))
    except VerificationError as exc:
        own_error = exc
    chosen = policy or own
    if chosen is None:
        raise InputError(f"policy.json is invalid ({own_error}); pass --policy", file=str(path))
    report = VerifyReport(path, chosen.origin)
    report.add("files", "policy.json", own_error)
    if own is not None and policy is not None and own.log_vkey != policy.log_vkey:
        report.add("files", "policy.json", VerificationError("log key differs from --policy"))
    data = _read(path / "entries.jsonl")
    raw = data.split(b"\n")
    if raw[-1] != b"":
        report.add("files", "entries.jsonl", VerificationError("does not end with a newline"))
    raw = raw[:-1]
    parsed: list[LogEntry | None] = []
    for i, line in enumerate(raw):
        try:
            parsed.append(LogEntry.parse(line))
            report.add("entries", f"entry {i}")
        except VerificationError as exc:
            parsed.append(None)
            report.add("entries", f"entry {i}", exc)
    tree = MerkleTree(hash_leaf(e) for e in raw)
    report.size = tree.size
    return ExportView(path, chosen, raw, parsed, tree), report


def _check_note(
    view: ExportView, report: VerifyReport, name: str, data: bytes
) -> tuple[Checkpoint, SignedNote] | None:
    policy, tree = view.policy, view.tree
    try:
        cp, note = open_checkpoint(data, policy.log_verifier())
        if cp.size > tree.size:
            raise VerificationError(f"size {cp.size} beyond the {tree.size} exported entries")
        if cp.root != tree.root(cp.size):
            raise VerificationError(f"root of size {cp.size} differs from the recomputed tree")
        report.add("checkpoints", name)
    except VerificationError as exc:
        report.add("checkpoints", name, exc)
        return None
    known = {(v.name, v.key_id): v for v in policy.cosigner_verifiers()}
    log = policy.log_verifier()
    for sig in note.signatures:
        if (sig.name, sig.key_id) == (log.name, log.key_id):
            continue
        verifier = known.get((sig.name, sig.key_id))
        label = f"{name} cosignature by {sig.name}"
        if verifier is None:
            # C2SP signed-note: a verifier ignores signatures from keys it does not know.
            report.add("ignored", f"{name} signature by {sig.name} (unknown key, ignored)")
            continue
        try:
            # Each line on its own: a junk line under a trusted key ID must not hide, or
            # stand in for, the real one (note.by would find only the first).
            verify_cosignature(SignedNote(note.text, (sig,)), verifier)
            report.add("cosignatures", label)
        except VerificationError as exc:
            report.add("cosignatures", label, exc)
    return cp, note


def verify_export(
    path: Path, *, policy: Policy | None = None, against: list[tuple[str, bytes]] | None = None
) -> VerifyReport:
    """Verify an export completely; never stops at the first problem.

    Args:
        path: the export directory.
        policy: trusted policy (default: the export's own ``policy.json``).
        against: ``(name, signed checkpoint bytes)`` seen earlier (e.g. cosigned copies).

    Raises:
        InputError: the directory is not an export at all.
    """
    view, report = load_export(path, policy)
    report.trusted = policy is not None
    tree = view.tree
    expected = {"policy.json", "entries.jsonl", "checkpoint"}
    sizes: list[int] = []
    latest: tuple[Checkpoint, SignedNote] | None = None
    cp_dir = path / "checkpoints"
    for file in sorted(cp_dir.iterdir() if cp_dir.is_dir() else [], key=lambda p: p.name):
        name = f"checkpoints/{file.name}"
        expected.add(name)
        got = _check_note(view, report, name, _read(file))
        if got is not None:
            if file.name != str(got[0].size):
                report.add("files", name, VerificationError("file name is not its tree size"))
            sizes.append(got[0].size)
            if latest is None or got[0].size > latest[0].size:
                latest = got
    if (path / "checkpoint").is_file():
        head = _check_note(view, report, "checkpoint", _read(path / "checkpoint"))
        same = head is not None and (cp_dir / str(head[0].size)).is_file()
        if head is not None and (
            not same or _read(cp_dir / str(head[0].size)) != _read(path / "checkpoint")
        ):
            report.add("files", "checkpoint", VerificationError("differs from checkpoints/<size>"))
    else:
        report.add("files", "checkpoint", VerificationError("missing"))
    _check_coverage(view, report, latest)
    _check_policy_claims(view, report, own_policy=policy is None)
    required = static_tiles(tree, view.raw_entries, [tree.size])
    # Earlier checkpoints' partial tiles: checked when present (older exports lack them).
    earlier = static_tiles(tree, view.raw_entries, [s for s in sizes if 0 < s <= tree.size])
    for name, blob in sorted({**earlier, **required}.items()):
        category = "bundles" if name.startswith("tile/entries/") else "tiles"
        file = path / name
        if name not in required and not file.is_file():
            continue
        expected.add(name)
        if not file.is_file():
            report.add(category, name, VerificationError("missing"))
        elif _read(file) != blob:
            report.add(
                category, name, VerificationError("content differs from the recomputed tree")
            )
        else:
            report.add(category, name)
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        if rel not in expected:
            report.add("files", rel, VerificationError("unexpected file in export"))
    for name, data in against or []:
        _check_against(view, report, name, data)
    return report


def _own_side(entry: LogEntry) -> str | None:
    if entry.kind in ("query_sent", "receipt"):
        return str(entry["from"])
    if entry.kind in ("query_received", "refusal"):
        return str(entry["to"])
    return None


def _check_policy_claims(view: ExportView, report: VerifyReport, *, own_policy: bool) -> None:
    """Hold the policy's unsigned claims to the evidence: the country it names must be the
    logging side of every query; the export's own policy lists only cosigners that did
    cosign, and claims no quorum (an auditor sets one with --policy)."""
    policy, errors = view.policy, []
    country = policy.country
    if country and country != policy.origin:
        sides = {s for e in view.entries if e is not None and (s := _own_side(e)) is not None}
        if sides - {country}:
            errors.append(f"country {country!r} but the entries were logged by {sorted(sides)}")
    if own_policy:
        used = {
            f.artefact.rsplit(" by ", 1)[1]
            for f in report.findings
            if f.category == "cosignatures" and f.valid
        }
        unused = [v.name for v in policy.cosigner_verifiers() if v.name not in used]
        if unused:
            errors.append(f"cosigners {unused} cosigned nothing in this export")
        if policy.quorum:
            errors.append("an exported policy must not claim a quorum")
    error = VerificationError("; ".join(errors)) if errors else None
    report.add("files", "policy.json claims", error)


def _check_coverage(
    view: ExportView, report: VerifyReport, latest: tuple[Checkpoint, SignedNote] | None
) -> None:
    size = view.tree.size
    if latest is None or latest[0].size != size:
        covered = latest[0].size if latest else 0
        error = VerificationError(
            f"{size} entries exported but the largest valid checkpoint covers {covered}"
        )
        report.add("coverage", "latest checkpoint", error)
        return
    prefix = f"checkpoints/{size} "
    # Distinct cosigners: the same cosignature pasted twice counts once.
    cosigned = len(
        {
            f.artefact.rsplit(" by ", 1)[1]
            for f in report.findings
            if f.category == "cosignatures" and f.valid and f.artefact.startswith(prefix)
        }
    )
    if cosigned < view.policy.quorum:
        error = VerificationError(
            f"{cosigned} distinct trusted cosigners, the policy requires {view.policy.quorum}"
        )
        report.add("coverage", "latest checkpoint", error)
    else:
        report.add("coverage", "latest checkpoint")


def _check_against(view: ExportView, report: VerifyReport, name: str, data: bytes) -> None:
    tree = view.tree
    try:
        cp, _ = open_checkpoint(data, view.policy.log_verifier())
        if cp.size > tree.size:
            raise VerificationError(
                f"earlier checkpoint has {cp.size} entries, export only {tree.size}: "
                "entries were deleted"
            )
        if cp.size > 0:
            proof = tree.consistency_proof(cp.size, tree.size)
            verify_consistency(cp.size, tree.size, proof, cp.root, tree.root())
        report.add("consistency", name)
    except FedlookupError as exc:
        report.add("consistency", name, exc)
