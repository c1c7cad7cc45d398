"""Certificate requests: issue, renewal and key rotation without a key leaving the node."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509

from certs import CAFiles, init_ca, key_fingerprint
from certs._files import load_private_key
from certs.csr import create_csr, read_csr
from fedlookup.errors import CertificateError, CountryMismatchError, InputError
from node.cli.main import build_command
from node.config import NodeConfig
from node.ops.bootstrap import init_node
from node.ops.cert_requests import install_certificate, pending_key_path, write_csr

CLI = build_command()


def _cli(*args: str) -> None:
    CLI.main(args=list(args), prog_name="fedlookup", standalone_mode=False)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, NodeConfig]:
    init_ca(tmp_path / "ca", "Test federation")
    ca = CAFiles.open(tmp_path / "ca")
    init_node("DE", tmp_path / "de")  # no --ca-dir: no TLS key, no certificate yet
    (tmp_path / "de" / "tls" / "ca.pem").write_bytes(ca.cert_path.read_bytes())
    (tmp_path / "de" / "tls" / "crl.pem").write_bytes(ca.crl_path.read_bytes())
    return tmp_path, NodeConfig.from_toml(tmp_path / "de" / "node.toml", env={})


def test_issue_renew_and_rotate_through_requests(setup: tuple[Path, NodeConfig]) -> None:
    root, cfg = setup
    config = str(cfg.source)
    # First issue: the request creates the node's key, 0600, and only the request travels.
    _cli("node", "csr", "--config", config, "--out", str(root / "de.csr"), "--host", "de.example")
    assert stat.S_IMODE(cfg.tls.key.stat().st_mode) == 0o600
    ca_files_before = {p.name for p in (root / "ca").iterdir()}
    _cli("ca", "sign-csr", "--dir", str(root / "ca"), "--csr", str(root / "de.csr"),
         "--country", "DE", "--out", str(root / "de.pem"))  # fmt: skip
    assert not any(name.endswith(".key") and name != "ca.key" for name in ca_files_before)
    _cli("node", "install-cert", "--config", config, "--cert", str(root / "de.pem"))
    first = x509.load_pem_x509_certificate(cfg.tls.cert.read_bytes())
    assert first.public_key() == load_private_key(cfg.tls.key).public_key()
    san = first.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["de.example"]

    # Renewal, same key: the directory's pin still matches; hosts are kept.
    _cli("node", "csr", "--config", config, "--out", str(root / "renew.csr"))
    _cli("ca", "sign-csr", "--dir", str(root / "ca"), "--csr", str(root / "renew.csr"),
         "--out", str(root / "renew.pem"))  # fmt: skip
    _cli("node", "install-cert", "--config", config, "--cert", str(root / "renew.pem"))
    second = x509.load_pem_x509_certificate(cfg.tls.cert.read_bytes())
    assert second.serial_number != first.serial_number
    assert key_fingerprint(second) == key_fingerprint(first)

    # Rotation: the new key waits beside the old one until its certificate is installed.
    _cli("node", "csr", "--config", config, "--out", str(root / "rot.csr"), "--new-key")
    pending = pending_key_path(cfg)
    assert stat.S_IMODE(pending.stat().st_mode) == 0o600
    assert load_private_key(cfg.tls.key).public_key() == second.public_key()
    _cli("ca", "sign-csr", "--dir", str(root / "ca"), "--csr", str(root / "rot.csr"),
         "--out", str(root / "rot.pem"))  # fmt: skip
    report = install_certificate(cfg, root / "rot.pem")
    assert report.key_rotated
    assert not pending.exists()
    third = x509.load_pem_x509_certificate(cfg.tls.cert.read_bytes())
    assert key_fingerprint(third) != key_fingerprint(second)
    assert third.public_key() == load_private_key(cfg.tls.key).public_key()


def test_install_refuses_a_certificate_for_another_key_or_country(
    setup: tuple[Path, NodeConfig], tmp_path: Path
) -> None:
    root, cfg = setup
    write_csr(cfg, root / "de.csr")
    # Someone else's request (FR, its own key) signed by the same CA.
    init_node("FR", root / "fr")
    fr_cfg = NodeConfig.from_toml(root / "fr" / "node.toml", env={})
    write_csr(fr_cfg, root / "fr.csr")
    _cli("ca", "sign-csr", "--dir", str(root / "ca"), "--csr", str(root / "fr.csr"),
         "--out", str(root / "fr.pem"))  # fmt: skip
    with pytest.raises(CountryMismatchError):
        install_certificate(cfg, root / "fr.pem")
    assert not cfg.tls.cert.exists()
    # A DE certificate for a key this node does not hold.
    other = root / "other"
    other.mkdir()
    from cryptography.hazmat.primitives.asymmetric import ec

    stray = ec.generate_private_key(ec.SECP256R1())
    (other / "de.csr").write_bytes(create_csr(stray, "DE", ["localhost"]))
    _cli("ca", "sign-csr", "--dir", str(root / "ca"), "--csr", str(other / "de.csr"),
         "--out", str(other / "de.pem"))  # fmt: skip
    with pytest.raises(CertificateError, match="another key"):
        install_certificate(cfg, other / "de.pem")
    assert not cfg.tls.cert.exists()


def test_sign_csr_refuses_a_tampered_or_wrong_country_request(
    setup: tuple[Path, NodeConfig],
) -> None:
    root, cfg = setup
    write_csr(cfg, root / "de.csr")
    with pytest.raises(InputError, match="not FR"):
        _cli("ca", "sign-csr", "--dir", str(root / "ca"), "--csr", str(root / "de.csr"),
             "--country", "FR", "--out", str(root / "x.pem"))  # fmt: skip
    pem = (root / "de.csr").read_text()
    body = pem.splitlines()
    middle = len(body) // 2
    body[middle] = body[middle][:-4] + ("AAAA" if body[middle][-4:] != "AAAA" else "BBBB")
    (root / "bad.csr").write_text("\n".join(body) + "\n")
    with pytest.raises(InputError, match=r"bad\.csr"):
        read_csr(root / "bad.csr")
    assert not (root / "x.pem").exists()
