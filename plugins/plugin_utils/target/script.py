# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one typed interface to the target: a read script and an apply script (private).

The target needs only ``/bin/sh`` (busybox ash is enough) and the tools the collection
calls (``nft``; on OpenWrt ``uci``, ``fw4``, ``opkg``/``apk``): never Python.

read -> plan -> apply -> verify:

1. ``read_script(reads)`` renders one POSIX sh script that runs every ``Read`` and prints
   each result as a delimited section; ``parse_sections`` turns its stdout into a
   ``Snapshot`` (key -> ``Section(rc, out, err)``). One round trip.
2. The planners (pure module_utils) take the ``Snapshot`` and return an ``ApplySpec``.
3. ``apply_script(spec)`` renders the one script that changes the host: it takes the host
   lock, re-checks that the state planned from is unchanged, stages every file next to its
   target, runs the preparatory steps, validates the nft batch with ``nft -c``, applies it
   as one ``nft -f`` transaction, moves the files into place, runs the follow-up steps and
   reads back the result. One more round trip, only when something changes.
4. ``parse_apply`` gives the read-back ``Snapshot`` and how the script ended.

Every value from the user reaches a script through ``shq`` (single quotes), so a device
name such as ``eth0; flush ruleset`` is only ever a string (and validation refuses it
before any script is rendered).
"""
from __future__ import annotations

import dataclasses
import re
import secrets
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)

LOCK_FILE = "flowoffload.lock"
LOCK_TIMEOUT = 120
# Where binaries live on the platforms we support (OpenWrt keeps some in /usr/sbin).
PATH_EXTRA = "/usr/sbin:/sbin:/usr/bin:/bin:/usr/local/sbin:/usr/local/bin"


def shq(value: t.Any) -> str:
    """One sh word for value, exactly as given (single-quoted)."""
    text = str(value)
    if text and re.fullmatch(r"[A-Za-z0-9_./:=@%+,-]+", text):
        return text
    return "'" + text.replace("'", "'\\''") + "'"


def argv(*words: t.Any) -> str:
    """A command line of quoted words."""
    return " ".join(shq(word) for word in words)


_SENTENCE_END = re.compile(r"[.;:!?](?=\s)")


def clip(text: str, limit: int = 800, where: str = "the result's stdout and stderr") -> str:
    """text for an error message: its start (which names the cause), cut at a boundary.

    Whole lines while they fit in limit characters; when the first line alone is longer, its
    whole sentences (else its whole words). What was left out is counted and ``where`` says
    where the full text is (callers put it into a result key)."""
    text = (text or "").strip()
    if len(text) <= limit:
        return text
    kept = ""
    for line in text.splitlines():
        candidate = f"{kept}\n{line}" if kept else line
        if len(candidate) > limit:
            break
        kept = candidate
    if not kept:
        head = text[:limit]
        ends = [m.end() for m in _SENTENCE_END.finditer(head)]
        cut = ends[-1] if ends else head.rfind(" ")
        kept = head[:cut] if cut > 0 else head
    kept = kept.rstrip()
    return f"{kept} [... {len(text) - len(kept)} more characters in {where}]"


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
def _prelude(nonce: str) -> str:
    return f"""\
