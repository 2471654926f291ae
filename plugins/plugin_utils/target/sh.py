# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sh the target runs, kept in ``.sh`` files beside the code that renders it (private).

A script file is plain POSIX sh that shellcheck reads whole (ansible-test sanity and the
suite's shellcheck stage lint it as a file, not a rendering of it). It starts with
``# shellcheck shell=sh`` and names its inputs on one line ``# inputs: NAME ...``: shell
variables it reads and never assigns. ``render(path, values)`` assigns each input first,
every value quoted by ``shq`` (the one quoting function, defined here and imported from
``target.script`` by the parts), then appends the file's code, so no value is ever pasted
into code. An input the script splits into words (``for x in $fo_list``) is built by
``words``, which refuses a value that would not split back into itself. Comment lines but shellcheck's directives are left out of
the rendering (the script crosses the connection as one argument or on stdin, and the
rendering is linted too); a script file holds no here-document, so a line that starts with
``#`` is always a comment.
"""
from __future__ import annotations

import functools
import os
import re
import typing as t

_INPUTS = re.compile(r"^# inputs:(.*)$", re.MULTILINE)
_NAME = re.compile(r"^[a-z][a-z0-9]*_[a-z0-9_]+$")


def shq(value: object) -> str:
    """One sh word for value, exactly as given (single-quoted): the one quoting function."""
    text = str(value)
    if text and re.fullmatch(r"[A-Za-z0-9_./:=@%+,-]+", text):
        return text
    return "'" + text.replace("'", "'\\''") + "'"


def argv(*words: object) -> str:
    """A command line of quoted words."""
    return " ".join(shq(word) for word in words)


def words(values: t.Iterable[str]) -> str:
    """A list of names for an input the script splits into words (``for x in $fo_list``):
    each must be one word without glob characters, so the split gives them back exactly."""
    out = [str(value) for value in values]
    bad = [value for value in out if not re.fullmatch(r"[A-Za-z0-9_./:=@%+,~-]+", value)]
    if bad:
        raise ValueError(f"not single words without glob characters: {bad}")
    return " ".join(out)


def path_of(module_file: str, name: str) -> str:
    """The script file ``name`` beside the Python file ``module_file`` (pass ``__file__``)."""
    return os.path.join(os.path.dirname(os.path.abspath(module_file)), name)


@functools.cache
def load(path: str) -> tuple[tuple[str, ...], str]:
    """(the inputs the file declares, its code without comment and empty lines)."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if "<<" in text:
        raise ValueError(f"{path}: a script file holds no here-document (its comments are dropped when rendered)")
    declared = tuple(name for match in _INPUTS.finditer(text) for name in match.group(1).split())
    bad = [name for name in declared if not _NAME.match(name)]
    if bad:
        raise ValueError(f"{path}: input names must look like fo_name: {bad}")
    code = "\n".join(line for line in text.splitlines()
                     if line.strip() and (not line.lstrip().startswith("#") or line.lstrip().startswith("# shellcheck ")))
    return declared, code + "\n"


def here(module_file: str) -> t.Callable[[str, dict[str, object]], str]:
    """``render`` for the script files beside module_file: ``_sh = here(__file__)``, then
    ``_sh("name.sh", {...})``."""
    def render_here(name: str, values: dict[str, object]) -> str:
        return render(path_of(module_file, name), values)
    return render_here


def render(path: str, values: dict[str, object]) -> str:
    """The sh of the file at path with its inputs assigned first (each value through shq)."""
    declared, code = load(path)
    if sorted(values) != sorted(declared):
        raise ValueError(f"{path}: inputs {sorted(declared)} declared, {sorted(values)} given")
    assign = "".join(f"{name}={shq(values[name])}\n" for name in declared)
    return assign + code
