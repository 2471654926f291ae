# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsing of nft output: version, flowtables, chains, rules (private).

JSON output (``nft -j``) gives structure; it omits table comments and the flowtable flags
``offload`` and ``counter``, which are read from the text listing of the same objects.
Everything here takes text and returns data (the read script gets the text).
"""
from __future__ import annotations

import json
import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)

FAMILIES = ("inet", "ip", "ip6", "netdev", "arp", "bridge")

# nft standard priority names (nft(8), "STANDARD PRIORITY NAMES"), valid for the
# filter type of the ip/ip6/inet families.  For a flowtable (ingress hook) only
# "filter" is accepted in practice.
_FLOWTABLE_KEYWORDS = {"filter": 0}
_CHAIN_KEYWORDS = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}

_PRIORITY_RE = re.compile(r"^\s*([a-z]+)\s*(?:([+-])\s*(\d+))?\s*$")
_INT_RE = re.compile(r"^\s*[+-]?\d+\s*$")
_VERSION_RE = re.compile(r"v?(\d+\.\d+(?:\.\d+)*)")
_IDENT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
# kernel: IFNAMSIZ 16 including the NUL; nft: a device name is a string token, so
# anything nft's scanner or the kernel would read differently is refused.
_DEVICE_RE = re.compile(r"^[A-Za-z0-9_.+-]+$")
_DEVICE_MAX = 15
_IDENT_MAX = 255

# Words nft's scanner (src/scanner.l) turns into keyword tokens in every state, plus the
# hook and statement words of older releases: as a bare table/chain/flowtable name they make
# nft's parser fail with a syntax error that does not name the option, so they are refused.
_RESERVED = frozenset("""
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
""".split())
# The kernel keeps a hook priority as a signed 32-bit integer (NFTA_FLOWTABLE_HOOK_PRIORITY).
PRIORITY_MIN, PRIORITY_MAX = -(2 ** 31), 2 ** 31 - 1
# IANA protocol numbers nft prints when /etc/protocols is missing (meta l4proto { 6, 17 }).
PROTOCOL_NUMBERS = {"tcp": 6, "udp": 17}
_PROTOCOL_NAMES = {number: name for name, number in PROTOCOL_NUMBERS.items()}


def parse_version(text: str) -> str:
    """Version from ``nft --version`` ("nftables v1.0.6 (Lester Gooch #5)" -> "1.0.6")."""
    match = _VERSION_RE.search(text or "")
    if not match:
        raise FlowOffloadError(f"cannot read the nft version from {text.strip()!r}")
    return match.group(1)


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def resolve_priority(value: t.Any, keywords: t.Mapping[str, int] | None = None) -> int:
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


def _priority_number(value: t.Any, table: t.Mapping[str, int]) -> int | None:
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


def _priority_msg(value: t.Any, table: t.Mapping[str, int]) -> str:
    names = ", ".join(sorted(table))
    return (
        f"priority: {value!r} is not a valid flowtable priority; use an integer "
        f"(e.g. 0 or -10) or {names}, optionally with '+ N' or '- N' (e.g. 'filter + 5')"
    )


def validate_identifier(value: t.Any, option: str) -> str:
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


def device_problem(value: t.Any) -> str:
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


def validate_device(value: t.Any) -> str:
    """value as a device name, or FlowOffloadError naming the problem and the fix."""
    problem = device_problem(value)
    if problem:
        raise FlowOffloadError(
            f"devices: {value!r} {problem}; a device name is 1-15 characters of letters, "
            "digits, '_', '-', '+' and '.' (no whitespace, '/', ':', quotes, ';', braces, "
            "'$', '@' or other nft metacharacters); fix the devices list"
        )
    return value


# --- JSON -----------------------------------------------------------------------------
def load_json(json_text: str) -> list[dict[str, t.Any]]:
    """The list under "nftables" (empty for empty output), without metainfo entries."""
    if not (json_text or "").strip():
        return []
    try:
        data = json.loads(json_text)
    except ValueError as exc:
        raise FlowOffloadError(f"cannot parse nft JSON output: {exc}") from None
    items = data.get("nftables", []) if isinstance(data, dict) else []
    return [item for item in items if isinstance(item, dict) and "metainfo" not in item]


def _devices(raw: t.Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw]
    return sorted(str(dev) for dev in raw)


# --- text -----------------------------------------------------------------------------
_TABLE_RE = re.compile(r"^table\s+(\S+)\s+(\S+)\s*\{\s*$")
_FT_RE = re.compile(r"^flowtable\s+(\S+)\s*\{\s*$")
_COMMENT_RE = re.compile(r'^comment\s+"((?:[^"\\]|\\.)*)"\s*;?\s*$')


def _unquote(name: str) -> str:
    return name[1:-1] if len(name) >= 2 and name[0] == name[-1] == '"' else name


def parse_text(text: str) -> dict[str, t.Any]:
    """Table comments and flowtable flags from text output.

    Returns ``{"comments": {(family, table): comment}, "flags": {(family, table, name):
    {"offload": bool, "counter": bool}}}``.
    """
    comments: dict[tuple[str, str], str] = {}
    flags: dict[tuple[str, str, str], dict[str, bool]] = {}
    table: tuple[str, str] | None = None
    flowtable: tuple[str, str, str] | None = None
    depth = 0
    for raw_line in (text or "").splitlines():
        line = re.sub(r"\s*# handle \d+$", "", raw_line.strip())
        if not line or line.startswith("#"):
            continue
        opens, closes = line.count("{"), line.count("}")
        match = _TABLE_RE.match(line)
        if depth == 0 and match:
            table = (match.group(1), _unquote(match.group(2)))
        elif depth == 1 and table:
            ft_match = _FT_RE.match(line)
            comment = _COMMENT_RE.match(line)
            if ft_match:
                flowtable = (table[0], table[1], _unquote(ft_match.group(1)))
                flags[flowtable] = {"offload": False, "counter": False}
            elif comment:
                comments[table] = comment.group(1)
        elif depth == 2 and flowtable:
            words = line.rstrip(";").split()
            if words[:1] == ["flags"]:
                names = " ".join(words[1:]).replace(",", " ").split()
                flags[flowtable]["offload"] = "offload" in names
            elif words == ["counter"]:
                flags[flowtable]["counter"] = True
        depth += opens - closes
        if depth <= 1:
            flowtable = None
        if depth <= 0:
            depth, table = 0, None
    return {"comments": comments, "flags": flags}


def parse_flowtables(json_text: str, text: str) -> list[dict[str, t.Any]]:
    """Normalized flowtables (see docs/design.md) from ``nft -j list ...`` plus text."""
    flags = parse_text(text)["flags"]
    result = []
    for item in load_json(json_text):
        ft = item.get("flowtable")
        if not isinstance(ft, dict):
            continue
        key = (ft.get("family", ""), ft.get("table", ""), ft.get("name", ""))
        found = flags.get(key, {})
        result.append(
            {
                "family": key[0],
                "table": key[1],
                "name": key[2],
                "hook": ft.get("hook", "ingress"),
                "priority": int(ft.get("prio", 0)),
                "devices": _devices(ft.get("dev")),
                "offload": bool(found.get("offload", False)),
                "counter": bool(found.get("counter", False)),
            }
        )
    return sorted(result, key=lambda ft: (ft["family"], ft["table"], ft["name"]))


def _objects(json_text: str, kind: str, fields: t.Mapping[str, tuple[str, t.Any]]) -> list[dict[str, t.Any]]:
    """The ``kind`` objects of a JSON listing in listing order, as {key: obj[json_key] or default}
    (a callable default, such as ``list``, gives each object a value of its own)."""
    out = []
    for item in load_json(json_text):
        obj = item.get(kind)
        if isinstance(obj, dict):
            out.append({key: obj[name] if name in obj else (default() if callable(default) else default)
                        for key, (name, default) in fields.items()})
    return out


_CHAIN_FIELDS = {"family": ("family", ""), "table": ("table", ""), "name": ("name", ""), "handle": ("handle", None),
                 "type": ("type", None), "hook": ("hook", None), "priority": ("prio", None), "policy": ("policy", None)}
_RULE_FIELDS = {"family": ("family", ""), "table": ("table", ""), "chain": ("chain", ""), "handle": ("handle", None),
                "comment": ("comment", ""), "expr": ("expr", list)}


def parse_chains(json_text: str) -> list[dict[str, t.Any]]:
    """Chains: family, table, name, handle, and for base chains type, hook, priority, policy."""
    return _objects(json_text, "chain", _CHAIN_FIELDS)


def parse_rules(json_text: str) -> list[dict[str, t.Any]]:
    """Rules in listing order: family, table, chain, handle, comment, expr."""
    return _objects(json_text, "rule", _RULE_FIELDS)


def rule_offload_target(rule: t.Mapping[str, t.Any]) -> tuple[str | None, list[str]]:
    """For a ``meta l4proto {...} flow add @NAME`` rule: (NAME, sorted protocols)."""
    target: str | None = None
    protocols: list[str] = []
    for expr in rule.get("expr") or []:
        if not isinstance(expr, dict):
            continue
        if "flow" in expr and isinstance(expr["flow"], dict):
            target = str(expr["flow"].get("flowtable", "")).lstrip("@") or None
        match = expr.get("match")
        if isinstance(match, dict) and match.get("left") == {"meta": {"key": "l4proto"}}:
            right = match.get("right")
            if isinstance(right, dict) and "set" in right:
                right = right["set"]
            values = right if isinstance(right, list) else [right]
            protocols = normalize_protocols(values)
    return target, protocols


def protocol_number(value: t.Any) -> int | None:
    """6 for tcp/'6'/6, 17 for udp: nft prints numbers when /etc/protocols is missing."""
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    return PROTOCOL_NUMBERS.get(text)


def normalize_protocols(values: t.Iterable[t.Any]) -> list[str]:
    """Protocol names ordered by number (tcp, udp); numbers without a name stay numbers."""
    numbers = []
    for value in values:
        number = protocol_number(value)
        numbers.append(number if number is not None else str(value))
    ints = sorted({n for n in numbers if isinstance(n, int)})
    other = sorted({n for n in numbers if not isinstance(n, int)})
    return [_PROTOCOL_NAMES.get(n, str(n)) for n in ints] + other


def offload_rule(rule: t.Mapping[str, t.Any]) -> tuple[str, list[str]] | None:
    """(NAME, protocols) when the rule is exactly ``meta l4proto P flow add @NAME`` (what the
    collection renders, whatever the comment), else None."""
    exprs = [e for e in rule.get("expr") or [] if isinstance(e, dict)]
    if len(exprs) != 2 or set(exprs[0]) != {"match"} or set(exprs[1]) != {"flow"}:
        return None
    match, flow = exprs[0]["match"], exprs[1]["flow"]
    if not isinstance(match, dict) or match.get("left") != {"meta": {"key": "l4proto"}}:
        return None
    if match.get("op", "==") not in ("==", "in") or not isinstance(flow, dict) or flow.get("op") != "add":
        return None
    target, protocols = rule_offload_target(rule)
    return (target, protocols) if target and protocols else None


def other_objects(json_text: str) -> list[str]:
    """'KIND NAME' of every object of a listing that is not a table, flowtable, chain or rule."""
    found = []
    for item in load_json(json_text):
        for kind, body in item.items():
            if kind not in ("table", "flowtable", "chain", "rule"):
                name = body.get("name", "") if isinstance(body, dict) else ""
                found.append(f"{kind} {name}".strip())
    return found


def chain_rule_lines(text: str, chain: str) -> list[str]:
    """The rule lines of one chain in a text listing, in order (handles stripped)."""
    lines: list[str] = []
    inside = False
    depth = 0
    for raw_line in (text or "").splitlines():
        line = re.sub(r"\s*# handle \d+$", "", raw_line.strip())
        if not line:
            continue
        if not inside:
            depth += line.count("{") - line.count("}")
            if depth == 2 and re.match(rf"^chain\s+\"?{re.escape(chain)}\"?\s*\{{$", line):
                inside = True
            continue
        if line == "}":
            break
        if not re.match(r"^(type|policy|comment|devices)\b", line):
            lines.append(line)
    return lines
