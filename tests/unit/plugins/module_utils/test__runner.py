# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import typing as t

import pytest

from ansible_collections.flowoffload.nft.plugins.module_utils._errors import FlowOffloadError
from ansible_collections.flowoffload.nft.plugins.module_utils._runner import Runner


class FakeModule:
    """Records what the runner asks of AnsibleModule."""

    def __init__(self, answers: t.Dict[str, t.Tuple[int, str, str]], bins: t.Dict[str, str]) -> None:
        self.answers = answers
        self.bins = bins
        self.calls: t.List[t.Dict[str, t.Any]] = []

    def get_bin_path(self, name: str, opt_dirs: t.Sequence[str] = ()) -> t.Optional[str]:
        return self.bins.get(name)

    def run_command(self, cmd: t.List[str], **kwargs: t.Any) -> t.Tuple[int, str, str]:
        self.calls.append({"cmd": cmd, **kwargs})
        return self.answers[cmd[0]]

    @staticmethod
    def atomic_move(src: str, dst: str) -> None:
        import os

        os.rename(src, dst)


def test_run_passes_a_list_stdin_and_lang_c() -> None:
    mod = FakeModule({"/usr/sbin/nft": (0, "ok\n", "")}, {})
    res = Runner(mod).run(["/usr/sbin/nft", "-c", "-f", "-"], data="add table inet t\n")
    assert res.rc == 0 and res.stdout == "ok\n" and res.cmd == ["/usr/sbin/nft", "-c", "-f", "-"]
    call = mod.calls[0]
    assert isinstance(call["cmd"], list)
    assert call["data"] == "add table inet t\n"
    assert call["binary_data"] is True
    assert call["environ_update"] == {"LANG": "C", "LC_ALL": "C"}


def test_check_raises_with_command_details() -> None:
    err_text = "Error: Could not process rule: Operation not permitted\n"
    mod = FakeModule({"nft": (1, "", err_text)}, {})
    with pytest.raises(FlowOffloadError) as info:
        Runner(mod).check(["nft", "list", "tables"], what="listing tables")
    assert "listing tables failed (rc=1)" in info.value.msg
    assert info.value.details["stderr"] == err_text
    assert info.value.details["cmd"] == ["nft", "list", "tables"]


def test_which_required_names_the_package() -> None:
    runner = Runner(FakeModule({}, {"ip": "/usr/sbin/ip"}))
    assert runner.which("ip") == "/usr/sbin/ip"
    assert runner.which("nft") is None
    with pytest.raises(FlowOffloadError, match="apt install nftables"):
        runner.which("nft", required=True)


def test_files_round_trip(tmp_path) -> None:
    runner = Runner(FakeModule({}, {}))
    target = str(tmp_path / "sub" / "f.conf")
    assert runner.read(target) is None
    runner.write(target, "nf_flow_table\n", mode=0o600)
    assert runner.read(target) == "nf_flow_table\n"
    assert runner.read_bytes(target) == b"nf_flow_table\n"
    assert runner.exists(target)
    assert runner.listdir(str(tmp_path / "sub")) == ["f.conf"]
    assert runner.remove(target) is True
    assert runner.remove(target) is False
    assert runner.listdir(str(tmp_path / "missing")) == []
