"""The node's part in cosigning: its logs as witnessed logs, its peers as witnesses.

Every member witnesses the other members' two logs, the node log (``fedlookup/CC``) and the
outgoing-query log (``fedlookup/CC/outgoing``), both signed with the member's audit key as
the signed directory lists it. A node cosigns as its node log's origin, with its audit key,
so a log's cosigners are ``cosigner_vkey("fedlookup/PEER", peer audit key)`` for every peer.

The witness side (:func:`node_witness`) checks a caller's checkpoint against the
caller's own logs only, and keeps its cosigning state in this node's log directory
(``cosigned.rec``). The log side (:func:`run_round`) asks every peer, over the gRPC
transport, to cosign the latest checkpoint of each log; the outgoing log is witnessed here
only when no other process holds it at that moment: a check's hold is retried at the next
round, and a running desk, the log's single writer, has it cosigned itself
(``node.desk.cosign_keeper``).

:func:`trusted_policy` builds the policy an auditor verifies an export against, from the
signed directory: the log's key, every peer as a cosigner, and a quorum.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, MutableMapping
from contextlib import ExitStack

from audit.keys import load_private_key, log_vkey
from audit.log import AuditLog
from audit.policy import Policy
from audit.storage import read_meta
from audit.witness import handle_add_checkpoint
from certs import PeerAuthenticator, ReloadingPeerVerifier
from federation.cosign import (
    CheckpointWitness,
    CosignResult,
    Witness,
    cosign_round,
)
from federation.directory import Directory
from federation.grpc_transport import ClientCredentials, GrpcTransport
from fedlookup.errors import ConfigError, LogBusyError
from node.config import NodeConfig
from node.layout import log_origins, outgoing_log_origin
from node.witnessing import WitnessedAuditLog, peer_cosigner, peer_logs

__all__ = [
    "WitnessedAuditLog",
    "node_witness",
    "peer_cosigner",
    "peer_logs",
    "run_round",
    "trusted_policy",
]


def node_witness(log: AuditLog, directory: Callable[[], Directory]) -> CheckpointWitness:
    """The witness a node serves: cosigns with ``log``'s key, trusts the current directory."""
    return CheckpointWitness(
        functools.partial(handle_add_checkpoint, log),
        lambda peer: peer_logs(directory(), peer),
    )


def _open_outgoing(config: NodeConfig) -> AuditLog | None:
    """The outgoing log, or ``None`` when there is none yet or a check holds it."""
    folder = config.layout.audit_outgoing
    if read_meta(folder) is None:
        return None
    country = config.node.country
    key = load_private_key(config.audit.key)
    try:
        return AuditLog.open(folder, outgoing_log_origin(country), key, country=country)
    except LogBusyError:
        return None


def run_round(
    config: NodeConfig,
    node_log: AuditLog,
    directory: Directory,
    *,
    known: MutableMapping[tuple[str, str], int] | None = None,
) -> list[CosignResult]:
    """One cosigning round of this node's logs by every other member of ``directory``.

    Args:
        config: the node's configuration (TLS files, audit key, timeouts).
        node_log: the node log, held open by the caller.
        directory: the current federation directory (peers, endpoints, keys).
        known: sizes cosigned in earlier rounds (see :func:`federation.cosign.cosign_round`).

    Returns:
        One result per log and peer; the outgoing log, when a check holds it, gets a
        ``busy`` result per peer.

    Raises:
        ConfigError: this node is not in the directory.
        KeyFileError: the audit key cannot be read.
    """
    country = config.node.country
    if country not in directory.countries:
        raise ConfigError("node.country", f"{country} is not in directory v{directory.version}")
    credentials = ClientCredentials.from_files(
        ca=config.tls.ca, cert=config.tls.cert, key=config.tls.key
    )
    # The same check the node's server applies to callers, here to the nodes it calls.
    servers = PeerAuthenticator(ReloadingPeerVerifier([config.tls.ca], [config.tls.crl]), directory)
    with ExitStack() as stack:
        witnesses = []
        for member in directory.members:
            if member.country == country:
                continue
            transport = GrpcTransport(
                member.country,
                member.endpoint,
                credentials,
                server_check=servers,
                max_message_bytes=config.server.max_message_bytes,
            )
            stack.callback(transport.close)
            witnesses.append(
                Witness(member.country, peer_cosigner(directory, member.country), transport)
            )
        logs = [WitnessedAuditLog(node_log)]
        busy: list[CosignResult] = []
        outgoing = _open_outgoing(config)
        if outgoing is not None:
            stack.callback(outgoing.close)
            logs.append(WitnessedAuditLog(outgoing))
        elif read_meta(config.layout.audit_outgoing) is not None:
            origin = outgoing_log_origin(country)
            reason = (
                "another process holds the log (a check: retried next round; a desk: it "
                "has the log cosigned itself)"
            )
            busy = [CosignResult(origin, w.country, "busy", reason=reason) for w in witnesses]
        timeout = config.audit.cosign_timeout_s
        return cosign_round(logs, witnesses, timeout=timeout, known=known) + busy


def trusted_policy(
    directory: Directory, country: str, *, outgoing: bool = False, quorum: int | None = None
) -> Policy:
    """The policy to verify an export of ``country``'s log against, from the directory.

    Args:
        directory: a verified federation directory.
        country: whose log.
        outgoing: the outgoing-query log instead of the node log.
        quorum: cosignatures the latest checkpoint needs (default: every other member).

    Raises:
        UnlistedPeerError: ``country`` is not in the directory.
        ConfigError: ``quorum`` is negative or above the number of other members.
    """
    origin = log_origins(country)[1 if outgoing else 0]
    key = directory.member(country).audit_key()
    peers = [c for c in directory.countries if c != country]
    cosigners = tuple(sorted(peer_cosigner(directory, c) for c in peers))
    need = len(cosigners) if quorum is None else quorum
    if not 0 <= need <= len(cosigners):
        raise ConfigError("--quorum", f"must be between 0 and {len(cosigners)}")
    return Policy(origin, country, log_vkey(origin, key), cosigners, need)
