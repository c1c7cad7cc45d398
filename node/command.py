"""How to run this installation's ``fedlookup`` CLI as a child process.

The demo starts nodes and a desk this way, and so does the desk's process helper; it sits at
the top of ``node`` so that every room may use it.

    >>> fedlookup_command()[-1].endswith("fedlookup") or "main()" in fedlookup_command()[-1]
    True
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
