# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Flowtable persistence: boot/reload files and the systemd unit (pure, private).

File contents are computed here; the apply script writes them (staged next to the target,
moved into place after the nft batch). Layout (docs/flowtable.md):

- systemd: ``/etc/flowoffload/<family>-<table>.nft`` loaded by the oneshot unit
  ``flowoffload-<family>-<table>.service`` after (and reloaded with) nftables.service.
- OpenWrt: ``/usr/share/nftables.d/ruleset-post/flowoffload-<table>.nft`` (fw4 includes it
  on every reload).

The flowtables are written without devices; each configured device (present or not) is
a loader line (``_hotplug.DEVICE_TAG``) that the unit's loader, udev and the OpenWrt
hotplug scripts run when the device exists (``_hotplug``), so an absent device never
makes a load fail (issue 9, defect 1).

Owned table files are idempotent on their own (``table F T {}``, ``delete table F T``,
full definition).  Chain mode files hold one section per flowtable.  The unit's start and
reload run the loader with a guard (``--table F T`` / ``--chain F T C``): it loads the file
only where its objects are missing (the table, or our rule in the chain), so the start the
apply runs right after loading the same objects is a no-op on the ruleset, a start or
reload after nftables.service flushed the ruleset loads the file again, and a re-run never
duplicates the rule in chain mode.

