# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Flowtable persistence: boot/reload files, systemd unit, OpenWrt include, fw4 backend.

File contents are computed purely; ``apply_files`` and the ``fw4_*`` helpers act through
the Runner.  Layout (docs/flowtable.md):

- systemd: ``/etc/flowoffload/<family>-<table>.nft`` loaded by the oneshot unit
  ``flowoffload-<family>-<table>.service`` after (and reloaded with) nftables.service.
- OpenWrt: ``/usr/share/nftables.d/ruleset-post/flowoffload-<table>.nft`` (fw4 includes it
  on every reload).

Owned table files are idempotent on their own (``table F T {}``, ``delete table F T``,
full definition).  Chain mode files hold one section per flowtable; on systemd the unit
loads the file only when no rule tagged ``flowoffload.nft:`` is in the chain yet, so a
re-run (unit restart without a firewall reload) never duplicates the rule.
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.module_utils._errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.module_utils._flowtable import (
    RULE_TAG,
    add_flowtable,
    rule_expr,
)

ETC_DIR = "/etc/flowoffload"
UNIT_DIR = "/etc/systemd/system"
OPENWRT_DIR = "/usr/share/nftables.d/ruleset-post"
OPENWRT_RELEASE = "/etc/openwrt_release"
HEADER = "# Managed by flowoffload.nft (Ansible); changes are overwritten.\n"
_SECTION_RE = re.compile(
    r"^# flowoffload\.nft:(?P<name>\S+) begin\n(?P<body>.*?)^# flowoffload\.nft:(?P=name) end\n",
    re.M | re.S,
)


def nft_path(desired: t.Mapping[str, t.Any], openwrt: bool) -> str:
    if openwrt:
        return f"{OPENWRT_DIR}/flowoffload-{desired['table']}.nft"
    return f"{ETC_DIR}/{desired['family']}-{desired['table']}.nft"


def unit_name(desired: t.Mapping[str, t.Any]) -> str:
    return f"flowoffload-{desired['family']}-{desired['table']}.service"


def unit_path(desired: t.Mapping[str, t.Any]) -> str:
    return f"{UNIT_DIR}/{unit_name(desired)}"


def owned_file(desired: t.Mapping[str, t.Any], after_text: str) -> str:
    """Idempotent file for an owned table: create-if-missing, delete, define."""
    if not after_text:
        return ""
    spec = f"{desired['family']} {desired['table']}"
    return f"{HEADER}table {spec} {{\n}}\ndelete table {spec}\n{after_text}"


def chain_section(desired: t.Mapping[str, t.Any], flowtable: t.Mapping[str, t.Any]) -> str:
    spec = f"{desired['family']} {desired['table']}"
    return (
        f"{add_flowtable(flowtable)}\n"
        f"insert rule {spec} {desired['chain']} {rule_expr(desired['name'], desired['protocols'])}\n"
    )


def merge_sections(existing: t.Optional[str], name: str, section: t.Optional[str]) -> str:
    """Replace (or drop, when section is None) the section of one flowtable; '' if none left."""
    sections = {m.group("name"): m.group("body") for m in _SECTION_RE.finditer(existing or "")}
    if section is None:
        sections.pop(name, None)
    else:
        sections[name] = section
    if not sections:
        return ""
    parts = [HEADER]
    for key in sorted(sections):
        parts.append(f"# {RULE_TAG}{key} begin\n{sections[key]}# {RULE_TAG}{key} end\n")
    return "".join(parts)


def unit_text(desired: t.Mapping[str, t.Any], nft: str, path: str) -> str:
    if desired["chain"]:
        spec = f"{desired['family']} {desired['table']} {desired['chain']}"
        # Identifiers are validated (letters, digits, _ - .), so quoting is plain.
        load = (
            f"/bin/sh -c '{nft} list chain {spec} | grep -qF {RULE_TAG} || "
            f"exec {nft} -f {path}'"
        )
    else:
        load = f"{nft} -f {path}"
    return (
        "# Managed by flowoffload.nft (Ansible)\n"
        "[Unit]\n"
        f"Description=flowoffload.nft flowtable(s) in {desired['family']} {desired['table']}\n"
        "After=nftables.service\n"
        "PartOf=nftables.service\n"
        "ReloadPropagatedFrom=nftables.service\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        "RemainAfterExit=yes\n"
        f"ExecStart={load}\n"
        f"ExecReload={load}\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target nftables.service\n"
    )


def file_plan(
    desired: t.Mapping[str, t.Any], after_text: str, after_ft: t.Optional[t.Mapping[str, t.Any]],
    read: t.Callable[[str], t.Optional[str]], openwrt: bool, nft: str,
) -> t.List[t.Dict[str, t.Any]]:
    """Files to write or remove: [{path, before, after}] where after '' means remove.

    Only entries whose content changes are returned.
    """
    keep = desired["persist"] and desired["state"] == "present"
    path = nft_path(desired, openwrt)
    before = read(path)
    if desired["chain"]:
        section = chain_section(desired, after_ft) if keep and after_ft else None
        content = merge_sections(before, desired["name"], section)
    else:
        # The file holds the whole owned table: after state=absent of one flowtable the
        # others stay persisted; persist=false drops the table's file.
        content = owned_file(desired, after_text) if desired["persist"] else ""
    entries = [{"path": path, "before": before or "", "after": content}]
    if not openwrt:
        upath = unit_path(desired)
        ubefore = read(upath)
        uafter = unit_text(desired, nft, path) if content else ""
        entries.append({"path": upath, "before": ubefore or "", "after": uafter})
    return [e for e in entries if e["before"] != e["after"]]


