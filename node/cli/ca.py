"""``fedlookup ca``: the federation authority's commands.

``init`` creates the root CA; ``issue``, ``renew`` and ``revoke`` manage node certificates,
``issue-server`` an HTTPS server certificate (the desk's, from a web CA of its own),
``sign-csr`` issues one from a node's request (its key never leaves the node);
``crl`` re-signs the revocation list before it goes stale; ``inspect`` shows a certificate;
``directory`` signs the federation directory from a members file; ``directory-show``
verifies and shows one. Operator guide: docs/pki.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from certs import (
    DEFAULT_CA_DAYS,
    DEFAULT_CRL_DAYS,
    DEFAULT_HOSTS,
    DEFAULT_NODE_DAYS,
    DEFAULT_SERVER_DAYS,
    REVOCATION_REASONS,
    CAFiles,
    init_ca,
    inspect_certificate,
    issue_node_certificate,
    issue_server_certificate,
    refresh_crl,
    renew,
    revoke,
)
from node.cli.common import console, print_json
from node.ops.ca_members import read_members, version_on_disk

app = typer.Typer(no_args_is_help=True)

CA_DIR = typer.Option(..., "--dir", help="The CA folder (ca.pem, ca.key, crl.pem, issued.json).")
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def _report(as_json: bool, data: dict[str, Any], text: str) -> None:
    if as_json:
        print_json(data)
    else:
        console.print(text, highlight=False, soft_wrap=True)


@app.command("init")
def init_cmd(
    ca_dir: Path = CA_DIR,
    name: str = typer.Option(..., "--name", help="The federation's name (root common name)."),
    days: int = typer.Option(DEFAULT_CA_DAYS, "--days", help="Validity of the root, days."),
    as_json: bool = JSON,
) -> None:
    """Create the federation root CA (ECDSA P-256) and an empty revocation list."""
    ca = init_ca(ca_dir, name, days=days)
    info = inspect_certificate(ca.cert_path)
    _report(
        as_json,
        {"ca": str(ca.cert_path), "key": str(ca.key_path), "crl": str(ca.crl_path), **info},
        f"root CA [bold]{name}[/] in {ca_dir}\n  fingerprint {info['fingerprint_sha256']}\n"
        f"  valid until {info['not_after']}\n  keep {ca.key_path} (0600) offline; "
        f"give every node {ca.cert_path} and {ca.crl_path}",
    )


@app.command("issue")
def issue_cmd(
    ca_dir: Path = CA_DIR,
    country: str = typer.Option(..., "--country", help="ISO 3166-1 alpha-2 code, e.g. DE."),
    out: Path = typer.Option(..., "--out", help="Folder for node.pem, node.key, ca.pem."),
    hosts: list[str] = typer.Option(
        list(DEFAULT_HOSTS), "--host", help="Host name or IP address (repeat)."
    ),
    days: int = typer.Option(DEFAULT_NODE_DAYS, "--days", help="Validity, days."),
    as_json: bool = JSON,
) -> None:
    """Issue a node certificate for COUNTRY (server and client auth, country in the SAN)."""
    files = issue_node_certificate(CAFiles.open(ca_dir), country, out, hosts=hosts, days=days)
    info = inspect_certificate(files.cert_path)
    _report(
        as_json,
        {"cert": str(files.cert_path), "key": str(files.key_path), **info},
        f"node certificate for [bold]{country}[/] in {out}\n  hosts {', '.join(hosts)}\n"
        f"  key fingerprint {info['key_fingerprint_sha256']}\n  valid until {info['not_after']}",
    )


@app.command("issue-server")
def issue_server_cmd(
    ca_dir: Path = CA_DIR,
    out: Path = typer.Option(..., "--out", help="Folder for server.pem, server.key, ca.pem."),
    hosts: list[str] = typer.Option(
        ..., "--host", help="Host name or IP address (repeat; the first is the common name)."
    ),
    days: int = typer.Option(DEFAULT_SERVER_DAYS, "--days", help="Validity, days."),
    replace: bool = typer.Option(
        False, "--replace", help="Overwrite the key and certificate in --out (renewal)."
    ),
    as_json: bool = JSON,
) -> None:
    """Issue an HTTPS server certificate (server auth only, no country: never a node's)."""
    files = issue_server_certificate(
        CAFiles.open(ca_dir), out, hosts=hosts, days=days, replace=replace
    )
    info = inspect_certificate(files.cert_path)
    _report(
        as_json,
        {"cert": str(files.cert_path), "key": str(files.key_path), **info},
        f"server certificate in {out}\n  hosts {', '.join(hosts)}\n"
        f"  valid until {info['not_after']}\n  clients trust {files.ca_path}",
    )


@app.command("renew")
def renew_cmd(
    ca_dir: Path = CA_DIR,
    cert: Path = typer.Option(..., "--cert", help="The node.pem to renew (node.key beside it)."),
    days: int = typer.Option(DEFAULT_NODE_DAYS, "--days", help="Validity, days."),
    new_key: bool = typer.Option(
        False, "--new-key", help="Rotate the key too (then publish a new directory)."
    ),
    as_json: bool = JSON,
) -> None:
    """Replace a node certificate with a fresh one: same country, same hosts."""
    files = renew(CAFiles.open(ca_dir), cert, days=days, new_key=new_key)
    info = inspect_certificate(files.cert_path)
    note = "\n  [yellow]new key: sign and publish a new directory[/]" if new_key else ""
    _report(
        as_json,
        {"cert": str(files.cert_path), "new_key": new_key, **info},
        f"renewed {info['country']} certificate, valid until {info['not_after']}{note}",
    )


@app.command("sign-csr")
def sign_csr_cmd(
    ca_dir: Path = CA_DIR,
    csr: Path = typer.Option(..., "--csr", help="The node's request (from `fedlookup node csr`)."),
    out: Path = typer.Option(..., "--out", help="The certificate to send back (PEM)."),
    country: str | None = typer.Option(
        None, "--country", help="Refuse a request for any other country (recommended)."
    ),
    days: int = typer.Option(DEFAULT_NODE_DAYS, "--days", help="Validity, days."),
    as_json: bool = JSON,
) -> None:
    """Issue a node certificate from its request: the node's private key never comes here."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from certs.csr import read_csr
    from certs.issue import sign_public_key
    from fedlookup.errors import InputError
    from fedlookup.files import write_atomic

    request = read_csr(csr)
    if country is not None and request.country != country.upper():
        raise InputError(f"the request is for {request.country}, not {country}", file=str(csr))
    cert = sign_public_key(
        CAFiles.open(ca_dir), request.country, request.public_key, hosts=request.hosts, days=days
    )
    write_atomic(out, cert.public_bytes(Encoding.PEM))
    info = inspect_certificate(out)
    _report(
        as_json,
        {"cert": str(out), **info},
        f"issued {info['country']} certificate for {', '.join(request.hosts)}, valid until "
        f"{info['not_after']} -> {out}",
    )


@app.command("revoke")
def revoke_cmd(
    ca_dir: Path = CA_DIR,
    cert: Path = typer.Option(..., "--cert", help="The certificate to revoke (PEM)."),
    reason: str = typer.Option(
        "unspecified", "--reason", help=f"One of: {', '.join(REVOCATION_REASONS)}."
    ),
    days: int = typer.Option(DEFAULT_CRL_DAYS, "--days", help="Days until the CRL's next update."),
    as_json: bool = JSON,
) -> None:
    """Revoke a node certificate and re-sign the revocation list."""
    ca = CAFiles.open(ca_dir)
    crl = revoke(ca, cert, reason, days=days)
    info = inspect_certificate(cert)
    _report(
        as_json,
        {
            "serial": info["serial"],
            "country": info["country"],
            "reason": reason,
            "crl": str(ca.crl_path),
            "revoked_count": len(crl),
        },
        f"revoked {info['country']} certificate {info['serial']} ({reason}); "
        f"distribute {ca.crl_path} to every node",
    )


@app.command("crl")
def crl_cmd(
    ca_dir: Path = CA_DIR,
    days: int = typer.Option(DEFAULT_CRL_DAYS, "--days", help="Days until the next update."),
    as_json: bool = JSON,
) -> None:
    """Re-sign the revocation list with a later next-update (run before it goes stale)."""
    ca = CAFiles.open(ca_dir)
    crl = refresh_crl(ca, days=days)
    next_update = crl.next_update_utc.isoformat() if crl.next_update_utc else None
    _report(
        as_json,
        {"crl": str(ca.crl_path), "next_update": next_update, "revoked_count": len(crl)},
        f"{ca.crl_path} re-signed; next update {next_update}",
    )


@app.command("inspect")
def inspect_cmd(
    path: Path = typer.Argument(..., help="A certificate (PEM)."),
    crl: Path | None = typer.Option(None, "--crl", help="Check revocation in this CRL."),
    as_json: bool = JSON,
) -> None:
    """Show a certificate: subject, country, SANs, validity, fingerprints, revocation."""
    info = inspect_certificate(path, crl_path=crl)
    if as_json:
        print_json(info)
        return
    table = Table(show_header=False, box=None)
    for key, value in info.items():
        if key == "sans":
            value = ", ".join(v for vs in value.values() for v in vs)
        elif isinstance(value, list):
            value = ", ".join(value)
        table.add_row(key, str(value))
    console.print(table)


@app.command("directory")
def directory_cmd(
    ca_dir: Path = CA_DIR,
    members: Path = typer.Option(..., "--members", help="Members file (TOML, see docs/pki.md)."),
    version: int = typer.Option(..., "--version", help="New version; must exceed the current."),
    out: Path = typer.Option(..., "--out", help="The signed directory file to write."),
    federation: str | None = typer.Option(None, "--federation", help="Federation name."),
    as_json: bool = JSON,
) -> None:
    """Sign the federation directory from a members file."""
    from datetime import UTC, datetime

    from federation.directory import Directory, write_directory
    from fedlookup.errors import DirectoryRollbackError

    ca = CAFiles.open(ca_dir)
    name, listed = read_members(members)
    held = version_on_disk(out)
    if held is not None and version <= held:
        raise DirectoryRollbackError(f"{out} holds version {held}; give --version {held + 1}")
    fed = federation or name or ca.certificate().subject.rfc4514_string()
    directory = Directory(
        federation=fed, version=version, issued_at=datetime.now(UTC), members=tuple(listed)
    )
    write_directory(directory, ca, out)
    _report(
        as_json,
        {"path": str(out), "version": version, "members": directory.countries},
        f"directory v{version} of {fed} signed: {', '.join(directory.countries)} -> {out}",
    )


@app.command("directory-show")
def directory_show_cmd(
    path: Path = typer.Argument(..., help="A signed directory file."),
    ca: Path = typer.Option(..., "--ca", help="The federation root (ca.pem) to verify with."),
    as_json: bool = JSON,
) -> None:
    """Verify a signed directory and show its members."""
    from federation.directory import load_directory

    directory = load_directory(path, ca)
    if as_json:
        print_json({"signature": "valid", **directory.to_json()})
        return
    console.print(
        f"directory v{directory.version} of {directory.federation}, issued "
        f"{directory.issued_at.isoformat()}; signature valid",
        highlight=False,
    )
    table = Table("country", "endpoint", "pinned key", "max/request", "per day")
    for m in directory.members:
        pin = m.key_fingerprint[:16] + "..." if m.key_fingerprint else "any (not pinned)"
        table.add_row(
            m.country,
            m.endpoint,
            pin,
            str(m.limits.max_items_per_request),
            str(m.limits.items_per_day),
        )
    console.print(table)
