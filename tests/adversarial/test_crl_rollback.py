"""An older revocation list put over a newer one does not un-revoke a certificate.

The authority revokes FR's certificate (keyCompromise) and DE deploys the new CRL; FR's
node, calling DE as its own process, is refused. Then the CRL file on DE is replaced by the
previous, still unexpired list (a lower CRL number), as someone holding FR's stolen key
would wish. DE must keep refusing FR, and its log must carry a WARNING naming both numbers.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile import ROOT
from reliability.relnet import RelNet

from certs import CAFiles, revoke
from certs.verify import crl_number

pytestmark = pytest.mark.integration

CALLER = Path(__file__).resolve().parent / "members" / "caller.py"


def _call_as_fr(net: RelNet) -> dict[str, str]:
    tls = net.folder("FR") / "tls"
    run = subprocess.run(
        [sys.executable, str(CALLER), "--target", net.endpoint("DE"), "--ca", str(tls / "ca.pem"),
         "--cert", str(tls / "node.pem"), "--key", str(tls / "node.key")],
        capture_output=True, text=True, timeout=60, check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    out: dict[str, str] = json.loads(run.stdout)
    return out


def test_an_older_crl_is_refused_and_named(tmp_path: Path) -> None:
    with RelNet.start(tmp_path / "net", ["DE", "FR"], records=5) as net:
        assert _call_as_fr(net)["code"] == "OK"
        ca = CAFiles.open(net.network.ca_dir)
        de_crl = net.folder("DE") / "tls" / "crl.pem"
        old = tmp_path / "old-crl.pem"
        shutil.copyfile(de_crl, old)
        old_number = crl_number(ca.crl())
        new_number = crl_number(revoke(ca, net.folder("FR") / "tls" / "node.pem", "keyCompromise"))
        assert new_number > old_number
        shutil.copyfile(ca.crl_path, de_crl)
        assert _call_as_fr(net)["code"] == "UNAUTHENTICATED"
        time.sleep(0.05)  # a file stamp that differs from the newer CRL's
        shutil.copyfile(old, de_crl)  # the rollback
        after = _call_as_fr(net)
        logs = net.log_records("DE")
    # What DE did: still refuses FR.
    assert after["code"] == "UNAUTHENTICATED", after
    # What DE's log says: the rollback, with both numbers, at WARNING.
    warned = [
        r for r in logs
        if str(r.get("level")).upper() == "WARNING" and "CRL rollback" in str(r.get("message"))
    ]  # fmt: skip
    assert warned, logs[-6:]
    message = str(warned[0]["message"])
    assert f"CRL number {old_number}" in message
    assert f"the {new_number} in force" in message
