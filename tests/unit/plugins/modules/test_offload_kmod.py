# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import typing as t

import pytest

from ansible_collections.flowoffload.nft.plugins.module_utils import _kmod, _lock
from ansible_collections.flowoffload.nft.plugins.module_utils._errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.modules import offload_kmod
from ansible_collections.flowoffload.nft.tests.unit.plugins.module_utils.kmod_fake import (
    KmodHost,
    fixture,
)

VM = "1.0.6-bookworm-kmod-vm"
REL = "6.1.0-56-amd64"
BASE = f"/lib/modules/{REL}"
NAMES = list(_kmod.DEFAULT_MODULES)
HOST_CONFIG = fixture("1.0.6-bookworm-kmod-host-config.txt")


class FakeModule:
    """The parts of AnsibleModule that offload_kmod.run() uses."""

    def __init__(self, check_mode: bool = False, diff: bool = False, **params: t.Any) -> None:
        self.params = {"state": "present", "persistent": True, "modules": list(NAMES), "package": None}
        self.params.update(params)
        self.check_mode = check_mode
        self._diff = diff
        self.warnings: t.List[str] = []

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)


def _modprobe(host: KmodHost, cmd: t.List[str]) -> t.Tuple[int, str, str]:
    host.files["/proc/modules"] += f"{cmd[-1]} 16384 0 - Live 0x0000000000000000\n"
    return 0, "", ""


def _rmmod(host: KmodHost, cmd: t.List[str]) -> t.Tuple[int, str, str]:
    lines = host.files["/proc/modules"].splitlines(keepends=True)
    host.files["/proc/modules"] = "".join(line for line in lines if line.split()[0] != cmd[-1])
    return 0, "", ""


def vm(proc: str = "fresh") -> KmodHost:
    host = KmodHost(
        bins=["modprobe", "rmmod", "modinfo", "dpkg", "apt-get"],
        files={"/proc/sys/kernel/osrelease": REL + "\n", "/proc/modules": fixture(f"{VM}-proc-modules-{proc}.txt"),
               f"{BASE}/modules.dep": fixture(f"{VM}-modules-dep-netfilter.txt"),
               f"{BASE}/modules.builtin": fixture(f"{VM}-modules-builtin.txt"),
               "/etc/os-release": fixture(f"{VM}-os-release.txt"), "/run/systemd/system": "",
               "/etc/modules": fixture(f"{VM}-etc-modules.txt")})
    for name in NAMES:
        host.commands[("modprobe", name)] = _modprobe
        host.commands[("rmmod", name)] = _rmmod
    return host


@pytest.fixture
def use(monkeypatch, tmp_path):
    """Route the module's Runner to a KmodHost and its lock to a temporary file."""
    def _use(host: t.Optional[KmodHost]) -> None:
        def runner(_module):
            if host is None:
                raise AssertionError("the host was touched before the input was validated")
            return host
        monkeypatch.setattr(offload_kmod, "Runner", runner)
        monkeypatch.setattr(offload_kmod, "host_lock", lambda: _lock.host_lock(str(tmp_path / "lock")))
    return _use


def test_check_mode_reports_plan_without_touching(use):
    host = vm()
    use(host)
    result = offload_kmod.run(FakeModule(check_mode=True, diff=True))
    assert result["changed"] is True
    assert result["loaded"] == NAMES and result["unloaded"] == [] and result["installed"] == []
    assert result["modules"] == {n: "loaded" for n in NAMES}
    assert result["persist_file"] == _kmod.SYSTEMD_FILE
    assert result["diff"]["before"] == "" and result["diff"]["after"] == _kmod.render_file(NAMES)
    assert not host.ran("modprobe", "rmmod") and host.writes == []


def test_apply_then_idempotent_check_and_apply(use):
    host = vm()
    use(host)
    first = offload_kmod.run(FakeModule())
    assert first["changed"] is True and first["modules"] == {n: "loaded" for n in NAMES}
    assert host.files[_kmod.SYSTEMD_FILE] == _kmod.render_file(NAMES)
    calls = len(host.calls)
    for check_mode in (True, False):
        again = offload_kmod.run(FakeModule(check_mode=check_mode))
        assert again["changed"] is False and again["loaded"] == []
        assert again["persist_file"] == _kmod.SYSTEMD_FILE
    assert not host.ran("modprobe")[calls:] and len(host.writes) == 1


