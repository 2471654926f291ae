# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Side-effect-free kernel probes with ``nft -c``, as one read of the read script (private).

``nft -c -f`` sends the batch to the kernel without its commit message: the kernel
validates every object (including the driver bind for ``flags offload``) and aborts the
transaction, so nothing is ever created. Every probe of a run goes into ONE batch (one
``nft`` process: each costs a full cache initialisation): a flowtable without devices
(kernel support for flowtables), then one flowtable with ``flags offload`` per device of
``/sys/class/net`` but ``lo`` (driver support), each in a throwaway table of its own,
named in sh (``flowoffload_probe_$$_N``: the pid of the script's shell), so it never
collides with a real table and needs nothing from the controller. The kernel answers
every message of a batch, and nft prints each error with the line it belongs to, so one
run gives a verdict per device.

The batch holds no listing of the owned table, though nft prints listings in check mode
too: a batch with both a ``list`` and additions makes nft load every table's rules into
its cache (0.2 s against 0.03 s beside 10,000 foreign rules on a PC, 2.4 s under TCG), so
the listing stays a process of its own and planning stays flat beside a large ruleset.

The read (``probe_read``, key ``probe:batch``) prints ``LINE DEVICE`` for the first line of
every device's block (``-`` for the software probe) and keeps nft's stderr; ``split_batch``
turns it into the sections ``probe:sw`` and ``probe:hw:<dev>`` (rc 0 or 1 and the error
lines of that block), which the verdict functions read. A snapshot may also carry those
sections directly (captured fixtures).

The batches are rendered by THE flowtable renderer (``_flowtable.render_flowtable``) with
placeholders for the table and the device, turned into a ``printf`` format (every other
``%`` and ``\\`` escaped) whose ``%s`` the shell fills in.

Verdicts are ``(True|False|None, message)``: ``True``/``False`` when the kernel gave a
clear answer, ``None`` when the probe could not run or the answer proves nothing.
"""
from __future__ import annotations

import re

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    classify_nft_error,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.model import (
    FlowtableModel,
    render_flowtable,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.syntax import (
    device_problem,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import sh
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Read,
    Section,
    Snapshot,
)

ProbeResult = tuple[bool | None, str]

SW_KEY = "probe:sw"
HW_PREFIX = "probe:hw:"
PROBE_TABLE_PREFIX = "flowoffload_probe_"
_TABLE_MARK = "\x01T"
_DEVICE_MARK = "\x01D"
_sh = sh.here(__file__)


def valid_probe_device(device: str) -> bool:
    """Whether the probe may put device into an nft batch: the collection's one device rule."""
    return not device_problem(device)


def probe_batch(device: str | None, table: str) -> str:
    """The nft batch of one probe (device None: the software probe, no devices, no flags)."""
    ft = FlowtableModel("inet", table, "ft", devices=(device,) if device else (), offload=device is not None)
    return f"add table inet {table}\n{render_flowtable(ft)}\n"


BATCH_KEY = "probe:batch"
_ERROR_LINE = re.compile(r"^\S*?:(\d+):\d+(?:-\d+)?: Error: ", re.MULTILINE)


def _format(device: str | None) -> str:
    """The printf format of one probe's batch (read_probe.sh passes the table twice, then
    the device of a hardware probe)."""
    batch = probe_batch(_DEVICE_MARK if device is not None else None, _TABLE_MARK)
    marks = re.findall("\x01[TD]", batch)
    if marks != [_TABLE_MARK, _TABLE_MARK] + ([_DEVICE_MARK] if device is not None else []):
        raise ValueError(f"read_probe.sh fills a probe's table twice, then its device: not {marks}")
    return re.sub("\x01[TD]", "%s", batch.replace("\\", "\\\\").replace("%", "%%"))


def block_lines(hardware: bool) -> int:
    """The lines of one probe's block in the batch (split_batch's arithmetic)."""
    return probe_batch(_DEVICE_MARK if hardware else None, _TABLE_MARK).count("\n")


def probe_read() -> Read:
    """``probe:batch``: the software probe and a hardware probe of every device but ``lo``,
    in one ``nft -c`` run (read_probe.sh; ``split_batch`` gives the per-probe sections)."""
    code = _sh("read_probe.sh", {"fo_probe_sw": _format(None), "fo_probe_hw": _format(""),
                                 "fo_probe_table": PROBE_TABLE_PREFIX, "fo_probe_first": block_lines(False) + 1,
                                 "fo_probe_lines": block_lines(True)})
    return Read(BATCH_KEY, code, expand=split_batch)


def split_batch(section: Section) -> dict[str, Section]:
    """The ``probe:batch`` section as ``probe:sw`` / ``probe:hw:<dev>`` sections.

    Each block gets the error lines nft printed for its lines (rc 1) or none (rc 0). When
    nft failed without naming a line (not found, no permission, killed), every block gets
    nft's rc and its whole stderr.
    """
    starts: list[tuple[int, str]] = []
    for line in section.out.splitlines():
        number, _sep, name = line.partition(" ")
        if number.isdigit() and name:
            starts.append((int(number), name))
    starts.sort()
    errors: dict[int, list[str]] = {}
    located = False
    lines = section.err.splitlines()
    for index, line in enumerate(lines):
        match = _ERROR_LINE.match(line)
        if not match:
            continue
        located = True
        at = int(match.group(1))
        owner = max((s for s, _n in starts if s <= at), default=None)
        if owner is not None:
            errors.setdefault(owner, []).extend(lines[index:index + 2])
    out: dict[str, Section] = {}
    for start, name in starts:
        key = SW_KEY if name == "-" else HW_PREFIX + name
        if section.rc != 0 and not located:
            out[key] = Section(section.rc, "", section.err)
        elif start in errors:
            out[key] = Section(1, "", "\n".join(errors[start]) + "\n")
        else:
            out[key] = Section(0, "", "")
    if not starts:  # the script stopped before its first line (no sh, no /sys): say so
        out[SW_KEY] = Section(section.rc or 1, "", section.err or "the probe printed nothing")
    return out


def _first_error_line(stderr: str) -> str:
    for line in (stderr or "").splitlines():
        if "Error:" in line:
            return line.split("Error:", 1)[1].strip()
    return (stderr or "").strip().splitlines()[0].strip() if (stderr or "").strip() else ""


def _no_nft(rc: int, stderr: str) -> bool:
    return rc == 127 or bool(re.search(r"nft: (command )?not found|nft: No such file", stderr or ""))


_NO_NFT = "the nft binary was not found on the target; install nftables to probe the kernel"


def interpret_software(rc: int, stderr: str) -> ProbeResult:
    """Turn the software probe's exit status and stderr into (supported, message)."""
    if rc == 0:
        return True, "nft -c accepted a flowtable: the kernel supports flowtables"
    if _no_nft(rc, stderr):
        return None, _NO_NFT
    kind = classify_nft_error(stderr)
    detail = _first_error_line(stderr)
    if kind == "enoent":
        return False, (
            f"the kernel rejected a flowtable with ENOENT ({detail}): it lacks flowtable "
            "support (CONFIG_NF_FLOW_TABLE / modules nf_flow_table, nf_flow_table_inet, "
            "nft_flow_offload); load or install them (flowoffload.nft.offload_kmod, on "
            "OpenWrt kmod-nft-offload)"
        )
    if kind == "eperm":
        return None, (
            f"the probe could not run ({detail}): nft needs CAP_NET_ADMIN; run as root "
            "(become: true)"
        )
    return None, f"the probe gave no answer (rc={rc}): {detail or 'no message'}"


def interpret_hardware(rc: int, stderr: str, device: str) -> ProbeResult:
    """Turn the hardware probe's exit status and stderr into (capable, message)."""
    if rc == 0:
        return True, f"nft -c accepted 'flags offload' on {device}"
    if _no_nft(rc, stderr):
        return None, _NO_NFT
    kind = classify_nft_error(stderr)
    detail = _first_error_line(stderr)
    if kind == "eopnotsupp":
        return False, f"the kernel refused 'flags offload' on {device}: {detail}"
    if kind == "enoent":
        return None, (
            f"the kernel answered ENOENT for {device} ({detail}): the device does not "
            "exist or the kernel lacks flowtable support"
        )
    if kind == "eperm":
        return None, (
            f"the probe could not run ({detail}): nft needs CAP_NET_ADMIN; run as root "
            "(become: true)"
        )
    return None, f"the probe on {device} gave no answer (rc={rc}): {detail or 'no message'}"


def software_verdict(snapshot: Snapshot) -> ProbeResult:
    """Verdict of the ``probe:sw`` section (None when it was not read)."""
    sec = snapshot.get(SW_KEY)
    if sec is None:
        return None, "the software probe did not run"
    return interpret_software(sec.rc, sec.err)


def hardware_verdicts(snapshot: Snapshot) -> dict[str, ProbeResult]:
    """{device: verdict} for every ``probe:hw:<dev>`` section of the snapshot."""
    return {dev: interpret_hardware(sec.rc, sec.err, dev)
            for dev, sec in sorted(snapshot.with_prefix(HW_PREFIX).items()) if dev}
