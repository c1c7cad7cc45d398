"""A desk as a child process, for the demo, tests and benchmarks: :class:`DeskProcess`.

It runs ``fedlookup desk serve --config NODE.toml --port-file FILE`` in its own session,
waits for the port file, and on exit sends SIGTERM and waits (then kills what is left).

Example::

    with DeskProcess(Path("de/node.toml"), env={"FEDLOOKUP_DESK_LISTEN": "127.0.0.1:0"}) as desk:
        print(desk.url)
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

from fedlookup.errors import FedlookupError
from node.desk.asking import fedlookup_command

__all__ = ["DeskProcess"]

_START_TIMEOUT_S = 60.0


class DeskProcess:
    """A running ``fedlookup desk serve`` (use as a context manager).

    Args:
        config: the node's ``node.toml``.
        env: extra environment (e.g. ``FEDLOOKUP_DESK_LISTEN``).
        log: where its output goes (default ``desk.log`` beside the config).
        name: distinguishes the port file of a second desk on the same node (a replica).
        scheme: ``http``, or ``https`` for a desk with a certificate.
    """

    def __init__(
        self,
        config: Path,
        *,
        env: dict[str, str] | None = None,
        log: Path | None = None,
        name: str = "desk",
        scheme: str = "http",
    ) -> None:
        self.config = config
        self.log = log or config.with_name(f"{name}.log")
        self.port = 0
        self.scheme = scheme
        self._env = {**os.environ, **(env or {})}
        self._port_file = config.with_name(f"{name}.port")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (or ``https://``)."""
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> DeskProcess:
        """Start the desk and wait until it listens.

        Raises:
            FedlookupError: it exited or did not listen within a minute (quoting its log).
        """
        self._port_file.unlink(missing_ok=True)
        command = [*fedlookup_command(), "desk", "serve", "--config", str(self.config)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*command, "--port-file", str(self._port_file)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self._env,
                start_new_session=True,
            )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            text = self._port_file.read_text().strip() if self._port_file.exists() else ""
            if text.isdigit():
                self.port = int(text)
                return self
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log.read_text(encoding="utf-8", errors="replace")[-2000:]
                raise FedlookupError(f"the desk did not start:\n{tail}")
            time.sleep(0.05)

    def stop(self) -> int | None:
        """SIGTERM, a graceful wait, then SIGKILL; returns the exit code."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
        try:
            return process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def __enter__(self) -> DeskProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
