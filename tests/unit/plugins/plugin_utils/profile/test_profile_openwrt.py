# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_profile on the OpenWrt router of the captures (issue 16: an image without
kmod-nft-offload). These stay on FakeTarget: the package managers' answers (a feed that cannot
be reached, the install's output, the modules still missing after it) and a kernel whose
answers change with the install are captured outputs no script run here can produce."""
from __future__ import annotations

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import reads as fr
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import (
    parts,
    rules,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import run as P
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Section,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FakeTarget,
    sec,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.profile.sections import (
    FW4_FT_JSON,
    FW4_FT_TEXT,
    SW_ENOENT,
    capture,
    openwrt_router,
    params,
)


def test_openwrt_without_loadable_modules_reports_that_no_package_helps() -> None:
    target = FakeTarget(openwrt_router("apk", module_support=False))
    out = P.run_profile(target, params(), False)
    assert out["backend"] == "fw4" and out["changed"] is False and target.round_trips == 1
    assert "without loadable module support" in out["report"][0] and out["installed"] == []


@pytest.mark.parametrize("manager", ["opkg", "apk"])
def test_openwrt_without_kmod_nft_offload_installs_loads_rechecks_then_configures(manager: str) -> None:
    """Issue 16: the probe says unsupported because the package is missing; the role installs it
    as the apply's first step, loads the modules, probes again, then turns fw4's option on."""
    size_line = "Installed-Size 20480" if manager == "opkg" else "I 20480"
    readback = {"fw4:flow_offloading": sec("1\n"), "fw4:flow_offloading_hw": sec("1\n"),
                "fw4:ft-json": sec(FW4_FT_JSON), "fw4:ft-text": sec(FW4_FT_TEXT)}
    target = FakeTarget(openwrt_router(manager), apply_sections={
        "kmod:install": sec(f"fo: size kmod-nft-offload {size_line}\n"),
        "kmod:ls": sec("nf_flow_table.ko\nnf_flow_table_inet.ko\nnft_flow_offload.ko\n"),
        "kmod:sys": sec("".join(f"{m} live 0 -\n" for m in rules.MODULES)),
        "fw4:apply": sec("@fo4 result ok -\n"), **readback})
    check = P.run_profile(target, params(profile="software"), True)
    assert check["changed"] is True and target.round_trips == 1 and not target.applies
    assert check["report"][-1].startswith(f"would install kmod-nft-offload with {manager} (modules ")
    assert check["packages"][0]["name"] == "kmod-nft-offload" and check["packages"][0]["installed_size"] is None
    assert "unknown before the install" in check["report"][-1]
    assert check["parts"]["flowtable"]["commands"][0] == "uci set 'firewall.@defaults[0].flow_offloading=1'"
    out = P.run_profile(target, params(profile="software"), False)
    assert target.round_trips == 3 and len(target.applies) == 1
    assert out["changed"] is True and out["installed"] == ["kmod-nft-offload"]
    assert out["packages"][0]["installed_size"] == 20480
    assert out["report"][-1].startswith(f"installed kmod-nft-offload with {manager}")
    script = target.applies[0]
    # install first, then the loads, then the probe again, then fw4
    order = ["fo_emit kmod:install ", "fo_emit kmod:install-check "]
    order += [f"fo_emit kmod:load:{m} " for m in rules.MODULES]
    order += [f"fo_emit {parts.RECHECK_KEY} ", "fo_emit fw4 "]
    assert [script.index(o) for o in order] == sorted(script.index(o) for o in order)
    assert f"{manager} {'install' if manager == 'opkg' else 'add'} kmod-nft-offload" in script


def test_openwrt_install_turned_off_reports_the_package_and_the_variable() -> None:
    target = FakeTarget(openwrt_router("opkg"))
    out = P.run_profile(target, params(install_packages=False), False)
    assert out["changed"] is False and target.round_trips == 1
    assert "install kmod-nft-offload (opkg), or set gateway_install_packages: true" in out["report"][0]
    with pytest.raises(FlowOffloadError, match="gateway_install_packages: true"):
        P.run_profile(FakeTarget(openwrt_router("opkg")), params(profile="software", install_packages=False), False)


@pytest.mark.parametrize("manager,update,install", [
    ("opkg", "23-opkg-update-no-network", "22-opkg-install-kmod-nft-offload-no-feed"),
    ("apk", None, "25-apk-add-kmod-nft-offload-no-feed"),
])
def test_no_reachable_feed_fails_naming_package_feeds_and_the_managers_words(
        manager: str, update: str | None, install: str) -> None:
    """The install step's output as install_code prints it from the captured tools (opkg: no
    lists, so update first, rc 3; apk: add refused, rc 1, then update, not captured)."""
    if update:
        run = capture(manager, update)
        out = f"fo: opkg update\n{run.out}fo: update-failed {run.rc}\n"
        err = run.err
        rc = run.rc
    else:
        run = capture(manager, install)
        out = f"{run.out}{run.err}fo: opkg update\n"
        out = f"{run.out}{run.err}fo: apk update\nfo: update-failed 1\n"
        err = "WARNING: fetching https://downloads.openwrt.org/releases/25.12.0/targets/x86/64/packages/packages.adb: DNS lookup error\n"
        rc = 1
    feeds = ("src/gz openwrt_core https://downloads.openwrt.org/releases/24.10.2/targets/x86/64/packages\n"
             if manager == "opkg" else "https://downloads.openwrt.org/releases/25.12.0/targets/x86/64/packages/packages.adb\n")
    out += "".join(f"fo: feed {line}\n" for line in feeds.splitlines())
    target = FakeTarget(openwrt_router(manager), apply_sections={"kmod:install": sec(out, rc, err)},
                        result="failed kmod:install")
    with pytest.raises(FlowOffloadError) as exc:
        P.run_profile(target, params(), False)
    msg = exc.value.msg
    assert msg.startswith(f"installing kmod-nft-offload with {manager} failed: '{manager} update' could not fetch")
    assert f"feeds: {feeds.strip()}" in msg
    said = capture(manager, update or install)
    words = [line.strip() for line in (said.out + said.err).splitlines() if line.strip()
             and not line.startswith("Downloading")]
    # the package manager's words from the start, cut at a line (the rest is in stdout/stderr)
    assert f"{manager} said: {words[0]}" in msg
    assert all(word in msg for word in words[:3]) and ("more characters in" in msg) == (len(" ".join(words)) > 700)
    assert "Nothing was changed" in msg and "gateway_install_packages: false" in msg
    # the whole output stays in the result
    assert exc.value.details["stdout"] == out and exc.value.details["stderr"] == err


def test_still_refused_after_the_install_stops_before_the_flowtable() -> None:
    target = FakeTarget(openwrt_router("opkg"), apply_sections={
        "kmod:install": sec(""), parts.RECHECK_KEY: Section(1, "", SW_ENOENT)}, result=f"failed {parts.RECHECK_KEY}")
    with pytest.raises(FlowOffloadError) as exc:
        P.run_profile(target, params(), False)
    assert exc.value.msg.startswith("installed kmod-nft-offload and loaded the modules, but the kernel still refuses")
    assert "ENOENT" in exc.value.msg and "The flowtable was not configured" in exc.value.msg
    script = target.applies[0]
    assert script.index("fo_emit kmod:install ") < script.index(f"fo_emit {parts.RECHECK_KEY} ") < script.index("fo_emit fw4 ")


def test_sqm_enabled_without_tc_is_a_warning_of_the_role_and_a_bare_router_is_not() -> None:
    """Issue 16 point 4: no tc on a stock OpenWrt image is no reason to warn; SQM enabled in UCI
    without tc to check its qdiscs is (offloaded packets bypass them)."""
    quiet = P.run_profile(FakeTarget(openwrt_router("opkg")), params(), True)
    assert not any("tc is not installed" in w for w in quiet["warnings"])
    assert quiet["ansible_facts"]["flowoffload"]["shaping"]["message"] == "no qdisc tool; no shaping configured"
    sqm = sec("@file /etc/config/sqm\nconfig queue 'wan'\n\toption enabled '1'\n\toption interface 'wan0'\n")
    out = P.run_profile(FakeTarget(openwrt_router("opkg", **{fr.K_SHAPING: sqm})), params(), True)
    assert [w for w in out["warnings"] if "tc is not installed" in w] == [
        ("conflicts: tc is not installed on the target, but SQM (sqm-scripts) shapes wan0 (sqm.wan): shaping qdiscs "
         "could not be checked, and offloaded packets bypass them; install tc (opkg install tc-tiny, or tc-full) so "
         "the facts can check")]


def test_a_failed_install_check_does_not_claim_nothing_changed() -> None:
    target = FakeTarget(openwrt_router("opkg"), apply_sections={
        "kmod:install": sec(""), "kmod:install-check": Section(1, "still missing: nf_flow_table\n")},
        result="failed kmod:install-check")
    with pytest.raises(FlowOffloadError) as exc:
        P.run_profile(target, params(), False)
    assert exc.value.msg.startswith("installed kmod-nft-offload but modules ['nf_flow_table'] are still missing")
    assert "Nothing was changed" not in exc.value.msg
