# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_profile refuses bad input before any script runs (HostRoot of the lab VM: no round
trip, the root untouched), or right after the read; and off's removal of the lock an earlier
version left, under busybox, next to a live holder's directory."""
from __future__ import annotations

import os
import pathlib

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import run as P
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import script as T
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Snapshot,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    ShellTarget,
    sec,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.profile.lab import (
    LAN_WAN,
    lab_root,
    params,
)


# --- issue 9 point 4: nothing changes before every input is checked ----------------------------------
@pytest.mark.parametrize("changes, needle", [
    ({"priority": "sometimes"}, "gateway_priority: 'sometimes'"),
    ({"tcp_timeout": -1}, "gateway_tcp_timeout: -1"),
    ({"udp_timeout": 100000000}, "gateway_udp_timeout: 100000000 is too large"),
    ({"devices": ["eth0; flush ruleset"]}, "gateway_devices: 'eth0; flush ruleset'"),
    ({"table": "flow"}, "gateway_table: 'flow'"),
])
def test_bad_inputs_are_refused_before_any_script(tmp_path: pathlib.Path, changes: dict, needle: str) -> None:
    target = lab_root(tmp_path)
    before = target.snapshot()
    with pytest.raises(FlowOffloadError) as err:
        P.run_profile(target, params(**changes), False)
    assert needle in err.value.msg and target.round_trips == 0 and target.snapshot() == before


def test_unknown_role_variable_is_refused_before_any_script(tmp_path: pathlib.Path) -> None:
    target = lab_root(tmp_path)
    names = ["gateway_profile", "gateway_profle", "inventory_hostname"]
    with pytest.raises(FlowOffloadError, match="gateway_profle .did you mean gateway_profile"):
        P.run_profile(target, params(check_role_vars=True), False, names)
    assert target.round_trips == 0
    # silenced, or not asked for (the module used on its own)
    silenced = P.run_profile(target, params(check_role_vars=True, allowed_extra_vars=["gateway_profle"], **LAN_WAN), True, names)
    alone = P.run_profile(target, params(**LAN_WAN), True, names)
    assert silenced["changed"] is alone["changed"] is True and target.round_trips == 2


@pytest.mark.parametrize("profile", ["auto", "software"])
def test_a_listed_device_that_does_not_exist_stops_after_the_read(tmp_path: pathlib.Path, profile: str) -> None:
    target = lab_root(tmp_path)
    before = target.snapshot()
    with pytest.raises(FlowOffloadError, match="gateway_devices: eth9 does not exist on this host"):
        P.run_profile(target, params(profile=profile, devices="lan0,eth9"), False)
    assert target.round_trips == 1 and not target.applies and target.snapshot() == before


def test_bootstrap_python_warns_and_does_nothing(tmp_path: pathlib.Path) -> None:
    target = lab_root(tmp_path)
    assert P.run_profile(target, params(**LAN_WAN), False)["changed"] is True
    out = P.run_profile(target, params(bootstrap_python=True, **LAN_WAN), False)
    assert out["changed"] is False and target.round_trips == 3 and any("gateway_bootstrap_python is deprecated" in w for w in out["warnings"])


def test_off_leftover_removal_under_busybox_keeps_a_live_holders_directory(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir, tmp_dir = tmp_path / "run", tmp_path / "tmp"
    run_dir.mkdir()
    tmp_dir.mkdir()
    monkeypatch.setattr(T, "LOCK_DIRS", (str(run_dir), str(tmp_dir)))
    (tmp_dir / "flowoffload.lock").write_text("")          # flock file of an earlier version
    (tmp_dir / "flowoffload.lock.d").mkdir()                # a mkdir lock whose holder lives (this test)
    (tmp_dir / "flowoffload.lock.d" / "pid").write_text(f"{os.getpid()}\n")
    found = "\n".join(str(p) for p in (tmp_dir / "flowoffload.lock", tmp_dir / "flowoffload.lock.d")) + "\n"
    plan = P.plan_leftovers(Snapshot({P.LEFTOVERS_KEY: sec(found)}))
    script, nonce = T.apply_script(plan.spec)
    res = T.parse_apply(*ShellTarget().run_script(script), nonce)
    assert res.ok, res.stdout
    assert sorted(p.name for p in tmp_dir.iterdir()) == ["flowoffload.lock.d"] and not list(run_dir.iterdir())
