# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_profile refuses bad input before any script runs (HostRoot of the lab VM: no round
trip, the root untouched), or right after the read; and off's removal of the lock an earlier
version left, under busybox and dash, next to a live holder's directory."""
from __future__ import annotations

import os
import pathlib
import shutil

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import (
    parts,
    rules,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import run as P
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import script as T
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    ShellTarget,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.host_root import (
    HostRoot,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.profile.lab import (
    LAN_WAN,
    lab_root,
    params,
)

SHELLS = {"busybox": [shutil.which("busybox") or "busybox", "sh"], "dash": [shutil.which("dash") or "dash"]}


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


@pytest.mark.parametrize("shell", ["busybox", "dash"])
def test_off_leftover_read_and_removal_keep_a_live_holders_directory(
        tmp_path: pathlib.Path, shell: str, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir, tmp_dir = tmp_path / "run", tmp_path / "tmp"
    run_dir.mkdir()
    tmp_dir.mkdir()
    monkeypatch.setattr(T, "LOCK_DIRS", (str(run_dir), str(tmp_dir)))
    (tmp_dir / "flowoffload.lock").write_text("")          # flock file of an earlier version
    (tmp_dir / "flowoffload.lock.d").mkdir()                # a mkdir lock whose holder lives (this test)
    (tmp_dir / "flowoffload.lock.d" / "pid").write_text(f"{os.getpid()}\n")
    target = ShellTarget(shell=SHELLS[shell])
    read, nonce = T.read_script([parts.leftovers_read()])
    found = T.parse_sections(target.run_script(read)[1], nonce)[0]
    assert found.text(parts.LEFTOVERS_KEY) == f"{tmp_dir}/flowoffload.lock\n{tmp_dir}/flowoffload.lock.d\n"
    plan = parts.plan_leftovers(found)
    assert plan.result == {"changed": True, "removed": [f"{tmp_dir}/flowoffload.lock", f"{tmp_dir}/flowoffload.lock.d"]}
    script, nonce = T.apply_script(plan.spec)
    res = T.parse_apply(*target.run_script(script), nonce)
    assert res.ok, res.stdout
    assert sorted(p.name for p in tmp_dir.iterdir()) == ["flowoffload.lock.d"] and not list(run_dir.iterdir())


@pytest.mark.parametrize("shell", ["busybox", "dash"])
def test_the_recheck_step_stops_the_apply_when_the_kernel_still_refuses_flowtables(tmp_path: pathlib.Path,
                                                                                   shell: str) -> None:
    """recheck.sh: nft -c of the software probe, run on a HostRoot with the nft double."""
    host = HostRoot(tmp_path, shell, tools={"nft": "nft/nft"})
    plan = parts.plan_recheck(rules.Install("opkg", ("kmod-nft-offload",), ("nft_flow_offload",)))
    script, nonce = T.apply_script(plan.spec)
    ok = T.parse_apply(*host.run_script(script), nonce)
    assert ok.ok and parts.finish_recheck(plan, ok) == {"changed": True, "supported": True}
    assert host.ruleset() == ""  # nft -c: nothing committed
    host.write("/var/lib/nft-double/no-flowtables", "")
    script, nonce = T.apply_script(plan.spec)
    refused = T.parse_apply(*host.run_script(script), nonce)
    assert not refused.ok and refused.key == parts.RECHECK_KEY
    with pytest.raises(FlowOffloadError, match="the kernel still refuses a flowtable"):
        parts.finish_recheck(plan, refused)
