"""The compose topology of ``docker/`` as processes on 127.0.0.1, for integration tests.

Nothing here restates the topology: the countries, each node's configuration file and the
files mounted as its secrets are read from ``docker/compose.yml``; the PKI comes from
``docker/pki-init.sh`` (the compose ``pki`` job) run with loopback endpoints; each node runs
on its ``docker/config/<cc>.toml`` unchanged, started either as its container starts it
(``docker/node-start.sh``) or by ``fedlookup node serve`` alone. What differs from the
containers is rewritten through the node's own environment overrides
(``FEDLOOKUP_<SECTION>_<FIELD>``), and only this:

* container paths move under a temporary folder (``/var/lib/fedlookup`` to the node's state
  folder, ``/etc/fedlookup/federation`` to the PKI's public folder, ``/run/secrets`` to a
  folder holding the node's compose secrets);
* listen addresses become ``127.0.0.1:0`` (the kernel picks the port, so no other test can
  take it first); once every node listens, the PKI job runs again with the bound ports as
  endpoints and the re-signed directory reaches the nodes like any directory update, and a
  node restarted later keeps its port;
* a registry URL naming the compose ``postgres`` service becomes the test's PostgreSQL URL.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Collection, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from fedlookup.lifeline import tie_to_parent

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yml"
HEALTHCHECK = DOCKER / "healthcheck.py"
PKI_INIT = DOCKER / "pki-init.sh"
NODE_START = DOCKER / "node-start.sh"

#: Container paths and where they go on loopback (relative to the node's folder or the run).
STATE_ROOT = "/var/lib/fedlookup"
FEDERATION_ROOT = "/etc/fedlookup/federation"
SECRETS_ROOT = "/run/secrets"
LISTEN_FIELDS = (("node", "listen"), ("metrics", "listen"), ("desk", "listen"))
NODE_TOML = "/etc/fedlookup/node.toml"
#: The state folders the image creates (docker/Dockerfile) and compose mounts volumes on.
STATE_DIRS = ("keys", "index", "mirrors", "audit", "audit-outgoing", "registry")

START_TIMEOUT_S = 30.0
START_SCRIPT_TIMEOUT_S = 90.0  # the start script seeds and indexes before it serves
STOP_TIMEOUT_S = 10.0


def bin_dir() -> Path:
    """The folder of this interpreter's scripts (``fedlookup``, ``python``)."""
    return Path(sys.executable).parent


def base_env() -> dict[str, str]:
    """The test's environment without inherited ``FEDLOOKUP_*`` settings, venv first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDLOOKUP_")}
    env["PATH"] = f"{bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    return env


@dataclass(frozen=True)
class ServiceSpec:
    """One service of ``compose.yml`` that runs on a ``node.toml``: a node, or a desk."""

    name: str
    config: Path
    secrets: Mapping[str, Path]  # target name in /run/secrets -> host file (may use ./pki)
    command: tuple[str, ...] = ()  # after the image's entrypoint (`fedlookup`), if set
    healthcheck: tuple[str, ...] = ()  # the compose healthcheck's CMD, if set

    @property
    def is_desk(self) -> bool:
        """Whether the service runs the investigators' desk (``fedlookup desk serve``)."""
        return self.command[:2] == ("desk", "serve")


def compose_services() -> list[ServiceSpec]:
    """The services of ``compose.yml`` that mount a ``node.toml``, in file order."""
    doc: dict[str, Any] = YAML(typ="safe").load(COMPOSE.read_text(encoding="utf-8"))
    configs = {k: v["file"] for k, v in doc.get("configs", {}).items()}
    secrets = {k: v["file"] for k, v in doc.get("secrets", {}).items()}
    specs = []
    for name, svc in doc["services"].items():
        config = next(
            (
                configs[c["source"]]
                for c in svc.get("configs", [])
                if isinstance(c, dict) and c.get("target") == NODE_TOML
            ),
            None,
        )
        if config is None:
            continue
        mounted = {}
        for ref in svc.get("secrets", []):
            source = ref if isinstance(ref, str) else ref["source"]
            target = source if isinstance(ref, str) else ref.get("target", source)
            mounted[target] = (DOCKER / secrets[source]).resolve()
        test = (svc.get("healthcheck") or {}).get("test") or []
        specs.append(
            ServiceSpec(
                name,
                (DOCKER / config).resolve(),
                mounted,
                command=tuple(svc.get("command") or ()),
                healthcheck=tuple(test[1:] if test[:1] == ["CMD"] else ()),
            )
        )
    return specs


