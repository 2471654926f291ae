# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sh the target runs, kept in ``.sh`` files beside the code that renders it (private).

A script file is plain POSIX sh that shellcheck reads whole (ansible-test sanity and the
suite's shellcheck stage lint it as a file, not a rendering of it). It starts with
``# shellcheck shell=sh`` and names its inputs on one line ``# inputs: NAME ...``: shell
variables it reads and never assigns. ``render(path, values)`` assigns each input first,
every value quoted by ``shq`` (the one quoting function), then appends the file's code, so
no value is ever pasted into code. Comment lines but shellcheck's directives are left out of
the rendering (the script crosses the connection as one argument or on stdin, and the
rendering is linted too); a script file holds no here-document, so a line that starts with
``#`` is always a comment.
"""
from __future__ import annotations

import functools
import os
import re

from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import shq

_INPUTS = re.compile(r"^# inputs:(.*)$", re.M)
_NAME = re.compile(r"^[a-z][a-z0-9]*_[a-z0-9_]+$")


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


def render(path: str, values: dict[str, object]) -> str:
    """The sh of the file at path with its inputs assigned first (each value through shq)."""
    declared, code = load(path)
    if sorted(values) != sorted(declared):
        raise ValueError(f"{path}: inputs {sorted(declared)} declared, {sorted(values)} given")
    assign = "".join(f"{name}={shq(values[name])}\n" for name in declared)
    return assign + code
