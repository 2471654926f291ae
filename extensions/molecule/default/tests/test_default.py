# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What converge, idempotence and side_effect must leave on the Debian gateways."""
from __future__ import annotations

import json
import os
import typing as t

import pytest

COLLECTION_ACTIONS = ("flowoffload.nft.offload_facts", "flowoffload.nft.flowtable",
                      "flowoffload.nft.offload_kmod", "flowoffload.nft.offload_profile")


def test_ruleset_survives_byte_for_byte(host: t.Any) -> None:
    # testinfra drops trailing newlines from both reads; nothing else may differ
    before = host.file("/root/ruleset-snapshot.nft").content_string.rstrip("\n")
    now = host.check_output("nft list ruleset").rstrip("\n")
    assert "table inet filter" in before and "table ip6 unrelated" in before
    assert now == before


def test_no_table_of_ours_left(host: t.Any) -> None:
    assert "flowoffload" not in host.check_output("nft list tables")


@pytest.mark.parametrize("path", [
    "/etc/flowoffload/inet-flowoffload.nft",
    "/etc/systemd/system/flowoffload-inet-flowoffload.service",
    "/etc/modules-load.d/flowoffload.conf",
    "/etc/sysctl.d/90-flowoffload.conf",
])
def test_off_removed_persistence(host: t.Any, path: str) -> None:
    assert not host.file(path).exists


def test_no_lock_file_left(host: t.Any) -> None:
    # issue 16 point 5: the lock exists only while an apply holds it, and off removed the one
    # side_effect planted as an earlier version left it
    assert host.run("ls -d /run/flowoffload.lock* /tmp/flowoffload.lock*").stdout == ""


def test_off_disabled_the_unit(host: t.Any) -> None:
    wants = host.run("systemctl is-enabled flowoffload-inet-flowoffload.service")
    assert wants.rc != 0
    assert not host.file(
        "/etc/systemd/system/multi-user.target.wants/flowoffload-inet-flowoffload.service"
    ).exists


def test_foreign_files_untouched(host: t.Any) -> None:
    other = host.file("/etc/modules-load.d/other.conf")
    assert other.exists
    assert other.content_string.rstrip("\n") == "# not ours\nbr_netfilter"


def test_forwarding_left_alone(host: t.Any) -> None:
    # gateway_forwarding defaults to false: the role never opens forwarding itself
    before = host.file("/root/ip_forward-before").content_string.strip()
    assert host.file("/proc/sys/net/ipv4/ip_forward").content_string.strip() == before


def _runs(playbook: str) -> t.List[t.Dict[str, t.Any]]:
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "module-count.jsonl")
    with open(path, encoding="utf-8") as handle:
        runs = [json.loads(line) for line in handle if line.strip()]
    return [run for run in runs if run["playbook"] == playbook]


def test_idempotent_run_is_one_round_trip(host: t.Any) -> None:
    runs = _runs("converge.yml")
    assert len(runs) >= 2, "converge and idempotence should both have been counted"
    name = host.backend.get_hostname()
    idempotent = runs[-1]["hosts"][name]
    assert set(idempotent["actions"]) <= set(COLLECTION_ACTIONS), idempotent
    # here the kernel cannot offload: the profile reads once and changes nothing
    assert idempotent["actions"] == ["flowoffload.nft.offload_profile"]
    assert idempotent["round_trips"] == 1, idempotent
