# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Side-effect-free kernel probes with ``nft -c`` (private to flowoffload.nft).

``nft -c -f -`` sends the batch to the kernel without its commit message: the kernel
validates every object (including the driver bind for ``flags offload``) and aborts the
transaction, so nothing is ever created. The throwaway table name carries the process id
so that it never collides with a real table.

Both probes answer ``(verdict, message)``: ``True``/``False`` when the kernel gave a
clear answer, ``None`` when the probe could not run or the answer proves nothing.
"""
from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.module_utils._errors import (
    classify_nft_error,
)

ProbeResult = t.Tuple[t.Optional[bool], str]

# Interface names the probe is willing to put into an nft batch: the kernel allows
# 1-15 bytes without '/', ':' or whitespace; nft needs no shell or nft metacharacter.
_SAFE_DEVICE = re.compile(r"^[A-Za-z0-9_.@+-]{1,15}$")


def probe_table_name(pid: t.Optional[int] = None) -> str:
    """Name of the throwaway table (never committed, unique per process)."""
    return f"flowoffload_probe_{os.getpid() if pid is None else pid}"


def software_batch(table: str) -> str:
    """nft batch with one flowtable and no devices: pure kernel-support check."""
    return (
        f"table inet {table} {{\n"
        "  flowtable ft {\n"
        "    hook ingress priority 0\n"
        "  }\n"
        "}\n"
    )


def hardware_batch(table: str, device: str) -> str:
    """nft batch with one flowtable on ``device`` asking for hardware offload."""
    return (
        f"table inet {table} {{\n"
        "  flowtable ft {\n"
        "    hook ingress priority 0\n"
        f'    devices = {{ "{device}" }}\n'
        "    flags offload\n"
        "  }\n"
        "}\n"
    )


def valid_probe_device(device: str) -> bool:
    return bool(_SAFE_DEVICE.match(device or "")) and device not in (".", "..")


def _first_error_line(stderr: str) -> str:
    for line in (stderr or "").splitlines():
        if "Error:" in line:
            return line.split("Error:", 1)[1].strip()
    return (stderr or "").strip().splitlines()[0].strip() if (stderr or "").strip() else ""


def interpret_software(rc: int, stderr: str) -> ProbeResult:
    """Turn the software probe's exit status and stderr into (supported, message)."""
    if rc == 0:
        return True, "nft -c accepted a flowtable: the kernel supports flowtables"
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


def probe_software(runner: t.Any) -> ProbeResult:
    """Does the kernel accept a flowtable? (None + reason when nft cannot be run)."""
    nft = runner.which("nft")
    if not nft:
        return None, "the nft binary was not found; install nftables to probe the kernel"
    res = runner.run([nft, "-c", "-f", "-"], data=software_batch(probe_table_name()))
    return interpret_software(res.rc, res.stderr)


def probe_hardware(runner: t.Any, device: str) -> ProbeResult:
    """Does the kernel accept 'flags offload' on device? (EOPNOTSUPP -> False)."""
    if not valid_probe_device(device):
        return None, (
            f"device name {device!r} is not a valid interface name (1-15 characters from "
            "letters, digits and _ . @ + -); not probed"
        )
    nft = runner.which("nft")
    if not nft:
        return None, "the nft binary was not found; install nftables to probe the kernel"
    res = runner.run([nft, "-c", "-f", "-"], data=hardware_batch(probe_table_name(), device))
    return interpret_hardware(res.rc, res.stderr, device)