LC_ALL=C; LANG=C; export LC_ALL LANG
PATH="${{PATH:-/usr/bin:/bin}}:{PATH_EXTRA}"; export PATH
umask 022
fo_nonce={nonce}
fo_t=$(mktemp -d 2>/dev/null) || {{ fo_t=/tmp/flowoffload.$$; mkdir -p "$fo_t"; }}
trap 'rm -rf "$fo_t"' EXIT
: >"$fo_t/o"; : >"$fo_t/e"
fo_head() {{ printf '@@%s %s@@\n' "$fo_nonce" "$1"; }}
fo_tail() {{
  printf '\n@@%s-err@@\n' "$fo_nonce"
  [ ! -s "$fo_t/e" ] || fo_rd "$fo_t/e"
  printf '\n@@%s-end %s@@\n' "$fo_nonce" "$1"
}}
fo_emit() {{
  fo_head "$1"
  [ ! -s "$fo_t/o" ] || cat "$fo_t/o"
  fo_tail "$2"
}}
fo_cap() {{
  fo_head "$1"; shift
  "$@" 2>"$fo_t/e"; fo_tail $?
}}
fo_rc() {{ return "$1"; }}
fo_val() {{
  fo_v=''
  {{ read -r fo_v <"$1" || [ -n "$fo_v" ]; }} 2>/dev/null
}}
fo_rd() {{
  fo_rl=''
  [ -r "$1" ] || {{ echo "cannot read $1" >&2; return 1; }}
  while IFS= read -r fo_rl; do printf '%s\n' "$fo_rl"; done <"$1"
  [ -z "$fo_rl" ] || printf '%s' "$fo_rl"
}}
fo_file() {{
  [ -e "$1" ] || {{ echo absent >&2; return 2; }}
  fo_rd "$1"
}}
"""


# Code that may leave the shell or change its state runs in a subshell; the rest runs in
# a brace group (a fork costs tens of ms on a slow router, or a VM under TCG).
_NEEDS_SUBSHELL = re.compile(r"\b(exit|cd|trap|set|shift|exec|umask|return|export|unset)\b")


def _section_code(read: Read) -> str:
    """sh that prints one section: stdout streamed, stderr kept aside, rc at the end."""
    if read.dynamic:
        return read.code.rstrip("\n") + "\n"
    code = read.code.rstrip()
    group = f"(\n{code}\n)" if _NEEDS_SUBSHELL.search(code) else f"{{\n{code}\n}}"
    return f"fo_head {shq(read.key)}\n{group} 2>\"$fo_t/e\"\nfo_tail $?\n"


def proc_sys_code(names: t.Iterable[str], dotted: bool) -> str:
    """sh printing ``NAME=VALUE`` for each readable /proc/sys value (names as paths below
    /proc/sys, printed with dots when dotted), in ONE process: the kernel answers an integer
    sysctl only to a read at offset 0, so the shell's byte-by-byte ``read`` would see its
    first digit only."""
    paths = " ".join(shq("/proc/sys/" + name) for name in names)
    name_expr = 'f = FILENAME; sub(/^\\/proc\\/sys\\//, "", f)' + ('; gsub(/\\//, ".", f)' if dotted else "")
    return (f"fo_gl=''\nfor fo_x in {paths}; do\n  if [ -r \"$fo_x\" ]; then fo_gl=\"$fo_gl $fo_x\"; fi\ndone\n"
            "# shellcheck disable=SC2086\n"
            f"if [ -n \"$fo_gl\" ]; then awk 'FNR == 1 {{ {name_expr}; print f \"=\" $0 }}' $fo_gl; fi")


def when_tool(tool: str, code: str) -> str:
    """code where tool is on the host, else rc 127 and ``TOOL: not found`` without a process
    (hosts read sections of tools they lack: uci, fw4 and ubus off OpenWrt)."""
    return f"if command -v {tool} >/dev/null 2>&1; then\n  {code}\nelse echo '{tool}: not found' >&2; fo_rc 127; fi"


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
        body.append(_section_code(read))
    return "#!/bin/sh\n# flowoffload.nft: read\n" + _prelude(nonce) + "".join(body), nonce


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
    marker_re = re.compile(rf"^@@{re.escape(nonce)}-(\w+) ?(.*)@@$", re.M)
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
    """

    key: str
    code: str
    check: bool = True


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

    def changes(self) -> bool:
        return bool(self.files or self.pre or self.nft or self.post)

    def extend(self, other: ApplySpec) -> ApplySpec:
        self.expect += other.expect
        self.files += other.files
        self.pre += other.pre
        self.nft += other.nft
        self.post += other.post
        self.readback += other.readback
        return self


def _printf_to(content: str, dest: str) -> str:
    """sh that writes content to dest byte for byte (no heredoc: no trailing newline added)."""
    chunks = [content[i:i + 4000] for i in range(0, len(content), 4000)] or [""]
    first = f"printf '%s' {shq(chunks[0])} >{dest}"
    return "\n".join([first] + [f"printf '%s' {shq(chunk)} >>{dest}" for chunk in chunks[1:]])


# Where the lock lives: the first of these that is a writable directory (tests point it elsewhere).
LOCK_DIRS = ("/run", "/tmp")


