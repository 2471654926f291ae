# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel modules for flow offload: state, boot-time load list, readers (private).

``module_reads``/``persistence_reads`` are the sections of the read script (read_*.sh
beside this file) that ``module_states_from``, ``kernel_config_from``,
``module_support_from`` and ``persistence_from`` turn into data (shared by offload_facts
and offload_kmod); the parsers (``kmod.parse``) and the boot-time list helpers are pure.
Planning and applying live in ``kmod.plan``.
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.modules.offload_kmod import (
    ARGUMENT_SPEC as KMOD_SPEC,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod.parse import (
    ModState,
    config_symbol,
    module_name,
    normalize,
    parse_kernel_config,
    parse_modinfo_lines,
    parse_modules_builtin,
    parse_modules_dep,
    parse_proc_modules,
    parse_sys_modules,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import sh
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.host import (
    host_reads,
    kernel_release,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Read,
    Section,
    Snapshot,
    file_code,
    shq,
)

# The default of offload_kmod's ``modules`` option: the module file is its one source.
DEFAULT_MODULES: list[str] = list(KMOD_SPEC["modules"]["default"])
# Dependents first: the order in which state=absent unloads them.
UNLOAD_ORDER = ["nft_flow_offload", "nf_flow_table_inet", "nf_flow_table_ipv4",
                "nf_flow_table_ipv6", "nf_flow_table_hw", "nf_flow_table"]
# [A-Za-z0-9_-]+ without a leading "-" (it would reach modprobe/rmmod as an option)
MODULE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")

PROC_MODULES = "/proc/modules"
MODULES_DIR = "/lib/modules"
SYSTEMD_FILE = "/etc/modules-load.d/flowoffload.conf"
ETC_MODULES = "/etc/modules"
BLOCK_BEGIN = "# BEGIN flowoffload.nft (offload_kmod): managed block, edits are overwritten"
BLOCK_END = "# END flowoffload.nft"
FILE_HEADER = (
    "# Written by flowoffload.nft (offload_kmod): kernel modules for netfilter flow\n"
    "# offload, loaded at boot. Removed by state=absent; local edits are overwritten.\n"
)


class Persistence(t.TypedDict):
    """The boot-time load list offload_kmod keeps: its file (``""``: none on this platform),
    whether our entries are there and which, ``kind`` (file|block|none), the file's content,
    whether it exists and the read section it came from."""

    file: str
    present: bool
    modules: list[str]
    kind: str
    content: str
    exists: bool
    key: str


def validate_modules(names: object) -> list[str]:
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
            "letters, digits, '_' and '-', not starting with '-' (no paths, spaces or options); fix or remove them"
        )
    result: list[str] = []
    for name in names:
        if normalize(name) not in [normalize(n) for n in result]:
            result.append(name)
    return result


# --- boot-time load list ---------------------------------------------------------------
def persistence_target(platform: t.Mapping[str, t.Any]) -> tuple[str, str]:
    """(file, kind): kind ``file`` (ours entirely), ``block`` (/etc/modules) or ``none``."""
    if platform.get("os_family") == "OpenWrt":
        return "", "none"  # packages autoload through /etc/modules.d already
    if platform.get("init") == "systemd":
        return SYSTEMD_FILE, "file"
    return ETC_MODULES, "block"


def _names(lines: t.Iterable[str]) -> list[str]:
    return [line.split()[0] for line in lines
            if line.strip() and not line.strip().startswith(("#", ";"))]


def split_block(content: str) -> tuple[list[str], list[str], int]:
    """(lines outside our block, lines inside it, index where the block was or -1)."""
    outside: list[str] = []
    inside: list[str] = []
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


# --- the read script (snapshot) --------------------------------------------------------
PREFIX = "kmod:"
# Module files of netfilter flow offload, any kernel generation (old OpenWrt trees have
# nf_flow_table_ipv4/_ipv6/_hw).
FLOW_NAMES_RE = "nf_flow_table[a-z0-9_]*|nft_flow_offload"
_FLOW_NAME = re.compile(rf"^({FLOW_NAMES_RE})$")
# What the kernel config section keeps (CONFIG_MODULES for module support).
CONFIG_RE = r"^(# )?CONFIG_(MODULES|NF_FLOW[A-Z0-9_]*|NFT_FLOW[A-Z0-9_]*)[= ]"
# The read sections are script files beside this one (read_*.sh); they find the running
# kernel's folder through $fo_kr, which the host reads before them set (target/host.py).
_sh = sh.here(__file__)


def _group(names: t.Sequence[str]) -> tuple[str, list[str], str]:
    """(key suffix, names to look at, grep -E alternation of their file names).

    The flow offload modules are always looked at, so offload_facts and offload_kmod share
    the sections; other names add a suffix to the keys (``kmod:dep:foo,bar``).
    """
    wanted = [normalize(n) for n in validate_modules(list(names) or DEFAULT_MODULES)]
    extras = sorted({n for n in wanted if not _FLOW_NAME.match(n)})
    loop = list(DEFAULT_MODULES) + [n for n in dict.fromkeys(wanted) if n not in DEFAULT_MODULES]
    alternation = "|".join([FLOW_NAMES_RE] + [re.sub(r"[-_]", "[-_]", n) for n in extras])
    return (":" + ",".join(extras) if extras else ""), loop, alternation


def file_res(alt: str) -> tuple[str, str]:
    """(modules.builtin line, modules.dep line) EREs for the module names of alt."""
    return f"(^|/)({alt})\\.ko(\\.(xz|gz|zst))?$", f"^([^:]*/)?({alt})\\.ko(\\.(xz|gz|zst))?:"


def _awk_re(regex: str) -> str:
    """An ERE for an awk string: ``\\.`` as ``[.]`` (awk strings would eat the backslash)."""
    return regex.replace("\\.", "[.]")


def _files_code(mdir: str, builtin_re: str, dep_re: str) -> str:
    """read_files.sh: modules.builtin, modules.dep and the kernel config searched by ONE awk."""
    return _sh("read_files.sh", {"fo_kmdir": mdir, "fo_kbre": _awk_re(builtin_re), "fo_kdre": _awk_re(dep_re),
                                 "fo_kcre": _awk_re(CONFIG_RE)})


def _split_files(suffix: str) -> t.Callable[[Section], dict[str, Section]]:
    """The ``files`` section as the ``builtin``, ``dep`` and ``config`` sections (what a grep of
    each printed: the lines, or rc 2 and ``absent: PATH`` / no config on stderr)."""
    def split(section: Section) -> dict[str, Section]:
        lines: dict[str, list[str]] = {"b": [], "d": [], "c": []}
        absent: dict[str, str] = {}  # file name -> its path, for the files not there
        config = None
        for line in section.out.splitlines():
            tag, _sep, rest = line.partition(" ")
            if tag == "@absent":
                absent[rest.rsplit("/", 1)[-1]] = rest
            elif tag in ("@config", "@noconfig"):
                config = rest if tag == "@config" else "-" + rest
            elif tag in lines:
                lines[tag].append(rest)
        if config is None:  # the script stopped early (no awk, no sh): every part failed alike
            failed = Section(section.rc or 1, "", section.err or "the module files were not read")
            return {PREFIX + "builtin" + suffix: failed, PREFIX + "dep" + suffix: failed, PREFIX + "config": failed}
        out: dict[str, Section] = {}
        for tag, name in (("b", "builtin"), ("d", "dep")):
            if "modules." + name in absent:
                out[PREFIX + name + suffix] = Section(2, "", f"absent: {absent['modules.' + name]}\n")
            else:
                out[PREFIX + name + suffix] = Section(section.rc, "".join(x + "\n" for x in lines[tag]), section.err)
        if config.startswith("-"):
            out[PREFIX + "config"] = Section(2, "", f"no /proc/config.gz, no {config[1:]}\n")
        else:
            out[PREFIX + "config"] = Section(section.rc, f"# source: {config}\n" + "".join(x + "\n" for x in lines["c"]),
                                             section.err)
        return out
    return split


def module_reads(names: t.Sequence[str] = ()) -> list[Read]:
    """Reads for ``module_states_from``/``kernel_config_from``/``module_support_from``
    (after the host reads: the kernel release). Raises FlowOffloadError on a bad name."""
    suffix, loop, alt = _group(names)
    extras = suffix[1:].split(",") if suffix else []
    files, dep = file_res(alt)
    mods = sh.words(loop)
    spellings = sh.words(v for name in extras for v in sorted({name.replace("-", "_"), name.replace("_", "-")}))
    return host_reads() + [
        Read(PREFIX + "proc-modules", f"fo_rd {shq(PROC_MODULES)}"),
        Read(PREFIX + "files" + suffix, _files_code(MODULES_DIR, files, dep), expand=_split_files(suffix)),
        Read(PREFIX + "ls" + suffix, _sh("read_ls.sh", {"fo_kmdir": MODULES_DIR, "fo_kextra": spellings})),
        Read(PREFIX + "sys" + suffix, _sh("read_sys.sh", {"fo_kmods": mods})),
        Read(PREFIX + "modinfo" + suffix, _sh("read_modinfo.sh", {"fo_kproc": PROC_MODULES, "fo_kmods": mods})),
    ]


def _release(snapshot: Snapshot) -> str:
    return kernel_release(snapshot) or ""


def _source_lines(text: str) -> tuple[str, list[str]]:
    lines = (text or "").splitlines()
    if lines and lines[0].startswith("# source: "):
        return lines[0][len("# source: "):].strip(), lines[1:]
    return "", lines


def kernel_config_from(snapshot: Snapshot) -> dict[str, str | None]:
    """{file: /proc/config.gz|/boot/config-REL|None, CONFIG_X: y|m|n|value, ...}: the
    CONFIG_MODULES and flow offload symbols the config states (absent ones are absent)."""
    text = snapshot.out(PREFIX + "config")
    if text is None:
        return {"file": None}
    source, lines = _source_lines(text)
    return {"file": source or None, **parse_kernel_config("\n".join(lines))}


def module_support_from(snapshot: Snapshot) -> bool | None:
    """True when /proc/modules exists; False when the config says CONFIG_MODULES is not
    set; None when neither tells."""
    if snapshot.out(PREFIX + "proc-modules") is not None:
        return True
    return False if kernel_config_from(snapshot).get("CONFIG_MODULES") == "n" else None


def inspect_from(snapshot: Snapshot, names: t.Sequence[str]) -> dict[str, ModState]:
    """module_states_from plus ``refcnt`` and ``users`` (what planning state=absent needs)."""
    suffix, _loop, _alt = _group(names)
    base = f"{MODULES_DIR}/{_release(snapshot)}"
    proc_text = snapshot.out(PREFIX + "proc-modules")
    proc = parse_proc_modules(proc_text) if proc_text is not None else None
    builtin_text = snapshot.out(PREFIX + "builtin" + suffix)
    builtin = parse_modules_builtin(builtin_text or "")
    dep_text = snapshot.out(PREFIX + "dep" + suffix)
    dep = parse_modules_dep(dep_text or "")
    if dep_text is None:  # OpenWrt: flat folder of NAME.ko, no modules.dep
        dep = {module_name(f): f for f in (snapshot.out(PREFIX + "ls" + suffix) or "").split()}
    config = kernel_config_from(snapshot)
    config_path = config.get("file") or ""
    sys_mods = parse_sys_modules(snapshot.text(PREFIX + "sys" + suffix))
    modinfo_sec = snapshot.get(PREFIX + "modinfo" + suffix)
    modinfo = parse_modinfo_lines(modinfo_sec.out) if modinfo_sec is not None and modinfo_sec.ok else {}
    result: dict[str, ModState] = {}
    for name in names:
        key = normalize(name)
        path = f"{base}/{dep[key]}" if key in dep else None
        entry: ModState = {"state": "missing", "path": None, "evidence": "", "refcnt": 0, "users": []}
        sys_entry = sys_mods.get(key)
        live = proc.get(key) if proc is not None else (
            sys_entry if sys_entry and sys_entry["initstate"] else None)
        if live:
            users = ", ".join(live["users"]) or "no module"
            where = "/proc/modules" if proc is not None else f"/sys/module/{key}"
            state = live.get("state") or live.get("initstate")
            entry.update(state="loaded", path=path, refcnt=live["refcnt"], users=live["users"],
                         evidence=f"{where}: {state}, refcount {live['refcnt']}, used by {users}")
            result[name] = entry
            continue
        notes = ["not in /proc/modules" if proc is not None
                 else f"/proc/modules unreadable and no /sys/module/{key}/initstate"]
        symbol = config_symbol(key)
        info = modinfo.get(key)
        if key in builtin:
            entry.update(state="builtin", evidence=f"{base}/modules.builtin lists {builtin[key]}")
        elif builtin_text is None and proc is None and sys_entry is not None:
            entry.update(state="builtin", evidence=f"/sys/module/{key} exists without initstate (built in)")
        elif config.get(symbol) == "y":
            entry.update(state="builtin", evidence=f"{symbol}=y in {config_path}")
        elif path:
            entry.update(state="module", path=path,
                         evidence=f"{'modules.dep' if dep_text is not None else base} lists {dep[key]}")
        elif info is not None and info[0] == 0 and info[1].endswith("(builtin)"):
            entry.update(state="builtin", evidence="modinfo -n: (builtin)")
        elif info is not None and info[0] == 0 and info[1].startswith("/"):
            entry.update(state="module", path=info[1], evidence=f"modinfo -n: {info[1]}")
        elif info is not None:
            notes.append(f"modinfo: {re.sub(r'^modinfo: ', '', info[1]) or f'rc={info[0]}'}")
        if entry["state"] == "missing":
            if builtin_text is None:
                notes.append(f"no {base}/modules.builtin")
            if symbol in config:
                shown = f"{symbol} is not set" if config[symbol] == "n" else f"{symbol}={config[symbol]}"
                notes.append(f"{shown} in {config_path}")
            entry["evidence"] = "; ".join(notes)
        result[name] = entry
    return result


def module_states_from(snapshot: Snapshot, names: t.Sequence[str] = ()) -> dict[str, ModState]:
    """name -> {state: loaded|builtin|module|missing, path, evidence} (offload_facts'
    ``kernel.modules``); ``names`` as given to ``module_reads`` (default: DEFAULT_MODULES)."""
    return {name: {"state": v.get("state"), "path": v.get("path"), "evidence": v.get("evidence", "")}
            for name, v in inspect_from(snapshot, list(names) or DEFAULT_MODULES).items()}


# --- boot-time load list (snapshot) ----------------------------------------------------
def _file_read(key: str, path: str) -> Read:
    """cat of path; rc 2 and ``absent`` on stderr when it does not exist."""
    return Read(key, file_code(path))


def persistence_reads() -> list[Read]:
    """Reads for ``persistence_from`` (both candidate files and the host reads)."""
    return host_reads() + [_file_read(PREFIX + "etc-modules", ETC_MODULES),
                           _file_read(PREFIX + "modules-load", SYSTEMD_FILE)]


def persistence_state_from(snapshot: Snapshot, platform: t.Mapping[str, t.Any]) -> Persistence:
    """persistence_from plus ``kind`` (file|block|none), ``content`` ("" if absent),
    ``exists`` and ``key`` (the section it came from)."""
    path, kind = persistence_target(platform)
    key = {"file": PREFIX + "modules-load", "block": PREFIX + "etc-modules"}.get(kind, "")
    content = snapshot.out(key) if key else None
    if kind == "file":
        modules = _names((content or "").splitlines())
        present = content is not None
    elif kind == "block":
        _outside, inside, where = split_block(content or "")
        modules, present = _names(inside), where >= 0
    else:
        modules, present = [], False
    return {"file": path, "present": present, "modules": modules, "kind": kind,
            "content": content or "", "exists": content is not None, "key": key}


def persistence_from(snapshot: Snapshot, platform: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """{file, present, modules}: the boot-time load list offload_kmod writes
    (offload_facts' ``kernel.persistence``); platform = ``_host.host_from(snapshot)``."""
    state = persistence_state_from(snapshot, platform)
    return {"file": state["file"], "present": state["present"], "modules": state["modules"]}
