# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel modules for flow offload: state, boot-time load list, plan and apply (private).

Parsers and ``plan`` are pure. ``inspect_modules``/``module_states``/``read_persistence``
only read through a ``_runner.Runner``; ``apply`` is the one function that changes the
host (modprobe/rmmod, package install, the load-list file).
"""
from __future__ import annotations

import gzip
import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.module_utils import _packages
from ansible_collections.flowoffload.nft.plugins.module_utils._errors import (
    FlowOffloadError,
)

DEFAULT_MODULES: t.List[str] = ["nf_flow_table", "nf_flow_table_inet", "nft_flow_offload"]
# Dependents first: the order in which state=absent unloads them.
UNLOAD_ORDER = ["nft_flow_offload", "nf_flow_table_inet", "nf_flow_table_ipv4",
                "nf_flow_table_ipv6", "nf_flow_table_hw", "nf_flow_table"]
MODULE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")

SYSTEMD_FILE = "/etc/modules-load.d/flowoffload.conf"
ETC_MODULES = "/etc/modules"
BLOCK_BEGIN = "# BEGIN flowoffload.nft (offload_kmod): managed block, edits are overwritten"
BLOCK_END = "# END flowoffload.nft"
FILE_HEADER = (
    "# Written by flowoffload.nft (offload_kmod): kernel modules for netfilter flow\n"
    "# offload, loaded at boot. Removed by state=absent; local edits are overwritten.\n"
)
ModState = t.Dict[str, t.Any]


def normalize(name: str) -> str:
    """Kernel module names treat '-' and '_' alike; '_' is the canonical form."""
    return name.replace("-", "_")


def validate_modules(names: t.Any) -> t.List[str]:
    """The modules option as a list of valid names, or FlowOffloadError naming it."""
    if not isinstance(names, list) or not names:
        raise FlowOffloadError(
            "modules must be a non-empty list of kernel module names, e.g. "
            f"{DEFAULT_MODULES}; omit it to use that default"
        )
    bad = [str(n) for n in names if not isinstance(n, str) or not MODULE_NAME.match(n)]
    if bad:
        raise FlowOffloadError(
            f"modules contains invalid kernel module names {bad}: a module name uses only "
            "letters, digits, '_' and '-' (no paths, spaces or options); fix or remove them"
        )
    result: t.List[str] = []
    for name in names:
        if normalize(name) not in [normalize(n) for n in result]:
            result.append(name)
    return result


# --- pure parsers ----------------------------------------------------------------------
def parse_proc_modules(text: str) -> t.Dict[str, ModState]:
    """/proc/modules: name -> {size, refcnt, users, state}.

    Line format: ``name size refcnt users state address``; users is ``-`` or a
    comma-separated list with a trailing comma (``[permanent]`` marks unloadable ones).
    """
    result: t.Dict[str, ModState] = {}
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


def _module_name(path: str) -> str:
    base = path.strip().rsplit("/", 1)[-1]
    return normalize(re.sub(r"\.ko(\.(xz|gz|zst))?$", "", base))


def parse_modules_builtin(text: str) -> t.Dict[str, str]:
    """modules.builtin (``kernel/net/netfilter/nf_flow_table.ko`` lines): name -> path."""
    return {_module_name(line): line.strip() for line in (text or "").splitlines()
            if line.strip().endswith(".ko")}


def parse_modules_dep(text: str) -> t.Dict[str, str]:
    """modules.dep (``path: dep dep``): name -> path relative to /lib/modules/RELEASE."""
    result: t.Dict[str, str] = {}
    for line in (text or "").splitlines():
        if ":" in line:
            path = line.split(":", 1)[0].strip()
            if ".ko" in path:
                result[_module_name(path)] = path
    return result


def parse_kernel_config(text: str) -> t.Dict[str, str]:
    """Kernel config (``CONFIG_X=y``, ``# CONFIG_X is not set``): symbol -> y|m|n|value."""
    result: t.Dict[str, str] = {}
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


# --- reading the host ------------------------------------------------------------------
def kernel_release(runner: t.Any) -> str:
    release = (runner.read("/proc/sys/kernel/osrelease") or "").strip()
    if release:
        return release
    return runner.check(["uname", "-r"], what="uname -r").stdout.strip()


def _kernel_config(runner: t.Any, release: str) -> t.Tuple[t.Dict[str, str], str]:
    raw = runner.read_bytes("/proc/config.gz")
    if raw:
        try:
            return parse_kernel_config(gzip.decompress(raw).decode("utf-8", "replace")), "/proc/config.gz"
        except (OSError, EOFError):
            pass
    path = f"/boot/config-{release}"
    text = runner.read(path)
    return (parse_kernel_config(text), path) if text is not None else ({}, "")


def _sys_module(runner: t.Any, name: str) -> t.Optional[ModState]:
    """A loadable module seen in /sys/module (used when /proc/modules is unreadable)."""
    base = f"/sys/module/{name}"
    initstate = runner.read(f"{base}/initstate")
    if initstate is None:
        return None
    refcnt = (runner.read(f"{base}/refcnt") or "0").strip()
    return {"refcnt": int(refcnt) if refcnt.isdigit() else 0,
            "users": [normalize(u) for u in runner.listdir(f"{base}/holders")],
            "state": initstate.strip()}


def inspect_modules(runner: t.Any, names: t.Sequence[str],
                    release: t.Optional[str] = None) -> t.Dict[str, ModState]:
    """module_states plus ``refcnt`` and ``users`` (what planning state=absent needs)."""
    release = release or kernel_release(runner)
    base = f"/lib/modules/{release}"
    proc_text = runner.read("/proc/modules")
    proc = parse_proc_modules(proc_text) if proc_text is not None else None
    builtin_text = runner.read(f"{base}/modules.builtin")
    builtin = parse_modules_builtin(builtin_text or "")
    dep_text = runner.read(f"{base}/modules.dep")
    dep = parse_modules_dep(dep_text or "")
    if dep_text is None:  # OpenWrt: flat folder of NAME.ko, no modules.dep
        dep = {_module_name(f): f for f in runner.listdir(base) if re.search(r"\.ko(\.\w+)?$", f)}
    config, config_path = _kernel_config(runner, release)
    has_modinfo = bool(runner.which("modinfo"))
    result: t.Dict[str, ModState] = {}
    for name in names:
        key = normalize(name)
        path = f"{base}/{dep[key]}" if key in dep else None
        live = proc.get(key) if proc is not None else _sys_module(runner, key)
        notes: t.List[str] = []
        entry: ModState = {"state": "missing", "path": None, "evidence": "", "refcnt": 0, "users": []}
        if live:
            users = ", ".join(live["users"]) or "no module"
            where = "/proc/modules" if proc is not None else f"/sys/module/{key}"
            entry.update(state="loaded", path=path, refcnt=live["refcnt"], users=live["users"],
                         evidence=f"{where}: {live['state']}, refcount {live['refcnt']}, used by {users}")
            result[name] = entry
            continue
        notes.append("not in /proc/modules" if proc is not None
                     else f"/proc/modules unreadable and no /sys/module/{key}/initstate")
        symbol = config_symbol(key)
        if key in builtin:
            entry.update(state="builtin", evidence=f"{base}/modules.builtin lists {builtin[key]}")
        elif builtin_text is None and proc is None and runner.exists(f"/sys/module/{key}"):
            entry.update(state="builtin", evidence=f"/sys/module/{key} exists without initstate (built in)")
        elif config.get(symbol) == "y":
            entry.update(state="builtin", evidence=f"{symbol}=y in {config_path}")
        elif path:
            entry.update(state="module", path=path,
                         evidence=f"{'modules.dep' if dep_text is not None else base} lists {dep[key]}")
        elif has_modinfo:
            res = runner.run(["modinfo", "-n", key])
            out = res.stdout.strip()
            if res.rc == 0 and out.endswith("(builtin)"):
                entry.update(state="builtin", evidence="modinfo -n: (builtin)")
            elif res.rc == 0 and out.startswith("/"):
                entry.update(state="module", path=out.splitlines()[0], evidence=f"modinfo -n: {out}")
            else:
                notes.append(f"modinfo: {(res.stderr or res.stdout).strip() or f'rc={res.rc}'}")
        if entry["state"] == "missing":
            if builtin_text is None:
                notes.append(f"no {base}/modules.builtin")
            if symbol in config:
                shown = f"{symbol} is not set" if config[symbol] == "n" else f"{symbol}={config[symbol]}"
                notes.append(f"{shown} in {config_path}")
            entry["evidence"] = "; ".join(notes)
        result[name] = entry
    return result


def module_states(runner: t.Any, names: t.Sequence[str]) -> t.Dict[str, ModState]:
    """name -> {state: loaded|builtin|module|missing, path, evidence} for each name."""
    return {name: {k: v[k] for k in ("state", "path", "evidence")}
            for name, v in inspect_modules(runner, names).items()}


# --- boot-time load list ---------------------------------------------------------------
def persistence_target(platform: t.Mapping[str, t.Any]) -> t.Tuple[str, str]:
    """(file, kind): kind ``file`` (ours entirely), ``block`` (/etc/modules) or ``none``."""
    if platform.get("os_family") == "OpenWrt":
        return "", "none"  # packages autoload through /etc/modules.d already
    if platform.get("init") == "systemd":
        return SYSTEMD_FILE, "file"
    return ETC_MODULES, "block"


def _names(lines: t.Iterable[str]) -> t.List[str]:
    return [line.split()[0] for line in lines
            if line.strip() and not line.strip().startswith(("#", ";"))]


def split_block(content: str) -> t.Tuple[t.List[str], t.List[str], int]:
    """(lines outside our block, lines inside it, index where the block was or -1)."""
    outside: t.List[str] = []
    inside: t.List[str] = []
    where, in_block = -1, False
    for line in (content or "").splitlines():
        if line.strip() == BLOCK_BEGIN:
            in_block = True
            where = len(outside) if where < 0 else where
        elif in_block and line.strip() == BLOCK_END:
            in_block = False
        elif in_block:
            inside.append(line)
        else:
            outside.append(line)
    return outside, inside, where


def render_file(modules: t.Sequence[str]) -> str:
    return FILE_HEADER + "".join(f"{m}\n" for m in modules)


def edit_block(content: str, modules: t.Sequence[str]) -> str:
    """content with our marked block holding modules (or without it when empty).

    Other lines stay as they are. A block, not trailing comments: /etc/modules readers
    (Debian's kmod script, OpenRC, systemd-modules-load) pass the rest of a line on.
    """
    outside, _inside, where = split_block(content)
    if modules:
        block = [BLOCK_BEGIN] + list(modules) + [BLOCK_END]
        where = len(outside) if where < 0 else where
        outside = outside[:where] + block + outside[where:]
    return "".join(f"{line}\n" for line in outside)


def persistence_state(runner: t.Any, platform: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """read_persistence plus ``kind`` and ``content`` (the file's text, "" if absent)."""
    path, kind = persistence_target(platform)
    content = (runner.read(path) if path else None)
    if kind == "file":
        modules = _names((content or "").splitlines())
        present = content is not None
    elif kind == "block":
        _outside, inside, where = split_block(content or "")
        modules, present = _names(inside), where >= 0
    else:
        modules, present = [], False
    return {"file": path, "present": present, "modules": modules,
            "kind": kind, "content": content or ""}


def read_persistence(runner: t.Any) -> t.Dict[str, t.Any]:
    """{file, present, modules} for the boot-time load list offload_kmod writes."""
    platform = {
        "os_family": "OpenWrt" if runner.exists(_packages.OPENWRT_RELEASE) else "",
        "init": "systemd" if runner.exists("/run/systemd/system") else "other",
    }
    state = persistence_state(runner, platform)
    return {k: state[k] for k in ("file", "present", "modules")}
