# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What converge, idempotence and side_effect must leave on the OpenWrt-like routers."""
from __future__ import annotations

import json
import os
import typing as t

DB = {"opkg": "/usr/lib/opkg/status", "apk": "/lib/apk/db/installed"}


def _manager(host: t.Any) -> str:
    return "opkg" if host.file("/bin/opkg").exists else "apk"


def _installed(host: t.Any, package: str) -> bool:
    manager = _manager(host)
    text = host.file(DB[manager]).content_string
    if manager == "opkg":
        return f"Package: {package}\n" in text
    return f"\nP:{package}\n" in f"\n{text}"


def test_python_was_bootstrapped_through_the_package_manager(host: t.Any) -> None:
    assert host.exists("python3")
    assert _installed(host, "python3-light")
    verb = "install" if _manager(host) == "opkg" else "add"
    log = host.file("/var/log/pkg-double.log").content_string.splitlines()
    assert f"{_manager(host)} {verb} python3-light" in log
    # bootstrapped once: the idempotence run found Python and installed nothing
    assert log.count(f"{_manager(host)} {verb} python3-light") == 1


def test_kmod_package_database_matches_the_double_log(host: t.Any) -> None:
    manager = _manager(host)
    verb = "install" if manager == "opkg" else "add"
    log = host.file("/var/log/pkg-double.log").content_string.splitlines()
    # offload_kmod installs kmod-nft-offload only where a package can provide the
    # modules; on a kernel without module support it refuses before any install
    assert _installed(host, "kmod-nft-offload") == (f"{manager} {verb} kmod-nft-offload" in log)


def test_fw4_offloading_left_as_it_was(host: t.Any) -> None:
    # the failed reload was rolled back: the option is unset again, as before the run
    config = host.file("/etc/config/firewall").content_string
    assert "flow_offloading" not in config
    assert host.run("uci -q get firewall.@defaults[0].flow_offloading").rc == 1
    assert not host.file("/tmp/.uci/firewall").exists  # nothing left uncommitted


def test_ruleset_as_before(host: t.Any) -> None:
    # testinfra drops trailing newlines from both reads; nothing else may differ
    before = host.file("/root/ruleset-snapshot.nft").content_string.rstrip("\n")
    assert "table inet fw4" in before
    assert host.check_output("nft list ruleset").rstrip("\n") == before
    assert "flowoffload" not in host.check_output("nft list tables")


def test_no_files_of_ours(host: t.Any) -> None:
    assert host.check_output("ls /usr/share/nftables.d/ruleset-post") == ""
    assert not host.file("/etc/modules-load.d/flowoffload.conf").exists


def test_idempotent_run_costs_at_most_two_module_executions(host: t.Any) -> None:
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "module-count.jsonl")
    with open(path, encoding="utf-8") as handle:
        runs = [json.loads(line) for line in handle if line.strip()]
    runs = [run for run in runs if run["playbook"] == "converge.yml"]
    assert len(runs) >= 2
    actions = runs[-1]["hosts"][host.backend.get_hostname()]["actions"]
    # raw is one shell round trip (the Python check), not a module execution
    modules = [a for a in actions if a != "ansible.builtin.raw"]
    assert actions.count("ansible.builtin.raw") == 1
    assert modules == ["flowoffload.nft.offload_facts"]