def compose_nodes() -> list[ServiceSpec]:
    """The node services of ``compose.yml`` (a ``node.toml``, not a desk), in file order."""
    return [spec for spec in compose_services() if not spec.is_desk]


def compose_desks() -> list[ServiceSpec]:
    """The desk services of ``compose.yml`` (``fedlookup desk serve``), in file order."""
    return [spec for spec in compose_services() if spec.is_desk]


def loopback_env(
    config: Path,
    *,
    state: Path,
    federation: Path,
    secrets: Path,
    postgres_url: str | None = None,
) -> dict[str, str]:
    """The ``FEDLOOKUP_*`` overrides that move a container configuration onto loopback.

    Every string field starting with a container root is rebased onto the matching local
    folder; every listen field becomes ``127.0.0.1:0``.
    """
    roots = {STATE_ROOT: state, FEDERATION_ROOT: federation, SECRETS_ROOT: secrets}
    raw = tomllib.loads(config.read_text(encoding="utf-8"))
    env: dict[str, str] = {}
    for section, table in raw.items():
        if not isinstance(table, dict):
            continue
        for key, value in table.items():
            if not isinstance(value, str):
                continue
            name = f"FEDLOOKUP_{section.upper()}_{key.upper()}"
            if (section, key) in LISTEN_FIELDS:
                env[name] = "127.0.0.1:0"
            elif (section, key) == ("registry", "url") and "@postgres:" in value:
                if postgres_url is None:
                    raise ValueError(f"{config.name}: registry on PostgreSQL needs a URL")
                env[name] = postgres_url
            else:
                for root, local in roots.items():
                    if root in value:
                        env[name] = value.replace(root, str(local))
    return env


