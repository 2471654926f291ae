# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read ethtool features and driver info through the SIOCETHTOOL ioctl (private).

No ``ethtool`` binary needed: the structures of ``<linux/ethtool.h>`` are packed with
``struct`` into an ``array`` whose address goes into a ``struct ifreq``; the kernel
fills the array in place. Packing and unpacking are pure functions tested on bytes;
only :func:`_ioctl` talks to the kernel. Read-only requests only (GDRVINFO,
GSSET_INFO, GSTRINGS, GFEATURES), which need no privilege.

The parser for ``ethtool -k`` / ``ethtool -i`` text is the fallback when the ioctl
is not possible (for instance a Python without ``fcntl``).
"""
from __future__ import annotations

import array
import re
import socket
import struct
import typing as t

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None  # type: ignore[assignment]

SIOCETHTOOL = 0x8946
ETHTOOL_GDRVINFO = 0x00000003
ETHTOOL_GSTRINGS = 0x0000001B
ETHTOOL_GSSET_INFO = 0x00000037
ETHTOOL_GFEATURES = 0x0000003A
ETH_SS_FEATURES = 4
ETH_GSTRING_LEN = 32
IFNAMSIZ = 16
IFREQ_SIZE = 40  # sizeof(struct ifreq) on 64-bit; larger than on 32-bit, never smaller

# struct ethtool_sset_info { u32 cmd; u32 reserved; u64 sset_mask; u32 data[1]; }
_SSET_INFO = struct.Struct("=IIQI")
# struct ethtool_gstrings { u32 cmd; u32 string_set; u32 len; u8 data[]; }
_GSTRINGS_HEAD = struct.Struct("=III")
# struct ethtool_gfeatures { u32 cmd; u32 size; struct { u32 available, requested,
#                            active, never_changed; } features[]; }
_GFEATURES_HEAD = struct.Struct("=II")
_FEATURE_BLOCK = struct.Struct("=IIII")
# struct ethtool_drvinfo { u32 cmd; char driver[32], version[32], fw_version[32],
#                          bus_info[32], erom_version[32], reserved2[12];
#                          u32 n_priv_flags, n_stats, testinfo_len, eedump_len, regdump_len; }
_DRVINFO = struct.Struct("=I32s32s32s32s32s12sIIIII")

Features = t.Dict[str, t.Dict[str, bool]]


class EthtoolError(Exception):
    """The ioctl path cannot answer (no such device, not supported, no fcntl)."""


# --- pure packing / unpacking ------------------------------------------------------
def pack_ifreq(ifname: str, data_address: int) -> bytes:
    """struct ifreq with ifr_name = ifname and ifr_data = data_address."""
    name = ifname.encode()
    if not name or len(name) >= IFNAMSIZ:
        raise EthtoolError(f"interface name {ifname!r} must be 1-15 bytes")
    raw = struct.pack(f"@{IFNAMSIZ}sP", name, data_address)
    return raw + b"\0" * (IFREQ_SIZE - len(raw))


def pack_sset_info(string_set: int = ETH_SS_FEATURES) -> bytes:
    return _SSET_INFO.pack(ETHTOOL_GSSET_INFO, 0, 1 << string_set, 0)


def unpack_sset_info(raw: bytes, string_set: int = ETH_SS_FEATURES) -> int:
    """Number of strings in the set, or raise when the kernel did not report it."""
    _cmd, _reserved, mask, count = _SSET_INFO.unpack(raw[: _SSET_INFO.size])
    if not mask & (1 << string_set):
        raise EthtoolError(f"string set {string_set} not reported by the driver")
    return count


def pack_gstrings(count: int, string_set: int = ETH_SS_FEATURES) -> bytes:
    head = _GSTRINGS_HEAD.pack(ETHTOOL_GSTRINGS, string_set, count)
    return head + b"\0" * (count * ETH_GSTRING_LEN)


def unpack_gstrings(raw: bytes) -> t.List[str]:
    _cmd, _set, count = _GSTRINGS_HEAD.unpack(raw[: _GSTRINGS_HEAD.size])
    names = []
    base = _GSTRINGS_HEAD.size
    for index in range(count):
        chunk = raw[base + index * ETH_GSTRING_LEN: base + (index + 1) * ETH_GSTRING_LEN]
        names.append(chunk.split(b"\0", 1)[0].decode("ascii", errors="replace"))
    return names


def feature_blocks(count: int) -> int:
    return (count + 31) // 32


def pack_gfeatures(count: int) -> bytes:
    blocks = feature_blocks(count)
    return _GFEATURES_HEAD.pack(ETHTOOL_GFEATURES, blocks) + b"\0" * (blocks * _FEATURE_BLOCK.size)


def unpack_gfeatures(raw: bytes, names: t.Sequence[str]) -> Features:
    """Map feature name -> {active, available (changeable), requested}."""
    _cmd, blocks = _GFEATURES_HEAD.unpack(raw[: _GFEATURES_HEAD.size])
    words = [
        _FEATURE_BLOCK.unpack_from(raw, _GFEATURES_HEAD.size + i * _FEATURE_BLOCK.size)
        for i in range(blocks)
    ]
    result: Features = {}
    for index, name in enumerate(names):
        if not name or index // 32 >= len(words):
            continue
        available, requested, active, _never = words[index // 32]
        bit = 1 << (index % 32)
        result[name] = {
            "active": bool(active & bit),
            "available": bool(available & bit),
            "requested": bool(requested & bit),
        }
    return result


def pack_drvinfo() -> bytes:
    return _DRVINFO.pack(ETHTOOL_GDRVINFO, b"", b"", b"", b"", b"", b"", 0, 0, 0, 0, 0)


def unpack_drvinfo(raw: bytes) -> t.Dict[str, str]:
    fields = _DRVINFO.unpack(raw[: _DRVINFO.size])

    def text(value: bytes) -> str:
        return value.split(b"\0", 1)[0].decode("utf-8", errors="replace")

    return {
        "driver": text(fields[1]),
        "version": text(fields[2]),
        "firmware_version": text(fields[3]),
        "bus_info": text(fields[4]),
    }


# --- the kernel ----------------------------------------------------------------------
def _ioctl(ifname: str, request: bytes) -> bytes:
    """Send one SIOCETHTOOL request for ifname; return the buffer the kernel filled."""
    if fcntl is None:
        raise EthtoolError("fcntl is not available on this Python")
    buf = array.array("B", request)
    address, _length = buf.buffer_info()
    ifreq = pack_ifreq(ifname, address)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)
    except OSError as exc:
        raise EthtoolError(f"SIOCETHTOOL on {ifname}: {exc.strerror or exc}") from exc
    finally:
        sock.close()
    return buf.tobytes()


def read_features(ifname: str) -> Features:
    """All ethtool features of ifname (as ``ethtool -k`` shows them)."""
    count = unpack_sset_info(_ioctl(ifname, pack_sset_info()))
    names = unpack_gstrings(_ioctl(ifname, pack_gstrings(count)))
    return unpack_gfeatures(_ioctl(ifname, pack_gfeatures(count)), names)


def read_drvinfo(ifname: str) -> t.Dict[str, str]:
    return unpack_drvinfo(_ioctl(ifname, pack_drvinfo()))


# --- text fallback -------------------------------------------------------------------
_FEATURE_LINE = re.compile(r"^\s*([a-z0-9][a-z0-9-]*):\s+(on|off)(\s+\[(fixed|requested \w+)\])?\s*$")


def parse_ethtool_k(text: str) -> Features:
    """Parse ``ethtool -k DEV`` output into the same shape as :func:`read_features`."""
    result: Features = {}
    for line in (text or "").splitlines():
        match = _FEATURE_LINE.match(line)
        if not match:
            continue
        active = match.group(2) == "on"
        note = match.group(4) or ""
        requested = active
        if note.startswith("requested"):
            requested = note.split()[1] == "on"
        result[match.group(1)] = {
            "active": active,
            "available": note != "fixed",
            "requested": requested,
        }
    return result


def parse_ethtool_i(text: str) -> t.Dict[str, str]:
    """Parse ``ethtool -i DEV`` (driver, version, firmware-version, bus-info)."""
    keys = {"driver": "driver", "version": "version", "firmware-version": "firmware_version",
            "bus-info": "bus_info"}
    result: t.Dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in keys:
            result[keys[key.strip()]] = value.strip()
    return result
