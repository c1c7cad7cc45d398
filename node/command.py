"""How to start this installation's ``fedlookup`` command as a child process.

The demo starts nodes and a desk this way, and the desk's test helpers start desks; both
rooms import it from here, so neither imports the other for it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

__all__ = ["fedlookup_command"]


def fedlookup_command() -> list[str]:
    """How to run the ``fedlookup`` CLI of this installation as a child process."""
    script = Path(sys.executable).with_name("fedlookup")
    if script.exists():
        return [str(script)]
    found = shutil.which("fedlookup")
    if found:
        return [found]
    return [sys.executable, "-c", "from node.cli.main import main; main()"]
