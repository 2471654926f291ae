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

import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts.parse import (
    parse_pairs,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    fw4 as _fw4,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    nft as _nft,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.hotplug import (
    LOADER,
    LOADER_PATH,
    PERSISTED_GLOBS,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.persist import (
    WANTED_BY,
    should_be_active,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import (
    host as _host,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Read,
    Snapshot,
    argv,
    file_code,
    when_tool,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.sh import (
    here,
    words,
)

PREFIX = "audit:"
FILE_PREFIX = PREFIX + "file:"
K_LOADER = PREFIX + "loader"
K_UNITS = PREFIX + "units"
K_UCI = PREFIX + "uci"
_sh = here(__file__)

# One section per collection file (read_files.sh); per collection file its unit's state
# (read_units.sh): ``UNIT=enabled|disabled|`` and, where /run/systemd/units exists,
# ``UNIT.active=active|inactive``.
_FILES_CODE = _sh("read_files.sh", {"fo_globs": " ".join(PERSISTED_GLOBS), "fo_prefix": FILE_PREFIX})
_UNITS_CODE = _sh("read_units.sh", {"fo_wanted_by": words(WANTED_BY)})

# Without uci (every host but OpenWrt): rc 127 without a process.
_UCI_CODE = when_tool("uci", "\n  ".join(
    f"printf '{option}=%s\\n' \"$({argv('uci', '-q', 'get', f'{_fw4.SECTION}.{option}')})\"" for option in _fw4.OPTIONS))


def config_reads() -> list[Read]:
    """The reads of the configured state (one dynamic read for the files)."""
    return [
        Read(FILE_PREFIX, _FILES_CODE, dynamic=True),
        Read(K_LOADER, file_code(LOADER_PATH)),
        Read(K_UNITS, _UNITS_CODE),
        Read(K_UCI, _UCI_CODE),
    ]


def parse_file(path: str, text: str) -> list[dict[str, t.Any]]:
    """The flowtables a persisted file configures (normalized, ``source`` = path).

    Read by the flowtable package's one parser (``flowtable.nft.parse_file``): the
    definitions (``table F T { flowtable N {...} }`` blocks or ``add flowtable``
    statements) and the loader lines ``# flowoffload.nft:device=DEV add flowtable ...``,
    which give the configured devices (the definitions carry none)."""
    return [{**ft.as_dict(), "source": path} for ft in _nft.parse_file(text)]


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
