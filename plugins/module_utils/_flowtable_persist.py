# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Flowtable persistence: boot/reload files and the systemd unit (pure, private).

File contents are computed here; the apply script writes them (staged next to the target,
moved into place after the nft batch). Layout (docs/flowtable.md):

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

from ansible_collections.flowoffload.nft.plugins.module_utils._flowtable import (
    RULE_TAG,
    Desired,
    FlowtableModel,
    render_flowtable,
    rule_expr,
)

ETC_DIR = "/etc/flowoffload"
UNIT_DIR = "/etc/systemd/system"
OPENWRT_DIR = "/usr/share/nftables.d/ruleset-post"
HEADER = "# Managed by flowoffload.nft (Ansible); changes are overwritten.\n"
_SECTION_RE = re.compile(
    r"^# flowoffload\.nft:(?P<name>\S+) begin\n(?P<body>.*?)^# flowoffload\.nft:(?P=name) end\n",
    re.M | re.S,
)


def nft_path(desired: Desired, openwrt: bool) -> str:
    if openwrt:
        return f"{OPENWRT_DIR}/flowoffload-{desired.table}.nft"
    return f"{ETC_DIR}/{desired.family}-{desired.table}.nft"


def unit_name(desired: Desired) -> str:
    return f"flowoffload-{desired.family}-{desired.table}.service"


def unit_path(desired: Desired) -> str:
    return f"{UNIT_DIR}/{unit_name(desired)}"


def owned_file(desired: Desired, after_text: str) -> str:
    """Idempotent file for an owned table: create-if-missing, delete, define."""
    if not after_text:
        return ""
    spec = f"{desired.family} {desired.table}"
    return f"{HEADER}table {spec} {{\n}}\ndelete table {spec}\n{after_text}"


def chain_section(desired: Desired, flowtable: FlowtableModel) -> str:
    spec = f"{desired.family} {desired.table}"
    return (f"{render_flowtable(flowtable)}\n"
            f"insert rule {spec} {desired.chain} {rule_expr(desired.name, list(desired.protocols))}\n")


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


def unit_text(desired: Desired, nft: str, path: str) -> str:
    if desired.chain:
        spec = f"{desired.family} {desired.table} {desired.chain}"
        # Identifiers are validated (letters, digits, _ - .), so quoting is plain.
        load = f"/bin/sh -c '{nft} list chain {spec} | grep -qF {RULE_TAG} || exec {nft} -f {path}'"
    else:
        load = f"{nft} -f {path}"
    return (
        "# Managed by flowoffload.nft (Ansible)\n"
        "[Unit]\n"
        f"Description=flowoffload.nft flowtable(s) in {desired.family} {desired.table}\n"
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


def file_plan(desired: Desired, after_text: str, after_ft: t.Optional[FlowtableModel], before_file: t.Optional[str],
              before_unit: t.Optional[str], openwrt: bool, systemd: bool, nft: str) -> t.List[t.Dict[str, t.Any]]:
    """Files to write or remove: [{path, before, after}] where after '' means remove.

    Only entries whose content changes are returned; the unit only where systemd runs.
    """
    keep = desired.persist and desired.state == "present"
    path = nft_path(desired, openwrt)
    if desired.chain:
        section = chain_section(desired, after_ft) if keep and after_ft else None
        content = merge_sections(before_file, desired.name, section)
    else:
        # The file holds the whole owned table: after state=absent of one flowtable the
        # others stay persisted; persist=false drops the table's file.
        content = owned_file(desired, after_text) if desired.persist else ""
    entries = [{"path": path, "before": before_file or "", "after": content}]
    if not openwrt and (systemd or before_unit):
        uafter = unit_text(desired, nft, path) if content and systemd else ""
        entries.append({"path": unit_path(desired), "before": before_unit or "", "after": uafter})
    return [e for e in entries if e["before"] != e["after"]]
