# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway role's sysctl file: read, plan, apply, verify (private).

The file ``/etc/sysctl.d/90-flowoffload.conf`` is the collection's: it holds exactly the
settings the inputs ask for (flow timeouts where the kernel has the keys, forwarding with
``gateway_forwarding``) and nothing else. The plan compares the file itself (a file
deleted or edited by hand is written again) and the running values (applied again when
they differ); with no setting asked for, or with the ``off`` profile, the file is removed
whenever it exists (the running values stay as they are).

Sections: ``sysctl:file`` (``present`` or ``absent`` on the first line, then the file)
and offload_facts' ``facts:sysctl`` (``name=value`` for every key the kernel has).
"""
from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts.reads import (
    K_SYSCTL,
    sysctl_read,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import sh
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    ApplySpec,
    Expect,
    FileChange,
    Read,
    Snapshot,
    Step,
    shq,
)

PREFIX = "sysctl:"
FILE = "/etc/sysctl.d/90-flowoffload.conf"
FILE_KEY = PREFIX + "file"
# The running values: offload_facts' sysctl section (the same four files, read by one awk
# process for both): ``net/ipv4/ip_forward=1`` lines, named with dots by parse_running.
RUNNING_KEY = K_SYSCTL
STEP_KEY = PREFIX + "apply"
HEADER = ("# Managed by flowoffload.nft (role flowoffload.nft.gateway): rewritten on every run,\n"
          "# removed by gateway_profile=off. Set gateway_tcp_timeout, gateway_udp_timeout and\n"
          "# gateway_forwarding instead of editing this file.\n")
# sysctl name -> the role variable that sets it
NAMES = {
    "net.netfilter.nf_flowtable_tcp_timeout": "gateway_tcp_timeout",
    "net.netfilter.nf_flowtable_udp_timeout": "gateway_udp_timeout",
    "net.ipv4.ip_forward": "gateway_forwarding",
    "net.ipv6.conf.all.forwarding": "gateway_forwarding",
}
TIMEOUTS = ("net.netfilter.nf_flowtable_tcp_timeout", "net.netfilter.nf_flowtable_udp_timeout")
FORWARDING = ("net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding")


def proc_path(name: str) -> str:
    return "/proc/sys/" + name.replace(".", "/")


_FILE_CODE = f"if [ -e {shq(FILE)} ]; then echo present; fo_rd {shq(FILE)}; else echo absent; fi"
_sh = sh.here(__file__)


def sysctl_reads() -> list[Read]:
    return [Read(FILE_KEY, _FILE_CODE), sysctl_read()]


def parse_file_section(text: str | None) -> str | None:
    """The file's content, None when absent (or not read)."""
    if not text:
        return None
    state, _sep, content = text.partition("\n")
    return content if state == "present" else None


