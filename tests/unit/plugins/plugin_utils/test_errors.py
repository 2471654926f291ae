# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
    classify_nft_error,
    nft_hint,
)

# stderr lines as nft 1.0.6 prints them (captured in the lab VM and on this host)
ENOENT = "/dev/stdin:3:11-12: Error: Could not process rule: No such file or directory\n"
EOPNOTSUPP = "/dev/stdin:2:1-40: Error: Could not process rule: Operation not supported\n"
EEXIST = "Error: Could not process rule: File exists\n"
EBUSY = "Error: Could not process rule: Device or resource busy\n"
EPERM = "Error: Could not process rule: Operation not permitted\n"
SYNTAX = "/dev/stdin:1:14-14: Error: syntax error, unexpected '}'\n"


@pytest.mark.parametrize(
    "stderr,kind",
    [
        (ENOENT, "enoent"),
        (EOPNOTSUPP, "eopnotsupp"),
        ("Error: Could not process rule: Not supported\n", "eopnotsupp"),
        (EEXIST, "eexist"),
        (EBUSY, "ebusy"),
        (EPERM, "eperm"),
        (SYNTAX, "syntax"),
        ("", "unknown"),
        ("segfault", "unknown"),
    ],
)
def test_classify(stderr: str, kind: str) -> None:
    assert classify_nft_error(stderr) == kind


def test_hints_name_the_fix() -> None:
    assert "nf_flow_table" in nft_hint(ENOENT)
    assert "kmod-nft-offload" in nft_hint(ENOENT)
    assert "offload=auto" in nft_hint(EOPNOTSUPP)
    assert "another flowtable" in nft_hint(EEXIST)
    assert "become" in nft_hint(EPERM)
    assert nft_hint(SYNTAX) == ""


def test_error_keeps_only_given_details() -> None:
    err = FlowOffloadError("boom", cmd=["nft"], rc=1, stdout=None)
    assert err.msg == "boom"
    assert str(err) == "boom"
    assert err.details == {"cmd": ["nft"], "rc": 1}
