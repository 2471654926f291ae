# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers of what the kmod reads print (private): text in, module states out.

``kmod.modules`` reads the sections and puts the states together.
"""
from __future__ import annotations

import re
import typing as t


class ModState(t.TypedDict, total=False):
    """What is known of one module: from /proc/modules (size, refcnt, users, state), from
    /sys/module (initstate, refcnt, users), or its state for the planner (state, path,
    evidence, refcnt, users)."""

    state: str | None
    initstate: str | None
    size: int
    refcnt: int
    users: list[str]
    path: str | None
    evidence: str


def normalize(name: str) -> str:
    """Kernel module names treat '-' and '_' alike; '_' is the canonical form."""
    return name.replace("-", "_")


def parse_proc_modules(text: str) -> dict[str, ModState]:
    """/proc/modules: name -> {size, refcnt, users, state}.

    Line format: ``name size refcnt users state address``; users is ``-`` or a
    comma-separated list with a trailing comma (``[permanent]`` marks unloadable ones).
    """
    result: dict[str, ModState] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) < 5:
            continue
        refcnt = int(parts[2]) if parts[2].lstrip("-").isdigit() else 0
        users = [u for u in parts[3].split(",") if u and u != "-"]
        result[normalize(parts[0])] = {
            "size": int(parts[1]) if parts[1].isdigit() else 0,
            "refcnt": refcnt,
            "users": [normalize(u) for u in users],
            "state": parts[4],
        }
    return result


def module_name(path: str) -> str:
    base = path.strip().rsplit("/", 1)[-1]
    return normalize(re.sub(r"\.ko(\.(xz|gz|zst))?$", "", base))


def parse_modules_builtin(text: str) -> dict[str, str]:
    """modules.builtin (``kernel/net/netfilter/nf_flow_table.ko`` lines): name -> path."""
    return {module_name(line): line.strip() for line in (text or "").splitlines()
            if line.strip().endswith(".ko")}


def parse_modules_dep(text: str) -> dict[str, str]:
    """modules.dep (``path: dep dep``): name -> path relative to /lib/modules/RELEASE."""
    result: dict[str, str] = {}
    for line in (text or "").splitlines():
        if ":" in line:
            path = line.split(":", 1)[0].strip()
            if ".ko" in path:
                result[module_name(path)] = path
    return result


def parse_kernel_config(text: str) -> dict[str, str]:
    """Kernel config (``CONFIG_X=y``, ``# CONFIG_X is not set``): symbol -> y|m|n|value."""
    result: dict[str, str] = {}
    for line in (text or "").splitlines():
        line = line.strip()
        unset = re.match(r"^# (CONFIG_\w+) is not set$", line)
        if unset:
            result[unset.group(1)] = "n"
        elif line.startswith("CONFIG_") and "=" in line:
            key, value = line.split("=", 1)
            result[key] = value.strip('"')
    return result


def config_symbol(name: str) -> str:
    """nf_flow_table -> CONFIG_NF_FLOW_TABLE (true for the flow offload modules)."""
    return f"CONFIG_{normalize(name).upper()}"


def parse_sys_modules(text: str) -> dict[str, ModState]:
    """Lines ``name initstate refcnt holders,`` of the sys section (``-`` for none)."""
    result: dict[str, ModState] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) != 4:
            continue
        name, init, refcnt, holders = parts
        result[normalize(name)] = {
            "initstate": None if init == "-" else init,
            "refcnt": int(refcnt) if refcnt.isdigit() else 0,
            "users": [normalize(h) for h in holders.split(",") if h and h != "-"],
        }
    return result


def parse_modinfo_lines(text: str) -> dict[str, tuple[int, str]]:
    """Lines ``name rc first-line-of-output`` of the modinfo section."""
    result: dict[str, tuple[int, str]] = {}
    for line in (text or "").splitlines():
        parts = line.split(" ", 2)
        if len(parts) >= 2 and parts[1].lstrip("-").isdigit():
            result[normalize(parts[0])] = (int(parts[1]), parts[2].strip() if len(parts) > 2 else "")
    return result
