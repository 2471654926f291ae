# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helpers for the flowtable tests: a Runner that answers from captured fixtures."""
from __future__ import annotations

import os
import typing as t

from ansible_collections.flowoffload.nft.plugins.module_utils._errors import FlowOffloadError
from ansible_collections.flowoffload.nft.plugins.module_utils._runner import Result

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")
Answer = t.Tuple[int, str, str]
MISSING_TABLE = "1.0.6-bookworm-host-ft-list-table-missing.stderr"


def fixture(name: str) -> str:
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return handle.read()


class FtRunner:
    """Same surface as Runner.

    commands maps argv tuples (binary by bare name) to an answer, or to a list of answers
    consumed in order.  Batches (``nft -c -f -`` / ``nft -f -``) are answered by
    ``batch(check: bool, data: str) -> Answer`` (default: accepted).  Unknown commands
    answer ENOENT like nft does for a missing object, so reads of absent objects work.
    """

    def __init__(
        self,
        commands: t.Optional[t.Dict[t.Tuple[str, ...], t.Union[Answer, t.List[Answer]]]] = None,
        devices: t.Iterable[str] = (),
        files: t.Optional[t.Dict[str, str]] = None,
        batch: t.Optional[t.Callable[[bool, str], Answer]] = None,
        bins: t.Iterable[str] = ("nft", "systemctl"),
        openwrt: bool = False,
    ) -> None:
        self.commands = dict(commands or {})
        self.devices = set(devices)
        self.files = dict(files or {})
        if openwrt:
            self.files["/etc/openwrt_release"] = "DISTRIB_ID='OpenWrt'\n"
        self.batch = batch or (lambda check, data: (0, "", ""))
        self.bins = set(bins)
        self.calls: t.List[t.Tuple[t.Tuple[str, ...], t.Optional[str]]] = []
        self.batches: t.List[t.Tuple[bool, str]] = []
        self.written: t.Dict[str, str] = {}
        self.removed: t.List[str] = []

    def which(self, name: str, required: bool = False) -> t.Optional[str]:
        if name in self.bins:
            return f"/usr/sbin/{name}"
        if required:
            raise FlowOffloadError(f"the '{name}' binary was not found on the target; install it")
        return None

    def run(self, argv: t.Sequence[str], data: t.Optional[str] = None) -> Result:
        key = tuple([os.path.basename(argv[0])] + list(argv[1:]))
        self.calls.append((key, data))
        if key in (("nft", "-c", "-f", "-"), ("nft", "-f", "-")):
            check = key[1] == "-c"
            self.batches.append((check, data or ""))
            rc, out, err = self.batch(check, data or "")
        elif key in self.commands:
            answer = self.commands[key]
            if isinstance(answer, list):
                answer = answer.pop(0) if len(answer) > 1 else answer[0]
            rc, out, err = answer
        elif key[:1] in (("uci",), ("fw4",)):
            rc, out, err = 0, "", ""
        elif key[:1] == ("systemctl",):
            rc, out, err = (1, "disabled\n", "") if "is-enabled" in key else (0, "", "")
        else:
            rc, out, err = 1, "", fixture(MISSING_TABLE)
        return Result(rc, out, err, list(argv))

    def check(self, argv: t.Sequence[str], data: t.Optional[str] = None, what: str = "") -> Result:
        res = self.run(argv, data)
        if res.rc:
            raise FlowOffloadError(f"{what} failed", rc=res.rc, stderr=res.stderr)
        return res

    def read(self, path: str) -> t.Optional[str]:
        return self.files.get(path)

    def exists(self, path: str) -> bool:
        if path.startswith("/sys/class/net/"):
            return path.rsplit("/", 1)[1] in self.devices
        return path in self.files

    def write(self, path: str, content: str, mode: int = 0o644) -> None:
        self.files[path] = content
        self.written[path] = content

    def remove(self, path: str) -> bool:
        self.removed.append(path)
        return self.files.pop(path, None) is not None

    def nft_reads(self) -> t.List[t.Tuple[str, ...]]:
        return [key for key, _data in self.calls if key[:1] == ("nft",) and "list" in key]


def listing(prefix: str, *args: str) -> t.Dict[t.Tuple[str, ...], Answer]:
    """Commands answering ``nft -j list ARGS`` / ``nft list ARGS`` from PREFIX.json/.txt."""
    answers: t.Dict[t.Tuple[str, ...], Answer] = {("nft", "-j", "list", *args): (0, fixture(f"{prefix}.json"), "")}
    txt = os.path.join(FIXTURES, f"{prefix}.txt")
    if os.path.exists(txt):
        answers[("nft", "list", *args)] = (0, fixture(f"{prefix}.txt"), "")
    return answers
