"""TLS 1.3 only, for every gRPC connection this process makes or accepts.

grpc's Python API offers no minimum TLS version. Its TLS stack (BoringSSL) takes the TLS 1.2
cipher list from ``GRPC_SSL_CIPHER_SUITES`` and always offers the TLS 1.3 suites; a list
holding only a pre-shared-key suite, which no node is configured for, leaves TLS 1.2 with no
cipher both ends can use, so a TLS 1.2 handshake fails (``NO_SHARED_CIPHER``) and TLS 1.3 is
what remains. The variable is read once, when grpc first builds TLS credentials, so
:func:`require_tls13` runs when the modules that build them are imported.

Example::

    from fedlookup.tls import require_tls13
    require_tls13()        # before the first grpc.ssl_*_credentials call
"""

from __future__ import annotations

import logging
import os

__all__ = ["TLS12_CIPHERS_NONE", "require_tls13"]

_log = logging.getLogger("fedlookup.tls")

#: The TLS 1.2 cipher list given to grpc: a PSK suite no node can negotiate.
TLS12_CIPHERS_NONE = "ECDHE-PSK-CHACHA20-POLY1305"
_VARIABLE = "GRPC_SSL_CIPHER_SUITES"


def require_tls13() -> None:
    """Make this process's gRPC TLS refuse anything older than TLS 1.3 (idempotent).

    A different value already in the environment is replaced, with a WARNING: the
    federation does not run TLS 1.2 (fail closed).
    """
    held = os.environ.get(_VARIABLE)
    if held is not None and held != TLS12_CIPHERS_NONE:
        _log.warning("%s=%r replaced: fedlookup speaks TLS 1.3 only", _VARIABLE, held)
    os.environ[_VARIABLE] = TLS12_CIPHERS_NONE
