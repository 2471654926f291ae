# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bench/fleet.py (run by tests/fleet/run: bench/ is not in the built collection that
ansible-test units sees): round trips per host from -vvv output, the recap, and the check of the
audit report against lab/fleet's seeded mix (what tests/fleet/run asserts with)."""
from __future__ import annotations

import importlib.util
import os

_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fleet.py")
_SPEC = importlib.util.spec_from_file_location("bench_fleet", _PATH)
fleet = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(fleet)

EXEC = ("<127.0.0.1> SSH: EXEC ssh -C -o ControlMaster=auto -o Port=40000 -o 'User=\"{}\"' "
        "-o ConnectTimeout=30 127.0.0.1 '/bin/sh -c '\"'\"'echo ~{} && sleep 0'\"'\"''")
RECAP = "{:<26} : ok={}    changed={}    unreachable={}    failed={}    skipped=0    rescued=0    ignored=0"

MIX = {
    "r01": {"seed": "traffic", "configured": True, "state": "offloading_sw", "conflicts": False, "missing": False},
    "r05": {"seed": "conflict", "configured": True, "state": "configured_idle", "conflicts": True, "missing": False},
    "r06": {"seed": "missing", "configured": True, "state": "configured_idle", "conflicts": False, "missing": True},
    "r10": {"seed": "none", "configured": False, "state": "not_configured", "conflicts": False, "missing": False},
}


def _report(**changes):
    rows = [{"host": "r01", "state": "offloading_sw", "conflicts": [], "missing_devices": []},
            {"host": "r05", "state": "configured_idle", "conflicts": [{"kind": "qdisc"}], "missing_devices": []},
            {"host": "r06", "state": "configured_idle", "conflicts": [], "missing_devices": ["lan0 (inet flowoffload ft)"]},
            {"host": "r10", "state": "not_configured", "conflicts": [], "missing_devices": []}]
    for row in rows:
        row.update(changes.get(row["host"], {}))
    return {"hosts": [r for r in rows if r["host"] not in changes.get("drop", ())],
            "summary": {"hosts": changes.get("count", 4)}}


def test_round_trips_per_host_counts_ssh_processes_by_user():
    text = "\n".join([EXEC.format("r01", "r01"), "noise", EXEC.format("r02", "r02"), EXEC.format("r01", "r01")])
    assert fleet.round_trips_per_host(text) == {"r01": 2, "r02": 1}


def test_check_idempotent_wants_changed_0_and_one_round_trip_each():
    good = "\n".join([EXEC.format("r01", "r01"), EXEC.format("r05", "r05"),
                      RECAP.format("r01", 5, 0, 0, 0), RECAP.format("r05", 5, 0, 0, 0)])
    assert fleet.check_idempotent(good, ["r01", "r05"]) == []
    bad = "\n".join([EXEC.format("r01", "r01"), EXEC.format("r01", "r01"),
                     RECAP.format("r01", 5, 1, 0, 0)])
    problems = fleet.check_idempotent(bad, ["r01", "r05"])
    assert any("r01: changed=1" in p for p in problems)
    assert any("r01: 2 SSH round trips" in p for p in problems)
    assert any("r05: not in the PLAY RECAP" in p for p in problems)


def test_check_report_accepts_the_seeded_mix():
    assert fleet.check_report(_report(), MIX) == []


def test_check_report_catches_a_misreported_state_conflict_and_missing_device():
    report = _report(r01={"state": "configured_idle"}, r05={"conflicts": []}, r06={"missing_devices": []})
    problems = fleet.check_report(report, MIX)
    assert len(problems) == 3
    assert "r01 (seed traffic): state 'configured_idle', seeded 'offloading_sw'" in problems[0]


def test_check_report_catches_missing_rows_and_a_wrong_summary():
    problems = fleet.check_report(_report(drop=("r10",), count=3), MIX)
    assert "r10: no row in the report" in problems
    assert any("summary counts 3" in p for p in problems)


def test_render_fleet_has_one_column_per_size():
    run = fleet.run_figures(12.5, "\n".join([EXEC.format("r01", "r01"), RECAP.format("r01", 5, 0, 0, 0)]), 1)
    assert run["trips_min"] == run["trips_max"] == 1
    figures = {"sizes": [10, 50], "forks": 10, "load": "1.0 1.0 1.0",
               "runs": {str(n): {"build": 3.0, "gateway": run, "idempotent": run, "audit": run} for n in (10, 50)}}
    lines = fleet.render_fleet(figures)
    assert "10 routers" in lines[1] and "50 routers" in lines[1]
    assert any("12.5 s" in line for line in lines)
