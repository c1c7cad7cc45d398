"""Help text in the words of the command line, not of the Python code behind it.

typer labels each option with its Python annotation (``<bool>``, ``<list[str]>``,
``<path>``). :func:`plain_metavars` replaces those with the conventional command-line
labels (``TEXT``, ``PATH``, ``INTEGER``, ``NUMBER``; nothing for a flag), across a whole
command tree, once, before the command line runs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["plain_metavars"]

_LABELS = {
    "bool": "",
    "str": "TEXT",
    "Path": "PATH",
    "int": "INTEGER",
    "float": "NUMBER",
    "list[str]": "TEXT",
    "list[Path]": "PATH",
}


def _relabel(param: Any) -> None:
    descriptor = getattr(param, "type_descriptor", None)
    if param.metavar is not None:
        return
    if descriptor is not None and descriptor.is_choice:
        typed = param.display_type  # "<table|csv|json>": the choices without the brackets
        param.display_type_rich = lambda ctx: typed(ctx).removeprefix("<").removesuffix(">")
        return
    bare = param.bare_type() if hasattr(param, "bare_type") else ""
    if getattr(param, "is_flag", False):
        bare = "bool"
    if bare not in _LABELS:
        return
    label = _LABELS[bare] or None
    # typer asks the parameter for its label when it draws the help panel.
    param.display_type_rich = lambda ctx: label


def plain_metavars(command: Any) -> Any:
    """Give every option and argument of ``command`` (and its sub-commands) a plain label.

    Choices show their ``a|b|c`` list; a label set explicitly in the code is kept.

    Args:
        command: the click command built by ``typer.main.get_command``.

    Returns:
        ``command``, changed in place.
    """
    help_option = command.get_help_option(command.context_class(command))
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        _relabel(param)
    for sub in getattr(command, "commands", {}).values():
        plain_metavars(sub)
    return command
