"""An audit key in a PKCS#11 token (SoftHSM): the log signs through it, the key stays in it.

SoftHSM (Debian ``softhsm2``; .ci/run installs it in CI) gets a token in a temporary
folder; the Ed25519 key pair is generated inside the token, and the node only holds a
reference file naming it. The tests skip with a reason where SoftHSM is missing, and fail
in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from audit import AuditLog, LogEntry
from audit.export import export_log
from audit.keys import load_private_key, log_vkey
from audit.policy import Policy
from audit.verify import verify_export
from fedlookup.errors import KeyFileError

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "1234"


def _need_softhsm() -> None:
    if Path(MODULE).is_file() and shutil.which("softhsm2-util"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("SoftHSM is missing in CI (.ci/run installs Debian's softhsm2)")
    pytest.skip("SoftHSM not installed (Debian package softhsm2)")


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh SoftHSM token holding one Ed25519 key pair labelled ``audit``."""
    _need_softhsm()
    pkcs11 = pytest.importorskip("pkcs11")
    from pkcs11 import Attribute, KeyType
    from pkcs11.util.ec import encode_named_curve_parameters

    root = tmp_path_factory.mktemp("hsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n")
    before = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # read by SoftHSM when the library initialises
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "fedlookup",
         "--pin", PIN, "--so-pin", "5678"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    lib = pkcs11.lib(MODULE)
    lib.reinitialize()  # this process may have initialised SoftHSM under another config
    with lib.get_token(token_label="fedlookup").open(rw=True, user_pin=PIN) as session:
        ed25519 = encode_named_curve_parameters("1.3.101.112")
        params = session.create_domain_parameters(
            KeyType.EC_EDWARDS, {Attribute.EC_PARAMS: ed25519}, local=True
        )
        params.generate_keypair(store=True, label="audit")
    yield root
    if before is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = before


def _reference(folder: Path, *, key_label: str = "audit", pin_mode: int = 0o600) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pin = folder / "audit.pin"
    pin.write_text(PIN + "\n")
    pin.chmod(pin_mode)
    ref = folder / "audit.key"
    ref.write_text(
        "# fedlookup audit key in a PKCS#11 token\n"
        f'pkcs11_module = "{MODULE}"\ntoken_label = "fedlookup"\n'
        f'key_label = "{key_label}"\npin_file = "audit.pin"\n'
    )
    ref.chmod(0o600)
    return ref


def test_the_log_signs_through_the_token_and_verifies(token: Path, tmp_path: Path) -> None:
    key = load_private_key(_reference(tmp_path / "keys"))
    signature = key.sign(b"fedlookup")
    key.public_key().verify(signature, b"fedlookup")  # raises if it does not verify
    origin = "fedlookup.test/DE"
    with AuditLog.open(tmp_path / "log", origin, key, country="DE") as log:
        log.append(LogEntry.heartbeat())
        log.append(LogEntry.heartbeat())
        log.checkpoint()
    export_log(tmp_path / "log", tmp_path / "export")
    policy = Policy(origin, "DE", log_vkey(origin, key.public_key()))
    report = verify_export(tmp_path / "export", policy=policy)
    assert report.ok, [f for f in report.findings if not f.valid]


def test_the_directory_gets_the_token_key_public_half(token: Path, tmp_path: Path) -> None:
    from audit.keys import public_key_b64
    from node.cli.main import build_command
    from node.ops.ca_members import read_audit_public_key

    ref = _reference(tmp_path / "keys")
    pub = tmp_path / "keys" / "audit.pub"
    build_command().main(
        args=["audit", "public-key", "--key", str(ref), "--out", str(pub)],
        prog_name="fedlookup",
        standalone_mode=False,
    )
    expected = load_private_key(ref).public_key()
    assert read_audit_public_key(pub) == expected.public_bytes_raw()
    assert public_key_b64(expected)


def test_the_key_cannot_be_exported(token: Path, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    key = load_private_key(_reference(tmp_path / "keys"))
    with pytest.raises(KeyFileError, match="PKCS#11 token"):
        key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    with pytest.raises(KeyFileError, match="PKCS#11 token"):
        key.private_bytes_raw()


@pytest.mark.parametrize(
    ("label", "pin_mode", "message"),
    [("nope", 0o600, "key 'nope'"), ("audit", 0o644, "audit.pin: must not be accessible")],
)
def test_a_bad_reference_is_a_key_file_error_naming_it(
    token: Path, tmp_path: Path, label: str, pin_mode: int, message: str
) -> None:
    ref = _reference(tmp_path / "keys", key_label=label, pin_mode=pin_mode)
    with pytest.raises(KeyFileError, match=message):
        load_private_key(ref)


def test_a_reference_with_an_unknown_field_is_refused(tmp_path: Path) -> None:
    ref = _reference(tmp_path / "keys")
    ref.write_text(ref.read_text() + 'slot = "0"\n')
    with pytest.raises(KeyFileError, match="slot: unknown field"):
        load_private_key(ref)
