# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit's history (records, the append / trim / replace plan, corrupt lines, the trend)
and the JSON Schema shipped with the report, validated with jsonschema against what the
code writes."""
from __future__ import annotations

import json
import os
import typing as t

import jsonschema
import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit import history as hi
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit import report as rep
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.run import STATES
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import FlowOffloadError
from ansible_collections.flowoffload.nft.tests.browser.fleet import KINDS, fleet

T1, T2, T3 = "2026-12-06T01:00:00Z", "2026-12-07T01:00:00Z", "2026-12-08T01:23:45Z"


@pytest.fixture(scope="module", name="rows")
def fleet_rows():
    return fleet(len(KINDS) + 2)


@pytest.fixture(scope="module", name="schema")
def report_schema():
    with open(hi.SCHEMA_PATH, encoding="utf-8") as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def record_validator(schema: t.Mapping[str, t.Any]) -> jsonschema.Draft202012Validator:
    """The schema of one history line: the report schema's $defs.history_record."""
    return jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/history_record"})


# --- times ------------------------------------------------------------------------------------
def test_times_are_iso_8601_utc_with_z():
    assert hi.parse_time("2026-12-08T02:23:45+01:00") == "2026-12-08T01:23:45Z"
    assert hi.parse_time("2026-12-08T01:23:45.987Z") == "2026-12-08T01:23:45Z"
    for bad in ("then", "2026-12-08 01:23:45", "2026-12-08T01:23:45", ""):
        with pytest.raises(FlowOffloadError, match="generated: .* ISO 8601"):
            hi.parse_time(bad)


# --- records and the plan -------------------------------------------------------------------------
def test_one_record_per_router_with_state_flows_and_hardware(rows):
    records = hi.run_records(rows, T1)
    assert [r["router"] for r in records] == [r["host"] for r in rows]
    for record, row in zip(records, rows):
        assert record["time"] == T1 and record["state"] == row["state"] and record["schema_version"] == 1
        flows = row["flows"]
        assert record["flows_total"] == (flows["total"] if flows else None)
        assert record["offloaded_pct"] == (flows["offloaded_pct"] if flows else None)
        assert record["hardware_capable"] is bool(row["hardware_capable"])
    assert any(r["hardware_capable"] for r in records) and any(r["flows_total"] is None for r in records)


def test_plan_appends_a_new_run_and_rewrites_to_trim_or_replace(rows):
    one, two, three = (hi.run_records(rows[:3], time) for time in (T1, T2, T3))
    assert hi.plan_history([], one, 100) == (one, "append")
    assert hi.plan_history(one, two, 100) == (one + two, "append")
    assert hi.plan_history(one + two, three, 2) == (two + three, "rewrite")
    assert hi.plan_history(one + two, two, 100) == (one + two, "none")  # that run is recorded already
    changed = hi.run_records(rows[3:5], T2)
    assert hi.plan_history(one + two, changed, 100) == (one + changed, "rewrite")
    assert hi.plan_history(two, one, 100) == (one + two, "rewrite")  # an older time goes in its place
    assert hi.plan_history(one + two, three, 1) == (three, "rewrite")


def test_append_is_one_write_after_the_file_and_a_rewrite_drops_corrupt_lines(tmp_path, rows):
    path = str(tmp_path / "h.jsonl")
    one, two, three = (hi.run_records(rows[:2], time) for time in (T1, T2, T3))
    hi.write_history(path, "", one, one, "append")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"schema_version": 1, "time": "torn')  # a write cut short: no newline
    text, old, warnings, skipped = hi.read_history(path)
    assert old == one and skipped == 1 and warnings == [f"history {path}: line 3: not JSON (Unterminated string "
                                                        "starting at); the line is skipped"]
    kept, mode = hi.plan_history(old, two, 100)
    hi.write_history(path, text, kept, two, mode)
    assert hi.read_history(path)[1] == one + two  # the new lines start on a line of their own
    kept, mode = hi.plan_history(one + two, three, 2)
    hi.write_history(path, text, kept, three, mode)
    with open(path, encoding="utf-8") as handle:
        assert [json.loads(line) for line in handle] == two + three
    assert sorted(os.listdir(tmp_path)) == ["h.jsonl"] and oct(os.stat(path).st_mode & 0o777) == "0o644"