The unit belongs active whenever nftables.service is (``ReloadPropagatedFrom`` reaches
active units only: an inactive one lets ``systemctl reload nftables`` wipe the flowtables
until the next restart; issue 19); where nftables.service is installed but not running it
stays inactive, so that a later start of nftables.service (which flushes the ruleset)
starts it after the ruleset through its ``.wants`` link (``should_be_active``).
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.hotplug import (
    DEVICE_TAG,
    LOADER_PATH,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.model import (
    RULE_TAG,
    Desired,
    FlowtableModel,
    render_flowtable,
    render_table,
    rule_expr,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.nft import (
    parse_file,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.plan import Plan
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.syntax import (
    normalize_devices,
)

ETC_DIR = "/etc/flowoffload"
UNIT_DIR = "/etc/systemd/system"
OPENWRT_DIR = "/usr/share/nftables.d/ruleset-post"
HEADER = "# Managed by flowoffload.nft (Ansible); changes are overwritten.\n"
_SECTION_RE = re.compile(
    r"^# flowoffload\.nft:(?P<name>\S+) begin\n(?P<body>.*?)^# flowoffload\.nft:(?P=name) end\n",
    re.MULTILINE | re.DOTALL,
)


# [Install] of the unit: `systemctl enable` links it into these .wants folders.
WANTED_BY = ("multi-user.target", "nftables.service")


def nft_path(desired: Desired, openwrt: bool) -> str:
    if openwrt:
        return f"{OPENWRT_DIR}/flowoffload-{desired.table}.nft"
    return f"{ETC_DIR}/{desired.family}-{desired.table}.nft"


def unit_name(desired: Desired) -> str:
    return f"flowoffload-{desired.family}-{desired.table}.service"


def unit_path(desired: Desired) -> str:
    return f"{UNIT_DIR}/{unit_name(desired)}"


def device_lines(ft: FlowtableModel, configured: t.Iterable[str]) -> str:
    """One loader line per configured device: the statement that adds it (one renderer)."""
    return "".join(f"{DEVICE_TAG}{dev} {render_flowtable(ft.replace(devices=(dev,)))}\n"
                   for dev in normalize_devices(configured))


def file_devices(text: str | None) -> dict[str, set[str]]:
    """flowtable name -> devices a persisted file configures (its loader lines; read by the
    one parser, as the audit reads the file back)."""
    return {ft.name: set(ft.devices) for ft in parse_file(text)}


def owned_file(desired: Desired, flowtables: t.Sequence[FlowtableModel], rules: t.Mapping[str, t.Sequence[str]],
               configured: t.Mapping[str, t.Iterable[str]]) -> str:
    """Idempotent file for an owned table: create-if-missing, delete, define (flowtables
    without devices), then one loader line per configured device; '' when nothing is left."""
    if not flowtables:
        return ""
    spec = f"{desired.family} {desired.table}"
    bare = [ft.replace(devices=()) for ft in flowtables]
    text = render_table(desired.family, desired.table, bare, [rule_expr(n, list(p)) for n, p in rules.items()])
    lines = "".join(device_lines(ft, configured.get(ft.name, ft.devices)) for ft in sorted(flowtables, key=lambda f: f.name))
    return f"{HEADER}table {spec} {{\n}}\ndelete table {spec}\n{text}{lines}"


def chain_section(desired: Desired, flowtable: FlowtableModel, configured: t.Iterable[str]) -> str:
    spec = f"{desired.family} {desired.table}"
    return (f"{render_flowtable(flowtable.replace(devices=()))}\n"
            f"insert rule {spec} {desired.chain} {rule_expr(desired.name, list(desired.protocols))}\n"
            f"{device_lines(flowtable, configured)}")


def merge_sections(existing: str | None, name: str, section: str | None) -> str:
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


def loader_command(desired: Desired, path: str) -> str:
    """The loader's command line for the file at path: guarded, so it loads the file only
    where its objects are missing (``_hotplug``)."""
    guard = (f"--chain {desired.family} {desired.table} {desired.chain}" if desired.chain
             else f"--table {desired.family} {desired.table}")
    # Identifiers and paths are validated (letters, digits, _ - . /): no quoting needed.
    return f"/bin/sh {LOADER_PATH} {guard} {path}"


def should_be_active(units: t.Mapping[str, str]) -> bool:
    """Whether the collection's units belong active, from nftables.service's state
    (``target.host.parse_units``): yes while it is active or where it is not installed;
    no where it is installed but not running (its next start flushes the ruleset and
    starts ours after it, through the ``nftables.service.wants`` link)."""
    installed = bool(units.get("nftables.service.enabled"))
    return units.get("nftables.service") == "active" or not installed


def unit_text(desired: Desired, path: str) -> str:
    """The oneshot unit: the loader loads the file with the devices that exist."""
    load = loader_command(desired, path)
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
        f"WantedBy={' '.join(WANTED_BY)}\n"
    )


def file_plan(desired: Desired, plan: Plan, before_file: str | None, before_unit: str | None,
              openwrt: bool, systemd: bool) -> list[dict[str, str]]:
    """Files to write or remove: [{path, before, after, mode}] where after '' means remove.

    Only entries whose content changes are returned; the unit only where systemd runs.
    The configured devices are persisted, present or not: this task's from ``devices``,
    the other flowtables' of an owned table from their live devices and the file's lines.
    """
    keep = desired.persist and desired.state == "present"
    path = nft_path(desired, openwrt)
    if desired.chain:
        section = chain_section(desired, plan.flowtable, desired.devices) if keep and plan.flowtable else None
        content = merge_sections(before_file, desired.name, section)
    else:
        # The file holds the whole owned table: after state=absent of one flowtable the
        # others stay persisted; persist=false drops the table's file.
        listed = file_devices(before_file)
        configured = {ft.name: set(ft.devices) | listed.get(ft.name, set()) for ft in plan.after_flowtables}
        if plan.flowtable is not None:
            configured[plan.flowtable.name] = set(desired.devices)
        content = owned_file(desired, plan.after_flowtables, plan.after_rules, configured) if desired.persist else ""
    entries = [{"path": path, "before": before_file or "", "after": content, "mode": "0644"}]
    if not openwrt and (systemd or before_unit):
        uafter = unit_text(desired, path) if content and systemd else ""
        entries.append({"path": unit_path(desired), "before": before_unit or "", "after": uafter, "mode": "0644"})
    return [e for e in entries if e["before"] != e["after"]]