@dataclass
class LoopbackNode:
    """One node of the topology on loopback: its files, environment and process."""

    country: str
    config: Path
    folder: Path
    env: dict[str, str]
    pki: Path
    endpoints: dict[str, int]  # shared by the nodes of one federation
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.folder / "node.log"

    @property
    def state(self) -> Path:
        """The folder standing for ``/var/lib/fedlookup``."""
        return self.folder / "state"

    @property
    def metrics_port(self) -> int:
        """The metrics port the node logged when it last started serving."""
        port = None
        for line in self.log.read_text(encoding="utf-8").splitlines():
            with suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict) and event.get("event") == "serving":
                    port = event.get("metrics_port")
        assert isinstance(port, int), f"{self.country} logged no metrics port"
        return port

    def republish_pki(self) -> None:
        """Run the ``pki`` job again: CRL and (if members.toml changed) directory published."""
        run_pki_init(self.pki, self.endpoints, list(self.endpoints))

    def run(self, *args: str, timeout: float = 60.0, check: bool = True) -> str:
        """Run ``fedlookup ARGS`` in this node's environment; return stdout."""
        return self.run_status(*args, timeout=timeout, check=check)[1]

    def run_status(self, *args: str, timeout: float = 60.0, check: bool = True) -> tuple[int, str]:
        """Run ``fedlookup ARGS`` in this node's environment; return exit code and stdout."""
        proc = subprocess.run(
            [str(bin_dir() / "fedlookup"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            command = " ".join(args)
            raise AssertionError(
                f"fedlookup {command} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
            )
        return proc.returncode, proc.stdout

    def seed(self, folder: Path, records: int) -> list[dict[str, str]]:
        """A synthetic registry imported through the CLI into the configured store, indexed.

        Returns:
            The generated records (CSV rows: ``make``, ``serial``, ...).
        """
        data = folder / f"{self.country.lower()}-registry.csv"
        self.run(
            "registry",
            "generate",
            "--country",
            self.country,
            "--records",
            str(records),
            "--out",
            str(data),
        )
        self.run("registry", "import", str(data), "--db", self.env["FEDLOOKUP_REGISTRY_URL"])
        self.run("node", "index", "--config", str(self.config), "--workers", "1", "--json")
        with data.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    def healthcheck(self) -> subprocess.CompletedProcess[str]:
        """Run the container's health check (``docker/healthcheck.py``) against this node."""
        return subprocess.run(
            [sys.executable, str(HEALTHCHECK), "--config", str(self.config), "--timeout", "3"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )

    @property
    def port_file(self) -> Path:
        """Where the serving node writes its bound port."""
        return self.folder / "node.port"

    def spawn(self, *, start_script: bool = False, demo_records: int | None = None) -> None:
        """Start the node in its own session without waiting for it.

        Args:
            start_script: start it the way its container does, through
                ``docker/node-start.sh`` (demo registry, index, serve) instead of
                ``fedlookup node serve`` alone.
            demo_records: with ``start_script``, ``FEDLOOKUP_DEMO_RECORDS``.
        """
        self.port_file.unlink(missing_ok=True)
        env = dict(self.env)
        if start_script:
            command = ["/bin/sh", str(NODE_START)]
            env |= {
                "FEDLOOKUP_CONFIG": str(self.config),
                "FEDLOOKUP_PORT_FILE": str(self.port_file),
            }
            if demo_records is not None:
                env["FEDLOOKUP_DEMO_RECORDS"] = str(demo_records)
        else:
            command = [str(bin_dir() / "fedlookup"), "node", "serve", "--config", str(self.config),
                       "--port-file", str(self.port_file)]  # fmt: skip
        preexec, env = tie_to_parent(env)  # a killed test run leaves no node behind
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=preexec,
            )

    def wait_listening(self, timeout: float = START_TIMEOUT_S) -> None:
        """Return once the port file names the bound port, then keep that port for later
        starts; stop the node on failure."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while not (self.port_file.exists() and self.port_file.read_text().strip().isdigit()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"{self.country} did not start:\n{self.log.read_text()}")
            time.sleep(0.05)
        port = int(self.port_file.read_text())
        assert self.port in (0, port)
        self.port = port
        self.env["FEDLOOKUP_NODE_LISTEN"] = f"127.0.0.1:{port}"

    def start(self) -> None:
        """``fedlookup node serve`` in its own session; returns once it listens."""
        self.spawn()
        self.wait_listening()

    def wait_healthy(self, timeout: float = START_TIMEOUT_S) -> str:
        """Poll the health check until SERVING; return its last output."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.healthcheck()
            if result.returncode == 0:
                return result.stdout.strip()
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.country} not healthy: {result.stderr}")
            time.sleep(0.2)

    def stop(self) -> int | None:
        """SIGTERM, a bounded graceful wait, then SIGKILL; returns the exit code."""
        process, self.process = self.process, None
        return stop_group(process, STOP_TIMEOUT_S)


def stop_group(process: subprocess.Popen[bytes] | None, grace: float) -> int | None:
    """SIGTERM to ``process``'s process group, ``grace`` seconds, then SIGKILL; its exit code
    (``None`` when there was no process)."""
    if process is None:
        return None
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.wait(grace)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.wait()


def run_pki_init(pki: Path, endpoints: Mapping[str, int], countries: list[str]) -> None:
    """Run the compose ``pki`` job's script with loopback endpoints into ``pki``.

    A port of 0 (not bound yet) is written as port 1, where nothing listens.
    """
    env = base_env() | {
        "FEDLOOKUP_PKI": str(pki),
        "FEDLOOKUP_COUNTRIES": " ".join(countries),
        "FEDLOOKUP_ENDPOINTS": " ".join(
            f"{cc}=127.0.0.1:{port or 1}" for cc, port in endpoints.items()
        ),
        "FEDLOOKUP_CHOWN": "0",
    }
    proc = subprocess.run(
        ["/bin/sh", str(PKI_INIT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"pki-init.sh failed:\n{proc.stdout}\n{proc.stderr}")


def lay_out(
    tmp: Path, *, postgres_url: str | None, only: Collection[str] | None = None
) -> dict[str, LoopbackNode]:
    """PKI, folders and environments of the compose nodes; nothing started yet.

    Args:
        tmp: an empty folder for everything.
        postgres_url: where a registry on the compose ``postgres`` service goes.
        only: a federation of only these countries' nodes (default: every compose node).
    """
    specs = [s for s in compose_nodes() if only is None or s.name.upper() in only]
    desks = compose_desks()
    countries = [spec.name.upper() for spec in specs]
    endpoints = dict.fromkeys(countries, 0)
    pki = tmp / "pki"
    run_pki_init(pki, endpoints, countries)
    nodes = {}
    for spec, cc in zip(specs, countries, strict=True):
        folder = tmp / spec.name
        secrets = folder / "secrets"
        secrets.mkdir(parents=True)
        # A desk runs beside its node on the same node.toml: its secrets (the node's asking
        # credentials, its HTTPS certificate) go in the same folder.
        mounted = dict(spec.secrets)
        for desk in desks:
            if desk.config == spec.config:
                mounted |= desk.secrets
        for target, source in mounted.items():
            host_file = pki / source.relative_to((DOCKER / "pki").resolve())
            (secrets / target).symlink_to(host_file)
        for sub in STATE_DIRS:
            (folder / "state" / sub).mkdir(parents=True, mode=0o700)
        env = base_env() | loopback_env(
            spec.config,
            state=folder / "state",
            federation=pki / "federation",
            secrets=secrets,
            postgres_url=postgres_url,
        )
        nodes[cc] = LoopbackNode(cc, spec.config, folder, env, pki=pki, endpoints=endpoints)
    return nodes


def seed_all(
    nodes: Mapping[str, LoopbackNode], folder: Path, records: int
) -> dict[str, list[dict[str, str]]]:
    """:meth:`LoopbackNode.seed` every node, concurrently (each is its own processes)."""
    with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        futures = {cc: pool.submit(node.seed, folder, records) for cc, node in nodes.items()}
        return {cc: future.result() for cc, future in futures.items()}


def _publish_endpoints(started: Iterable[LoopbackNode]) -> None:
    """Put the bound ports in the directory, as an operator publishes a changed endpoint."""
    changed = [n for n in started if n.endpoints.get(n.country) != n.port]
    if not changed:
        return
    for node in changed:
        node.endpoints[node.country] = node.port
    pki = changed[0].pki
    # The PKI job writes members.toml afresh from its endpoints when the file is absent.
    (pki / "members.toml").unlink()
    changed[0].republish_pki()


@contextmanager
def running(
    nodes: Mapping[str, LoopbackNode],
    *,
    start_script: bool = False,
    demo_records: int | None = None,
) -> Iterator[Mapping[str, LoopbackNode]]:
    """Start every node (all at once, then wait for each); stop every one on the way out.

    Args:
        nodes: the nodes.
        start_script: start them through ``docker/node-start.sh``, as their containers do.
        demo_records: ``FEDLOOKUP_DEMO_RECORDS`` for the start script.
    """
    try:
        for node in nodes.values():
            node.spawn(start_script=start_script, demo_records=demo_records)
        for node in nodes.values():
            node.wait_listening(START_SCRIPT_TIMEOUT_S if start_script else START_TIMEOUT_S)
        _publish_endpoints(nodes.values())
        yield nodes
    finally:
        for node in nodes.values():
            if node.process is not None and node.process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(node.process.pid, signal.SIGTERM)
        for node in nodes.values():
            node.stop()