def lock_code() -> str:
    """sh taking the host lock for the apply script (``fo_stop failed lock ...`` when it cannot).

    The lock exists only while a run holds it: no run leaves a file behind (where /run is
    missing it lives in /tmp, where a lock file left by every run would pile up in the
    operator's view). Two schemes, both safe to remove while others wait:

    - ``flock`` (util-linux): open LOCK, ``flock -w`` it, then check that LOCK still names
      the file this run locked (``[ LOCK -ef /proc/$$/fd/9 ]``). A holder removes LOCK
      *before* it releases the lock (the EXIT trap runs ``rm``; the descriptor closes when
      the shell exits). A run that opened the file before that ``rm`` and gets the lock after
      it holds a file no path names any more: it sees the mismatch, closes it and opens LOCK
      again (a new file). So at any time at most one run holds the lock on the file LOCK
      names, only that run removes it, and a waiter never proceeds on a removed file.
    - without ``flock`` (OpenWrt's busybox): ``mkdir LOCK.d``, atomic on every filesystem.
      The directory exists only while held (the EXIT trap removes it) and holds the holder's
      pid. A holder that was killed (kill -9) leaves it behind: a waiter that finds a dead pid
      takes the lock over only under a second ``mkdir`` (``LOCK.t``), re-reading the pid
      there, so two waiters that both saw the dead pid never remove each other's fresh lock;
      a directory without a pid yet is being created, not stale. (OpenWrt's ``lock`` applet
      is not used: its file stays, holding the pid of a helper process that keeps the lock.)

    HUP, INT and TERM end the script through ``exit``, so the EXIT trap releases the lock when
    the connection drops too.
    """
    dirs = " ".join(shq(d) for d in LOCK_DIRS)
    timeout = LOCK_TIMEOUT
    held = f"another flowoffload.nft run holds $fo_lock for more than {timeout}s"
    return f"""\
fo_lockdir=''
for fo_x in {dirs}; do
  if [ -d "$fo_x" ] && [ -w "$fo_x" ]; then fo_lockdir=$fo_x; break; fi
done
[ -n "$fo_lockdir" ] || fo_stop failed lock "no writable directory for the lock ({' '.join(LOCK_DIRS)}; run with become: true)"
fo_lock="$fo_lockdir/{LOCK_FILE}"
fo_held=''
fo_i=0
if command -v flock >/dev/null 2>&1; then
  while :; do
    exec 9>>"$fo_lock" || fo_stop failed lock "cannot open $fo_lock (run with become: true)"
    flock -w {timeout} 9 || fo_stop failed lock "{held}"
    # without /proc no run can check, so none removes the file (it is kept, as before)
    if [ ! -e "/proc/$$/fd/9" ]; then break; fi
    # the run before us removed the file it held (and we then locked): open the new one;
    # -ef is not POSIX, but busybox ash's and dash's test have it
    # shellcheck disable=SC3013
    if [ "$fo_lock" -ef "/proc/$$/fd/9" ]; then fo_held=flock; break; fi
    exec 9>&-
    fo_i=$((fo_i + 1)); [ "$fo_i" -lt {timeout} ] || fo_stop failed lock "{held}"
  done
else
  # a pid is alive while /proc/PID exists (kill -0 alone would call another user's run dead)
  fo_alive() {{ [ -d "/proc/$1" ] || kill -0 "$1" 2>/dev/null; }}
  fo_lock="$fo_lock.d"
  while ! mkdir "$fo_lock" 2>/dev/null; do
    [ -w "$fo_lockdir" ] || fo_stop failed lock "cannot create $fo_lock (run with become: true)"
    fo_p=''
    [ ! -r "$fo_lock/pid" ] || read -r fo_p <"$fo_lock/pid" || :
    if [ -n "$fo_p" ] && ! fo_alive "$fo_p" && mkdir "$fo_lockdir/{LOCK_FILE}.t" 2>/dev/null; then
      fo_q=''
      [ ! -r "$fo_lock/pid" ] || read -r fo_q <"$fo_lock/pid" || :
      if [ "$fo_q" = "$fo_p" ]; then rm -rf "$fo_lock"; fi
      rmdir "$fo_lockdir/{LOCK_FILE}.t"
      continue
    fi
    fo_i=$((fo_i + 1))
    [ "$fo_i" -lt {timeout} ] || fo_stop failed lock "{held} (if no run is active, a killed one left it: remove it)"
    sleep 1
  done
  echo $$ >"$fo_lock/pid"
  fo_held=dir
fi
fo_release() {{
  case $fo_held in
    flock) rm -f "$fo_lock" ;;
    dir) rm -rf "$fo_lock" ;;
  esac
}}
trap 'rm -rf "$fo_t"; fo_release' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
"""


