"""Child processes that die with their parent: :func:`tie_to_parent` and :func:`orphaned`.

Node processes started by ``fedlookup demo``, the test suite or the benchmarks run in their
own session (a Ctrl-C reaches only the orchestrator, which stops them in order). The cost:
when the orchestrator itself is killed (SIGKILL, an out-of-memory kill, a CI timeout), the
kernel would leave every node running. Two mechanisms close that gap:

* on Linux, the child asks the kernel (``prctl(PR_SET_PDEATHSIG, SIGKILL)``, through
  ``ctypes``) to be killed the moment its parent thread exits. Nodes are crash-safe (the
  audit log is durable on append, the index store transactional), so a kill loses nothing;
* everywhere, the child is told its parent's pid (``FEDLOOKUP_PARENT_PID``), and
  ``fedlookup node serve`` polls :func:`orphaned` twice a second and shuts down gracefully
  when it has been re-parented. This covers systems without ``prctl`` and a parent thread
  that exits while the parent process lives on (the kernel signal follows the thread).

Example::

    preexec, env = tie_to_parent(os.environ)
    subprocess.Popen(command, preexec_fn=preexec, env=env, start_new_session=True)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable, Mapping

__all__ = ["PARENT_ENV", "orphaned", "tie_to_parent"]

#: Environment variable naming the pid a child must outlive no longer.
PARENT_ENV = "FEDLOOKUP_PARENT_PID"
_PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl``, resolved in the parent (the child must not load libraries)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function: Callable[..., int] = libc.prctl
    except (OSError, AttributeError):
        return None
    return function


def tie_to_parent(env: Mapping[str, str]) -> tuple[Callable[[], None], dict[str, str]]:
    """``preexec_fn`` and environment for a child that must not outlive this process.

    Call it in the thread that starts the child and keeps living while the child should
    (the kernel's signal follows that thread); the environment fallback follows the process.

    Args:
        env: the child's environment without the lifeline.

    Returns:
        ``(preexec_fn, env)`` for :class:`subprocess.Popen`.
    """
    parent = os.getpid()
    prctl = _prctl()

    def preexec() -> None:  # runs in the child between fork and exec: no allocation-heavy work
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return preexec, {**env, PARENT_ENV: str(parent)}


def orphaned() -> bool:
    """Whether this process was started by :func:`tie_to_parent` and its parent is gone.

    ``False`` when no lifeline was given (a node an operator starts by hand).
    """
    expected = os.environ.get(PARENT_ENV, "")
    return expected.isdigit() and os.getppid() != int(expected)
