# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fw4 backend's apply: its steps, and what their sections say (private).

``apply_steps`` renders ``fw4_apply.sh`` once per command, each a ``post`` step of the apply
script and so one of its sections (``fw4:uci-set``, ``fw4:uci-commit``, ``fw4:check``,
``fw4:reload``, ``fw4:verify``, ``fw4:restore``, ``fw4:reload-restore``); the last step,
``fw4``, stops the script (``failed-after fw4``, its stdout the command that failed) when
one of them failed. ``failure`` reads those sections of the ``ApplyResult`` back into the
error the module raises.
"""
from __future__ import annotations

import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
    nft_hint,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.fw4_state import (
    OPTIONS,
    SECTION,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    FileChange,
    Section,
    Step,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.sh import path_of
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.sh import (
    render as render_sh,
)

APPLY_SH = path_of(__file__, "fw4_apply.sh")
BOOT_UNDO_SH = path_of(__file__, "fw4_boot_undo.sh")
BOOT_UNDO_PATH = "/etc/uci-defaults/99-flowoffload-rollback"
STEP = "fw4"  # the last step: "failed-after fw4" names the command that failed
COMMAND = STEP + ":"  # the steps of the commands: fw4:uci-set, fw4:check, ...
# after which failed command the old values are put back, and reloaded
RESTORED = ("check", "reload", "verify", "hardware")
RELOADED = ("reload", "verify", "hardware")


def _action(value: str | None) -> str:
    """A UCI value as fw4_apply.sh's fo4_put takes it: set:VALUE, or delete for None."""
    return "delete" if value is None else f"set:{value}"


def _values(changes: t.Mapping[str, str | None], before: t.Mapping[str, str | None]) -> dict[str, object]:
    """The inputs that say what changes and what was there before."""
    def old(option: str) -> str:
        return "none" if before.get(option) is None else f"set:{before[option]}"
    return {
        "fo4_section": SECTION,
        "fo4_sw": _action(changes["flow_offloading"]) if "flow_offloading" in changes else "",
        "fo4_hw": _action(changes["flow_offloading_hw"]) if "flow_offloading_hw" in changes else "",
        "fo4_sw_old": old("flow_offloading"),
        "fo4_hw_old": old("flow_offloading_hw"),
    }


def apply_steps(changes: t.Mapping[str, str | None], before: t.Mapping[str, str | None],
                want_ft: bool, need_hw: bool) -> list[Step]:
    """One step per command: set + commit, fw4 check, fw4 reload, verify; after a failure
    the old values back; then ``fw4``, which fails when one of them did."""
    values: dict[str, object] = {**_values(changes, before), "fo4_want_ft": int(want_ft),
                                 "fo4_need_hw": int(need_hw)}
    uci = ["uci-set", "uci-commit"] if changes else []
    restore = ["restore", "reload-restore"] if changes else []
    # runtime: with a rollback armed they still run in the apply (they are the change)
    steps = [Step(COMMAND + name, render_sh(APPLY_SH, {**values, "fo4_do": name}), check=False, runtime=True)
             for name in [*uci, "check", "reload", "verify", *restore]]
    return steps + [Step(STEP, render_sh(APPLY_SH, {**values, "fo4_do": "result"}), runtime=True)]


def undo_steps(changes: t.Mapping[str, str | None], before: t.Mapping[str, str | None]
               ) -> tuple[list[Step], list[FileChange]]:
    """What an armed rollback runs (the values before, committed, fw4 reloaded) and the
    uci-defaults script that does the same at boot while the rollback is armed."""
    if not changes:
        return [], []
    values = _values(changes, before)
    undo = Step(COMMAND + "undo", render_sh(APPLY_SH, {**values, "fo4_want_ft": 0, "fo4_need_hw": 0,
                                                       "fo4_do": "undo"}))
    boot = "#!/bin/sh\n" + render_sh(BOOT_UNDO_SH, values)
    return [undo], [FileChange(BOOT_UNDO_PATH, boot, "0755")]


# --- what the steps said ------------------------------------------------------------------
def _values_text(values: t.Mapping[str, str | None]) -> str:
    return ", ".join(f"{o}={'unset' if values.get(o) is None else values[o]}" for o in OPTIONS)


def _short(answer: str) -> str:
    """nft's error lines without the echoed ruleset and carets (all of it when none)."""
    lines = [line.strip() for line in answer.splitlines() if "Error:" in line or line.startswith("[!]")]
    return " / ".join(lines) if lines else " ".join(answer.split())


def command(res: ApplyResult, name: str) -> Section | None:
    """The section of one command of the apply (None when the script did not get there)."""
    return res.snapshot.get(COMMAND + name)


def command_err(res: ApplyResult, name: str) -> str:
    sec = command(res, name)
    return sec.err if sec else ""


def failure(res: ApplyResult, changes: t.Mapping[str, str | None], before: t.Mapping[str, str | None],
            want_ft: bool, commands: list[str]) -> FlowOffloadError:
    """The error naming the command that failed, the kernel's answer and what was put back."""
    where = res.snapshot.text(STEP).strip() if res.key == STEP else res.key
    failed = command(res, where)
    answer = {"check": command_err(res, "check"), "verify": command_err(res, "reload"), "hardware": command_err(res, "reload")}.get(where, "")
    answer = answer or ((failed.err or failed.out).strip() if failed else "")
    restore = command(res, "restore") if where in RESTORED else None
    again = command(res, "reload-restore") if where in RELOADED else None
    if not changes:
        state = "the UCI values were not touched"
    elif where in ("uci-set", "uci-commit"):
        state = "the staged UCI changes were reverted; nothing was changed"
    elif restore is not None and restore.rc == 0:
        state = f"the previous values ({_values_text(before)}) were put back and committed"
        if again is not None:
            state += " and fw4 reloaded" if again.rc == 0 else " (fw4 reload failed on them too)"
    elif restore is not None:
        state = (f"putting the previous values ({_values_text(before)}) back failed too: check "
                 f"'uci show {SECTION}' and 'fw4 reload' by hand")
    else:
        state = "the firewall state is unknown"
    what = {
        "uci-set": "uci set failed",
        "uci-commit": "uci commit firewall failed",
        "check": "fw4 check refused the ruleset (fw4 print | nft -c -f -)",
        "reload": "fw4 reload failed",
        "verify": ("fw4 reload exited 0 but the kernel refused the ruleset: table inet fw4 has no flowtable ft"
                   if want_ft else "flowtable ft is still in table inet fw4 after fw4 reload"),
        "hardware": ("offload: true needs hardware offloading, but firewall4 fell back to software "
                     "offloading (flowtable ft has no 'flags offload')"),
    }.get(where, f"the apply script stopped at {where or res.status}")
    hint = nft_hint(answer)
    if where == "reload" and "does not appear to be loaded" in answer:
        hint = "fw4 is not running: start the firewall (/etc/init.d/firewall start) and run again"
    msg = f"backend: fw4: {what}"
    if answer.strip():
        msg += f"; the kernel's answer: {_short(answer)}"
    msg += f"; {state}."
    if hint:
        msg += f" Hint: {hint}."
    return FlowOffloadError(msg, rc=failed.rc if failed else res.rc, stdout=failed.out if failed else res.stdout,
                            stderr=answer or res.stderr, commands=commands)
