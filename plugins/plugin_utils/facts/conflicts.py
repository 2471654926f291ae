# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers of what flow offload would silently bypass (offload_facts' ``conflicts``).

Offloaded packets skip everything after the ingress hook: shaping qdiscs and ifb
redirects on the forwarding devices, IPsec policies and NFQUEUE rules (private).
"""
from __future__ import annotations

import re
import typing as t

Link = dict[str, t.Any]


# --- conflicts ------------------------------------------------------------------------------
SHAPERS = frozenset(("cake", "htb", "hfsc", "tbf"))


def qdisc_conflicts(qdiscs: t.Sequence[t.Mapping[str, t.Any]], devices: t.Sequence[str]) -> list[dict[str, str]]:
    """Shaping qdiscs on candidate devices (``tc -j qdisc show``)."""
    result = []
    for q in qdiscs:
        dev, kind = q.get("dev"), q.get("kind")
        if dev in devices and kind in SHAPERS:
            where = "root" if q.get("root") else f"parent {q.get('parent', '?')}"
            result.append({"kind": "qdisc", "device": dev, "detail": (
                f"{kind} qdisc ({where}, handle {q.get('handle', '?')}) shapes {dev}: "
                "offloaded packets bypass it"
            )})
    return result


def mirred_targets(filters: t.Sequence[t.Mapping[str, t.Any]]) -> list[str]:
    """Devices that tc filters (``tc -j filter show``) redirect or mirror packets to."""
    targets: list[str] = []
    for entry in filters:
        for action in (entry.get("options") or {}).get("actions") or []:
            if action.get("kind") == "mirred" and action.get("to_dev") and action["to_dev"] not in targets:
                targets.append(action["to_dev"])
    return targets


def ifb_conflict(device: str, targets: t.Sequence[str], links: t.Mapping[str, Link],
                 qdiscs: t.Sequence[t.Mapping[str, t.Any]]) -> list[dict[str, str]]:
    result = []
    for target in targets:
        if links.get(target, {}).get("kind") != "ifb" and not target.startswith("ifb"):
            continue
        shaping = sorted({q.get("kind", "") for q in qdiscs if q.get("dev") == target and q.get("kind") in SHAPERS})
        result.append({"kind": "qdisc", "device": device, "detail": (
            f"ingress of {device} is redirected to {target}"
            + (f" ({', '.join(shaping)} there)" if shaping else "")
            + ": offloaded packets skip the ifb (ingress shaping / SQM)"
        )})
    return result


_XFRM_START = re.compile(r"^src\s+(\S+)\s+dst\s+(\S+)")


def xfrm_conflicts(text: str) -> list[dict[str, str]]:
    """``ip xfrm policy``: one conflict when real (non-socket) policies exist."""
    policies: list[tuple[str, str, str]] = []
    current: list[str] | None = None
    for line in (text or "").splitlines():
        start = _XFRM_START.match(line)
        if start:
            current = [start.group(1), start.group(2), ""]
            policies.append(current)  # type: ignore[arg-type]
        elif current is not None:
            direction = re.match(r"^\s+dir\s+(\w+)", line)
            socket_pol = re.match(r"^\s+socket\s+(\w+)", line)
            if direction:
                current[2] = direction.group(1)
            elif socket_pol:
                current[2] = "socket"
    real = [p for p in policies if p[2] and p[2] != "socket"]
    if not real:
        return []
    src, dst, direction = real[0]
    return [{"kind": "ipsec", "device": "", "detail": (
        f"{len(real)} IPsec (xfrm) polic{'y' if len(real) == 1 else 'ies'}, e.g. src {src} "
        f"dst {dst} dir {direction}: offloaded flows bypass them"
    )}]


_QUEUE_STMT = re.compile(r"(?:^|\s)queue(?:\s|$)")


def nfqueue_conflicts(ruleset: str) -> list[dict[str, str]]:
    """``queue`` statements in ``nft list ruleset`` text (one conflict per rule)."""
    result = []
    table = chain = ""
    for line in (ruleset or "").splitlines():
        stripped = line.strip()
        head = re.match(r"^table\s+(\S+\s+\S+)\s*\{", stripped)
        if head:
            table = head.group(1)
            continue
        chain_head = re.match(r"^chain\s+(\S+)\s*\{", stripped)
        if chain_head:
            chain = chain_head.group(1)
            continue
        if stripped.startswith(("type ", "comment ", "policy ", "#")):
            continue
        unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', '""', stripped)  # comments may say "queue"
        if _QUEUE_STMT.search(unquoted) and not stripped.startswith(("set ", "map ", "elements ")):
            result.append({"kind": "nfqueue", "device": "", "detail": (
                f"table {table} chain {chain}: '{stripped}': packets of offloaded flows skip "
                "this rule and are no longer queued to userspace"
            )})
    return result
