# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit-confirmed apply: the rollback armed on the host and the confirm (private).

With ``rollback_timeout`` T > 0 a changing run is three round trips: the read, the apply,
the confirm.

1. The apply changes the running state as usual (the preparatory steps, the nft batch, the
   steps that must run for the change to take effect, such as fw4's reload) but leaves
   every boot file staged beside its target (``PATH.fo-new``) and defers the steps that only
   make the change permanent (units, udev, sysctl files, module unloads). Then, still under
   the host lock, it **arms** the rollback (rollback.sh): a record on tmpfs with the
   ``expire`` script, and a timer that runs it after T seconds, a transient systemd timer
   where systemd runs, else a detached subshell; both outlive the SSH session.
2. The controller opens a **new** connection (``Target.reconnect``) and sends the
   **confirm** script: it runs the health check (without the lock), then, under the lock,
   confirms (moves the staged files into place, runs the deferred steps, disarms) or, when
   the check failed, rolls back at once; past the deadline it confirms nothing.
3. ``expire`` (the timer) takes the lock and rolls back when the record is still armed:
   the collection's nft objects as read before the apply (``ApplySpec.undo_nft``), the
   parts' own undo steps (``ApplySpec.undo``: fw4's UCI values), the staged files removed.

A reboot inside the window boots the old state: the boot files were never replaced, and the
record on tmpfs is gone.
"""
from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import FlowOffloadError
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import render, sh
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.sh import argv, shq

from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    ApplySpec,
    Section,
    Step,
    Target,
    clip,
    lock_code,
    new_nonce,
    rollback_code,
    parse_apply,
    prelude_code,
)

# The shortest window: the apply's end, a new connection and the confirm must fit in it.
MIN_TIMEOUT = 10
HEALTH_KEY = "confirm:health"
UNDO_KEY = "confirm:undo"
_sh = sh.here(__file__)


@dataclasses.dataclass(frozen=True)
class Rollback:
    """The commit-confirmed options of a run: seconds until the rollback, the health check."""

    timeout: int
    health_check: str = ""

    @classmethod
    def from_params(cls, params: t.Mapping[str, t.Any], prefix: str = "") -> Rollback | None:
        """None when the run applies without a rollback (timeout 0, or the part has no option).
        prefix: what the user calls the options (``gateway_`` for the role's variables)."""
        value = params.get("rollback_timeout")
        name = f"{prefix}rollback_timeout"
        # a survey hands numbers as strings, and an empty answer as ""
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        elif value is None or (isinstance(value, str) and not value.strip()):
            value = 0
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise FlowOffloadError(f"{name}: {value!r} is not a number of seconds; give 0 (no rollback) or "
                                   "the seconds the router waits for the confirm, e.g. 120")
        timeout = value
        health = str(params.get("health_check") or "").strip()
        if not timeout:
            if health:
                raise FlowOffloadError(f"{prefix}health_check is set but {name} is 0: the check decides whether "
                                       f"the change is kept or rolled back, so it needs a rollback; set {name} "
                                       "(e.g. 120) or leave the health check empty")
            return None
        if timeout < MIN_TIMEOUT:
            raise FlowOffloadError(f"{name}: {timeout} s leaves no time for the confirm over a new connection; "
                                   f"give 0 (no rollback) or at least {MIN_TIMEOUT} seconds")
        return cls(timeout, health)


def undo_code(spec: ApplySpec) -> str:
    """``fo_undo``: put back what the apply changed at once (the nft objects, the parts' undo
    steps) and remove the staged files; ``fo_undo_rc`` is non-zero when a part failed."""
    body = ["fo_undo() {\n", "  fo_undo_rc=0\n"]
    if spec.undo_nft:
        batch = "".join(f"{line}\n" for line in spec.undo_nft)
        body.append("  " + render.printf_to(batch, '"$fo_t/undo.nft"') + "\n")
        body.append('  nft -f "$fo_t/undo.nft" || fo_undo_rc=1\n')
    for item in spec.undo:
        body.append(f"  (\n{item.code.rstrip()}\n  ) || fo_undo_rc=1\n")
    staged = [f"{change.path}.fo-new" for change in spec.files if change.content is not None]
    staged += [change.path for change in spec.arm_files]
    if staged:
        body.append(f"  rm -f {argv(*staged)}\n")
    body.append('  if [ -r "$fo_arm/dirs" ]; then\n'
                '    while read -r fo_d; do [ -z "$fo_d" ] || rmdir "$fo_d" 2>/dev/null; done <"$fo_arm/dirs"\n'
                "  fi\n")
    body.append("}\n")
    return "".join(body)


def deferred(spec: ApplySpec) -> tuple[list[Step], list[Step]]:
    """What the confirm does: (the file moves, the steps the apply deferred)."""
    moves = [Step("file:" + c.path, argv("rm", "-f", c.path) if c.content is None
                  else argv("mv", "-f", c.path + ".fo-new", c.path)) for c in spec.files]
    return moves, [s for s in spec.post if not s.runtime]


def arm_code(spec: ApplySpec, rollback: Rollback) -> str:
    """The apply script's last step with a rollback: the record, its expire script, the timer."""
    boot = "".join(
        f"{{ mkdir -p \"$(dirname {shq(change.path)})\" && {render.printf_to(change.content or '', shq(change.path))}"
        f" && chmod {shq(change.mode)} {shq(change.path)}; }} ||\n"
        f"  fo_stop failed arm {shq('cannot write ' + change.path + ': the rollback is not armed')}\n"
        for change in spec.arm_files)
    expire = render.printf_to(expire_script(spec), '"$fo_arm/expire"')
    return ("fo_arm_begin\n{ " + expire + "; } ||\n  fo_stop failed arm 'cannot write the rollback script: the rollback is not armed'\n"
            + boot
            + f"fo_arm_start {shq(rollback.timeout)}\n")


def expire_script(spec: ApplySpec) -> str:
    """The script the timer runs: under the lock, when the record is still armed, undo and
    disarm (and say so in syslog where ``logger`` exists)."""
    return "".join([
        "#!/bin/sh\n# flowoffload.nft: rollback of an unconfirmed apply\n# shellcheck disable=SC2016\n",
        prelude_code(), _sh("apply.sh", {}), rollback_code(), lock_code(),
        'fo_armed || exit 0\nfo_me=$fo_v\n',
        undo_code(spec),
        "fo_undo\nfo_disarm\n",
        "if command -v logger >/dev/null 2>&1; then\n"
        '  logger -t flowoffload.nft "rolled back the change of run $fo_me: not confirmed in time (undo rc=$fo_undo_rc)"\n'
        "fi\n",
    ])


def confirm_script(spec: ApplySpec, rollback: Rollback, armed_nonce: str, nonce: str) -> str:
    """The confirm, over a new connection: the health check (without the lock), then, under
    the lock, keep (files into place, deferred steps, disarm) or roll back at once."""
    moves, steps = deferred(spec)
    out = ["#!/bin/sh\n# flowoffload.nft: confirm\n# shellcheck disable=SC2016\n", prelude_code(nonce),
           _sh("apply.sh", {}), rollback_code()]
    out.append(render.step(Step(HEALTH_KEY, rollback.health_check or ":", check=False), "failed"))
    out.append("fo_health=$fo_rc\n")
    out.append(lock_code())
    out.append(undo_code(spec))
    out.append(
        f'if ! fo_armed || [ "$fo_v" != {shq(armed_nonce)} ]; then\n'
        '  fo_stop failed expired "the rollback already ran: the router is in the state before this run"\n'
        "fi\n"
        "if fo_overdue; then\n"
        "  fo_undo; fo_disarm\n"
        '  fo_stop failed expired "the deadline passed before the confirm: rolled back (undo rc=$fo_undo_rc)"\n'
        "fi\n"
        'if [ "$fo_health" -ne 0 ]; then\n'
        "  fo_undo; fo_disarm\n"
        f'  fo_stop failed {HEALTH_KEY} "rolled back (undo rc=$fo_undo_rc)"\n'
        "fi\n")
    out += [render.step(item, "failed-after") for item in moves + steps]
    if spec.arm_files:
        out.append(f"rm -f {argv(*(change.path for change in spec.arm_files))}\n")
    # disarmed, then read back again: the parts verify what the deferred steps did
    out.append("fo_disarm\n")
    out += [render.section(read) for read in spec.readback]
    out.append("fo_ok\n")
    return "".join(out)


def _said(section: Section | None, fallback: str) -> str:
    text = ((section.err or section.out) if section is not None else "") or fallback
    return clip(text, 600) or "no message"


def _stop_message(err: str) -> str:
    """What the script's fo_stop said: its last line on stderr (ssh writes its own warnings,
    such as "Permanently added ... to the list of known hosts", before it)."""
    lines = [line for line in err.splitlines() if line.strip()]
    return _said(None, lines[-1] if lines else "")


def confirm_host(target: Target, spec: ApplySpec, rollback: Rollback,
                 applied: ApplyResult) -> tuple[dict[str, t.Any], ApplyResult]:
    """Confirm the armed apply over a NEW connection (one round trip): the ``rollback`` return
    value and the apply's result with the confirm's read-back over its own (what the parts
    verify), or FlowOffloadError saying that and why the router rolled back."""
    reconnect = getattr(target, "reconnect", None)
    if reconnect is not None:
        reconnect()  # the confirm must prove that a new connection reaches the router
    nonce = new_nonce()
    rc, out, err = target.run_script(confirm_script(spec, rollback, applied.nonce, nonce))
    res = parse_apply(rc, out, err, nonce)
    health = res.snapshot.get(HEALTH_KEY)
    check = {"rc": health.rc, "stdout": health.out, "stderr": health.err} if health is not None else {}
    details: dict[str, t.Any] = {"rc": rc, "stdout": out, "stderr": err,
                                 "rollback": {"armed": True, "timeout": rollback.timeout, "confirmed": False,
                                              "health_check": check}}
    if res.ok:
        snapshot = applied.snapshot.merged(res.snapshot)
        for read in spec.readback:  # what the reads derive (expand), from the confirm's read-back
            section = snapshot.sections.get(read.key)
            if read.expand is not None and section is not None:
                snapshot.sections.update(read.expand(section))
        verified = dataclasses.replace(applied, snapshot=snapshot)
        return {"armed": True, "timeout": rollback.timeout, "confirmed": True, "health_check": check}, verified
    undo = "" if "undo rc=0" in err else " (the undo reported a failure: check the router)"
    if res.key == HEALTH_KEY:
        raise FlowOffloadError(
            f"health_check failed on the router after the change (rc={health.rc if health else '?'}: "
            f"{_said(health, 'no output')}); the change was rolled back at once: the router is in the state "
            f"before this run{undo}", **details)
    if res.key == "expired":
        raise FlowOffloadError(
            f"the confirm came too late: {_stop_message(err)}; the router is in the state before this run. "
            f"rollback_timeout ({rollback.timeout} s) must cover the apply's end, a new connection and the "
            "health check: raise it", **details)
    if res.key == "lock":
        raise FlowOffloadError(
            f"the confirm could not take the host lock ({_said(res.section(), err)}); the change is not confirmed "
            f"and rolls back by itself {rollback.timeout} s after the apply", **details)
    raise FlowOffloadError(
        f"the confirm stopped at {res.status} {res.key or '(no result)'}: {_said(res.section(), err)}; what was "
        f"not made permanent rolls back by itself {rollback.timeout} s after the apply", **details)
