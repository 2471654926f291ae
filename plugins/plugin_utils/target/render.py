# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The generated pieces of the read and apply scripts, one per Read, Expect, file and Step
(private; ``target.script`` puts them together).

The fixed sh lives in the script files (``prelude.sh``: the section framing; ``apply.sh``:
``fo_stop``, ``fo_expect``, ``fo_staging``, ``fo_ok``); a piece here is the
planner's code framed as a section, or one call of those functions with its words quoted by
``shq``.
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.sh import argv, shq

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
        Expect,
        FileChange,
        Read,
        Step,
    )

# Code that may leave the shell or change its state runs in a subshell; the rest runs in
# a brace group (a fork costs tens of ms on a slow router, or a VM under TCG).
_NEEDS_SUBSHELL = re.compile(r"\b(exit|cd|trap|set|shift|exec|umask|return|export|unset)\b")


def section(read: Read) -> str:
    """sh that prints one section: stdout streamed, stderr kept aside, rc at the end."""
    if read.dynamic:
        return read.code.rstrip("\n") + "\n"
    code = read.code.rstrip()
    group = f"(\n{code}\n)" if _NEEDS_SUBSHELL.search(code) else f"{{\n{code}\n}}"
    return f"fo_head {shq(read.key)}\n{group} 2>\"$fo_t/e\"\nfo_tail $?\n"


def printf_to(content: str, dest: str) -> str:
    """sh that writes content to dest byte for byte (no heredoc: no trailing newline added)."""
    chunks = [content[i:i + 4000] for i in range(0, len(content), 4000)] or [""]
    first = f"printf '%s' {shq(chunks[0])} >{dest}"
    return " &&\n".join([first] + [f"printf '%s' {shq(chunk)} >>{dest}" for chunk in chunks[1:]])


def _run(code: str) -> str:
    """code in a subshell, its stdout and stderr in $fo_t/o and $fo_t/e (fo_emit prints them)."""
    return f"(\n{code.rstrip()}\n) >\"$fo_t/o\" 2>\"$fo_t/e\"\n"


def expect(index: int, exp: Expect) -> str:
    """The re-check of exp under the lock (apply.sh's fo_expect stops the run as stale)."""
    want = f'"$fo_t/x{index}"'
    return printf_to(exp.out, want) + "\n" + _run(exp.code) + f"fo_expect {shq(exp.key)} {want}\n"


def stage(change: FileChange) -> str:
    """change.content written next to change.path (PATH.fo-new); apply.sh's fo_staging stops
    the run when that fails (a full disk stops here, before any change)."""
    path, tmp = shq(change.path), shq(f"{change.path}.fo-new")
    write = printf_to(change.content or "", tmp)
    make = f"mkdir -p \"$(dirname {path})\" && {write} && chmod {shq(change.mode)} {tmp}"
    return f"fo_boundary\nfo_newdir \"$(dirname {path})\"\n{{ {make}; }} 2>\"$fo_t/e\"\nfo_staging $? {path}\n"


def step(item: Step, status: str) -> str:
    """A step and its section; a checked one that fails stops the run with status (fo_stop)."""
    code = "fo_boundary\n" + _run(item.code) + f"fo_rc=$?\nfo_emit {shq(item.key)} \"$fo_rc\"\n"
    return code + (f"[ \"$fo_rc\" -eq 0 ] || fo_stop {argv(status, item.key)}\n" if item.check else "")