def parse_running(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in (text or "").splitlines():
        name, sep, value = line.partition("=")
        if sep and value.strip().lstrip("-").isdigit():
            out[name.strip().replace("/", ".")] = int(value.strip())
    return out


def file_settings(content: str | None) -> dict[str, str]:
    """name -> value of a sysctl.d file (comments and blank lines skipped)."""
    out: dict[str, str] = {}
    for line in (content or "").splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        name, sep, value = line.lstrip("-").partition("=")
        if sep:
            out[name.strip()] = value.strip()
    return out


def wanted_settings(running: t.Mapping[str, int], tcp_timeout: int | None, udp_timeout: int | None,
                    forwarding: bool, loading_modules: bool, in_file: t.Iterable[str] = ()) -> dict[str, int]:
    """sysctl name -> value asked for: a timeout where the kernel has the key, when the
    modules that bring the key are loaded by this run, or when the file already holds it
    (so a kernel without the key does not rewrite the file on every run); forwarding where
    the key exists."""
    kept = set(in_file)
    out: dict[str, int] = {}
    for name, value in zip(TIMEOUTS, (tcp_timeout, udp_timeout)):
        if value is not None and (name in running or loading_modules or name in kept):
            out[name] = int(value)
    if forwarding:
        for name in FORWARDING:
            if name in running:
                out[name] = 1
    return out


def render_file(settings: t.Mapping[str, int]) -> str | None:
    """The file for settings (None: no file)."""
    if not settings:
        return None
    return HEADER + "".join(f"{name} = {settings[name]}\n" for name in sorted(settings))


@dataclasses.dataclass
class SysctlPlan:
    result: dict[str, t.Any]
    spec: ApplySpec
    wanted: dict[str, int] = dataclasses.field(default_factory=dict)


def apply_code(init: str) -> str:
    """The file's settings into the running kernel (sysctl_apply.sh)."""
    return _sh("sysctl_apply.sh", {"fo_init": init, "fo_sysfile": FILE})


def plan_sysctl(snapshot: Snapshot, wanted: t.Mapping[str, int], init: str, remove: bool = False) -> SysctlPlan:
    """What to write, remove and apply so that the file and the kernel hold ``wanted``.

    ``remove``: the off profile (the file goes whatever it holds).
    """
    current = parse_file_section(snapshot.out(FILE_KEY))
    running = parse_running(snapshot.text(RUNNING_KEY))
    content = None if remove else render_file(wanted)
    differs = {n: v for n, v in wanted.items() if running.get(n) != v}
    spec = ApplySpec()
    file_changes = current != content
    if file_changes:
        spec.files.append(FileChange(FILE, content, "0644"))
    if content is not None and (file_changes or differs):
        spec.post.append(Step(STEP_KEY, apply_code(init)))
    if spec.changes():
        spec.expect.append(Expect(FILE_KEY, _FILE_CODE, snapshot.text(FILE_KEY)))
        spec.readback += sysctl_reads()
    result = {
        "changed": spec.changes(),
        "file": FILE,
        "settings": dict(wanted),
        "applied": sorted(differs) if content is not None and spec.post else [],
        "diff": {"before_header": FILE, "after_header": FILE,
                 "before": current or "", "after": content or ""},
    }
    return SysctlPlan(result, spec, dict(wanted))


def finish_sysctl(plan: SysctlPlan, apply_result: ApplyResult | None) -> dict[str, t.Any]:
    """The result from the read-back: the running values must be what was asked for."""
    result = dict(plan.result)
    result["warnings"] = []
    if apply_result is None:
        return result
    res = apply_result
    if res.status != "ok":
        sec = res.section()
        detail = ((sec.err or sec.out) if sec else res.stderr).strip()
        if res.key == STEP_KEY:
            raise FlowOffloadError(
                f"applying {FILE} to the running kernel failed ({detail or 'no message'}); the file "
                "and every other change of this run are in place; check the values of "
                f"{', '.join(sorted({NAMES[n] for n in plan.wanted}))} and run again",
                rc=res.rc, stderr=detail)
        raise FlowOffloadError(
            f"writing {FILE} failed at {res.key} ({detail or 'no message'}); nothing was changed; "
            "check the free space and permissions of /etc/sysctl.d (run with become: true)",
            rc=res.rc, stderr=detail)
    running = parse_running(res.snapshot.text(RUNNING_KEY))
    for name, value in sorted(plan.wanted.items()):
        if name not in running:
            result["warnings"].append(
                f"{NAMES[name]}: this kernel has no {name} (it comes with the nf_flow_table module on "
                f"Linux 5.x and later); it is kept in {FILE} but not in effect")
        elif running[name] != value:
            raise FlowOffloadError(
                f"{NAMES[name]}: the kernel kept {name} = {running[name]} after {FILE} was applied "
                f"(asked for {value}); check the value and run again")
    after = parse_file_section(res.snapshot.out(FILE_KEY))
    diff = dict(result["diff"])
    diff["after"] = after or ""
    result["diff"] = diff
    return result
