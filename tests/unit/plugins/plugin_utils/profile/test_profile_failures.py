# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_profile when the apply cannot go through, observed on the lab VM's HostRoot: the host
changed between the read and the apply (stale: the driver reads and plans again), nft or
the kernel refuse, a file cannot be staged. "Nothing was changed" is the root byte for byte
as it was before the apply."""
from __future__ import annotations

import pathlib
import shutil
import typing as t

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod.modules import (
    DEFAULT_MODULES,
    render_file,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import run as P
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.driver import (
    ATTEMPTS,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    fixture,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.host_root import (
    HostRoot,
    Snap,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.profile.lab import (
    LAN_WAN,
    ONE,
    lab_root,
    params,
    shell,
)

__all__ = ["shell"]
SYSCTL_FILE = "/etc/sysctl.d/90-flowoffload.conf"


def another_run_loaded_the_modules(host: HostRoot) -> None:
    """What another run (or a person) did on the host between our read and our apply."""
    host.write("/etc/modules-load.d/flowoffload.conf", render_file(list(DEFAULT_MODULES)))


# --- stale: the host changed under the run ------------------------------------------------------------
def test_a_host_changed_between_read_and_apply_is_read_and_planned_again(tmp_path: pathlib.Path, shell: str) -> None:
    host = lab_root(tmp_path, shell)
    host.before_apply.append(another_run_loaded_the_modules)
    out = P.run_profile(host, params(**LAN_WAN), False)
    # the first apply found the boot list changed and stopped; the second read saw it
    assert host.round_trips == 4 and len(host.applies) == 2 and out["changed"] is True
    # the second plan leaves the boot list alone: the other run wrote it
    assert "modules-load.d/flowoffload.conf.fo-new" in host.applies[0]
    assert "modules-load.d/flowoffload.conf.fo-new" not in host.applies[1]
    # and the end state is the one a single run gives: the next run changes nothing
    before = host.snapshot()
    assert P.run_profile(host, params(**LAN_WAN), False)["changed"] is False and host.snapshot() == before


def test_a_host_that_keeps_changing_ends_stale_and_nothing_of_the_run_is_applied(tmp_path: pathlib.Path) -> None:
    host = lab_root(tmp_path)
    seen: list[Snap] = []

    def someone_else(turn: int) -> t.Callable[[HostRoot], None]:
        def change(h: HostRoot) -> None:
            h.write("/etc/modules-load.d/flowoffload.conf", f"# edited by hand, {turn}\n")
            seen.append(h.snapshot())
        return change

    host.before_apply += [someone_else(turn) for turn in range(ATTEMPTS)]
    with pytest.raises(FlowOffloadError, match="nothing was changed"):
        P.run_profile(host, params(**LAN_WAN), False)
    assert len(host.applies) == ATTEMPTS and host.round_trips == 2 * ATTEMPTS
    # after the last apply the host is exactly as the other party left it
    assert host.snapshot() == seen[-1]


# --- refusals --------------------------------------------------------------------------------------------
def changed(before: Snap, after: Snap) -> list[str]:
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


KERNEL_MODULES = ["/proc/modules", "/proc/sys/net/netfilter/nf_flowtable_tcp_timeout",
                  "/proc/sys/net/netfilter/nf_flowtable_udp_timeout"] + [
    f"/sys/module/{m}/{f}" for m in ("nf_flow_table", "nf_flow_table_inet", "nft_flow_offload")
    for f in ("initstate", "refcnt")]


def test_a_device_gone_before_the_apply_fails_the_batch_and_only_the_modules_are_loaded(
        tmp_path: pathlib.Path, shell: str) -> None:
    host = lab_root(tmp_path, shell)
    seen: list[Snap] = []

    def unplug(h: HostRoot) -> None:
        shutil.rmtree(h.path("/sys/class/net/wan0"))
        seen.append(h.snapshot())

    host.before_apply.append(unplug)
    with pytest.raises(FlowOffloadError) as err:
        P.run_profile(host, params(**LAN_WAN), False)
    assert err.value.msg.startswith("nft rejected the batch (nft -c validation; nothing was applied)")
    assert "a listed device does not exist any more (devices: lan0, wan0)" in err.value.msg
    # the modules were loaded before the check (the apply's preparatory step); no file, no rule changed
    assert changed(seen[0], host.snapshot()) == sorted(KERNEL_MODULES)


def test_nft_rejecting_the_batch_is_explained_by_the_flowtable(tmp_path: pathlib.Path) -> None:
    """The kernel refuses 'flags offload' (EOPNOTSUPP) in the apply's batch: the profile asked for
    hardware offload on a device whose probe the read passed (here: a knob set after the read)."""
    host = lab_root(tmp_path, modules_loaded=True)
    host.env["NFT_REFUSE_OFFLOAD"] = ""
    host.before_apply.append(lambda h: h.env.update(NFT_REFUSE_OFFLOAD="lan0"))
    assert any("flags offload" in d["after"] for d in P.run_profile(host, params(**LAN_WAN), True)["diff"])
    before = host.snapshot()
    with pytest.raises(FlowOffloadError, match="nft rejected the batch"):
        P.run_profile(host, params(**LAN_WAN), False)
    assert changed(before, host.snapshot()) == []


def test_sysctl_failing_after_the_rest_names_the_file_and_what_was_applied(tmp_path: pathlib.Path) -> None:
    host = lab_root(tmp_path)
    host.env["FO_SYSCTL_FAIL"] = "Invalid argument"
    with pytest.raises(FlowOffloadError) as err:
        P.run_profile(host, params(tcp_timeout=60, **LAN_WAN), False)
    assert "applying /etc/sysctl.d/90-flowoffload.conf to the running kernel failed" in err.value.msg
    assert "Invalid argument" in err.value.msg
    assert "(the other parts of this run, kmod, flowtable, were applied up to that step)" in err.value.msg
    # as said: the modules, the flowtable and the files are in place, the value is not
    assert host.read(SYSCTL_FILE) and "table inet flowoffload" in host.ruleset()
    assert host.read("/proc/sys/net/netfilter/nf_flowtable_tcp_timeout") == "30\n"


def test_a_file_that_cannot_be_written_names_the_path_and_changes_nothing(tmp_path: pathlib.Path, shell: str) -> None:
    host = lab_root(tmp_path, shell)
    host.write("/etc/sysctl.d", "a file where the folder should be\n")  # mkdir -p fails as on a full disk
    before = host.snapshot()
    with pytest.raises(FlowOffloadError, match="writing /etc/sysctl.d/90-flowoffload.conf failed.*nothing was changed"):
        P.run_profile(host, params(tcp_timeout=60, **LAN_WAN), False)
    assert changed(before, host.snapshot()) == []


@pytest.mark.parametrize("changes", [{"profile": "software"}, {"fail_unsupported": True}])
def test_required_offload_on_a_kernel_without_flowtables_fails_before_any_change(
        tmp_path: pathlib.Path, changes: dict) -> None:
    host = lab_root(tmp_path)
    host.write("/var/lib/nft-double/no-flowtables", "")
    before = host.snapshot()
    with pytest.raises(FlowOffloadError, match="needs flowtables, but this kernel has none"):
        P.run_profile(host, params(**changes, **LAN_WAN), False)
    assert host.round_trips == 1 and host.snapshot() == before


def test_an_owned_table_edited_by_hand_is_put_back(tmp_path: pathlib.Path) -> None:
    """The owned table as a capture holds it, with wan0 taken out by hand: the run adds it back."""
    host = lab_root(tmp_path, modules_loaded=True, boot_list=True, table=ONE)
    host.seed_ruleset(fixture(ONE + ".txt").replace("lan0, wan0", "lan0"))
    out = P.run_profile(host, params(**LAN_WAN), False)
    assert out["changed"] is True and "devices = { lan0, wan0 }" in host.ruleset()