def test_absent_unloads_free_modules_and_warns_about_used_ones(use):
    host = vm("flowtable")
    host.files[_kmod.SYSTEMD_FILE] = _kmod.render_file(NAMES)
    use(host)
    result = offload_kmod.run(FakeModule(state="absent", diff=True))
    assert result["changed"] is True and result["unloaded"] == ["nft_flow_offload"]
    assert result["modules"] == {"nf_flow_table": "loaded", "nf_flow_table_inet": "loaded",
                                 "nft_flow_offload": "module"}
    assert result["persist_file"] == "" and _kmod.SYSTEMD_FILE not in host.files
    assert result["diff"]["after"] == "" and result["diff"]["before"] == _kmod.render_file(NAMES)
    module = FakeModule(state="absent")
    offload_kmod.run(module)
    assert len(module.warnings) == 2 and "nf_flow_table_inet stays loaded" in module.warnings[0]


def test_absent_check_mode_on_loaded_vm(use):
    host = vm("loaded")
    use(host)
    result = offload_kmod.run(FakeModule(state="absent", check_mode=True))
    assert result["unloaded"] == ["nft_flow_offload", "nf_flow_table_inet", "nf_flow_table"]
    assert result["modules"] == {n: "module" for n in NAMES} and not host.ran("rmmod")


def test_sysv_host_edits_etc_modules_block(use):
    host = vm()
    del host.files["/run/systemd/system"]
    use(host)
    result = offload_kmod.run(FakeModule(diff=True))
    assert result["persist_file"] == "/etc/modules"
    assert host.files["/etc/modules"] == _kmod.edit_block(fixture(f"{VM}-etc-modules.txt"), NAMES)
    result = offload_kmod.run(FakeModule(persistent=False))
    assert result["changed"] is True and result["persist_file"] == ""
    assert host.files["/etc/modules"] == fixture(f"{VM}-etc-modules.txt")


@pytest.mark.parametrize("params, match", [
    ({"modules": ["nf_flow_table; reboot"]}, "^modules contains invalid"),
    ({"modules": ["-r"]}, "^modules contains invalid"),
    ({"modules": []}, "^modules must be a non-empty list"),
    ({"package": "-o APT::x"}, "^package '-o APT::x' is not a package name"),
    ({"package": "linux image"}, "^package 'linux image' is not a package name"),
])
def test_bad_input_fails_before_touching_the_host(use, params, match):
    use(None)
    with pytest.raises(FlowOffloadError, match=match):
        offload_kmod.run(FakeModule(**params))


def test_openwrt_check_mode_would_install_kmod_nft_offload(use):
    host = KmodHost(bins=["opkg", "modprobe"], files={
        "/etc/openwrt_release": "DISTRIB_ID='OpenWrt'\n", "/proc/sys/kernel/osrelease": "6.6.86\n",
        "/proc/modules": fixture(f"{VM}-proc-modules-fresh.txt")}, dirs={"/lib/modules/6.6.86": []})
    use(host)
    result = offload_kmod.run(FakeModule(check_mode=True))
    assert result["installed"] == ["kmod-nft-offload"] and result["loaded"] == NAMES
    assert result["persist_file"] == "" and host.calls == []


class _Exit(Exception):
    pass


def test_main_fails_once_with_details(monkeypatch, use):
    import gzip

    host = KmodHost(bins=["modinfo", "dpkg"], files={
        "/proc/sys/kernel/osrelease": "6.18.44-fc-v657\n", "/proc/config.gz": gzip.compress(HOST_CONFIG.encode()),
        "/etc/os-release": fixture("1.0.6-bookworm-kmod-host-os-release.txt")})
    use(host)
    seen: t.Dict[str, t.Any] = {}

    class Module(FakeModule):
        def __init__(self, argument_spec, supports_check_mode):
            super().__init__()
            seen["spec"] = argument_spec

        def fail_json(self, **kw):
            seen["fail"] = kw
            raise _Exit()

        def exit_json(self, **kw):
            seen["exit"] = kw
            raise _Exit()

    monkeypatch.setattr(offload_kmod, "AnsibleModule", Module)
    with pytest.raises(_Exit):
        offload_kmod.main()
    assert "without loadable module support" in seen["fail"]["msg"]
    assert "CONFIG_NF_FLOW_TABLE is not set in /proc/config.gz" in seen["fail"]["evidence"]
    assert seen["spec"]["modules"]["default"] == NAMES and "exit" not in seen
