"""The protocol core of fedlookup, with no server in it.

* PSI: :mod:`federation.psi` (the only module importing openmined-psi), epoch keys
  (:class:`EpochKeyStore`), the encrypted index a node publishes (:class:`NodeIndex`) and the
  mirror an asker keeps of it (:class:`IndexMirror`), the online evaluation on both sides
  (:class:`Evaluator`, :class:`BlindedQuery`), the stock openmined set-up
  (:mod:`federation.compat`);
* the answering side's logic (:class:`Responder`) and the asking side's fan-out
  (:class:`HitCheck`) over a :class:`PeerTransport` (in-process or gRPC), both ends' audit
  trails (:class:`ResponderTrail`, :class:`AskerTrail`) and the one refusal table both
  transports read (:func:`refusal_for`);
* the signed federation directory (:class:`Directory`) and checkpoint cosigning.

Names are loaded on first use, so a worker process that needs only the index builder does not
import gRPC. A hit check against a one-record index, entirely in memory::

    >>> import tempfile
    >>> from pathlib import Path
    >>> from federation import BlindedQuery, EpochKeyStore, Evaluator, IndexInput, IndexMirror
    >>> from federation import Label, NodeIndex
    >>> tmp = Path(tempfile.mkdtemp())
    >>> key = EpochKeyStore(tmp / "keys").current()
    >>> index = NodeIndex(tmp / "index", key=key, country="DE")
    >>> ids = (b"v1|MS|GLOCK|ABC123", b"v1|S|ABC123")
    >>> label = Label("stolen", "DE-0000-0000-0000-0001")
    >>> index.update([IndexInput("r1", ids, label)], workers=1)
    1
    >>> mirror = IndexMirror()
    >>> mirror.apply(index.export(since_version=None))
    >>> query = BlindedQuery.create([b"v1|MS|GLOCK|ABC123", b"v1|MS|GLOCK|ABC128"])
    >>> answer = Evaluator(key).evaluate(query.request)
    >>> [[lab.category for lab in labels] for labels in query.finish(answer, mirror)]
    [['stolen'], []]
    >>> index.close()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from federation.cosign import CosignResult, cosign_round
    from federation.directory import load_directory, parse_directory, sign_directory
    from federation.directory_model import Directory, Member
    from federation.directory_watch import DirectoryWatcher
    from federation.evaluation import BlindedQuery, Evaluator
    from federation.hitcheck import HitCheck
    from federation.hitcheck_types import CheckItem, CheckResult, CountryAnswer, Outcome
    from federation.index import IndexInput, NodeIndex
    from federation.index_mirror import IndexMirror
    from federation.keys import EpochKey, EpochKeyStore
    from federation.labels import Label, make_reference
    from federation.mirrors import MirrorStore
    from federation.refusals import refusal_for
    from federation.responder import Responder
    from federation.trail import AskerTrail, ResponderTrail
    from federation.transport import Evaluation, NodeInfo, PeerTransport

_EXPORTS = {
    "AskerTrail": "federation.trail",
    "BlindedQuery": "federation.evaluation",
    "CheckItem": "federation.hitcheck_types",
    "CheckResult": "federation.hitcheck_types",
    "CosignResult": "federation.cosign",
    "CountryAnswer": "federation.hitcheck_types",
    "Directory": "federation.directory_model",
    "DirectoryWatcher": "federation.directory_watch",
    "EpochKey": "federation.keys",
    "EpochKeyStore": "federation.keys",
    "Evaluation": "federation.transport",
    "Evaluator": "federation.evaluation",
    "HitCheck": "federation.hitcheck",
    "IndexInput": "federation.index",
    "IndexMirror": "federation.index_mirror",
    "Label": "federation.labels",
    "Member": "federation.directory_model",
    "MirrorStore": "federation.mirrors",
    "NodeIndex": "federation.index",
    "NodeInfo": "federation.transport",
    "Outcome": "federation.hitcheck_types",
    "PeerTransport": "federation.transport",
    "Responder": "federation.responder",
    "ResponderTrail": "federation.trail",
    "cosign_round": "federation.cosign",
    "load_directory": "federation.directory",
    "make_reference": "federation.labels",
    "parse_directory": "federation.directory",
    "refusal_for": "federation.refusals",
    "sign_directory": "federation.directory",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'federation' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
