"""``fedlookup audit``: export a node's signed query log and verify it offline.

Output follows ``aws cloudtrail validate-logs``: what was requested, each artefact ``valid`` or
``INVALID: <reason>``, then a summary. Exit status: 0 when everything is valid, 1 when any
artefact is INVALID (or a query is unmatched), 2 when the input cannot be used at all, 3
when ``verify`` found everything valid but under the export's own keys only (no ``--policy``
trust root was named, so nothing says whose keys those are).
``--json`` prints one JSON document instead.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer

from audit.commitment import Opening, OpeningStore, blinding_key
from audit.crosscheck import cross_check
from audit.export import export_log
from audit.keys import load_private_key
from audit.merkle import verify_inclusion
from audit.policy import Policy
from audit.report import summarise
from audit.reveal import bound_request_hashes, check_reveal
from audit.signed_head import signed_head
from audit.storage import atomic_write
from audit.verify import ExportView, Finding, VerifyReport, load_export, verify_export
from audit.witness_state import WitnessState
from fedlookup.errors import InputError, VerificationError
from node.cli.common import EXIT_FINDINGS, console, print_json

app = typer.Typer(no_args_is_help=True)

_JSON = typer.Option(False, "--json", help="Print one JSON document instead of text.")
_POLICY = typer.Option(
    None, "--policy", help="Trusted policy (JSON) to verify against; default: the export's own."
)


def _policy(path: Path | None) -> Policy | None:
    return Policy.load(path) if path is not None else None


def _echo_findings(findings: list[Finding]) -> None:
    width = max([40, *(len(f.artefact) for f in findings)])
    for f in findings:
        verdict = "valid" if f.valid else f"INVALID: {f.reason}"
        typer.echo(f"  {f.artefact:<{width}}  {verdict}")


def _summary(report: VerifyReport) -> str:
    order = [
        "checkpoints",
        "cosignatures",
        "entries",
        "tiles",
        "bundles",
        "coverage",
        "consistency",
        "files",
    ]
    counts = report.counts()
    parts = [f"{counts[c][0]}/{counts[c][1]} {c} valid" for c in order if c in counts]
    return ", ".join(parts)


#: ``verify`` without a trust root: valid under the export's own keys, which prove nothing.
EXIT_UNTRUSTED = 3
_UNTRUSTED = (
    "UNTRUSTED: no trust root named: checked against the export's own keys only "
    "(name one with --policy, from `fedlookup audit policy --directory ... --authority ...`)"
)


def _finish(ok: bool, *, trusted: bool = True) -> None:
    if not ok:
        raise typer.Exit(EXIT_FINDINGS)
    if not trusted:
        raise typer.Exit(EXIT_UNTRUSTED)


def _findings_json(findings: list[Finding]) -> list[dict[str, Any]]:
    return [f.__dict__ for f in findings]


@app.command("export")
def export_cmd(
    log: Path = typer.Option(..., "--log", help="The node's audit log directory."),
    out: Path = typer.Option(..., "--out", help="New directory to write the export to."),
    key: Path | None = typer.Option(
        None, "--key", help="Audit key: sign a fresh checkpoint first (node must be stopped)."
    ),
    as_json: bool = _JSON,
) -> None:
    """Write a static, self-contained export of a log for auditors."""
    summary = export_log(log, out, signing_key=load_private_key(key) if key else None)
    if as_json:
        print_json(summary.__dict__)
        return
    typer.echo(
        f"Exported {summary.origin}: {summary.size} entries, "
        f"{summary.checkpoints} checkpoints -> {summary.path}"
    )
    if summary.unexported:
        typer.echo(
            f"  {summary.unexported} newer entries are not yet covered by a checkpoint and were"
            " left out (export again after the next checkpoint, or use --key)"
        )


@app.command("verify")
def verify_cmd(
    export: Path = typer.Argument(..., help="Export directory."),
    against: list[Path] = typer.Option(
        [], "--against", help="A signed checkpoint seen earlier (repeatable)."
    ),
    policy: Path | None = _POLICY,
    state: Path | None = typer.Option(
        None,
        "--state",
        help="Auditor state directory: check against the newest checkpoint verified before "
        "for this log, and remember this one (catches rollbacks and forks).",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="List every valid entry too."),
    as_json: bool = _JSON,
) -> None:
    """Verify signatures, cosignatures, the whole tree, tiles, and consistency."""
    earlier = []
    for path in against:
        try:
            earlier.append((str(path), path.read_bytes()))
        except OSError as exc:
            raise InputError(f"cannot read: {exc}", file=str(path)) from exc
    witness = WitnessState(state) if state is not None else None
    if witness is not None:
        view, _ = load_export(export, _policy(policy))
        earlier += witness.held(view.policy.origin)
    report = verify_export(export, policy=_policy(policy), against=earlier)
    if witness is not None and report.ok and report.trusted:  # only a trust root's word
        witness.remember(report.origin, (export / "checkpoint").read_bytes())
    if as_json:
        print_json(
            {
                "export": str(export),
                "origin": report.origin,
                "size": report.size,
                "valid": report.ok,
                "trusted": report.trusted,
                "counts": report.counts(),
                "findings": _findings_json(report.findings),
            }
        )
        _finish(report.ok, trusted=report.trusted)
        return
    typer.echo(f"Validating audit export {export}")
    typer.echo(f"Results requested for {report.origin}: {report.size} entries\n")
    _echo_findings(
        [f for f in report.findings if f.category != "entries" or not f.valid or verbose]
    )
    typer.echo(f"\nResults found for {report.origin}:")
    typer.echo(_summary(report))
    if not report.trusted:
        typer.echo(_UNTRUSTED)
    _finish(report.ok, trusted=report.trusted)


@app.command("proof")
def proof_cmd(
    export: Path = typer.Argument(..., help="Export directory."),
    index: int = typer.Option(..., "--index", help="Entry index."),
    policy: Path | None = _POLICY,
    as_json: bool = _JSON,
) -> None:
    """Print (and check) the RFC 6962 inclusion proof of one entry in the latest checkpoint."""
    import base64

    view, _ = load_export(export, _policy(policy))
    try:
        head = signed_head(view)
    except VerificationError as exc:
        typer.echo(f"  checkpoint  INVALID: {exc}")
        raise typer.Exit(EXIT_FINDINGS) from exc
    if not 0 <= index < head.size:
        raise InputError(
            f"no entry {index} under the signed checkpoint (size {head.size})", file=str(export)
        )
    size, root = head.size, head.root
    proof = view.tree.inclusion_proof(index, size)
    leaf = view.tree.leaf_hash(index)
    verify_inclusion(leaf, index, size, proof, root)
    checkpoint = (export / "checkpoint").read_text()
    doc: dict[str, Any] = {
        "origin": view.policy.origin,
        "index": index,
        "tree_size": size,
        "leaf_hash": base64.b64encode(leaf).decode(),
        "root": base64.b64encode(root).decode(),
        "proof": [base64.b64encode(p).decode() for p in proof],
        "entry": view.raw_entries[index].decode(),
        "checkpoint": checkpoint,
        "trusted": policy is not None,
    }
    if as_json:
        print_json(doc)
        return
    typer.echo(f"Inclusion proof for entry {index} of {view.policy.origin}, tree size {size}")
    for key in ("leaf_hash", "root"):
        typer.echo(f"  {key:<10} {doc[key]}")
    for i, p in enumerate(doc["proof"]):
        typer.echo(f"  proof[{i}]   {p}")
    typer.echo(
        "  valid (RFC 9162 section 2.1.3.2 against the root the log signed in its checkpoint)"
    )
    if policy is None:
        typer.echo(_UNTRUSTED)


@app.command("public-key")
def public_key_cmd(
    key: Path = typer.Option(
        ..., "--key", help="The audit key: a PEM key file or a PKCS#11 reference file."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Also write the public key (PEM) here, e.g. keys/audit.pub."
    ),
) -> None:
    """Print the audit key's public half (base64, as the directory lists it)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from audit.keys import public_key_b64

    public = load_private_key(key).public_key()
    if out is not None:
        atomic_write(out, public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    typer.echo(public_key_b64(public))


@app.command("policy")
def policy_cmd(
    directory: Path = typer.Option(..., "--directory", help="The signed federation directory."),
    authority: Path = typer.Option(
        ..., "--authority", help="Certificate of the directory's signer (the federation CA)."
    ),
    country: str = typer.Option(..., "--country", help="Whose log the policy is for."),
    outgoing: bool = typer.Option(False, "--outgoing", help="Its outgoing-query log."),
    quorum: int | None = typer.Option(
        None, "--quorum", min=0, help="Cosignatures required (default: every other member)."
    ),
    out: Path = typer.Option(..., "--out", help="Policy file to write."),
) -> None:
    """Write a trusted policy for one node's log from the signed federation directory:
    the log's key, every other member as a cosigner, and a quorum of them."""
    from federation.directory import load_directory
    from node.serve.cosigning import trusted_policy

    trusted = trusted_policy(
        load_directory(directory, authority), country.upper(), outgoing=outgoing, quorum=quorum
    )
    atomic_write(out, trusted.to_bytes())
    typer.echo(
        f"Wrote the policy for {trusted.origin}: {len(trusted.cosigners)} cosigners, "
        f"quorum {trusted.quorum} -> {out}"
    )


@app.command("cross-check")
def cross_check_cmd(
    a: Path = typer.Argument(..., help="First export."),
    b: Path = typer.Argument(..., help="Second export."),
    skew: float = typer.Option(300.0, "--skew", help="Clock-skew tolerance, seconds."),
    policy_a: Path | None = typer.Option(None, "--policy-a", help="Trusted policy for A."),
    policy_b: Path | None = typer.Option(None, "--policy-b", help="Trusted policy for B."),
    as_json: bool = _JSON,
) -> None:
    """Reconcile two logs: every query present on both sides, receipts consistent."""
    reports = [verify_export(p, policy=_policy(q)) for p, q in ((a, policy_a), (b, policy_b))]
    view_a, _ = load_export(a, _policy(policy_a))
    view_b, _ = load_export(b, _policy(policy_b))
    result = cross_check(view_a, view_b, skew=skew)
    exports = [
        Finding("export", str(r.export), r.ok, "" if r.ok else "does not verify") for r in reports
    ]
    findings = exports + result.findings
    ok = all(f.valid for f in findings)
    if as_json:
        print_json(
            {
                "a": result.a,
                "b": result.b,
                "matched": result.matched,
                "valid": ok,
                "findings": _findings_json(findings),
            }
        )
        _finish(ok)
        return
    typer.echo(
        f"Results requested for cross-check of {result.a} ({a}) and {result.b} ({b}), "
        f"skew tolerance {skew} s\n"
    )
    _echo_findings([f for f in findings if not (f.category == "matched" and f.valid)])
    bad = sum(not f.valid for f in findings)
    typer.echo(f"\n{result.matched} queries reconciled on both sides, {bad} finding(s)")
    _finish(ok)


@app.command("reveal")
def reveal_cmd(
    openings: Path = typer.Option(..., "--openings", help="The node's openings database."),
    request_id: str = typer.Option(..., "--request-id", help="The request to disclose."),
    out: Path = typer.Option(..., "--out", help="Opening file to write (mode 0600)."),
) -> None:
    """Disclose one query's opening (its identifiers and nonce) to an auditor."""
    if not openings.is_file():
        raise InputError("no such openings database", file=str(openings))
    with OpeningStore(openings) as store:
        opening = store.get(request_id)
    atomic_write(out, opening.to_bytes(), mode=0o600)
    typer.echo(
        f"Wrote the opening of {request_id} ({len(opening.identifiers)} identifiers) to {out}"
    )


@app.command("purge-openings")
def purge_openings_cmd(
    openings: Path = typer.Option(..., "--openings", help="The node's openings database."),
    older_than_days: int = typer.Option(
        730, "--older-than-days", min=0, help="Retention period in days (Pruem: two years)."
    ),
) -> None:
    """Delete openings past the retention period; their commitments can never be opened again."""
    if not openings.is_file():
        raise InputError("no such openings database", file=str(openings))
    with OpeningStore(openings) as store:
        n = store.purge(timedelta(days=older_than_days))
    typer.echo(f"Purged {n} opening(s) older than {older_than_days} days from {openings}")


@app.command("check-reveal")
def check_reveal_cmd(
    export: Path = typer.Argument(..., help="Export directory."),
    opening: Path = typer.Argument(..., help="Opening file from `audit reveal`."),
    policy: Path | None = _POLICY,
    as_json: bool = _JSON,
) -> None:
    """Check a disclosed opening against the commitment the log holds."""
    try:
        parsed = Opening.parse(opening.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read: {exc}", file=str(opening)) from exc
    except VerificationError as exc:
        raise InputError(str(exc), file=str(opening)) from exc
    view, _ = load_export(export, _policy(policy))
    ids = [i.decode("utf-8", "backslashreplace") for i in parsed.identifiers]
    try:
        # Only entries under the log's signed checkpoint are evidence.
        matched = check_reveal(view, parsed, size=signed_head(view).size)
    except VerificationError as exc:
        if as_json:
            print_json({"request_id": parsed.request_id, "valid": False, "reason": str(exc)})
        else:
            typer.echo(f"  opening of {parsed.request_id}  INVALID: {exc}")
        raise typer.Exit(EXIT_FINDINGS) from exc
    request = _request_check(view, parsed)
    if as_json:
        print_json(
            {
                "request_id": parsed.request_id,
                "valid": request != "INVALID",
                "identifiers": ids,
                "entries": [{"index": i, "kind": k} for i, k in matched],
                "request": request,
            }
        )
    else:
        for index, kind in matched:
            typer.echo(f"  entry {index} ({kind}) commitment  valid")
        typer.echo(f"  request recomputed from the opening: {request}")
    if request == "INVALID":
        raise typer.Exit(EXIT_FINDINGS)
    if as_json:
        return
    typer.echo(f"Request {parsed.request_id} queried {len(ids)} identifiers:")
    for ident in ids:
        typer.echo(f"  {ident}")


def _request_check(view: ExportView, opening: Opening) -> str:
    """Recompute the blinded request from the opening and compare it with the request
    hashes the answering nodes' receipts bind: ``valid``, ``INVALID`` or ``no receipt``."""
    from federation.psi import blinded_request

    bound = bound_request_hashes(view, opening.request_id)
    if not bound:
        return "no receipt binds a request hash (check the asker's export)"
    key = blinding_key(opening.nonce)
    recomputed = {
        hashlib.sha256(blinded_request(key, opening.identifiers, reveal=r)).hexdigest()
        for r in (True, False)
    }
    return "valid" if all(h in recomputed for h in bound) else "INVALID"


@app.command("report")
def report_cmd(
    export: Path = typer.Argument(..., help="Export directory."),
    policy: Path | None = _POLICY,
    as_json: bool = _JSON,
) -> None:
    """Counts per peer, purpose and day; refusals; quota exhaustions; flags."""
    report = verify_export(export, policy=_policy(policy))
    view, _ = load_export(export, _policy(policy))
    summary = summarise(view)
    if as_json:
        print_json({**summary.to_json(), "verified": report.ok})
        _finish(report.ok)
        return
    from node.cli.audit_report_view import report_tables

    verdict = "verifies" if report.ok else "DOES NOT VERIFY: " + _summary(report)
    for renderable in report_tables(summary.to_json(), summary, verdict):
        console.print(renderable)
    _finish(report.ok)
