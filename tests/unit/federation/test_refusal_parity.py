"""One refusal table: every error class gets the same verdict and text on both transports.

For each class of :mod:`fedlookup.errors` (and one foreign exception), the error goes once
through the gRPC path (the servicer's :func:`node.serve.errors.public_error`, then the client's
:func:`~federation.grpc_transport.translate_rpc_error` over the status the wire would carry)
and once through :class:`~federation.inprocess.InProcessTransport`; both must raise the same
class with the same text, and never the responder's own detail unless the table makes it
public.
"""

from __future__ import annotations

import inspect
from typing import Any

import grpc
import pytest

from federation.grpc_transport import translate_rpc_error
from federation.inprocess import InProcessTransport
from federation.refusals import TABLE, UNAVAILABLE_STATUSES, refusal_for
from federation.transport import Evaluation, Limits, NodeInfo
from fedlookup import errors as e
from node.serve.errors import public_error

SECRET = "GLOCK|ABC123 at /var/lib/secret"


def _error_classes() -> list[type[BaseException]]:
    return [
        cls
        for _, cls in inspect.getmembers(e, inspect.isclass)
        if issubclass(cls, e.FedlookupError) and cls.__module__ == e.__name__
    ]


def _instance(cls: type[BaseException]) -> BaseException:
    if issubclass(cls, e.PeerError):
        return cls("NL", SECRET)
    if issubclass(cls, e.ConfigError):
        return cls("field", SECRET)
    return cls(SECRET)


class WireError(grpc.RpcError, grpc.Call):  # type: ignore[misc]
    """What the gRPC client raises for a status and message the servicer aborted with."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def initial_metadata(self) -> Any:
        return ()

    def trailing_metadata(self) -> Any:
        return ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> float | None:
        return None

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: Any) -> bool:
        return False


class Raising:
    """A responder whose Evaluate raises one error."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def node_info(self, peer: str) -> NodeInfo:
        return NodeInfo("FR", "e1", 1, 1, Limits(10))

    def sync_index(self, peer: str, since_version: int | None, epoch_id: str | None) -> Any:
        raise self.exc

    def evaluate(self, peer: str, statement: bytes, signature: bytes, request: bytes) -> Evaluation:
        raise self.exc


CLASSES = [*_error_classes(), RuntimeError]


def test_the_parity_run_sees_every_class() -> None:
    assert len(_error_classes()) >= 31
    assert {cls for cls, *_ in TABLE} <= set(_error_classes())


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_both_transports_give_one_verdict(cls: type[BaseException]) -> None:
    exc = _instance(cls)
    public = public_error(exc)
    over_grpc = translate_rpc_error("FR", WireError(public.code, public.message), "Evaluate")
    transport = InProcessTransport(Raising(exc), as_country="DE", country="FR")
    with pytest.raises(e.PeerError) as caught:
        transport.evaluate(b"s", b"sig", b"r", timeout=5.0)
    in_process = caught.value
    assert type(in_process) is type(over_grpc)
    assert str(in_process) == str(over_grpc)
    expected = (
        e.PeerUnavailableError
        if refusal_for(exc).status in UNAVAILABLE_STATUSES
        else e.PeerRejectedError
    )
    assert type(in_process) is expected
    public_detail = cls in (
        e.QuotaExceededError,
        e.RequestTooLargeError,
        e.UnsupportedParameterError,
    )
    assert (SECRET in str(in_process)) is public_detail


@pytest.mark.parametrize(
    ("cls", "verdict"),
    [
        (e.VerificationError, e.PeerRejectedError),  # a bad signature is a refusal
        (e.QuotaExceededError, e.PeerRejectedError),
        (e.UnlistedPeerError, e.PeerRejectedError),
        (e.LogWriteError, e.PeerUnavailableError),  # the node cannot serve right now
        (e.RegistryUnavailableError, e.PeerUnavailableError),
        (e.KeyFileError, e.PeerUnavailableError),  # INTERNAL
        (RuntimeError, e.PeerUnavailableError),
    ],
)
def test_verdicts_an_investigator_sees(cls: type[BaseException], verdict: type[Exception]) -> None:
    transport = InProcessTransport(Raising(_instance(cls)), as_country="DE", country="FR")
    with pytest.raises(verdict):
        transport.evaluate(b"s", b"sig", b"r", timeout=5.0)
