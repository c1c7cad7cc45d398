"""``fedlookup ca`` end to end through the command line (in process)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from federation.directory import load_directory
from fedlookup.errors import (
    ConfigError,
    DirectoryRollbackError,
    DirectorySignatureError,
    FedlookupError,
    InputError,
)
from node.cli.main import app
from node.ops.ca_members import read_audit_public_key

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, ["ca", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def _fails(*args: str) -> FedlookupError:
    result = runner.invoke(app, ["ca", *args])
    assert isinstance(result.exception, FedlookupError), result.output
    return result.exception


def _members(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "members.toml"
    path.write_text(
        f"""federation = "CLI federation"
[defaults.limits]
max_items_per_request = 10
items_per_day = 100
[[members]]
country = "DE"
endpoint = "127.0.0.1:50051"
cert = "DE/node.pem"
audit_public_key = "DE/audit.pub"
[[members]]
country = "FR"
endpoint = "127.0.0.1:50052"
cert = "FR/node.pem"
audit_public_key = "FR/audit.pub"
pin = false
[members.limits]
max_items_per_request = 5
items_per_day = 50
{extra}"""
    )
    return path


@pytest.fixture
def fed(tmp_path: Path) -> Path:
    _ok("init", "--dir", str(tmp_path / "ca"), "--name", "CLI federation")
    for cc in ("DE", "FR"):
        _ok("issue", "--dir", str(tmp_path / "ca"), "--country", cc, "--out", str(tmp_path / cc))
    key = Ed25519PrivateKey.generate().public_key()
    (tmp_path / "DE" / "audit.pub").write_bytes(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    raw = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    (tmp_path / "FR" / "audit.pub").write_text(base64.b64encode(raw).decode() + "\n")
    return tmp_path


def test_issue_inspect_renew_revoke(fed: Path) -> None:
    ca = str(fed / "ca")
    info = json.loads(_ok("inspect", str(fed / "DE" / "node.pem"), "--json"))
    assert info["country"] == "DE"
    renewed = json.loads(
        _ok("renew", "--dir", ca, "--cert", str(fed / "DE" / "node.pem"), "--json")
    )
    assert renewed["key_fingerprint_sha256"] == info["key_fingerprint_sha256"]
    assert renewed["serial"] != info["serial"]
    out = json.loads(
        _ok(
            "revoke",
            "--dir",
            ca,
            "--cert",
            str(fed / "FR" / "node.pem"),
            "--reason",
            "keyCompromise",
            "--json",
        )
    )
    assert out == {
        "serial": out["serial"],
        "country": "FR",
        "reason": "keyCompromise",
        "crl": str(fed / "ca" / "crl.pem"),
        "revoked_count": 1,
    }
    shown = json.loads(
        _ok("inspect", str(fed / "FR" / "node.pem"), "--crl", str(fed / "ca" / "crl.pem"), "--json")
    )
    assert shown["revoked"] is True
    crl = json.loads(_ok("crl", "--dir", ca, "--json"))
    assert crl["revoked_count"] == 1
    assert "revoked" in _ok("inspect", str(fed / "FR" / "node.pem"))


def test_directory_sign_show_and_rollback(fed: Path) -> None:
    ca, out = str(fed / "ca"), str(fed / "directory.json")
    members = str(_members(fed))
    _ok("directory", "--dir", ca, "--members", members, "--version", "1", "--out", out)
    directory = load_directory(Path(out), fed / "ca" / "ca.pem")
    assert directory.federation == "CLI federation"
    assert directory.member("DE").key_fingerprint is not None
    assert directory.member("FR").key_fingerprint is None
    assert directory.member("FR").limits.items_per_day == 50
    assert directory.member("DE").limits.items_per_day == 100
    shown = json.loads(_ok("directory-show", out, "--ca", str(fed / "ca" / "ca.pem"), "--json"))
    assert shown["signature"] == "valid"
    assert [m["country"] for m in shown["members"]] == ["DE", "FR"]
    assert "not pinned" in _ok("directory-show", out, "--ca", str(fed / "ca" / "ca.pem"))
    err = _fails("directory", "--dir", ca, "--members", members, "--version", "1", "--out", out)
    assert isinstance(err, DirectoryRollbackError)
    assert "--version 2" in str(err)
    _ok("directory", "--dir", ca, "--members", members, "--version", "2", "--out", out)
    err = _fails("directory-show", out, "--ca", str(fed / "DE" / "node.pem"))
    assert isinstance(err, DirectorySignatureError)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ('[[members]]\ncountry = "NL"\n', "members[2].cert"),
        (
            '[[members]]\ncountry = "NL"\nendpoint = "x:1"\ncert = "FR/node.pem"\n'
            'audit_public_key = "FR/audit.pub"\n',
            "members[2].country",
        ),
        (
            '[[members]]\ncountry = "FR"\nendpoint = "nope"\ncert = "FR/node.pem"\n'
            'audit_public_key = "FR/audit.pub"\n',
            "members[2].endpoint",
        ),
        (
            '[[members]]\ncountry = "DE"\nendpoint = "x:1"\ncert = "DE/node.pem"\n'
            'audit_public_key = "DE/audit.pub"\npin = "yes"\n',
            "members[2].pin",
        ),
    ],
)
def test_members_file_errors_name_the_field(fed: Path, extra: str, field: str) -> None:
    members = _members(fed, extra)
    err = _fails(
        "directory",
        "--dir",
        str(fed / "ca"),
        "--members",
        str(members),
        "--version",
        "1",
        "--out",
        str(fed / "d.json"),
    )
    assert isinstance(err, InputError)
    assert err.field == field
    assert err.file == str(members)
    assert not (fed / "d.json").exists()


def test_audit_key_forms(tmp_path: Path) -> None:
    from audit.keys import log_vkey

    key = Ed25519PrivateKey.generate().public_key()
    raw = key.public_bytes_raw()
    forms = {
        "pem": key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        "b64": base64.b64encode(raw).decode(),
        "vkey": log_vkey("de.fedlookup.example/log", key),
    }
    for name, text in forms.items():
        (tmp_path / name).write_text(text + "\n")
        assert read_audit_public_key(tmp_path / name) == raw
    (tmp_path / "bad").write_text("hello")
    with pytest.raises(InputError):
        read_audit_public_key(tmp_path / "bad")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("issue", "--dir", "{d}/nowhere", "--country", "DE", "--out", "{d}/x"), ConfigError),
        (("issue", "--dir", "{d}/ca", "--country", "de", "--out", "{d}/x"), InputError),
        (("revoke", "--dir", "{d}/ca", "--cert", "{d}/DE/node.pem", "--reason", "x"), InputError),
        (("init", "--dir", "{d}/ca", "--name", "again"), ConfigError),
        (("inspect", "{d}/missing.pem"), InputError),
    ],
)
def test_clear_errors(fed: Path, args: tuple[str, ...], error: type[Exception]) -> None:
    err = _fails(*(a.format(d=fed) for a in args))
    assert type(err) is error
