# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import fcntl
import os

import pytest

from ansible_collections.flowoffload.nft.plugins.module_utils._errors import FlowOffloadError
from ansible_collections.flowoffload.nft.plugins.module_utils import _lock
from ansible_collections.flowoffload.nft.plugins.module_utils._lock import host_lock


def test_lock_is_exclusive_and_released(tmp_path) -> None:
    path = str(tmp_path / "flowoffload.lock")
    with host_lock(path, timeout=1):
        other = open(path, "a+", encoding="utf-8")
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            other.close()
    # released: taking it again works at once
    with host_lock(path, timeout=0):
        pass


def test_lock_times_out_with_a_clear_error(tmp_path) -> None:
    path = str(tmp_path / "flowoffload.lock")
    holder = open(path, "a+", encoding="utf-8")
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with pytest.raises(FlowOffloadError, match="another flowoffload.nft run holds"):
            with host_lock(path, timeout=0.3):
                pass
    finally:
        holder.close()


def test_lock_falls_back_to_tmp_when_folder_is_missing(tmp_path) -> None:
    missing = str(tmp_path / "nope" / "flowoffload-unit.lock")
    try:
        with host_lock(missing, timeout=1):
            assert os.path.exists("/tmp/flowoffload-unit.lock")
    finally:
        os.unlink("/tmp/flowoffload-unit.lock")


def test_lock_not_openable_says_become(monkeypatch, tmp_path) -> None:
    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", args[0])

    monkeypatch.setattr(_lock, "open", denied, raising=False)
    with pytest.raises(FlowOffloadError, match="become: true"):
        with host_lock(str(tmp_path / "flowoffload.lock"), timeout=0):
            pass
