# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Flowtable module, nft backend: what the read script prints (private).

Every key starts with ``ft:`` (``PREFIX``), so the reads share a script with other
planners' (the gateway action): the listings of the owned table or of the chain and the
flowtable, the persisted files, the unit's file and state, the hotplug files and the
probes.
"""
from __future__ import annotations

from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    hotplug as _hotplug,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    probe as _probe,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.model import (
    Desired,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.persist import (
    WANTED_BY,
    nft_path,
    unit_name,
    unit_path,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Read,
    Snapshot,
    argv,
    file_code,
    shq,
)

PREFIX = "ft:"


def listing(what: str, desired: Desired, json_out: bool) -> str:
    spec = [desired.family, desired.table] + ([desired.chain] if what == "chain" else [])
    if what == "flowtable":
        spec.append(desired.name)
    return argv("nft", *(["-j"] if json_out else []), "list", what, *spec)


def _unit_state_code(unit: str) -> str:
    """``systemctl is-enabled`` and ``is-active`` of the collection's unit without a
    process: enabled is the links ``enable`` makes in the .wants folders of its [Install]
    section; active is systemd's ``/run/systemd/units/invocation:UNIT`` link, which PID 1
    keeps while the unit is active (removed when it stops or fails). Prints ``enabled
    active``, ``disabled inactive``, ...; the second word only where /run/systemd/units
    exists (systemd 233 and later). rc 1 when not enabled, as is-enabled."""
    links = " && ".join(f"[ -L {shq(f'/etc/systemd/system/{w}.wants/{unit}')} ]" for w in WANTED_BY)
    invocation = shq(f"/run/systemd/units/invocation:{unit}")
    return (f"if {links}; then fo_ue=enabled; else fo_ue=disabled; fi\n"
            "if [ ! -d /run/systemd/units ]; then echo \"$fo_ue\"\n"
            f"elif [ -L {invocation} ]; then echo \"$fo_ue active\"\n"
            "else echo \"$fo_ue inactive\"; fi\n"
            "[ \"$fo_ue\" = enabled ] || fo_rc 1")


def unit_state(snapshot: Snapshot) -> tuple[bool, bool | None]:
    """(enabled, active) of the unit from the ``unit-enabled`` read; active None when the
    read could not tell (no /run/systemd/units, or a snapshot without the word)."""
    words = snapshot.text(PREFIX + "unit-enabled").split()
    active = {"active": True, "inactive": False}.get(words[1]) if len(words) > 1 else None
    return bool(words) and words[0] == "enabled", active


def reads_for(desired: Desired) -> list[Read]:
    """The ``ft:*`` reads of the nft backend (the host's reads come from ``target.host``)."""
    reads: list[Read] = []
    if desired.chain is None:
        reads += [Read(PREFIX + "table-json", listing("table", desired, True)),
                  Read(PREFIX + "table-text", listing("table", desired, False))]
    else:
        reads += [Read(PREFIX + "chain-json", listing("chain", desired, True)),
                  Read(PREFIX + "ft-json", listing("flowtable", desired, True)),
                  Read(PREFIX + "ft-text", listing("flowtable", desired, False)),
                  Read(PREFIX + "flowtables", argv("nft", "-j", "list", "flowtables", desired.family))]
    reads += [
        Read(PREFIX + "file", file_code(nft_path(desired, False))),
        Read(PREFIX + "file-openwrt", file_code(nft_path(desired, True))),
        Read(PREFIX + "unit", file_code(unit_path(desired))),
        Read(PREFIX + "unit-enabled", _unit_state_code(unit_name(desired))),
    ] + _hotplug.hotplug_reads()
    if desired.state == "present":
        reads.append(_probe.probe_read())
    return reads
