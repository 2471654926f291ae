# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper for the offload_kmod tests: a Runner over an in-memory host.

Files, folders and binaries are dictionaries; commands answer from a table or from a
callable (so a test can make ``modprobe`` change /proc/modules, as the kernel would).
"""
from __future__ import annotations

import os
import typing as t

from ansible_collections.flowoffload.nft.plugins.module_utils._errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.module_utils._runner import Result

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")
Answer = t.Union[t.Tuple[int, str, str], t.Callable[["KmodHost", t.List[str]], t.Tuple[int, str, str]]]


def fixture(name: str) -> str:
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


def fixture_bytes(name: str) -> bytes:
    with open(os.path.join(FIXTURES, name), "rb") as handle:
        return handle.read()


class KmodHost:
    """Same surface as _runner.Runner. Unknown commands answer rc=127 and are recorded."""

    def __init__(self, bins: t.Iterable[str] = (), files: t.Optional[t.Dict[str, t.Any]] = None,
                 dirs: t.Optional[t.Dict[str, t.List[str]]] = None,
                 commands: t.Optional[t.Dict[t.Tuple[str, ...], Answer]] = None) -> None:
        self.bins = {b: f"/usr/sbin/{b}" for b in bins}
        self.files: t.Dict[str, t.Any] = dict(files or {})
        self.dirs = dict(dirs or {})
        self.commands = dict(commands or {})
        self.calls: t.List[t.List[str]] = []
        self.writes: t.List[t.Tuple[str, str]] = []
        self.removed: t.List[str] = []

    def which(self, name: str, required: bool = False) -> t.Optional[str]:
        path = self.bins.get(name)
        if required and not path:
            raise FlowOffloadError(f"the '{name}' binary was not found on the target")
        return path

    def run(self, argv: t.Sequence[str], data: t.Optional[str] = None) -> Result:
        cmd = list(argv)
        self.calls.append(cmd)
        key = (os.path.basename(cmd[0]),) + tuple(cmd[1:])
        answer = self.commands.get(key, (127, "", f"unexpected command {key}"))
        rc, out, err = answer(self, cmd) if callable(answer) else answer
        return Result(rc, out, err, cmd)

    def check(self, argv: t.Sequence[str], data: t.Optional[str] = None, what: str = "") -> Result:
        res = self.run(argv, data)
        if res.rc != 0:
            raise FlowOffloadError(f"{what or argv[0]} failed (rc={res.rc})", rc=res.rc)
        return res

    def read(self, path: str) -> t.Optional[str]:
        value = self.files.get(path)
        return value.decode("latin-1") if isinstance(value, bytes) else value

    def read_bytes(self, path: str) -> t.Optional[bytes]:
        value = self.files.get(path)
        return value.encode("utf-8") if isinstance(value, str) else value

    def exists(self, path: str) -> bool:
        return path in self.files or path in self.dirs

    def listdir(self, path: str) -> t.List[str]:
        return sorted(self.dirs.get(path, []))

    def readlink(self, path: str) -> t.Optional[str]:
        return None

    def write(self, path: str, content: str, mode: int = 0o644) -> None:
        self.writes.append((path, content))
        self.files[path] = content

    def remove(self, path: str) -> bool:
        self.removed.append(path)
        return self.files.pop(path, None) is not None

    def ran(self, *binaries: str) -> t.List[t.List[str]]:
        """Calls whose binary is one of binaries (basename)."""
        return [c for c in self.calls if os.path.basename(c[0]) in binaries]
