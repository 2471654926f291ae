# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one typed interface to the target: a read script and an apply script (private).

The target needs only ``/bin/sh`` (busybox ash is enough) and the tools the collection
calls (``nft``; on OpenWrt ``uci``, ``fw4``, ``opkg``/``apk``): never Python.

read -> plan -> apply -> verify:

1. ``read_script(reads)`` renders one POSIX sh script that runs every ``Read`` and prints
   each result as a delimited section; ``parse_sections`` turns its stdout into a
   ``Snapshot`` (key -> ``Section(rc, out, err)``). One round trip.
2. The planners (pure, in the part packages) take the ``Snapshot`` and return an ``ApplySpec``.
3. ``apply_script(spec)`` renders the one script that changes the host: it takes the host
   lock, re-checks that the state planned from is unchanged, stages every file next to its
   target, runs the preparatory steps, validates the nft batch with ``nft -c``, applies it
   as one ``nft -f`` transaction, moves the files into place, runs the follow-up steps and
   reads back the result. One more round trip, only when something changes.
4. ``parse_apply`` gives the read-back ``Snapshot`` and how the script ended.

The fixed sh is in script files beside this one, rendered by ``target.sh``:
``prelude.sh`` (locale, PATH, the section framing), ``apply.sh`` (how an apply stops and
reports), ``lock.sh`` (the host lock), ``proc_sys.sh``; ``target.render`` frames each Read,
Expect, file and Step between them.

