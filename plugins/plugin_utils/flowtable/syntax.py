# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The words of nft as the collection accepts them (pure, private).

Identifiers (table, chain, flowtable names), device names (THE device rule,
``device_problem``, and THE normalizer of a device list, ``normalize_devices``),
priorities and protocols. Options, the parser, the probe, the facts and the profile all
use these; ``flowtable.nft`` re-exports them under the names other packages import.
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)

# nft standard priority names (nft(8), "STANDARD PRIORITY NAMES"), valid for the
# filter type of the ip/ip6/inet families.  For a flowtable (ingress hook) only
# "filter" is accepted in practice.
_FLOWTABLE_KEYWORDS = {"filter": 0}
_CHAIN_KEYWORDS = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}

_PRIORITY_RE = re.compile(r"^\s*([a-z]+)\s*(?:([+-])\s*(\d+))?\s*$")
_INT_RE = re.compile(r"^\s*[+-]?\d+\s*$")
_IDENT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
# kernel: IFNAMSIZ 16 including the NUL; nft: a device name is a string token, so
# anything nft's scanner or the kernel would read differently is refused.
_DEVICE_RE = re.compile(r"^[A-Za-z0-9_.+-]+$")
_DEVICE_MAX = 15
_IDENT_MAX = 255

# Words nft's scanner (src/scanner.l) turns into keyword tokens in every state, plus the
# hook and statement words of older releases: as a bare table/chain/flowtable name they make
# nft's parser fail with a syntax error that does not name the option, so they are refused.
_RESERVED_WORDS = """
eq ne le lt ge gt lshift rshift xor and or not vmap include define redefine undefine describe
hook device devices table chain rule set element map flowtable handle ruleset socket tproxy
accept drop continue jump goto return to inet netdev add replace update create insert delete get
list reset flush rename import export monitor destroy position index comment constant interval
dynamic auto-merge timeout gc-interval elements expires policy size flow offload meter counter
last log queue limit quota hour day second minute week reject snat dnat masquerade redirect
random th bridge ether type typeof vlan arp ip ecn time icmp icmpv6 igmp ip6 priority ah esp comp
flags udp udplite vxlan vni geneve gre gretap tcp dccp sctp rt rt0 rt2 srh hbh frag dst mh meta
mark iif iifname iiftype oif oifname oiftype skuid skgid nftrace rtclassid ibriport ibrname
obriport obrname pkttype cpu iifgroup oifgroup cgroup ct numgen jhash symhash dup fwd fib osf
synproxy tunnel notrack all exists missing exthdr ipsec secmark xt ingress egress chains sets
tables flowtables counters quotas rules meters maps
"""
_RESERVED = frozenset(_RESERVED_WORDS.split())
# The kernel keeps a hook priority as a signed 32-bit integer (NFTA_FLOWTABLE_HOOK_PRIORITY).
PRIORITY_MIN, PRIORITY_MAX = -(2 ** 31), 2 ** 31 - 1
# IANA protocol numbers nft prints when /etc/protocols is missing (meta l4proto { 6, 17 }).
PROTOCOL_NUMBERS = {"tcp": 6, "udp": 17}
_PROTOCOL_NAMES = {number: name for name, number in PROTOCOL_NUMBERS.items()}


def resolve_priority(value: object, keywords: t.Mapping[str, int] | None = None) -> int:
    """Priority as an int: ints, numeric strings, ``filter``, ``filter + N``, ``filter - N``.

    Anything else raises FlowOffloadError naming the ``priority`` option.
    """
    table = _FLOWTABLE_KEYWORDS if keywords is None else keywords
    number = _priority_number(value, table)
    if number is None:
        raise FlowOffloadError(_priority_msg(value, table))
    if not PRIORITY_MIN <= number <= PRIORITY_MAX:
        raise FlowOffloadError(
            f"priority: {value!r} is outside the kernel's signed 32-bit hook priority range "
            f"({PRIORITY_MIN} to {PRIORITY_MAX}); use a value in that range, e.g. 0 or filter + 5"
        )
    return number


def _priority_number(value: object, table: t.Mapping[str, int]) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        if _INT_RE.match(value):
            return int(value)
        match = _PRIORITY_RE.match(value)
        if match and match.group(1) in table:
            base = table[match.group(1)]
            if match.group(2):
                offset = int(match.group(3))
                return base + offset if match.group(2) == "+" else base - offset
            return base
    return None


def _priority_msg(value: object, table: t.Mapping[str, int]) -> str:
    names = ", ".join(sorted(table))
    return (
        f"priority: {value!r} is not a valid flowtable priority; use an integer "
        f"(e.g. 0 or -10) or {names}, optionally with '+ N' or '- N' (e.g. 'filter + 5')"
    )


def validate_identifier(value: object, option: str) -> str:
    """An nft identifier (table, chain, flowtable name) we can render unquoted."""
    text = value if isinstance(value, str) else ""
    if (
        not text
        or len(text.encode()) > _IDENT_MAX
        or not _IDENT_RE.match(text)
        or text.lower() in _RESERVED
    ):
        raise FlowOffloadError(
            f"{option}: {value!r} is not a valid nft identifier; use a letter followed by "
            "letters, digits, '_', '-' or '.' (at most 255 bytes), not an nft keyword such "
            "as 'table', 'flow', 'fwd' or 'ingress' (nft's parser reads those as keywords); "
            f"choose another {option}"
        )
    return text


def device_problem(value: object) -> str:
    """What makes value no device name nft and the kernel read the same way ("" if none).

    The one device rule of the collection: options, the probe and the facts all use it.
    """
    text = value if isinstance(value, str) else ""
    if not text:
        return "is empty"
    if not _DEVICE_RE.match(text):
        bad = sorted({ch for ch in text if not re.match(r"[A-Za-z0-9_.+-]", ch)})
        return f"contains {' '.join(repr(ch) for ch in bad)}"
    if len(text.encode()) > _DEVICE_MAX:
        return f"is {len(text.encode())} bytes long (the kernel allows at most {_DEVICE_MAX})"
    if text in (".", ".."):
        return "is not a device name"
    return ""


def validate_device(value: object) -> str:
    """value as a device name, or FlowOffloadError naming the problem and the fix."""
    problem = device_problem(value)
    if problem or not isinstance(value, str):
        raise FlowOffloadError(
            f"devices: {value!r} {problem}; a device name is 1-15 characters of letters, "
            "digits, '_', '-', '+' and '.' (no whitespace, '/', ':', quotes, ';', braces, "
            "'$', '@' or other nft metacharacters); fix the devices list"
        )
    return value


def normalize_devices(devices: t.Iterable[str]) -> tuple[str, ...]:
    """THE normalized device list: sorted, each name once (model, options, parser, files)."""
    return tuple(sorted(set(devices)))


def protocol_number(value: object) -> int | None:
    """6 for tcp/'6'/6, 17 for udp: nft prints numbers when /etc/protocols is missing."""
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    return PROTOCOL_NUMBERS.get(text)


def normalize_protocols(values: t.Iterable[object]) -> list[str]:
    """Protocol names ordered by number (tcp, udp); numbers without a name stay numbers."""
    numbers = []
    for value in values:
        number = protocol_number(value)
        numbers.append(number if number is not None else str(value))
    ints = sorted({n for n in numbers if isinstance(n, int)})
    other = sorted({n for n in numbers if not isinstance(n, int)})
    return [_PROTOCOL_NAMES.get(n, str(n)) for n in ints] + other