def test_corrupt_and_foreign_lines_are_skipped_with_one_warning_each_up_to_five(rows):
    good = hi.run_records(rows[:1], T1)[0]
    lines = ["not json", "[1, 2]", json.dumps({**good, "schema_version": 2}), json.dumps({**good, "time": "yesterday"}),
             json.dumps({**good, "state": "bogus"}), json.dumps({**good, "flows_total": -1}), json.dumps({**good, "router": ""}),
             "", json.dumps(good)]
    records, warnings, skipped = hi.parse_history("\n".join(lines) + "\n", "H")
    assert records == [good] and skipped == 7
    assert warnings[:3] == ["history H: line 1: not JSON (Expecting value); the line is skipped",
                            "history H: line 2: not a JSON object; the line is skipped",
                            "history H: line 3: schema_version 2, this collection reads 1; the line is skipped"]
    assert "line 4: time 'yesterday'" in warnings[3] and "line 5: state 'bogus'" in warnings[4]
    assert warnings[5] == "history H: 2 more line(s) skipped" and len(warnings) == 6


def test_an_unreadable_history_names_the_file(tmp_path):
    (tmp_path / "h.jsonl").mkdir()
    with pytest.raises(FlowOffloadError, match="history_runs: cannot read the history .*h.jsonl"):
        hi.read_history(str(tmp_path / "h.jsonl"))
    assert hi.read_history(str(tmp_path / "missing.jsonl")) == ("", [], [], 0)


def test_trend_counts_states_and_the_share_per_run(rows):
    records = hi.run_records(rows, T2) + hi.run_records(rows[:4], T1)
    runs = hi.trend(records)
    assert [r["time"] for r in runs] == [T1, T2]
    summary = rep.summarize(rows)
    assert runs[1]["states"] == summary["states"] and runs[1]["hosts"] == len(rows)
    assert runs[1]["offloaded_pct"] == summary["flows"]["offloaded_pct"]
    assert runs[1]["hw_offloaded_pct"] == summary["flows"]["hw_offloaded_pct"]
    assert runs[1]["hardware_capable_hosts"] == summary["hardware_capable_hosts"]
    assert runs[0]["hosts"] == 4 and sum(runs[0]["states"].values()) == 4 and list(runs[0]["states"]) == list(STATES)


# --- the schema ---------------------------------------------------------------------------------------
def test_the_report_json_follows_the_shipped_schema(rows, schema):
    runs = hi.trend(hi.run_records(rows[:5], T1) + hi.run_records(rows, T3))
    contents, _summary = rep.render_all(rows, "F", T3, runs, {"file": "x-history.jsonl", "runs": 2})
    data = json.loads(contents["json"])
    jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)
    jsonschema.validate(json.loads(rep.render_all(rows[:0], "F", T3)[0]["json"]), schema,
                        cls=jsonschema.Draft202012Validator)
    for broken in ({**data, "generated": "2026-12-08 01:23:45 UTC"}, {**data, "schema_version": "1"},
                   {k: v for k, v in data.items() if k != "schema_version"},
                   {**data, "hosts": [{**data["hosts"][0], "state": "bogus"}]},
                   {**data, "trend": [{**data["trend"][0], "time": "2026-12-08T01:23:45+00:00"}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)


def test_every_history_record_follows_the_schema_and_the_reader_agrees(rows, schema):
    validator = record_validator(schema)
    records = hi.run_records(rows, T3)
    for record in records:
        validator.validate(record)
    lines = [json.dumps(r) for r in records]
    good = records[0]
    for broken in ({**good, "schema_version": 2}, {**good, "time": "2026-12-08"}, {**good, "state": "x"},
                   {**good, "flows_total": -3}, {**good, "router": ""}, {k: v for k, v in good.items() if k != "state"}):
        assert not validator.is_valid(broken)
        lines.append(json.dumps(broken))
    read, _warnings, skipped = hi.parse_history("\n".join(lines), "H")
    assert read == records and skipped == 6
