"""Helpers shared by the CLI modules: consoles, exit codes, JSON output."""

from __future__ import annotations

import json
import os
from typing import Any

from rich.console import Console

__all__ = [
    "CONFIG_ENV",
    "EXIT_ERROR",
    "EXIT_FINDINGS",
    "EXIT_OK",
    "PIPE_WIDTH",
    "console",
    "console_err",
    "print_json",
]

#: Success.
EXIT_OK = 0
#: The command ran and found something the caller must look at (a reject, an INVALID
#: artefact, a hit check with unavailable peers). Documented per command.
EXIT_FINDINGS = 1
#: The command could not run (bad input, bad configuration, unreachable service).
EXIT_ERROR = 2

#: Environment variable naming the node configuration when ``--config`` is not given (the
#: container image sets it).
CONFIG_ENV = "FEDLOOKUP_CONFIG"

#: Width used when the output is not a terminal (a pipe, a file) and ``$COLUMNS`` is unset:
#: serials, references and fingerprints are not cut at rich's default of 80 columns.
PIPE_WIDTH = 200


def _console(*, stderr: bool = False) -> Console:
    probe = Console(stderr=stderr)
    if probe.is_terminal or os.environ.get("COLUMNS"):
        return probe
    return Console(stderr=stderr, width=PIPE_WIDTH)


console = _console()
console_err = _console(stderr=True)


def print_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout, one document, stable key order."""
    print(json.dumps(obj, indent=2, sort_keys=True, default=str))
