# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The loader and the hotplug scripts, run for real under busybox ash and dash against a fake root
(FLOWOFFLOAD_ROOT: /sys/class/net and the collection's folders) with the stateful nft double
(what the kernel holds is its ruleset; its call log shows the batches), on files the flowtable
planner rendered (issue 9, defect 1: devices that come and go)."""
from __future__ import annotations

import os
import shutil
import subprocess
import typing as t
from pathlib import Path

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    hotplug as H,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import run as R
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.sh import path_of
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    fixture,
    sec,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.ft_helpers import (
    owned,
    params,
    snap,
)

DOUBLES = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "doubles", "nft"))
SHELLS = {"busybox": [shutil.which("busybox") or "busybox", "sh"], "dash": [shutil.which("dash") or "dash"]}
OWNED = "/etc/flowoffload/inet-flowoffload.nft"
CHAIN = "/etc/flowoffload/inet-filter.nft"


@pytest.fixture(params=sorted(SHELLS))
def shell(request: pytest.FixtureRequest) -> list[str]:
    """Every script runs under busybox ash and under dash."""
    return SHELLS[request.param]


def rendered(**p: t.Any) -> dict[str, str]:
    """path -> content of the files the planner writes on a fresh host."""
    sections = owned(None)
    if p.get("chain"):
        sections.update({"ft:chain-json": sec(fixture("1.0.6-bookworm-host-ft-chain-forward.json")),
                         "ft:ft-json": sec("", 1, "Error: No such file or directory\n"), "ft:ft-text": sec("", 1),
                         "ft:flowtables": sec('{"nftables": []}')})
    plan = R.plan_flowtable(snap(sections), params(**p), False)
    return {c.path: c.content for c in plan.spec.files if c.content is not None}


class Host:
    """A fake root: files, /sys/class/net, the nft double's ruleset and call log."""

    def __init__(self, tmp: Path, shell: list[str], devices: t.Iterable[str] = ("lo", "lan0", "wan0")) -> None:
        self.tmp = tmp
        self.shell = shell
        self.root = tmp / "root"
        self.state = tmp / "nft"
        self.state.mkdir()
        (self.root / "sys" / "class" / "net").mkdir(parents=True)
        for dev in devices:
            self.plug(dev)
        self.env: dict[str, str] = {}

    def plug(self, dev: str) -> None:
        (self.root / "sys" / "class" / "net" / dev).mkdir()

    def unplug(self, dev: str) -> None:
        (self.root / "sys" / "class" / "net" / dev).rmdir()

    def write(self, files: t.Mapping[str, str]) -> None:
        for path, content in files.items():
            target = self.root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)

    def nft(self, batch: str) -> None:
        """The kernel's ruleset changed by someone else (the batch applied by the double, not logged)."""
        environ = dict(os.environ, NFT_DOUBLE_STATE=str(self.state))
        proc = subprocess.run([os.path.join(DOUBLES, "nft"), "-f", "-"], input=batch, capture_output=True, text=True,
                              env=environ, check=False)
        assert proc.returncode == 0, proc.stderr

    def loaded(self, *flowtables: str) -> None:
        """These flowtables ("inet flowoffload ft") are in the kernel, without devices."""
        for spec in flowtables:
            table = spec.rsplit(" ", 1)[0]
            self.nft(f"add table {table}\nadd flowtable {spec} {{ hook ingress priority 0; }}\n")

    def sh(self, *args: str, script: str | None = None, env: t.Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
        loader = self.root / H.LOADER_PATH.lstrip("/")
        if not loader.exists():
            self.write({H.LOADER_PATH: H.LOADER})
        environ = dict(os.environ, PATH=f"{DOUBLES}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                       FLOWOFFLOAD_ROOT=str(self.root), NFT_DOUBLE_LOG=str(self.tmp / "nft.log"), NFT_DOUBLE_STATE=str(self.state),
                       **self.env, **(env or {}))
        argv = [*self.shell, "-c", script, "hotplug"] if script else [*self.shell, str(loader), *args]
        return subprocess.run(argv, capture_output=True, text=True, env=environ, check=False)

    def log(self) -> str:
        path = self.tmp / "nft.log"
        return path.read_text() if path.exists() else ""

    def batches(self) -> list[str]:
        """The statements nft -f got, one list entry per nft -f call (comments left out)."""
        out: list[str] = []
        for line in self.log().splitlines():
            if line.startswith("nft "):
                if " -f " in f"{line} ":
                    out.append("")
                continue
            if out and not line.lstrip().startswith("#") and line.strip():
                out[-1] += line + "\n"
        return out


def lan0_wan0(tmp: Path, shell: list[str], **p: t.Any) -> Host:
    host = Host(tmp, shell)
    host.write(rendered(**p))
    return host


# --- boot / restart: load with the devices that exist --------------------------------------
def test_load_with_every_device_present_is_one_batch(tmp_path, shell):
    host = lan0_wan0(tmp_path, shell)
    proc = host.sh(str(host.root) + OWNED)
    assert proc.returncode == 0 and proc.stderr == ""
    [batch] = host.batches()
    assert batch.startswith("table inet flowoffload {")
    assert batch.endswith('add flowtable inet flowoffload ft { hook ingress priority 0; devices = { "lan0" }; counter; }\n'
                          'add flowtable inet flowoffload ft { hook ingress priority 0; devices = { "wan0" }; counter; }\n')


def test_absent_device_is_left_out_with_a_warning_and_the_rest_loads(tmp_path, shell):
    """issue 9, defect 1: a vanished wan0 no longer makes the whole load fail."""
    host = lan0_wan0(tmp_path, shell)
    host.unplug("wan0")
    host.env["NFT_NETDEVS"] = str(host.root / "sys" / "class" / "net")  # the double refuses absent devices like the kernel
    proc = host.sh(str(host.root) + OWNED)
    assert proc.returncode == 0, proc.stderr
    assert "warning: absent device(s) left out: wan0 (flowtable inet flowoffload ft)" in proc.stderr
    [batch] = host.batches()
    assert '"lan0"' in batch and '"wan0"' not in batch and "flowtable ft {" in batch


def test_no_device_at_all_still_loads_the_flowtable_and_rule(tmp_path, shell):
    host = lan0_wan0(tmp_path, shell)
    host.unplug("wan0")
    host.unplug("lan0")
    host.env["NFT_NETDEVS"] = str(host.root / "sys" / "class" / "net")
    proc = host.sh(str(host.root) + OWNED)
    assert proc.returncode == 0 and "lan0 (flowtable inet flowoffload ft), wan0 (flowtable" in proc.stderr
    [batch] = host.batches()
    assert "devices" not in batch and "flow add @ft" in batch


def test_device_gone_between_check_and_load_falls_back_to_each_device(tmp_path, shell):
    host = lan0_wan0(tmp_path, shell)
    netdevs = tmp_path / "kernel-netdevs"  # what the kernel (double) has: lan0 went after the check
    (netdevs / "wan0").mkdir(parents=True)
    host.env["NFT_NETDEVS"] = str(netdevs)
    host.loaded("inet flowoffload ft")
    proc = host.sh(str(host.root) + OWNED)
    assert proc.returncode == 0, proc.stderr
    assert "loading" in proc.stderr and "lan0 could not join flowtable inet flowoffload ft" in proc.stderr
    batches = host.batches()
    assert len(batches) == 4  # all at once (refused), the file alone, lan0 (refused), wan0
    assert "devices" not in batches[1] and '"wan0"' in batches[3]


def test_file_that_cannot_load_fails_the_unit(tmp_path, shell):
    host = lan0_wan0(tmp_path, shell)
    (host.state / "no-flowtables").write_text("")  # a kernel without flowtables refuses the file (ENOENT)
    proc = host.sh(str(host.root) + OWNED)
    assert proc.returncode == 1 and "nothing of it is loaded" in proc.stderr


def test_chain_mode_loads_the_rule_once_and_the_devices_always(tmp_path, shell):
    host = Host(tmp_path, shell)
    host.write(rendered(table="filter", chain="forward"))
    host.nft("add table inet filter\nadd chain inet filter forward { type filter hook forward priority 0; policy accept; }\n")
    args = ("--chain", "inet", "filter", "forward", str(host.root) + CHAIN)
    assert host.sh(*args).returncode == 0
    assert "insert rule inet filter forward" in host.batches()[0]
    assert host.sh(*args).returncode == 0  # the rule the first load inserted is in the chain now
    second = host.batches()[1]
    assert "insert rule" not in second and second.count("add flowtable inet filter ft") == 2


# --- issue 19: the unit's start and reload load only what is missing ------------------------
TABLE_ARGS = ("--table", "inet", "flowoffload")
MARKED = ('table inet flowoffload {\n\tcomment "managed by flowoffload.nft"\n'
          '\tflowtable ft {\n\t\thook ingress priority filter\n\t}\n}\n')


def test_table_guard_loads_the_file_when_the_table_is_missing(tmp_path, shell):
    """At boot, or after nftables.service flushed the ruleset (restart, reload)."""
    host = lan0_wan0(tmp_path, shell)
    proc = host.sh(*TABLE_ARGS, str(host.root) + OWNED)
    assert proc.returncode == 0 and proc.stderr == ""
    [batch] = host.batches()
    assert batch.startswith("table inet flowoffload {") and batch.count("devices = {") == 2
    assert host.log().splitlines()[0] == "nft list table inet flowoffload"


def test_table_guard_keeps_a_loaded_table_and_only_adds_devices(tmp_path, shell):
    """The start right after an apply: the table is there, so nothing is deleted and
    re-created (same handles, offloaded flows kept); adding a device already in the
    flowtable is a no-op for the kernel."""
    host = lan0_wan0(tmp_path, shell)
    host.nft(MARKED)
    proc = host.sh(*TABLE_ARGS, str(host.root) + OWNED)
    assert proc.returncode == 0, proc.stderr
    assert "is loaded already (table inet flowoffload): kept as it is" in proc.stderr
    [batch] = host.batches()
    assert "delete table" not in batch and "flow add" not in batch
    assert batch == ('add flowtable inet flowoffload ft { hook ingress priority 0; devices = { "lan0" }; counter; }\n'
                     'add flowtable inet flowoffload ft { hook ingress priority 0; devices = { "wan0" }; counter; }\n')


def test_table_guard_leaves_a_table_it_does_not_own_alone(tmp_path, shell):
    host = lan0_wan0(tmp_path, shell)
    host.nft("table inet flowoffload {\n\tchain c {\n\t}\n}\n")
    proc = host.sh(*TABLE_ARGS, str(host.root) + OWNED)
    assert proc.returncode == 1 and "exists and is not managed by flowoffload.nft" in proc.stderr
    assert host.batches() == []


def test_the_loader_looks_for_the_modules_mark():
    from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.model import (
        OWNER_COMMENT,
    )
    assert f"'comment \"{OWNER_COMMENT}\"'" in H.LOADER


@pytest.mark.parametrize("args", [("--table", "inet", "x"), ("--table", "inet", "x", "f", "extra"), ("--chain", "a", "b")])
def test_loader_refuses_a_wrong_argument_count(tmp_path, args, shell):
    assert Host(tmp_path, shell).sh(*args).returncode == 2


# --- the collection's folder ----------------------------------------------------------------
def test_dir_read_lists_the_folder_and_every_entry_without_a_process(tmp_path, shell):
    folder = tmp_path / "flowoffload"
    code = H.dir_code(str(folder))
    assert "$(" not in code and "ls" not in code.split()

    def run() -> str:
        return subprocess.run([*shell, "-c", code], capture_output=True, text=True, check=True).stdout

    assert run() == ""
    folder.mkdir()
    assert run() == f"{folder}/\n"
    (folder / "a.nft").write_text("x")
    (folder / ".hidden").write_text("x")
    (folder / "dangling").symlink_to(tmp_path / "nowhere")
    assert sorted(run().splitlines()[1:]) == sorted(f"{folder}/{n}" for n in ("a.nft", ".hidden", "dangling"))
    assert run().splitlines()[0] == f"{folder}/"


def test_the_folder_goes_only_when_this_run_empties_it():
    own, loader = "/etc/flowoffload/inet-flowoffload.nft", H.LOADER_PATH
    listing = f"/etc/flowoffload/\n{own}\n{loader}\n"
    gone = [{"path": own, "after": ""}, {"path": loader, "after": ""}]
    assert H.remove_dir(listing, gone) is True
    assert H.remove_dir(listing, gone[:1]) is False                       # the loader stays
    assert H.remove_dir(listing + "/etc/flowoffload/mine.txt\n", gone) is False  # not ours: kept
    assert H.remove_dir("/etc/flowoffload/\n", []) is True                 # left empty earlier
    assert H.remove_dir("/etc/flowoffload/\n", [{"path": own, "after": "x"}]) is False  # written now
    assert H.remove_dir("", gone) is False and H.remove_dir(None, gone) is False


# --- hotplug: a device that appears joins the flowtables that list it ----------------------
def test_device_that_appears_joins_every_flowtable_listing_it(tmp_path, shell):
    host = Host(tmp_path, shell)
    host.write(rendered())
    host.write(rendered(table="filter", chain="forward", devices=["lan0"]))
    host.loaded("inet flowoffload ft", "inet filter ft")
    proc = host.sh("--device", "lan0")
    assert proc.returncode == 0
    assert host.batches() == ['add flowtable inet filter ft { hook ingress priority 0; devices = { "lan0" }; counter; }\n',
                              'add flowtable inet flowoffload ft { hook ingress priority 0; devices = { "lan0" }; counter; }\n']
    assert "lan0 joined flowtable inet flowoffload ft" in proc.stderr


def test_unlisted_device_or_unloaded_flowtable_does_nothing(tmp_path, shell):
    host = lan0_wan0(tmp_path, shell)
    assert host.sh("--device", "eth9").returncode == 0 and host.batches() == []
    assert host.sh("--device", "lan0").returncode == 0 and host.batches() == []  # flowtable not loaded (nftables stopped)
    assert host.sh("--device").returncode == 2


def test_present_adds_every_listed_device_that_exists(tmp_path, shell):
    host = lan0_wan0(tmp_path, shell)
    host.unplug("wan0")
    host.loaded("inet flowoffload ft")
    assert host.sh("--present").returncode == 0
    assert [b.split("devices = ")[1][:10] for b in host.batches()] == ['{ "lan0" }']


@pytest.mark.parametrize("path,env,device", [(H.OPENWRT_NET_PATH, {"ACTION": "add", "INTERFACE": "lan0"}, "lan0"),
                                             (H.OPENWRT_NET_PATH, {"ACTION": "remove", "INTERFACE": "lan0"}, None),
                                             (H.OPENWRT_IFACE_PATH, {"ACTION": "ifup", "INTERFACE": "lan", "DEVICE": "br-lan"}, "all"),
                                             (H.OPENWRT_IFACE_PATH, {"ACTION": "ifdown", "INTERFACE": "lan"}, None)])
def test_openwrt_hotplug_scripts_as_hotplug_call_sources_them(tmp_path, path, env, device, shell):
    host = Host(tmp_path, shell)
    files = rendered()
    host.write(files)
    host.loaded("inet flowoffload ft")
    loader = str(host.root) + H.LOADER_PATH
    host.write({H.LOADER_PATH: H.LOADER})
    script = {H.OPENWRT_NET_PATH: H.OPENWRT_NET, H.OPENWRT_IFACE_PATH: H.OPENWRT_IFACE}[path].replace(H.LOADER_PATH, loader)
    # hotplug-call: ( . "$script" ) with ACTION, INTERFACE (and DEVICE for iface) in the environment
    (host.root / "hook").write_text(script)
    proc = host.sh(script=f'( . "{host.root}/hook" ); exit 0', env=env)
    assert proc.returncode == 0, proc.stderr
    joined = [b.split("devices = ")[1][:10] for b in host.batches()]
    assert joined == {"lan0": ['{ "lan0" }'], "all": ['{ "lan0" }', '{ "wan0" }'], None: []}[device]


def test_udev_rule_runs_the_loader_for_net_devices_that_appear():
    rule = [line for line in H.UDEV_RULE.splitlines() if not line.startswith("#")]
    assert rule == ['ACTION=="add|move", SUBSYSTEM=="net", RUN+="/bin/sh /etc/flowoffload/flowoffload-load --device $name"']


# --- the shared files are planned with the collection's files ------------------------------
def test_shared_files_stay_while_any_collection_file_remains():
    own = "/etc/flowoffload/inet-flowoffload.nft"
    first = H.hotplug_plan([], own, "content", {}, False, True)
    assert {e["path"]: e["mode"] for e in first} == {H.LOADER_PATH: "0755", H.UDEV_RULE_PATH: "0644"}
    before = {e["path"]: e["after"] for e in first}
    assert H.hotplug_plan([own], own, "content", before, False, True) == []
    # our file goes, another table's stays: the shared files stay
    assert H.hotplug_plan([own, "/etc/flowoffload/inet-other.nft"], own, "", before, False, True) == []
    # the last collection file goes: so do they
    assert [e["after"] for e in H.hotplug_plan([own], own, "", before, False, True)] == ["", ""]
    # no udev: no rule; OpenWrt: the hotplug.d scripts instead
    assert [e["path"] for e in H.hotplug_plan([], own, "x", {}, False, False)] == [H.LOADER_PATH]
    openwrt = [e["path"] for e in H.hotplug_plan([], own, "x", {}, True, False)]
    assert openwrt == [H.LOADER_PATH, H.OPENWRT_NET_PATH, H.OPENWRT_IFACE_PATH]


@pytest.mark.parametrize("name,text", [("hotplug_loader.sh", H.LOADER), ("hotplug_net.sh", H.OPENWRT_NET),
                                       ("hotplug_iface.sh", H.OPENWRT_IFACE)])
def test_installed_scripts_are_their_files_without_the_shellcheck_line(name, text):
    """Linted as files (tests/unit/plugins/plugin_utils/target/test_sh.py), installed without line 1."""
    with open(path_of(H.__file__, name), encoding="utf-8") as handle:
        first, rest = handle.read().split("\n", 1)
    assert first.startswith("# shellcheck shell=sh") and text == rest and text.startswith(H.HEADER)
    assert "shellcheck shell" not in text
    if name != "hotplug_loader.sh":  # the hooks run the loader where the collection installs it
        assert f"/bin/sh {H.LOADER_PATH} --" in text


def test_a_script_file_without_the_shellcheck_line_is_refused(monkeypatch, tmp_path):
    (tmp_path / "x.sh").write_text("# Managed\necho\n")
    monkeypatch.setattr(H, "__file__", str(tmp_path / "hotplug.py"))
    with pytest.raises(ValueError, match="first line"):
        H.installed("x.sh")


def test_persisted_read_lists_the_files_its_globs_match(tmp_path, shell, monkeypatch):
    (tmp_path / "a.nft").write_text("x")
    (tmp_path / "b.nft").mkdir()
    (tmp_path / "c.txt").write_text("x")
    monkeypatch.setattr(H, "PERSISTED_GLOBS", (f"{tmp_path}/*.nft", f"{tmp_path}/none-*.nft"))
    code = H.hotplug_reads()[0].code
    out = subprocess.run([*shell, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == f"{tmp_path}/a.nft\n"


def test_loader_text_has_no_shebang_needed():
    """Run as '/bin/sh LOADER ...' by the unit, udev and hotplug; its first line is the header."""
    assert H.LOADER.startswith(H.HEADER) and "FLOWOFFLOAD_ROOT" in H.LOADER
