"""The error catalog: status codes, fixed public messages, internals never sent."""

from __future__ import annotations

import grpc
import pytest

from fedlookup import errors as e
from node.serve.errors import public_error


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (e.QuotaExceededError("5 items would exceed the daily quota of 10"), "RESOURCE_EXHAUSTED"),
        (e.RequestTooLargeError("2000 items exceed 1000"), "INVALID_ARGUMENT"),
        (e.PolicyRefusedError("FR may not query"), "PERMISSION_DENIED"),
        (e.CountryMismatchError("FR vs NL"), "PERMISSION_DENIED"),
        (e.UnlistedPeerError("XX"), "PERMISSION_DENIED"),
        (e.RevokedError("serial 1234"), "UNAUTHENTICATED"),
        (e.CertificateError("expired"), "UNAUTHENTICATED"),
        (e.VerificationError("bad signature"), "INVALID_ARGUMENT"),
        (e.PSIProtocolError("bad point"), "INVALID_ARGUMENT"),
        (e.LogWriteError("disk full at /var/lib/x"), "UNAVAILABLE"),
        (e.RegistryUnavailableError("postgres://secret@db"), "UNAVAILABLE"),
        (RuntimeError("segfault-ish detail"), "INTERNAL"),
        (e.KeyFileError("/keys/epoch 0644"), "INTERNAL"),
    ],
)
def test_each_error_has_one_status(exc: BaseException, code: str) -> None:
    public = public_error(exc)
    assert public.code == getattr(grpc.StatusCode, code)
    assert public.reason == type(exc).__name__


@pytest.mark.parametrize(
    "exc",
    [
        e.RevokedError("serial 1234abcd revoked"),
        e.LogWriteError("disk full at /var/lib/fedlookup"),
        e.RegistryUnavailableError("postgres://user:pw@db"),
        e.PSIProtocolError("item 3: GLOCK|ABC123 bad"),
        RuntimeError("/srv/private"),
    ],
)
def test_internal_detail_is_never_public(exc: BaseException) -> None:
    assert str(exc) not in public_error(exc).message


def test_quota_message_carries_the_callers_numbers() -> None:
    exc = e.QuotaExceededError("5 items would exceed the daily quota of 10 (3 left)")
    public = public_error(exc)
    assert public.message.startswith("daily item quota exceeded: ")
    assert "quota of 10" in public.message
    assert "3 left" in public.message
