"""Interoperability: notes, checkpoints and cosignatures produced by implementations nobody
here wrote verify with our code, and ours reproduce theirs byte for byte."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import SignedNote, Verifier, open_checkpoint, sign_note, verify_cosignature
from audit.note import key_id
from fedlookup.errors import VerificationError

# golang.org/x/mod/sumdb/note: the package documentation's example key and signed note.
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

# A checkpoint of the transparency.dev staging CT log "arche2025h1", carrying the log's
# Ed25519 note signature, an RFC 6962 (type 0x05) signature, and tlog-cosignature/v1
# cosignatures from public witnesses, among them remora.n621.de.
CT_LOG_VKEY = (
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f"
)
REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
CT_CHECKPOINT = """arche2025h1.staging.ct.transparency.dev
1432088532
U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=

\u2014 arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=
\u2014 arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=
\u2014 transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==
\u2014 remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==
"""  # noqa: E501

# Verifier keys from other implementations' test suites (signed-note example; a key whose
# base64 contains '+', transparency-dev/formats).
OTHER_VKEYS = [
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop",
    "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6",
    REMORA_VKEY,
]


def test_go_sumdb_note_verifies() -> None:
    note = SignedNote.parse(GO_NOTE)
    note.verify(Verifier.parse(GO_VKEY))
    assert note.text == GO_TEXT


def test_signing_reproduces_the_go_note_byte_for_byte() -> None:
    seed = base64.b64decode(GO_SKEY.split("+", 4)[4])[1:]
    key = Ed25519PrivateKey.from_private_bytes(seed)
    assert sign_note(GO_TEXT, "PeterNeumann", key).serialize().decode() == GO_NOTE


@pytest.mark.parametrize("vkey", [GO_VKEY, *OTHER_VKEYS])
def test_verifier_keys_of_other_implementations_round_trip(vkey: str) -> None:
    assert str(Verifier.parse(vkey)) == vkey


def test_real_ct_checkpoint_and_witness_cosignature_verify() -> None:
    checkpoint, note = open_checkpoint(CT_CHECKPOINT, Verifier.parse(CT_LOG_VKEY))
    assert checkpoint.size == 1432088532
    cosig = verify_cosignature(note, Verifier.parse(REMORA_VKEY))
    assert cosig.name == "remora.n621.de"
    assert cosig.timestamp > 1_700_000_000


def test_clobbered_ct_checkpoint_is_refused() -> None:
    tampered = CT_CHECKPOINT.replace("1432088532", "1432088533")
    with pytest.raises(VerificationError):
        open_checkpoint(tampered, Verifier.parse(CT_LOG_VKEY))
    _, note = open_checkpoint(CT_CHECKPOINT, Verifier.parse(CT_LOG_VKEY))
    forged = SignedNote(note.text.replace("U7WM", "U7WN"), note.signatures)
    with pytest.raises(VerificationError):
        verify_cosignature(forged, Verifier.parse(REMORA_VKEY))


def test_key_id_rule() -> None:
    v = Verifier.parse(GO_VKEY)
    assert key_id("PeterNeumann", 0x01, v.public_key).hex() == "c74f20a3"


@pytest.mark.parametrize(
    "bad",
    [
        GO_VKEY.replace("c74f20a3", "c74f20a4"),  # key ID does not match
        GO_VKEY.replace("c74f20a3", "C74F20A3"),
        GO_VKEY + "!",
        "PeterNeumann+c74f20a3",
        GO_VKEY.replace("ARpc", "A Rpc"),
    ],
)
def test_malformed_verifier_keys_are_refused(bad: str) -> None:
    with pytest.raises(VerificationError):
        Verifier.parse(bad)
