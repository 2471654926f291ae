# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection configured on a host, for the audit: reads and parsers (private).

"Configured" is what the collection persisted, not what a playbook would ask for:

- the flowtable files (``/etc/flowoffload/<family>-<table>.nft`` on systemd hosts,
  ``/usr/share/nftables.d/ruleset-post/flowoffload-<table>.nft`` on OpenWrt): the
  flowtables they define and one ``# flowoffload.nft:device=DEV`` loader line per
  configured device (``_flowtable_persist``, ``_hotplug``);
- the boot loader ``/etc/flowoffload/flowoffload-load`` and, on systemd, whether each
  file's unit ``flowoffload-<family>-<table>.service`` is enabled and active, and whether
  it belongs active (nftables.service running, or not installed: ``should_be_active``);
- on OpenWrt, the UCI firewall defaults ``flow_offloading`` / ``flow_offloading_hw``, from
  which firewall4 builds flowtable ``ft`` in ``table inet fw4`` (``_fw4``).

Every read only prints files and settings (``cat``, ``uci -q get``); the units' states come
from systemd's own files, as the flowtable module reads them (the ``[Install]`` links in
``/etc/systemd/system/*.wants``, ``/run/systemd/units/invocation:UNIT`` while active),
without a ``systemctl`` process. Its keys start with ``audit:``.
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import fw4 as _fw4
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts.parse import parse_pairs
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.hotplug import (
    DEVICE_TAG,
    LOADER,
    LOADER_PATH,
    PERSISTED_GLOBS,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.nft import resolve_priority
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.persist import WANTED_BY, should_be_active
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import host as _host
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import Read, Snapshot, argv, file_code, when_tool

PREFIX = "audit:"
FILE_PREFIX = PREFIX + "file:"
K_LOADER = PREFIX + "loader"
K_UNITS = PREFIX + "units"
K_UCI = PREFIX + "uci"

# One section per collection file; a path with characters outside this set is not one the
# collection writes, so it is left out rather than put into a section key.
_FILES_CODE = f"""\
for fo_af in {' '.join(PERSISTED_GLOBS)}; do
  [ -f "$fo_af" ] || continue
  case $fo_af in *[!A-Za-z0-9_./-]*) continue ;; esac
  fo_cap "{FILE_PREFIX}$fo_af" cat "$fo_af"
done
"""

# Per collection file: ``UNIT=enabled|disabled|`` (every link of its [Install] section, as
# the module enables it; empty: no unit file) and, where /run/systemd/units exists,
# ``UNIT.active=active|inactive``.
_UNITS_CODE = f"""\
for fo_af in /etc/flowoffload/*.nft; do
  [ -f "$fo_af" ] || continue
  fo_au="flowoffload-${{fo_af##*/}}"
  fo_au="${{fo_au%.nft}}.service"
  fo_ae=''
  if [ -e "/etc/systemd/system/$fo_au" ]; then
    fo_ae=enabled
    for fo_aw in {' '.join(WANTED_BY)}; do
      [ -L "/etc/systemd/system/$fo_aw.wants/$fo_au" ] || fo_ae=disabled
    done
  fi
  printf '%s=%s\\n' "$fo_au" "$fo_ae"
  if [ -d /run/systemd/units ]; then
    fo_aa=inactive
    if [ -L "/run/systemd/units/invocation:$fo_au" ]; then fo_aa=active; fi
    printf '%s.active=%s\\n' "$fo_au" "$fo_aa"
  fi
