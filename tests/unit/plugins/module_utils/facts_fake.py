# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper for the offload_facts tests: a Runner that answers from fixtures."""
from __future__ import annotations

import os
import typing as t

from ansible_collections.flowoffload.nft.plugins.module_utils._runner import Result

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")


def fixture(name: str) -> str:
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


class FakeRunner:
    """Same surface as Runner; every answer comes from the dictionaries given.

    commands: maps a tuple of argv (with the binary's bare name as argv[0]) to
    (rc, stdout, stderr). Other commands answer ``default`` when given, else rc=127
    so a test notices them. by_stdin: answers for commands whose stdin contains the
    key (first match wins), for ``nft -c -f -`` probes that differ only in stdin.
    """

    def __init__(
        self,
        bins: t.Optional[t.Dict[str, str]] = None,
        commands: t.Optional[t.Dict[t.Tuple[str, ...], t.Tuple[int, str, str]]] = None,
        files: t.Optional[t.Dict[str, str]] = None,
        links: t.Optional[t.Dict[str, str]] = None,
        dirs: t.Optional[t.Dict[str, t.List[str]]] = None,
        default: t.Optional[t.Tuple[int, str, str]] = None,
        by_stdin: t.Optional[t.Dict[str, t.Tuple[int, str, str]]] = None,
        blobs: t.Optional[t.Dict[str, bytes]] = None,
    ) -> None:
        self.default = default
        self.by_stdin = by_stdin or {}
        self.blobs = blobs or {}
        self.bins = bins or {}
        self.commands = commands or {}
        self.files = files or {}
        self.links = links or {}
        self.dirs = dirs or {}
        self.calls: t.List[t.Tuple[t.List[str], t.Optional[str]]] = []

    def which(self, name: str, required: bool = False) -> t.Optional[str]:
        return self.bins.get(name)

    def run(self, argv: t.Sequence[str], data: t.Optional[str] = None) -> Result:
        cmd = list(argv)
        self.calls.append((cmd, data))
        key = (os.path.basename(cmd[0]),) + tuple(cmd[1:])
        fallback = self.default or (127, "", f"unexpected command {key}")
        answer = self.commands.get(key, fallback)
        for marker, stdin_answer in self.by_stdin.items():
            if data is not None and marker in data:
                answer = stdin_answer
                break
        rc, out, err = answer
        return Result(rc, out, err, cmd)

    def read(self, path: str) -> t.Optional[str]:
        return self.files.get(path)

    def read_bytes(self, path: str) -> t.Optional[bytes]:
        if path in self.blobs:
            return self.blobs[path]
        text = self.files.get(path)
        return None if text is None else text.encode("latin-1")

    def exists(self, path: str) -> bool:
        return path in self.files or path in self.links or path in self.dirs or path in self.blobs

    def listdir(self, path: str) -> t.List[str]:
        return sorted(self.dirs.get(path, []))

    def readlink(self, path: str) -> t.Optional[str]:
        return self.links.get(path)
