# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""offload_kmod for real: the read and apply scripts (install.sh, install_check.sh, the read
sections) run under busybox ash and dash with the kmod doubles first on PATH."""
from __future__ import annotations

import os
import shutil

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    modules as _kmod,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    packages as _packages,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    plan as _kmod_plan,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    apply_script,
    parse_apply,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    ShellTarget,
    fixture,
    sec,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.kmod_fake import (
    NAMES,
    openwrt,
    params,
    plan_of,
    VM,
    module_tree,
)

SHELLS = {"busybox": [shutil.which("busybox") or "busybox", "sh"], "dash": [shutil.which("dash") or "dash"]}
FRESH = fixture(f"{VM}-proc-modules-fresh.txt")
VM_ETC_MODULES = fixture(f"{VM}-etc-modules.txt")
CONF = _kmod.render_file(NAMES)


@pytest.fixture(params=list(SHELLS))
def shell(request):
    return SHELLS[request.param]


DOUBLES = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "..", "doubles", "kmod")
DEP = fixture(f"{VM}-modules-dep-netfilter.txt")


@pytest.fixture
def host(tmp_path, monkeypatch):
    """The shell over a module tree, /proc/modules and boot lists in tmp_path."""
    tree = module_tree(tmp_path, monkeypatch, DEP, FRESH)
    (tmp_path / "etc-modules").write_text(VM_ETC_MODULES)
    monkeypatch.setattr(_packages, "OPKG_CONF", str(tmp_path / "opkg.conf"))
    (tmp_path / "opkg.conf").write_text(f"lists_dir ext {tmp_path / 'opkg-lists'}\n")
    monkeypatch.setenv("FO_KMOD_LOG", str(tmp_path / "log"))
    monkeypatch.setenv("FO_KMOD_PROC", str(tmp_path / "proc-modules"))
    monkeypatch.setenv("FO_KMOD_LISTS", str(tmp_path / "opkg-lists"))
    monkeypatch.setenv("FO_KMOD_TREE", str(tree))
    return tmp_path


def _log(tmp_path):
    path = tmp_path / "log"
    return path.read_text().splitlines() if path.exists() else []


def test_real_apply_stages_loads_moves_then_is_idempotent(host, shell):
    target = ShellTarget(doubles=DOUBLES, shell=shell)
    check = _kmod_plan.run_kmod(target, params(), True)
    assert check["changed"] is True and target.round_trips == 1 and _log(host) == []
    persist = check["persist_file"]
    os.environ["FO_KMOD_WATCH"] = persist
    try:
        result = _kmod_plan.run_kmod(target, params(), False)
    finally:
        del os.environ["FO_KMOD_WATCH"]
    assert target.round_trips == 3
    assert result["changed"] is True and result["loaded"] == NAMES
    assert result["modules"] == {n: "loaded" for n in NAMES}
    # the list file was staged before the first modprobe, moved into place after the loads
    assert _log(host) == [f"modprobe {NAMES[0]}", f"staged {persist}.fo-new",
                          f"modprobe {NAMES[1]}", f"staged {persist}.fo-new",
                          f"modprobe {NAMES[2]}", f"staged {persist}.fo-new"]
    expected = CONF if persist.endswith(".conf") else _kmod.edit_block(VM_ETC_MODULES, NAMES)
    with open(persist, encoding="utf-8") as handle:
        assert handle.read() == expected
    assert not os.path.exists(persist + ".fo-new")
    again = _kmod_plan.run_kmod(target, params(), False)
    assert again["changed"] is False and target.round_trips == 4
    # state=absent: the list goes first, then rmmod one by one, dependents first
    gone = _kmod_plan.run_kmod(target, params(state="absent"), False)
    assert gone["unloaded"] == ["nft_flow_offload", "nf_flow_table_inet", "nf_flow_table"]
    assert _log(host)[-3:] == ["rmmod nft_flow_offload", "rmmod nf_flow_table_inet", "rmmod nf_flow_table"]
    assert gone["persist_file"] == "" and gone["modules"] == {n: "module" for n in NAMES}


def _openwrt_apply(host, monkeypatch, feed, shell):
    """Plan from the OpenWrt captures (modules absent), apply for real with the opkg double."""
    monkeypatch.setenv("FO_KMOD_FEED", feed)
    (host / "proc-modules").write_text("")
    sections = openwrt(proc="")
    sections["host:osrelease"] = sec(os.uname().release + "\n")
    plan = plan_of(sections)
    script, nonce = apply_script(plan.spec)
    rc, out, err = ShellTarget(doubles=DOUBLES, shell=shell).run_script(script)
    return plan, parse_apply(rc, out, err, nonce)


def test_real_openwrt_install_without_feed_names_package_and_feed(host, monkeypatch, shell):
    plan, res = _openwrt_apply(host, monkeypatch, "none", shell)
    assert (res.status, res.key) == ("failed", "kmod:install")
    assert _log(host) == ["opkg update"]  # no lists: update first, which fails: nothing installed or loaded
    with pytest.raises(FlowOffloadError) as err:
        _kmod_plan.finish_kmod(plan, res)
    assert err.value.msg.startswith("installing kmod-nft-offload with opkg failed: 'opkg update' could not "
                                    "fetch the package lists (rc=3), so no feed is reachable")
    assert "https://downloads.openwrt.org/releases/24.10.2/targets/x86/64/packages/Packages.gz" in err.value.msg


def test_real_openwrt_install_updates_lists_then_installs_and_loads(host, monkeypatch, shell):
    plan, res = _openwrt_apply(host, monkeypatch, "ok", shell)
    assert res.status == "ok", res.stdout
    assert _log(host) == ["opkg update", "opkg install kmod-nft-offload", "opkg info kmod-nft-offload"] + [
        f"modprobe {n}" for n in NAMES]
    result = _kmod_plan.finish_kmod(plan, res)
    assert result["installed"] == ["kmod-nft-offload"] and result["modules"] == {n: "loaded" for n in NAMES}
    # the sizes opkg info tells once the lists are there (before the install it had none)
    assert plan.result["packages"] == [{"name": "kmod-nft-offload", "manager": "opkg", "installed_size": None,
                                        "download_size": None, "note": plan.result["packages"][0]["note"]}]
    assert plan.result["packages"][0]["note"].startswith("unknown before the install: opkg has no package list")
    assert result["packages"] == [{"name": "kmod-nft-offload", "manager": "opkg", "installed_size": 20480,
                                   "download_size": 8473, "note": "opkg info after the install"}]


def test_real_openwrt_kmodloader_without_module_support(host, monkeypatch, shell):
    monkeypatch.setenv("FO_KMOD_KMODLOADER", "1")
    plan, res = _openwrt_apply(host, monkeypatch, "ok", shell)
    assert (res.status, res.key) == ("failed", f"kmod:load:{NAMES[0]}")
    with pytest.raises(FlowOffloadError, match="rc=255.*kmodloader, which fails silently"):
        _kmod_plan.finish_kmod(plan, res)


def test_real_apk_without_feed(host, monkeypatch, shell):
    sections = openwrt(proc="", tools=("modprobe", "rmmod", "apk"))
    plan = plan_of(sections)
    script, nonce = apply_script(plan.spec)
    rc, out, err = ShellTarget(doubles=DOUBLES, shell=shell).run_script(script)
    res = parse_apply(rc, out, err, nonce)
    assert _log(host) == ["apk add kmod-nft-offload", "apk update"]
    with pytest.raises(FlowOffloadError, match="'apk update' could not fetch the package lists"):
        _kmod_plan.finish_kmod(plan, res)
