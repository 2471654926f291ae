# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Side-effect-free kernel probes with ``nft -c``, as reads of the read script (private).

``nft -c -f -`` sends the batch to the kernel without its commit message: the kernel
validates every object (including the driver bind for ``flags offload``) and aborts the
transaction, so nothing is ever created. The throwaway table is named in sh
(``flowoffload_probe_$$``: the pid of the script's shell), so it never collides with a
real table and needs nothing from the controller.

Sections (``Snapshot`` keys):

- ``probe:sw``: a flowtable without devices (kernel support for flowtables);
- ``probe:hw:<dev>``: a flowtable on <dev> with ``flags offload`` (driver support); one
  Read per listed device (``hw_probe_reads``) or one dynamic Read looping over
  ``/sys/class/net`` (``hw_probe_dynamic_read``): both emit the same sections.

The batches are rendered by THE flowtable renderer (``_flowtable.render_flowtable``) with
placeholders for the table and the device, turned into a ``printf`` format (every other
``%`` and ``\\`` escaped) whose ``%s`` the shell fills in.

Verdicts are ``(True|False|None, message)``: ``True``/``False`` when the kernel gave a
clear answer, ``None`` when the probe could not run or the answer proves nothing.
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.module_utils._errors import (
    classify_nft_error,
)
from ansible_collections.flowoffload.nft.plugins.module_utils._flowtable import (
    FlowtableModel,
    render_flowtable,
)
from ansible_collections.flowoffload.nft.plugins.module_utils._target import (
    Read,
    Snapshot,
    shq,
)

ProbeResult = t.Tuple[t.Optional[bool], str]

SW_KEY = "probe:sw"
HW_PREFIX = "probe:hw:"
PROBE_TABLE_PREFIX = "flowoffload_probe_"
# Interface names the probe is willing to put into an nft batch: the kernel allows
# 1-15 bytes without '/', ':' or whitespace; nft needs no shell or nft metacharacter.
_SAFE_DEVICE = re.compile(r"^[A-Za-z0-9_.@+-]{1,15}$")
_TABLE_MARK = "\x01T"
_DEVICE_MARK = "\x01D"
DEVICE_ARG = '"$1"'


def valid_probe_device(device: str) -> bool:
    return bool(_SAFE_DEVICE.match(device or "")) and device not in (".", "..")


def probe_batch(device: t.Optional[str], table: str) -> str:
    """The nft batch of one probe (device None: the software probe, no devices, no flags)."""
    ft = FlowtableModel("inet", table, "ft", devices=(device,) if device else (), offload=device is not None)
    return f"add table inet {table}\n{render_flowtable(ft)}\n"


def _printf_code(device: t.Optional[str], device_word: str) -> str:
    """sh: printf the probe batch (table named in sh) into ``nft -c -f -``."""
    batch = probe_batch(_DEVICE_MARK if device is not None else None, _TABLE_MARK)
    fmt = batch.replace("\\", "\\\\").replace("%", "%%")
    words = []
    for mark in re.findall("\x01[TD]", fmt):
        words.append(f'"{PROBE_TABLE_PREFIX}$$"' if mark == _TABLE_MARK else device_word)
    fmt = re.sub("\x01[TD]", "%s", fmt)
    return f"printf {shq(fmt)} {' '.join(words)} | nft -c -f -"


def software_probe_read() -> Read:
    """``probe:sw``: does the kernel accept a flowtable at all?"""
    return Read(SW_KEY, _printf_code(None, ""))


def hw_probe_reads(devices: t.Iterable[str]) -> t.List[Read]:
    """``probe:hw:<dev>`` for each listed device (names a probe cannot take are left out)."""
    return [Read(HW_PREFIX + dev, _printf_code(dev, shq(dev)))
            for dev in sorted(set(devices)) if valid_probe_device(dev)]


def hw_probe_dynamic_read() -> Read:
    """``probe:hw:<dev>`` for every device of ``/sys/class/net`` but ``lo`` (one loop)."""
    code = (
        "fo_hwprobe() {\n"
        f"  {_printf_code('', DEVICE_ARG)}\n"
        "}\n"
        "for fo_hwp in /sys/class/net/*; do\n"
        "  [ -e \"$fo_hwp\" ] || continue\n"
        "  fo_hwd=${fo_hwp##*/}\n"
        "  case $fo_hwd in lo|*[!A-Za-z0-9_.@+-]*) continue ;; esac\n"
        f"  fo_cap \"{HW_PREFIX}$fo_hwd\" fo_hwprobe \"$fo_hwd\"\n"
        "done\n"
    )
    return Read(HW_PREFIX, code, dynamic=True)


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


def hardware_verdicts(snapshot: Snapshot) -> t.Dict[str, ProbeResult]:
    """{device: verdict} for every ``probe:hw:<dev>`` section of the snapshot."""
    return {dev: interpret_hardware(sec.rc, sec.err, dev)
            for dev, sec in sorted(snapshot.with_prefix(HW_PREFIX).items()) if dev}