done
fo_rc 0"""

# Without uci (every host but OpenWrt): rc 127 without a process.
_UCI_CODE = when_tool("uci", "\n  ".join(
    f"printf '{option}=%s\\n' \"$({argv('uci', '-q', 'get', f'{_fw4.SECTION}.{option}')})\"" for option in _fw4.OPTIONS))

_ADD_RE = re.compile(r"^add flowtable\s+(\S+)\s+(\S+)\s+(\S+)\s*\{(.*)\}\s*$")
_TABLE_RE = re.compile(r"^table\s+(\S+)\s+(\S+)\s*\{\s*$")
_BLOCK_RE = re.compile(r"^flowtable\s+(\S+)\s*\{\s*$")
_HOOK_RE = re.compile(r"^hook\s+(\S+)\s+priority\s+(.+?)\s*;?$")
_DEVICES_RE = re.compile(r"devices\s*=\s*\{([^}]*)\}")

Key = tuple[str, str, str]


def config_reads() -> list[Read]:
    """The reads of the configured state (one dynamic read for the files)."""
    return [
        Read(FILE_PREFIX, _FILES_CODE, dynamic=True),
        Read(K_LOADER, file_code(LOADER_PATH)),
        Read(K_UNITS, _UNITS_CODE),
        Read(K_UCI, _UCI_CODE),
    ]


def _unquote(word: str) -> str:
    word = word.strip()
    return word[1:-1] if len(word) >= 2 and word[0] == word[-1] == '"' else word


def _priority(text: str) -> int | None:
    try:
        return resolve_priority(text.strip())
    except Exception:  # pylint: disable=broad-except  # an odd priority is reported, not fatal
        return None


def _apply_parts(entry: dict[str, t.Any], parts: t.Iterable[str]) -> None:
    """Set hook/priority/flags/counter/devices of entry from flowtable statements."""
    for raw in parts:
        part = raw.strip().rstrip(";").strip()
        hook = _HOOK_RE.match(part)
        if hook:
            entry["hook"], entry["priority"] = hook.group(1), _priority(hook.group(2))
        elif part.startswith("flags"):
            entry["offload"] = "offload" in part[len("flags"):].replace(",", " ").split()
        elif part == "counter":
            entry["counter"] = True
        elif part.startswith("devices"):
            found = _DEVICES_RE.search(part)
            if found:
                entry["devices"].update(_unquote(dev) for dev in found.group(1).split(",") if dev.strip())


def _entry(found: dict[Key, dict[str, t.Any]], key: Key, path: str) -> dict[str, t.Any]:
    if key not in found:
        found[key] = {"family": key[0], "table": key[1], "name": key[2], "hook": "ingress", "priority": 0,
                      "devices": set(), "offload": False, "counter": False, "source": path}
    return found[key]


def parse_file(path: str, text: str) -> list[dict[str, t.Any]]:
    """The flowtables a persisted file configures (normalized, ``source`` = path).

    Reads the definitions (``table F T { flowtable N {...} }`` blocks or ``add flowtable``
    statements) and the loader lines ``# flowoffload.nft:device=DEV add flowtable ...``,
    which give the configured devices (the definitions carry none)."""
    found: dict[Key, dict[str, t.Any]] = {}
    table: tuple[str, str] | None = None
    block: dict[str, t.Any] | None = None
    depth = 0
    for raw in (text or "").splitlines():
        line = raw.strip()
        device_line = line.startswith(DEVICE_TAG)
        if device_line:
            line = line[len(DEVICE_TAG):].partition(" ")[2].strip()
        elif not line or line.startswith("#"):
            continue
        add = _ADD_RE.match(line)
        if add:
            entry = _entry(found, (add.group(1), _unquote(add.group(2)), _unquote(add.group(3))), path)
            _apply_parts(entry, add.group(4).split(";"))
            continue
        if device_line:
            continue
        opens, closes = line.count("{"), line.count("}")
        if depth == 0 and _TABLE_RE.match(line):
            match = _TABLE_RE.match(line)
            table = (match.group(1), _unquote(match.group(2))) if match else None
        elif depth == 1 and table and _BLOCK_RE.match(line):
            match = _BLOCK_RE.match(line)
            block = _entry(found, (table[0], table[1], _unquote(match.group(1))), path) if match else None
        elif depth == 2 and block is not None:
            _apply_parts(block, [line])
        depth = max(depth + opens - closes, 0)
        if depth <= 1:
            block = None
        if depth == 0:
            table = None
    return [{**entry, "devices": sorted(entry["devices"])} for _key, entry in sorted(found.items())]


def configured_from(snapshot: Snapshot) -> dict[str, t.Any]:
    """The configured state: ``files`` (path -> configured flowtables), ``flowtables``
    (all of them, ``source`` naming the file or UCI), ``loader`` (present, current),
    ``units`` (unit -> ``enabled``/``disabled``/'' for no unit file), ``active`` (unit ->
    ``active``/``inactive``; absent where the read could not tell), ``units_run`` (whether
    the units belong active: nftables.service is running or not installed; from the host
    read's ``host:systemd-units``), ``uci`` (option -> value, {} without uci)."""
    files: dict[str, list[dict[str, t.Any]]] = {}
    for path, section in sorted(snapshot.with_prefix(FILE_PREFIX).items()):
        if path and section.ok:
            files[path] = parse_file(path, section.out)
    flowtables = [ft for path in sorted(files) for ft in files[path]]
    uci_sec = snapshot.get(K_UCI)
    uci = parse_pairs(uci_sec.out) if uci_sec is not None and uci_sec.ok else {}
    if uci and _fw4.is_on(uci.get("flow_offloading")):
        flowtables.append({"family": _fw4.FAMILY, "table": _fw4.TABLE, "name": _fw4.NAME, "hook": "ingress",
                           "priority": 0, "devices": None, "offload": _fw4.is_on(uci.get("flow_offloading_hw")),
                           "counter": None, "source": f"uci {_fw4.SECTION}"})
    pairs = parse_pairs(snapshot.text(K_UNITS))
    loader_sec = snapshot.get(K_LOADER)
    loader_text = loader_sec.out if loader_sec is not None and loader_sec.ok else None
    return {
        "files": files,
        "flowtables": flowtables,
        "loader": {"path": LOADER_PATH, "present": loader_text is not None,
                   "current": loader_text is not None and loader_text.rstrip("\n") == LOADER.rstrip("\n")},
        "units": {unit: state for unit, state in pairs.items() if not unit.endswith(".active")},
        "active": {unit[:-len(".active")]: state for unit, state in pairs.items() if unit.endswith(".active")},
        "units_run": should_be_active(_host.parse_units(snapshot.text(_host.PREFIX + "systemd-units"))),
        "uci": uci,
    }
