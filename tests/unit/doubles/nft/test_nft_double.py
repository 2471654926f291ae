# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stateful nft double answers as nft 1.0.6 does where the collection can tell."""
from __future__ import annotations

import json
import os
import subprocess
import typing as t

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "fixtures")
OWNED = "1.0.6-bookworm-handmade-ft-owned-one"


def nft(state: t.Any, *args: str, batch: str | None = None) -> tuple[int, str, str]:
    env = dict(os.environ, NFT_DOUBLE_STATE=str(state))
    proc = subprocess.run([os.path.join(HERE, "nft"), *args], input=batch, capture_output=True, text=True,
                          env=env, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def seeded(tmp_path: t.Any) -> t.Any:
    with open(os.path.join(FIXTURES, OWNED + ".txt"), encoding="utf-8") as handle:
        (tmp_path / "ruleset").write_text(handle.read())
    return tmp_path


def test_a_seeded_listing_lists_back_byte_for_byte(tmp_path: t.Any) -> None:
    state = seeded(tmp_path)
    with open(os.path.join(FIXTURES, OWNED + ".txt"), encoding="utf-8") as handle:
        assert nft(state, "list", "table", "inet", "flowoffload") == (0, handle.read(), "")
    rc, out, _err = nft(state, "-j", "list", "table", "inet", "flowoffload")
    with open(os.path.join(FIXTURES, OWNED + ".json"), encoding="utf-8") as handle:
        want = json.load(handle)["nftables"]
    got = json.loads(out)["nftables"]
    assert rc == 0 and [list(item) for item in got] == [list(item) for item in want]
    assert got[2]["flowtable"]["dev"] == ["lan0", "wan0"] and got[3]["chain"]["prio"] == 10
    assert got[4]["rule"]["expr"] == want[4]["rule"]["expr"] and got[4]["rule"]["comment"] == "flowoffload.nft:ft"


def test_check_validates_without_applying_and_a_refused_batch_changes_nothing(tmp_path: t.Any) -> None:
    state = seeded(tmp_path)
    before = (state / "ruleset").read_text()
    grow = 'add flowtable inet flowoffload ft { hook ingress priority 0; devices = { "eth1" }; }\n'
    assert nft(state, "-c", "-f", "-", batch=grow)[0] == 0
    assert (state / "ruleset").read_text() == before
    bad = grow + "delete chain inet flowoffload nosuch\n"
    rc, _out, err = nft(state, "-f", "-", batch=bad)
    assert rc == 1 and "/dev/stdin:2:" in err and "No such file or directory" in err
    assert (state / "ruleset").read_text() == before
    assert nft(state, "-f", "-", batch=grow)[0] == 0
    assert "devices = { eth1, lan0, wan0 }" in nft(state, "list", "flowtables")[1]


def test_delete_table_and_missing_objects_answer_enoent(tmp_path: t.Any) -> None:
    state = seeded(tmp_path)
    assert nft(state, "-f", "-", batch="delete table inet flowoffload\n")[0] == 0
    assert nft(state, "list", "ruleset") == (0, "", "")
    assert nft(state, "list", "table", "inet", "nosuch") == (
        1, "", "Error: No such file or directory\nlist table inet nosuch\n                ^^^^^^\n")


def test_knobs_a_kernel_without_flowtables_and_a_device_that_refuses_offload(tmp_path: t.Any, monkeypatch: t.Any) -> None:
    (tmp_path / "no-flowtables").write_text("")
    rc, _out, err = nft(tmp_path, "-c", "-f", "-", batch="add table inet t\nadd flowtable inet t ft { hook ingress priority 0; }\n")
    assert rc == 1 and err.startswith("/dev/stdin:2:1-") and "No such file or directory" in err
    (tmp_path / "no-flowtables").unlink()
    monkeypatch.setenv("NFT_REFUSE_OFFLOAD", "wan0")
    batch = 'add table inet t\nadd flowtable inet t ft { hook ingress priority 0; devices = { "wan0" }; flags offload; }\n'
    rc, _out, err = nft(tmp_path, "-f", "-", batch=batch)
    assert rc == 1 and "Operation not supported" in err and not (tmp_path / "ruleset").exists()


def test_every_answer_comes_from_the_state_and_the_log_only_records(tmp_path: t.Any) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NFT_DOUBLE_STATE"}
    proc = subprocess.run([os.path.join(HERE, "nft"), "list", "ruleset"], capture_output=True, text=True, env=env,
                          check=False)
    assert proc.returncode == 2 and "NFT_DOUBLE_STATE is not set" in proc.stderr
    log = tmp_path / "calls.log"
    env = dict(os.environ, NFT_DOUBLE_STATE=str(seeded(tmp_path)), NFT_DOUBLE_LOG=str(log))
    proc = subprocess.run([os.path.join(HERE, "nft"), "-f", "-"], input="delete table inet flowoffload\n",
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0 and log.read_text() == "nft -f -\ndelete table inet flowoffload\n"
    assert nft(tmp_path, "list", "ruleset") == (0, "", "")
