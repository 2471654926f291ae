# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host-wide lock so two runs of the collection never interleave (private)."""
from __future__ import annotations

import contextlib
import fcntl
import os
import time
import typing as t

from ansible_collections.flowoffload.nft.plugins.module_utils._errors import (
    FlowOffloadError,
)

LOCK_PATH = "/run/flowoffload.lock"


@contextlib.contextmanager
def host_lock(path: str = LOCK_PATH, timeout: float = 120.0) -> t.Iterator[None]:
    """Hold an exclusive fcntl lock on path; fail clearly after timeout seconds."""
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        path = os.path.join("/tmp", os.path.basename(path))
    try:
        handle = open(path, "a+", encoding="utf-8")  # pylint: disable=consider-using-with
    except PermissionError as exc:
        raise FlowOffloadError(
            f"cannot open the host lock ({exc}): the collection changes the kernel's state and "
            "needs root (CAP_NET_ADMIN); run the task with become: true"
        ) from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise FlowOffloadError(
                        f"another flowoffload.nft run holds {path} for more than {timeout:.0f}s; "
                        "wait for it to finish (or remove a stale lock holder) and retry"
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        handle.close()