def apply_script(spec: ApplySpec, nonce: str | None = None) -> tuple[str, str]:
    """(script, nonce): the one script that applies spec, in the order the module doc states.

    It ends with a marker ``@@NONCE-result STATUS KEY@@``: ``ok -``, ``stale KEY`` (the
    state changed since the read: nothing was changed), ``failed KEY`` (nothing was
    changed when KEY is ``lock``, ``stage:PATH``, ``pre-check``, ``nft-check``) or
    ``failed-after KEY`` (the nft batch or files were applied; a follow-up step failed).
    """
    nonce = nonce or new_nonce()
    # file contents are printf data in single quotes: a '$' in them must not expand (SC2016)
    out = ["#!/bin/sh\n# flowoffload.nft: apply\n# shellcheck disable=SC2016\n", _prelude(nonce)]
    out.append(
        "fo_staged=''\n"
        "fo_stop() {\n"
        "  for fo_f in $fo_staged; do rm -f \"$fo_f\"; done\n"
        "  printf '@@%s-result %s %s@@\\n' \"$fo_nonce\" \"$1\" \"$2\"\n"
        "  [ -z \"${3:-}\" ] || printf '%s\\n' \"$3\" >&2\n"
        "  exit 3\n"
        "}\n"
    )
    out.append(lock_code())
    # 1. the state we planned from must be the state we change
    for index, exp in enumerate(spec.expect):
        want = f'"$fo_t/x{index}"'
        out.append(_printf_to(exp.out, want) + "\n")
        out.append(f"(\n{exp.code.rstrip()}\n) >\"$fo_t/o\" 2>\"$fo_t/e\"\n")
        out.append(f"cmp -s \"$fo_t/o\" {want} || {{ fo_emit {shq('stale:' + exp.key)} 1; fo_stop stale {shq(exp.key)}; }}\n")
    # 2. stage files next to their targets: a full disk stops here, before any change
    for change in spec.files:
        if change.content is None:
            continue
        path = shq(change.path)
        tmp = shq(f"{change.path}.fo-new")
        out.append(
            f"if ! {{ mkdir -p \"$(dirname {path})\" && {_printf_to(change.content, tmp)} && chmod {change.mode} {tmp}; }} 2>\"$fo_t/e\"; then\n"
            f"  : >\"$fo_t/o\"; fo_emit {shq('stage:' + change.path)} 1; rm -f {tmp}\n"
            f"  fo_stop failed {shq('stage:' + change.path)}\n"
            "fi\n"
            f"fo_staged=\"$fo_staged {tmp}\"\n"
        )
    # 3. preparatory steps (packages, modules) and 4. validate + apply the nft batch
    for step in spec.pre:
        out.append(_step_code(step, "failed"))
    if spec.nft:
        batch = "".join(f"{line}\n" for line in spec.nft)
        out.append(_printf_to(batch, '"$fo_t/batch"') + "\n")
        out.append(_step_code(Step("nft-check", 'nft -c -f "$fo_t/batch"'), "failed"))
        out.append(_step_code(Step("nft-apply", 'nft -f "$fo_t/batch"'), "failed"))
    # 5. move the staged files into place, remove the dropped ones
    for change in spec.files:
        path = shq(change.path)
        if change.content is None:
            code = f"rm -f {path}"
        else:
            code = f"mv -f {shq(change.path + '.fo-new')} {path}"
        out.append(_step_code(Step("file:" + change.path, code), "failed-after"))
    out.append("fo_staged=''\n")
    # 6. follow-up steps (units, sysctl, uci) and 7. the read-back
    for step in spec.post:
        out.append(_step_code(step, "failed-after"))
    for read in spec.readback:
        out.append(_section_code(read))
    out.append("printf '@@%s-result ok -@@\\n' \"$fo_nonce\"\n")
    return "".join(out), nonce


def _step_code(step: Step, status: str) -> str:
    code = f"(\n{step.code.rstrip()}\n) >\"$fo_t/o\" 2>\"$fo_t/e\"\nfo_rc=$?\nfo_emit {shq(step.key)} \"$fo_rc\"\n"
    if step.check:
        code += f"[ \"$fo_rc\" -eq 0 ] || fo_stop {status} {shq(step.key)}\n"
    return code


@dataclasses.dataclass(frozen=True)
class ApplyResult:
    status: str  # ok | stale | failed | failed-after | lost
    key: str
    snapshot: Snapshot
    stdout: str
    stderr: str
    rc: int

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
        return ApplyResult("lost", "", snapshot, stdout, stderr, rc)
    status, _sep, key = result.partition(" ")
    return ApplyResult(status, key.strip(), snapshot, stdout, stderr, rc)


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


def apply_host(target: Target, spec: ApplySpec) -> ApplyResult:
    """Run the apply script of spec on target (one round trip) and parse how it ended."""
    script, nonce = apply_script(spec)
    result = parse_apply(*target.run_script(script), nonce)
    _expand(result.snapshot, spec.readback)
    return result


class Target(t.Protocol):
    """What the planners need from a host: run one sh script, get (rc, stdout, stderr)."""

    def run_script(self, script: str) -> tuple[int, str, str]:
        ...  # pragma: no cover
