"""Node processes on loopback for the demo, tests and benchmarks: :class:`NodeProcesses`.

Each node runs as ``fedlookup node serve --config NODE.toml --port-file FILE`` in its own
process (its own session, so a Ctrl-C at the terminal reaches only the orchestrator, which
then stops the nodes in order). The orchestrator waits for each port file, and on exit
sends SIGTERM, waits for a graceful shutdown, and kills what is left: no node outlives it,
even when the orchestrator is killed itself (:mod:`fedlookup.lifeline`).

Example::

    with NodeProcesses() as nodes:
        port = nodes.start("DE", Path("de/node.toml"))
        ...
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from fedlookup.errors import FedlookupError
from fedlookup.lifeline import tie_to_parent
from node.command import fedlookup_command

__all__ = ["NodeProcess", "NodeProcesses", "fedlookup_command"]

_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 15.0


@dataclass
class NodeProcess:
    """One running node.

    Attributes:
        country: its country code.
        config: its ``node.toml``.
        port: the port it listens on (127.0.0.1).
        log: the file its output goes to.
        process: the child process.
    """

    country: str
    config: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def endpoint(self) -> str:
        """``127.0.0.1:port``."""
        return f"127.0.0.1:{self.port}"

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.poll() is None


class NodeProcesses:
    """Starts node processes and guarantees they are stopped (use as a context manager).

    Args:
        env: extra environment for the nodes (e.g. ``FEDLOOKUP_TEST_*`` switches).
    """

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.nodes: dict[str, NodeProcess] = {}
        self._env = {**os.environ, **(env or {})}

    def start(self, country: str, config: Path, *, log: Path | None = None) -> NodeProcess:
        """Start ``country``'s node and wait until it listens.

        Args:
            country: the node's country (a key for :attr:`nodes`).
            config: its ``node.toml``.
            log: where its output goes (default: ``node.log`` beside the config).

        Returns:
            The running node.

        Raises:
            FedlookupError: the node exited or did not listen within a minute (the error
                quotes the end of its log).
        """
        self._launch(country, config, log)
        return self._await(country)

    def start_all(self, configs: dict[str, Path]) -> dict[str, NodeProcess]:
        """Start several nodes at once and wait until every one listens (see :meth:`start`)."""
        for country, config in configs.items():
            self._launch(country, config, None)
        return {country: self._await(country) for country in configs}

    def _launch(self, country: str, config: Path, log: Path | None) -> None:
        log = log or config.with_name("node.log")
        port_file = config.with_name("node.port")
        port_file.unlink(missing_ok=True)
        command = [*fedlookup_command(), "node", "serve", "--config", str(config)]
        command += ["--port-file", str(port_file)]
        preexec, env = tie_to_parent(self._env)  # no node outlives a killed orchestrator
        with log.open("ab") as out:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=preexec,  # only prctl and getppid: safe between fork and exec
            )
        self.nodes[country] = NodeProcess(country, config, 0, log, process)

    def _await(self, country: str) -> NodeProcess:
        node = self.nodes[country]
        port_file = node.config.with_name("node.port")
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            text = port_file.read_text(encoding="ascii").strip() if port_file.exists() else ""
            if text.isdigit():
                node.port = int(text)
                return node
            if not node.alive() or time.monotonic() > deadline:
                self.stop(country)
                tail = node.log.read_text(encoding="utf-8", errors="replace").strip()[-2000:]
                raise FedlookupError(f"the {country} node did not start:\n{tail}")
            time.sleep(0.05)

    def stop(self, country: str) -> int | None:
        """Stop one node: SIGTERM, a graceful wait, then SIGKILL. Returns its exit code."""
        node = self.nodes.pop(country, None)
        if node is None:
            return None
        return _stop(node.process)

    def suspend(self, country: str) -> None:
        """Freeze a node (SIGSTOP): it keeps its socket but answers nothing."""
        os.kill(self.nodes[country].process.pid, signal.SIGSTOP)

    def resume(self, country: str) -> None:
        """Let a frozen node run again (SIGCONT)."""
        os.kill(self.nodes[country].process.pid, signal.SIGCONT)

    def kill(self, country: str) -> None:
        """Kill a node at once (SIGKILL), as a crash would."""
        node = self.nodes.pop(country)
        node.process.kill()
        node.process.wait()

    def stop_all(self) -> dict[str, int | None]:
        """Stop every node (all are signalled first, then each is waited for)."""
        for node in self.nodes.values():
            _signal(node.process, signal.SIGCONT)  # a frozen node cannot handle SIGTERM
            _signal(node.process, signal.SIGTERM)
        codes = {c: _wait(n.process) for c, n in self.nodes.items()}
        self.nodes.clear()
        return codes

    def __enter__(self) -> NodeProcesses:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()


def _signal(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, sig)


def _stop(process: subprocess.Popen[bytes]) -> int | None:
    _signal(process, signal.SIGCONT)
    _signal(process, signal.SIGTERM)
    return _wait(process)


def _wait(process: subprocess.Popen[bytes]) -> int | None:
    # One SIGTERM only: a second one could land while the interpreter is finalising (its
    # handlers already reset) and turn a clean shutdown into a kill.
    try:
        return process.wait(_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()
