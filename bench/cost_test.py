# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bench/cost.py: the floor's file list and command, /proc CPU, the marginal cost per host,
the projection and the table (run by tests/fleet/run's units step; bench/ is not in the
built collection)."""
from __future__ import annotations

import importlib.util
import os

import pytest

_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cost.py")
_SPEC = importlib.util.spec_from_file_location("bench_cost", _PATH)
cost = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(cost)

SCRIPT = """fo_head host:os-release
{
fo_rd /etc/os-release 2>/dev/null || fo_rd /usr/lib/os-release
} 2>"$fo_t/e"
fo_file /etc/openwrt_release
if fo_val /proc/sys/kernel/osrelease; then fo_r=$fo_v; fi
fo_rd "$fo_t/e"
fo_file '/etc/with space.conf'
for fo_x in /proc/sys/net/ipv4/ip_forward /proc/sys/net/netfilter/nf_flowtable_tcp_timeout; do
for fo_x in /sys/class/net/*; do
"""


def test_read_paths_are_the_files_the_script_reads_itself() -> None:
    assert cost.read_paths(SCRIPT) == [
        "/etc/openwrt_release", "/etc/os-release", "/etc/with space.conf", "/proc/sys/kernel/osrelease", "/proc/sys/net/ipv4/ip_forward",
        "/proc/sys/net/netfilter/nf_flowtable_tcp_timeout", "/usr/lib/os-release"]


def test_floor_command_cats_every_path_quoted() -> None:
    assert cost.floor_command(["/etc/a", "/etc/b c"]) == "cat -- /etc/a '/etc/b c' 2>/dev/null; true"


def test_proc_cpu_reads_utime_and_stime_past_a_name_with_spaces() -> None:
    stat = "4242 (ssh: /x/f/r01 [mux]) S 1 4242 4242 0 -1 4194560 700 0 0 0 150 50 0 0 20 0 1 0"
    assert cost.proc_cpu(stat, 100) == 2.0


def test_marginal_cancels_the_start_up() -> None:
    per_host, fixed = cost.marginal(2.0 + 10 * 0.05, 10, 2.0 + 50 * 0.05, 50)
    assert per_host == pytest.approx(0.05) and fixed == pytest.approx(2.0)
    with pytest.raises(ValueError):
        cost.marginal(1.0, 10, 2.0, 10)


def test_projection_takes_the_longer_bound() -> None:
    # 40 ms per host, 0.5 s per task: 50 forks keep 4 cores busy; 2 cores -> CPU-bound.
    proj = cost.project(0.04, 2.0, 0.5)
    assert proj["cpu_total"] == pytest.approx(42.0)
    assert proj["latency_bound"] == pytest.approx(10.0)
    assert proj["cpu_bound"] == pytest.approx(21.0)
    assert proj["wall"] == pytest.approx(21.0) and proj["bound"] == "CPU"
    assert proj["cores_busy"] == pytest.approx(4.0)
    slow = cost.project(0.01, 2.0, 3.0)
    assert slow["wall"] == pytest.approx(60.0) and slow["bound"].startswith("forks")


def test_render_cost_prints_both_the_ratio_and_the_projection() -> None:
    side = {"cpu_big": 5.0, "cpu_small": 2.0, "wall_big": 9.0, "per_host": 0.075, "fixed": 1.25}
    fig = {"hosts": 50, "hosts_small": 10, "forks": 10, "repeats": 3, "floor_files": 17,
           "role": side, "floor": dict(side, per_host=0.05), "ratio": 1.5, "ratio_whole": 1.2,
           "one": {"host": "r02", "repeats": 5, "role": 0.4, "raw": 0.2, "ratio": 2.0},
           "projection": cost.project(0.075, 1.25, 0.4)}
    text = "\n".join(cost.render_cost(fig))
    assert "75.0 ms" in text and "50.0 ms" in text and "1.50x" in text and "2.00x" in text
    assert "1000 routers, forks 50, one 2-core controller" in text