Every value from the user reaches a script through ``shq`` (single quotes; defined in
``target.sh``, imported from here), so a device name such as ``eth0; flush ruleset`` is only
ever a string (and validation refuses it before any script is rendered).
"""
from __future__ import annotations

import dataclasses
import re
import secrets
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import render, sh
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.sh import argv, shq
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.text import clip

__all__ = ["FlowOffloadError", "argv", "shq"]  # re-exported: every part quotes through target.script

LOCK_FILE = "flowoffload.lock"
LOCK_TIMEOUT = 120
# Where the lock lives: the first of these that is a writable directory (tests point it elsewhere).
LOCK_DIRS = ("/run", "/tmp")
# Where binaries live on the platforms we support (OpenWrt keeps some in /usr/sbin).
PATH_EXTRA = "/usr/sbin:/sbin:/usr/bin:/bin:/usr/local/sbin:/usr/local/bin"
_sh = sh.here(__file__)


@dataclasses.dataclass(frozen=True)
class Read:
    """One section of the read script: ``code`` is sh; stdout, stderr and rc are kept.

    With ``dynamic=True`` the code emits its own sections through ``fo_cap KEY CMD...``
    (for loops over devices) and ``key`` is only a prefix that names the group.
    ``expand`` (optional) turns the section into others once read (one command that
    answers for several keys, such as the probes' one ``nft -c`` batch).
    """

    key: str
    code: str
    dynamic: bool = False
    expand: t.Callable[[Section], dict[str, Section]] | None = dataclasses.field(
        default=None, compare=False)


@dataclasses.dataclass(frozen=True)
class Section:
    rc: int
    out: str
    err: str = ""

    @property
    def ok(self) -> bool:
        return self.rc == 0


class Snapshot:
    """What a read (or the read-back of an apply) printed, by key."""

    def __init__(self, sections: t.Mapping[str, Section]) -> None:
        self.sections: dict[str, Section] = dict(sections)

    def get(self, key: str) -> Section | None:
        return self.sections.get(key)

    def out(self, key: str) -> str | None:
        """stdout of a section that succeeded, else None."""
        sec = self.sections.get(key)
        return sec.out if sec is not None and sec.rc == 0 else None

    def text(self, key: str) -> str:
        """stdout of a section whatever its rc ('' when it is absent)."""
        sec = self.sections.get(key)
        return sec.out if sec is not None else ""

    def with_prefix(self, prefix: str) -> dict[str, Section]:
        """Sections whose key starts with prefix, keyed by the rest of the key."""
        return {k[len(prefix):]: v for k, v in self.sections.items() if k.startswith(prefix)}

    def merged(self, other: Snapshot) -> Snapshot:
        return Snapshot({**self.sections, **other.sections})

    def __contains__(self, key: object) -> bool:
        return key in self.sections

    def __repr__(self) -> str:
        return f"Snapshot({sorted(self.sections)})"


# --- the script prelude ------------------------------------------------------------------
def prelude_code(nonce: str | None = None) -> str:
    """prelude.sh: locale, PATH, the temporary folder and the section framing functions
    (nonce: the marker of the script's sections; a new one when not given)."""
    return _sh("prelude.sh", {"fo_nonce": nonce or new_nonce(), "fo_path": PATH_EXTRA})


def lock_code() -> str:
    """lock.sh: the host lock of the apply script (``fo_stop failed lock ...`` when it cannot
    be taken); the file says how it works. Reads LOCK_DIRS when called (tests point it elsewhere)."""
    return _sh("lock.sh", {"fo_lock_dirs": sh.words(LOCK_DIRS), "fo_lock_name": LOCK_FILE,
                           "fo_lock_wait": LOCK_TIMEOUT})


# The record of an armed rollback (target/confirm.py): the first writable of these (tmpfs), and
# how long an apply waits for another run's pending confirmation or rollback to end.
ARM_DIRS = ("/run", "/tmp")
ARM_WAIT = 120


def rollback_code() -> str:
    """rollback.sh: the functions of the rollback record (every apply waits for an armed one
    to end before it takes the lock; confirm.py arms, confirms and expires with them)."""
    return _sh("rollback.sh", {"fo_arm_dirs": sh.words(ARM_DIRS), "fo_arm_wait": ARM_WAIT})


def proc_sys_code(names: t.Iterable[str], dotted: bool) -> str:
    """sh printing ``NAME=VALUE`` for each readable /proc/sys value (names as paths below
    /proc/sys, printed with dots when dotted), in ONE process (proc_sys.sh says why)."""
    return _sh("proc_sys.sh", {"fo_sys_paths": sh.words("/proc/sys/" + name for name in names),
                               "fo_sys_dotted": int(dotted)})


def when_tool(tool: str, code: str) -> str:
    """code where tool is on the host, else rc 127 and ``TOOL: not found`` without a process
    (hosts read sections of tools they lack: uci, fw4 and ubus off OpenWrt)."""
    return f"if command -v {shq(tool)} >/dev/null 2>&1; then\n  {code}\nelse echo {shq(tool + ': not found')} >&2; fo_rc 127; fi"


def file_code(path: str) -> str:
    """sh printing the file at path byte for byte (text), without a process; rc 2 and
    ``absent`` on stderr when it does not exist."""
    return f"fo_file {shq(path)}"


def new_nonce() -> str:
    return "FO" + secrets.token_hex(6)


def read_script(reads: t.Sequence[Read], nonce: str | None = None) -> tuple[str, str]:
    """(script, nonce): one sh script printing every read as a section."""
    nonce = nonce or new_nonce()
    seen: set[str] = set()
    body = []
    for read in reads:
        if read.key in seen:
            continue
        seen.add(read.key)
        body.append(render.section(read))
    return "#!/bin/sh\n# flowoffload.nft: read\n" + prelude_code(nonce) + "".join(body), nonce


def parse_sections(text: str, nonce: str) -> tuple[Snapshot, dict[str, str]]:
    """(Snapshot, markers): sections and the ``@@NONCE-result ...@@`` style markers.

    A section is ``@@NONCE KEY@@``, its stdout, ``@@NONCE-err@@``, its stderr and
    ``@@NONCE-end RC@@`` (stdout is streamed, so the exit status comes last).
    """
    sections: dict[str, Section] = {}
    markers: dict[str, str] = {}
    begin = f"@@{nonce} "
    err_mark = f"\n@@{nonce}-err@@\n"
    end_re = re.compile(rf"\n@@{re.escape(nonce)}-end (-?\d+)@@\n")
    marker_re = re.compile(rf"^@@{re.escape(nonce)}-(\w+) ?(.*)@@$", re.MULTILINE)
    pos = 0
    while True:
        start = text.find(begin, pos)
        if start < 0:
            break
        if start > 0 and text[start - 1] != "\n":
            pos = start + 1
            continue
        head_end = text.find("@@\n", start + len(begin))
        if head_end < 0:
            break
        key = text[start + len(begin):head_end]
        body_start = head_end + 3
        err_at = text.find(err_mark, body_start - 1)
        end = end_re.search(text, err_at + 1) if err_at >= 0 else None
        if " " in key or not key or err_at < 0 or end is None:
            raise FlowOffloadError(
                "the target's script output is cut short or garbled (a section has no end); "
                "see stdout", stdout=text[-2000:])
        out = text[body_start:err_at] if err_at >= body_start else ""
        err = text[err_at + len(err_mark):end.start()]
        sections[key] = Section(int(end.group(1)), out, err)
        pos = end.end()
    for match in marker_re.finditer(text):
        if match.group(1) not in ("err", "end"):
            markers[match.group(1)] = match.group(2)
    return Snapshot(sections), markers


# --- apply ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class FileChange:
    """Write ``content`` to ``path`` (atomically), or remove it when content is None."""

    path: str
    content: str | None
    mode: str = "0644"


@dataclasses.dataclass(frozen=True)
class Step:
    """A command of the apply script (sh code built with ``argv``); its result is a section.

    ``check``: a non-zero exit stops the script there and reports ``failed KEY``.
    ``runtime``: a follow-up step that makes the change take effect (fw4's reload); with a
    rollback armed it runs in the apply, while the others (units, udev, sysctl files: what
    makes the change permanent) wait for the confirm.
    """

    key: str
    code: str
    check: bool = True
    runtime: bool = False


@dataclasses.dataclass(frozen=True)
class Expect:
    """Re-checked under the lock: ``code`` must print exactly ``out`` (else 'stale')."""

    key: str
    code: str
    out: str


@dataclasses.dataclass
class ApplySpec:
    """Everything one run changes on a host (several planners' specs can be merged)."""

    expect: list[Expect] = dataclasses.field(default_factory=list)
    files: list[FileChange] = dataclasses.field(default_factory=list)
    pre: list[Step] = dataclasses.field(default_factory=list)
    nft: list[str] = dataclasses.field(default_factory=list)
    post: list[Step] = dataclasses.field(default_factory=list)
    readback: list[Read] = dataclasses.field(default_factory=list)
    # what puts the collection's running state back as read (an armed rollback runs it)
    undo_nft: list[str] = dataclasses.field(default_factory=list)
    undo: list[Step] = dataclasses.field(default_factory=list)
    # files that exist only while a rollback is armed (OpenWrt's boot-time undo of UCI values)
    arm_files: list[FileChange] = dataclasses.field(default_factory=list)

    def changes(self) -> bool:
        return bool(self.files or self.pre or self.nft or self.post)

    def extend(self, other: ApplySpec) -> ApplySpec:
        self.expect += other.expect
        self.files += other.files
        self.pre += other.pre
        self.nft += other.nft
        self.post += other.post
        self.readback += other.readback
        self.undo_nft += other.undo_nft
        self.undo += other.undo
        self.arm_files += other.arm_files
        return self


def apply_script(spec: ApplySpec, nonce: str | None = None, arm: str | None = None) -> tuple[str, str]:
    """(script, nonce): the one script that applies spec, in the order the module doc states.

    It ends with a marker ``@@NONCE-result STATUS KEY@@``: ``ok -``, ``stale KEY`` (the
    state changed since the read: nothing was changed), ``failed KEY`` (nothing was
    changed when KEY is ``lock``, ``stage:PATH``, ``pre-check``, ``nft-check``) or
    ``failed-after KEY`` (the nft batch or files were applied; a follow-up step failed).

    ``arm`` (confirm.arm_code): a commit-confirmed apply; the files stay staged and the steps
    that are not ``runtime`` wait for the confirm, and the script arms the rollback last.
    Every apply first waits for another run's armed rollback to be confirmed or carried out.
    """
    nonce = nonce or new_nonce()
    # file contents are printf data in single quotes: a '$' in them must not expand (SC2016)
    out = ["#!/bin/sh\n# flowoffload.nft: apply\n# shellcheck disable=SC2016\n", prelude_code(nonce),
           _sh("apply.sh", {}), rollback_code(), "fo_wait_disarmed\n", lock_code(),
           'if fo_armed; then fo_stop failed armed "the change of run $fo_v waits for its confirm; '
           'run again once it is confirmed or rolled back"; fi\n']
    # 1. the state we planned from must be the state we change
    out += [render.expect(index, exp) for index, exp in enumerate(spec.expect)]
    # 2. stage files next to their targets
    out += [render.stage(change) for change in spec.files if change.content is not None]
    if any(change.content is not None for change in spec.files):
        # the staged files reach the disk before any of them replaces its target: a power cut
        # after a move leaves the old or the new file, never an empty one
        out.append("sync\n")
    # 3. preparatory steps (packages, modules) and 4. validate + apply the nft batch
    out += [render.step(step, "failed") for step in spec.pre]
    if spec.nft:
        out.append(render.printf_to("".join(f"{line}\n" for line in spec.nft), '"$fo_t/batch"') + "\n")
        out.append(render.step(Step("nft-check", 'nft -c -f "$fo_t/batch"'), "failed"))
        out.append(render.step(Step("nft-apply", 'nft -f "$fo_t/batch"'), "failed"))
    # 5. move the staged files into place, remove the dropped ones (with a rollback: at the confirm)
    for change in [] if arm is not None else spec.files:
        code = argv("rm", "-f", change.path) if change.content is None else argv("mv", "-f", change.path + ".fo-new", change.path)
        out.append(render.step(Step("file:" + change.path, code), "failed-after"))
    # 6. follow-up steps (units, sysctl, uci; with a rollback only those that take effect now),
    # the rollback armed, and 7. the read-back
    out += [render.step(step, "failed-after") for step in spec.post if arm is None or step.runtime]
    if arm is not None:
        out.append("fo_boundary\n" + arm)
    out.append("fo_staged=''\n")
    out += [render.section(read) for read in spec.readback]
    out.append("fo_ok\n")
    return "".join(out), nonce


@dataclasses.dataclass(frozen=True)
class ApplyResult:
    status: str  # ok | stale | failed | failed-after | lost
    key: str
    snapshot: Snapshot
    stdout: str
    stderr: str
    rc: int
    nonce: str = ""  # the script's marker (an armed rollback's record names it)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def section(self) -> Section | None:
        """The section of the key the script stopped at (None when ok or unknown)."""
        return self.snapshot.get(self.key) or self.snapshot.get("stale:" + self.key)


def parse_apply(rc: int, stdout: str, stderr: str, nonce: str) -> ApplyResult:
    snapshot, markers = parse_sections(stdout, nonce)
    result = markers.get("result")
    if result is None:
        return ApplyResult("lost", "", snapshot, stdout, stderr, rc, nonce)
    status, _sep, key = result.partition(" ")
    return ApplyResult(status, key.strip(), snapshot, stdout, stderr, rc, nonce)


def _expand(snapshot: Snapshot, reads: t.Sequence[Read]) -> None:
    """Add the sections that reads with ``expand`` derive (a section read as such wins)."""
    for read in reads:
        section = snapshot.sections.get(read.key)
        if read.expand is not None and section is not None:
            for key, derived in read.expand(section).items():
                snapshot.sections.setdefault(key, derived)


def read_host(target: Target, reads: t.Sequence[Read]) -> Snapshot:
    """Run the read script of reads on target (one round trip) and parse it."""
    script, nonce = read_script(reads)
    rc, out, err = target.run_script(script)
    snapshot, _markers = parse_sections(out, nonce)
    _expand(snapshot, reads)
    if not snapshot.sections:
        detail = clip(err or out, 1000) or "no message"
        raise FlowOffloadError(
            f"the read script printed nothing on the target (rc={rc}): {detail}; the target needs "
            "/bin/sh (busybox ash is enough); nothing was changed", rc=rc, stdout=out, stderr=err)
    return snapshot


def apply_host(target: Target, spec: ApplySpec, arm: str | None = None) -> ApplyResult:
    """Run the apply script of spec on target (one round trip) and parse how it ended
    (arm: the rollback to arm, see apply_script)."""
    script, nonce = apply_script(spec, arm=arm)
    result = parse_apply(*target.run_script(script), nonce)
    _expand(result.snapshot, spec.readback)
    return result


class Target(t.Protocol):
    """What the planners need from a host: run one sh script, get (rc, stdout, stderr)."""

    def run_script(self, script: str) -> tuple[int, str, str]:
        ...  # pragma: no cover
