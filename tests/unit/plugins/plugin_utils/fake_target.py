# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one fake of the target (``_target.Target``) for the unit tests.

``FakeTarget`` answers a read script with the sections it holds (as the real script
prints them) and an apply script with ``apply_sections`` and a result marker; it records
every script. ``ShellTarget`` runs the scripts for real under a local shell (busybox ash
by default) with test doubles first on PATH. tests/unit/plugins/plugin_utils/target/test_script.py
checks both against the real interface.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import typing as t
from unittest import mock

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Section,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")
# The copy of ../shared/openwrt/captures kept with the fixtures (see its README.md).
SHARED_CAPTURES = os.path.join(FIXTURES, "openwrt")

_NONCE = re.compile(r"^fo_nonce=(\S+)$", re.MULTILINE)


def fixture(name: str) -> str:
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


def render_sections(nonce: str, sections: t.Mapping[str, Section]) -> str:
    """Sections as the read/apply scripts print them."""
    out = []
    for key, sec in sections.items():
        out.append(f"@@{nonce} {key}@@\n{sec.out}\n@@{nonce}-err@@\n{sec.err}\n@@{nonce}-end {sec.rc}@@\n")
    return "".join(out)


def sec(out: str = "", rc: int = 0, err: str = "") -> Section:
    return Section(rc, out, err)


class FakeTarget:
    """Target double: read -> ``sections``; apply -> ``apply_sections`` + ``result``.

    An apply changes nothing here: a test that needs a second run to see what the first
    changed runs the real scripts on a HostRoot (host_root.py).
    """

    def __init__(self, sections: t.Mapping[str, Section] | None = None,
                 apply_sections: t.Mapping[str, Section] | None = None,
                 result: str = "ok -") -> None:
        self.sections: dict[str, Section] = dict(sections or {})
        self.apply_sections: dict[str, Section] = dict(apply_sections or {})
        self.result = result
        self.scripts: list[str] = []
        self.round_trips = 0

    @property
    def applies(self) -> list[str]:
        return [s for s in self.scripts if "# flowoffload.nft: apply" in s]

    def run_script(self, script: str) -> tuple[int, str, str]:
        self.round_trips += 1
        self.scripts.append(script)
        match = _NONCE.search(script)
        nonce = match.group(1) if match else "FO"
        if "# flowoffload.nft: apply" in script:
            text = render_sections(nonce, self.apply_sections) + f"@@{nonce}-result {self.result}@@\n"
            return (0 if self.result.startswith("ok") else 3), text, ""
        return 0, render_sections(nonce, self.sections), ""


class ShellTarget:
    """Runs the scripts for real with a local shell; ``doubles`` is put first on PATH.

    Debian's busybox sh runs its own applets (modprobe, rmmod, sysctl, ip, ...) before it
    searches PATH, so every double also gets a shell function of its name that calls it
    by path (functions come before applets and PATH, and subshells inherit them).
    """

    def __init__(self, doubles: str | None = None, shell: t.Sequence[str] = ()) -> None:
        self.shell = list(shell) or ([shutil.which("busybox") or "/bin/sh", "sh"]
                                     if shutil.which("busybox") else ["/bin/sh"])
        self.doubles = doubles
        self.scripts: list[str] = []
        self.round_trips = 0

    def shims(self) -> str:
        if not self.doubles:
            return ""
        names = sorted(name for name in os.listdir(self.doubles)
                       if re.fullmatch(r"[A-Za-z0-9_-]+", name) and os.access(os.path.join(self.doubles, name), os.X_OK))
        return "".join(f"{name}() {{ {shlex.quote(os.path.join(self.doubles, name))} \"$@\"; }}\n" for name in names)

    def run_script(self, script: str) -> tuple[int, str, str]:
        self.round_trips += 1
        self.scripts.append(script)
        env = dict(os.environ)
        if self.doubles:
            env["PATH"] = f"{self.doubles}:{env.get('PATH', '/usr/bin:/bin')}"
            script = self.shims() + script
        proc = subprocess.run([*self.shell, "-c", script], capture_output=True, text=True, env=env, check=False)
        return proc.returncode, proc.stdout, proc.stderr


def fake_execute(target: t.Any, calls: list[tuple[str, str | None]] | None = None) -> t.Callable[..., dict[str, t.Any]]:
    """A stand-in for ``ActionBase._low_level_execute_command`` that hands the script to
    target: the stdin data where the action sends it there, else the command itself.
    ``calls`` collects (script, executable)."""

    def execute(cmd: str, executable: str | None = None, in_data: bytes | None = None,
                **_kw: t.Any) -> dict[str, t.Any]:
        # the connection plugins write in_data to a pipe: it must be bytes (local needs it)
        assert in_data is None or isinstance(in_data, bytes)
        script = cmd if in_data is None else in_data.decode("utf-8")
        if calls is not None:
            calls.append((script, executable))
        assert executable == "/bin/sh"
        rc, out, err = target.run_script(script)
        return {"rc": rc, "stdout": out, "stderr": err}

    return execute


def action_on(cls: t.Any, args: dict[str, t.Any], target: t.Any, check_mode: bool = False, diff: bool = False) -> t.Any:
    """An action plugin of class cls for a task with args, whose scripts run on target."""
    task = mock.MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.diff = diff
    task.async_val = 0
    # a real Templar: offload_profile templates the role's variables it validates
    plugin = cls(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=Templar(loader=DataLoader()),
                 shared_loader_obj=None)
    plugin._low_level_execute_command = fake_execute(target)  # pylint: disable=protected-access
    return plugin
