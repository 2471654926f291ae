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
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import sh
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Read,
    Snapshot,
    argv,
    file_code,
)

_sh = sh.here(__file__)

PREFIX = "ft:"


def listing(what: str, desired: Desired, json_out: bool) -> str:
    spec = [desired.family, desired.table] + ([desired.chain] if what == "chain" else [])
    if what == "flowtable":
        spec.append(desired.name)
    return argv("nft", *(["-j"] if json_out else []), "list", what, *spec)


def _unit_state_code(unit: str) -> str:
    """``systemctl is-enabled`` and ``is-active`` of the collection's unit without a
    process (read_unit_state.sh): ``enabled active``, ``disabled inactive``, ...; rc 1 when
    not enabled, as is-enabled."""
    return _sh("read_unit_state.sh", {"fo_unit": unit, "fo_wanted_by": sh.words(WANTED_BY)})


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
