# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one exception, and the translation of nft's errors into advice.

Private to flowoffload.nft: no compatibility promise outside the collection.
"""
from __future__ import annotations

import re
import typing as t


class FlowOffloadError(Exception):
    """Raised by the controller code; the action (plugin_utils/action.py) turns it into the
    task's failed result once: ``msg`` and the details as result keys."""

    def __init__(self, msg: str, **details: t.Any) -> None:
        super().__init__(msg)
        self.msg = msg
        # cmd, rc, stdout, stderr, commands, ... passed through to fail_json
        self.details = {k: v for k, v in details.items() if v is not None}


# (pattern in nft's stderr, kind)
_NFT_ERRORS = (
    (re.compile(r"No such file or directory"), "enoent"),
    (re.compile(r"Operation not supported|Not supported"), "eopnotsupp"),
    (re.compile(r"File exists"), "eexist"),
    (re.compile(r"Device or resource busy"), "ebusy"),
    (re.compile(r"Operation not permitted|Permission denied"), "eperm"),
    (re.compile(r"syntax error|Error: "), "syntax"),
)


def classify_nft_error(stderr: str) -> str:
    """Return one of enoent, eopnotsupp, eexist, ebusy, eperm, syntax, unknown."""
    for pattern, kind in _NFT_ERRORS:
        if pattern.search(stderr or ""):
            return kind
    return "unknown"


_HINTS = {
    "enoent": (
        "the kernel answered ENOENT: either it lacks flowtable support (nf_flow_table, "
        "nf_flow_table_inet, nft_flow_offload; load them with flowoffload.nft.offload_kmod, "
        "on OpenWrt install kmod-nft-offload) or a listed device does not exist"
    ),
    "eopnotsupp": (
        "the kernel answered 'Not supported': a device's driver cannot offload flows to "
        "hardware; use offload=false or offload=auto, or drop that device"
    ),
    "eexist": (
        "the kernel answered 'File exists': a device is already in another flowtable of "
        "the same table; remove it from the other flowtable or from devices"
    ),
    "ebusy": "the kernel answered 'Device or resource busy': a rule still uses the object",
    "eperm": (
        "permission denied: nft needs CAP_NET_ADMIN; run the task as root (become: true)"
    ),
}


def nft_hint(stderr: str) -> str:
    """A human sentence explaining nft's error, or '' when there is nothing to add."""
    return _HINTS.get(classify_nft_error(stderr), "")
