"""A compose desk service (``fedlookup desk serve``) as a process on 127.0.0.1, beside its node.

The desk's command and health check are read from ``docker/compose.yml`` and run as the
container runs them: ``fedlookup`` (the image's entrypoint) with the service's ``command``,
its configuration path moved to the node's ``docker/config/<cc>.toml``, plus ``--port-file``;
the service's health check command with the repository's ``docker/healthcheck.py``. It runs
in its node's environment (``docker_topology.loopback_env``: the same state folder, secrets
folder and federation folder its container shares with the node), with ``[desk] listen``
on ``127.0.0.1:0``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from docker_topology import (
    HEALTHCHECK,
    NODE_TOML,
    START_TIMEOUT_S,
    STOP_TIMEOUT_S,
    LoopbackNode,
    ServiceSpec,
    bin_dir,
    stop_group,
)

from fedlookup.lifeline import tie_to_parent

#: Where the image puts the health check (docker/Dockerfile).
IMAGE_HEALTHCHECK = "/opt/fedlookup/healthcheck.py"


@dataclass
class LoopbackDesk:
    """A desk service of the compose file, run beside its node on loopback."""

    spec: ServiceSpec
    node: LoopbackNode
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        """The desk's standard output and error."""
        return self.node.folder / f"{self.spec.name}.log"

    @property
    def port_file(self) -> Path:
        """Where the desk writes its bound port."""
        return self.node.folder / f"{self.spec.name}.port"

    def command(self) -> list[str]:
        """The container's command on loopback: its node.toml moved, ``--port-file`` added."""
        args = [str(self.node.config) if a == NODE_TOML else a for a in self.spec.command]
        return [str(bin_dir() / "fedlookup"), *args, "--port-file", str(self.port_file)]

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        """Start the desk in its own session; return once it listens."""
        self.port_file.unlink(missing_ok=True)
        preexec, env = tie_to_parent(dict(self.node.env))  # a killed run leaves no desk behind
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command(),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=preexec,
            )
        deadline = time.monotonic() + timeout
        while not (self.port_file.exists() and self.port_file.read_text().strip().isdigit()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"{self.spec.name} did not start:\n{self.log.read_text()}")
            time.sleep(0.05)
        self.port = int(self.port_file.read_text())
        # What the desk's own configuration says once the kernel chose the port (the health
        # check and the node's own commands read it).
        self.node.env["FEDLOOKUP_DESK_LISTEN"] = f"127.0.0.1:{self.port}"

    def healthcheck(
        self, *extra: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the service's compose health check (``docker/healthcheck.py``) on loopback."""
        test = list(self.spec.healthcheck)
        assert test[:2] == ["python", IMAGE_HEALTHCHECK], test
        argv = [sys.executable, str(HEALTHCHECK), *test[2:], "--config", str(self.node.config)]
        return subprocess.run(
            [*argv, "--timeout", "3", *extra],
            env=self.node.env | (env or {}),
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )

    def stop(self) -> int | None:
        """SIGTERM, a bounded graceful wait, then SIGKILL; returns the exit code."""
        process, self.process = self.process, None
        return stop_group(process, STOP_TIMEOUT_S * 4)
