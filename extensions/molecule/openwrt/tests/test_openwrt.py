# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What converge, idempotence and side_effect must leave on the Python-less OpenWrt-like
routers. testinfra's ansible backend would run its commands through Ansible's shell
module (Python on the target); the ``router`` fixture runs them with ``podman exec``."""
from __future__ import annotations

import json
import os
import typing as t

import pytest
import testinfra

DB = {"opkg": "/usr/lib/opkg/status", "apk": "/lib/apk/db/installed"}


@pytest.fixture(name="router")
def fixture_router(host: t.Any) -> t.Any:
    """The same container through testinfra's podman backend (podman exec, /bin/sh -c)."""
    return testinfra.get_host(f"podman://{host.backend.get_hostname()}")


def _manager(host: t.Any) -> str:
    return "opkg" if host.file("/bin/opkg").exists else "apk"


def _name(host: t.Any) -> str:
    return host.backend.get_hostname()


def _has_feed(host: t.Any) -> bool:
    """openwrt-feed: a double feed serves kmod-nft-offload (converge installed it)."""
    return host.file("/usr/share/pkg-double/feed").exists


def _kernel_double(host: t.Any) -> bool:
    """openwrt-feed and openwrt-nofeed: a kernel that can load modules (prepare.yml)."""
    return host.file("/usr/local/sbin/nft").exists


def _installed(host: t.Any, package: str) -> bool:
    manager = _manager(host)
    text = host.file(DB[manager]).content_string
    if manager == "opkg":
        return f"Package: {package}\n" in text
    return f"\nP:{package}\n" in f"\n{text}"


def test_no_python_and_busybox_sh(router: t.Any) -> None:
    host = router
    assert host.run("command -v python3 || command -v python").rc != 0
    assert "busybox" in host.check_output("readlink -f /bin/sh")
    assert not _installed(host, "python3-light")


def test_nothing_installed_without_a_feed(router: t.Any) -> None:
    host = router
    log = host.file("/var/log/pkg-double.log")
    assert not log.exists or "python3" not in log.content_string
    if _has_feed(host):
        pytest.skip("openwrt-feed: see test_feed_router_keeps_the_package_and_the_loaded_modules")
    # no feed is reachable, as in the captures: neither Python nor kmod-nft-offload
    assert not _installed(host, "kmod-nft-offload")
    if _kernel_double(host):
        # the apply tried apk add, then apk update (no lists), and stopped there: no module file
        assert log.content_string.splitlines()[-2:] == ["apk add kmod-nft-offload", "apk update"]
        release = host.check_output("cat /proc/sys/kernel/osrelease")
        assert not host.file(f"/lib/modules/{release}").exists


def test_feed_router_keeps_the_package_and_the_loaded_modules(router: t.Any) -> None:
    host = router
    if not _has_feed(host):
        pytest.skip("only openwrt-feed has a feed")
    # packages are never removed, and off unloads nothing on OpenWrt (its modules autoload)
    assert _installed(host, "kmod-nft-offload") and _installed(host, "kmod-nf-flow")
    for module in ("nf_flow_table", "nf_flow_table_inet", "nft_flow_offload"):
        assert host.file(f"/sys/module/{module}/initstate").content_string == "live\n"
    # off took fw4's flowtable away again (the kernel double lists none)
    assert host.check_output("nft list flowtables").strip() in ("", "table inet fw4 {\n}")


def test_no_lock_left_behind(router: t.Any) -> None:
    host = router
    # issue 16 point 5: the lock exists only while an apply holds it; off removed the file an
    # earlier version left in /tmp (openwrt-feed's prepare planted one)
    assert host.run("ls -d /run/flowoffload.lock* /tmp/flowoffload.lock*").stdout == ""


def test_no_rollback_armed(router: t.Any) -> None:
    host = router
    # issue 17: side_effect's commit-confirmed runs on openwrt-feed (rollback.yml) confirmed
    # or rolled back; none leaves a record, the boot-time undo of fw4 or a pending expire
    assert host.run("ls -d /run/flowoffload-rollback /tmp/flowoffload-rollback").stdout == ""
    assert not host.file("/etc/uci-defaults/99-flowoffload-rollback").exists
    assert host.file("/etc/uci-defaults").is_directory  # prepare.yml: as on OpenWrt
    pending = host.run("grep -l 'flowoffload-rollbac[k]' /proc/[0-9]*/cmdline")
    assert pending.stdout == "", pending.stdout


def test_fw4_offloading_left_as_it_was(router: t.Any) -> None:
    host = router
    # the refused change was rolled back: the option is unset again, as before the run
    config = host.file("/etc/config/firewall").content_string
    assert "flow_offloading" not in config
    assert host.run("uci -q get firewall.@defaults[0].flow_offloading").rc == 1
    assert host.check_output("uci changes firewall") == ""


def test_ruleset_as_before(router: t.Any) -> None:
    host = router
    # stateless listings (nft -s: no counters, which traffic on the veths moves);
    # testinfra drops trailing newlines from both reads; nothing else may differ
    before = host.file("/root/ruleset-snapshot.nft").content_string.rstrip("\n")
    assert "table inet fw4" in before
    assert host.check_output("nft -s list ruleset").rstrip("\n") == before
    assert "flowoffload" not in host.check_output("nft list tables")


def test_no_files_of_ours(router: t.Any) -> None:
    host = router
    assert host.check_output("ls /usr/share/nftables.d/ruleset-post") == ""
    assert not host.file("/etc/modules-load.d/flowoffload.conf").exists
    assert not host.file("/etc/modules.d/flowoffload").exists


def test_idempotent_run_is_one_round_trip(host: t.Any) -> None:
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "module-count.jsonl")
    with open(path, encoding="utf-8") as handle:
        runs = [json.loads(line) for line in handle if line.strip()]
    runs = [run for run in runs if run["playbook"] == "converge.yml"]
    assert len(runs) >= 2
    name = _name(host)
    if name == "openwrt-nofeed":
        assert all(name not in run["hosts"] for run in runs)  # not converged: it must fail
        return
    entry = runs[-1]["hosts"][name]
    assert entry["actions"] == ["flowoffload.nft.offload_profile"]
    assert entry["round_trips"] == 1
    # openwrt-feed: the first converge installed, loaded and configured in one apply
    assert runs[0]["hosts"][name]["round_trips"] == (2 if name == "openwrt-feed" else 1)