def apply_files(runner: t.Any, desired: t.Mapping[str, t.Any], entries: t.Sequence[t.Mapping[str, t.Any]],
                openwrt: bool, check_mode: bool) -> t.Tuple[bool, t.List[str]]:
    """Write/remove files and (systemd) enable/disable the unit. Returns (changed, warnings)."""
    warnings: t.List[str] = []
    changed = bool(entries)
    unit = unit_name(desired)
    unit_entry = next((e for e in entries if e["path"].endswith(".service")), None)
    systemctl = None if openwrt else runner.which("systemctl")
    want_unit = bool(runner.exists(unit_path(desired)) if unit_entry is None else unit_entry["after"])
    if not openwrt and systemctl is None and (want_unit or unit_entry):
        warnings.append(
            "systemctl not found: the persistence file was handled but no systemd unit can load "
            "it at boot; load it from your init system"
        )
    enabled = True
    if systemctl and want_unit:
        res = runner.run([systemctl, "is-enabled", unit])
        enabled = res.rc == 0 and res.stdout.strip() == "enabled"
        changed = changed or not enabled
    if check_mode:
        return changed, warnings
    if systemctl and unit_entry and not unit_entry["after"] and runner.exists(unit_entry["path"]):
        runner.check([systemctl, "disable", unit], what=f"systemctl disable {unit}")
    for entry in entries:
        if entry["after"]:
            runner.write(entry["path"], entry["after"])
        else:
            runner.remove(entry["path"])
    if systemctl and (unit_entry or not enabled):
        runner.check([systemctl, "daemon-reload"], what="systemctl daemon-reload")
        if want_unit:
            runner.check([systemctl, "enable", unit], what=f"systemctl enable {unit}")
    return changed, warnings


# --- fw4 backend (OpenWrt) --------------------------------------------------------------
UCI_KEYS = ("flow_offloading", "flow_offloading_hw")


def fw4_wanted(desired: t.Mapping[str, t.Any]) -> t.Dict[str, str]:
    """UCI values for firewall.@defaults[0]: software and hardware offloading flags."""
    present = desired["state"] == "present"
    hardware = present and desired["offload"] in ("true", "auto")
    return {"flow_offloading": "1" if present else "0", "flow_offloading_hw": "1" if hardware else "0"}


def fw4_read(runner: t.Any) -> t.Dict[str, str]:
    uci = runner.which("uci", required=True)
    values = {}
    for key in UCI_KEYS:
        res = runner.run([uci, "-q", "get", f"firewall.@defaults[0].{key}"])
        values[key] = res.stdout.strip() if res.rc == 0 and res.stdout.strip() else "0"
    return values


def _fw4_reload(runner: t.Any) -> t.Any:
    fw4 = runner.which("fw4")
    if fw4:
        return runner.run([fw4, "reload"])
    if runner.exists("/etc/init.d/firewall"):
        return runner.run(["/etc/init.d/firewall", "reload"])
    raise FlowOffloadError(
        "backend: fw4 was requested but neither fw4 nor /etc/init.d/firewall exists; "
        "use backend=nft on hosts without firewall4"
    )


def fw4_apply(runner: t.Any, changes: t.Mapping[str, str]) -> None:
    """Set the UCI knobs, commit, reload fw4; on a failed reload put the old values back."""
    uci = runner.which("uci", required=True)
    before: t.Dict[str, t.Optional[str]] = {}
    for key in sorted(changes):
        res = runner.run([uci, "-q", "get", f"firewall.@defaults[0].{key}"])
        before[key] = res.stdout.strip() if res.rc == 0 else None
    for key, value in sorted(changes.items()):
        runner.check([uci, "set", f"firewall.@defaults[0].{key}={value}"], what="uci set")
    runner.check([uci, "commit", "firewall"], what="uci commit firewall")
    res = _fw4_reload(runner)
    if res.rc == 0:
        return
    # Leave the firewall as it was: restore the previous values and reload once more.
    for key, old in sorted(before.items()):
        if old is None:
            runner.run([uci, "-q", "delete", f"firewall.@defaults[0].{key}"])
        else:
            runner.run([uci, "set", f"firewall.@defaults[0].{key}={old}"])
    runner.run([uci, "commit", "firewall"])
    again = _fw4_reload(runner)
    restored = "restored and fw4 reloaded" if again.rc == 0 else "restored, but fw4 failed to reload them too"
    raise FlowOffloadError(
        f"fw4 reload failed (rc={res.rc}): {res.stderr.strip() or res.stdout.strip()}; the previous "
        f"firewall.@defaults[0] offloading values were {restored}. Check 'fw4 print' and the "
        "kernel's flowtable support (offload_facts) before retrying",
        cmd=res.cmd, rc=res.rc, stdout=res.stdout, stderr=res.stderr,
    )
