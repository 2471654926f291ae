# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers of what flow offload would silently bypass (offload_facts' ``conflicts``).

Offloaded packets skip everything after the ingress hook: shaping qdiscs and ifb
redirects on the forwarding devices, IPsec policies and NFQUEUE rules (private).
"""
from __future__ import annotations

import re
import shlex
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts.links import JsonObject, Link


# --- conflicts ------------------------------------------------------------------------------
# Qdiscs that limit a rate (``tc -j qdisc show`` prints their rate in options or in their
# classes). fq_codel, the default qdisc, has no rate option: it shapes only as a leaf under one
# of these (its ``parent`` is a class of the shaper), and then the shaper is the trigger.
SHAPERS = frozenset(("cake", "htb", "hfsc", "tbf"))
# Every conflict: kind (qdisc, ipsec, nfqueue), device ("" when none), trigger (what was found,
# short: "cake qdisc", "ingress redirected to ifb0 (cake)") and detail.
Conflict = dict[str, str]


def _major(handle: t.Any) -> str:
    """'1:' of a handle ('1:') or a parent class ('1:10'); '' for none."""
    return str(handle).split(":", 1)[0] + ":" if handle and ":" in str(handle) else ""


def _under(shaper: JsonObject, qdiscs: t.Sequence[JsonObject]) -> list[JsonObject]:
    """The qdiscs of shaper's device below it: their parent is one of its classes (or of a
    qdisc below it), as ``tc -j qdisc show`` prints them ("parent": "1:10" under handle "1:")."""
    dev = shaper.get("dev")
    majors = {_major(shaper.get("handle"))} - {""}
    found: list[JsonObject] = []
    grew = True
    while grew:
        grew = False
        for q in qdiscs:
            if (q.get("dev") == dev and not q.get("root") and all(q is not f for f in found)
                    and _major(q.get("parent")) in majors):
                found.append(q)
                majors.add(_major(q.get("handle")))
                grew = True
    return found


def qdisc_conflicts(qdiscs: t.Sequence[JsonObject], devices: t.Sequence[str]) -> list[Conflict]:
    """Shaping qdiscs on candidate devices (``tc -j qdisc show``): one conflict per shaper that
    is not itself below another shaper of the device; the qdiscs below it (fq_codel leaves of
    an htb, say) are named in its detail."""
    result = []
    shapers = [q for q in qdiscs if q.get("dev") in devices and q.get("kind") in SHAPERS]
    nested = [id(q) for s in shapers for q in _under(s, qdiscs)]
    for q in shapers:
        if id(q) in nested:
            continue
        dev, kind = str(q.get("dev")), str(q.get("kind"))
        where = "root" if q.get("root") else f"parent {q.get('parent', '?')}"
        leaves = sorted({str(c.get("kind")) for c in _under(q, qdiscs)})
        below = f"; {', '.join(leaves)} below it" if leaves else ""
        result.append({"kind": "qdisc", "device": dev, "trigger": f"{kind} qdisc", "detail": (
            f"{kind} qdisc ({where}, handle {q.get('handle', '?')}{below}) shapes {dev}: "
            "offloaded packets bypass it"
        )})
    return result


def mirred_targets(filters: t.Sequence[JsonObject]) -> list[str]:
    """Devices that tc filters (``tc -j filter show``) redirect or mirror packets to."""
    targets: list[str] = []
    for entry in filters:
        for action in (entry.get("options") or {}).get("actions") or []:
            if action.get("kind") == "mirred" and action.get("to_dev") and action["to_dev"] not in targets:
                targets.append(action["to_dev"])
    return targets


def ifb_conflict(device: str, targets: t.Sequence[str], links: t.Mapping[str, Link],
                 qdiscs: t.Sequence[JsonObject]) -> list[Conflict]:
    """Ingress redirects of a device to an ifb (SQM's ingress shaping), whatever shapes there."""
    result = []
    for target in targets:
        if links.get(target, {}).get("kind") != "ifb" and not target.startswith("ifb"):
            continue
        shaping = sorted({q.get("kind", "") for q in qdiscs if q.get("dev") == target and q.get("kind") in SHAPERS})
        there = f" ({', '.join(shaping)})" if shaping else ""
        detail = (f"ingress of {device} is redirected to {target}" + (f" ({', '.join(shaping)} there)" if shaping else "")
                  + ": offloaded packets skip the ifb (ingress shaping / SQM)")
        result.append({"kind": "qdisc", "device": device, "trigger": f"ingress redirected to {target}{there}",
                       "detail": detail})
    return result


_XFRM_START = re.compile(r"^src\s+(\S+)\s+dst\s+(\S+)")


def xfrm_conflicts(text: str) -> list[Conflict]:
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
    return [{"kind": "ipsec", "device": "", "trigger": "IPsec (xfrm) policies", "detail": (
        f"{len(real)} IPsec (xfrm) polic{'y' if len(real) == 1 else 'ies'}, e.g. src {src} "
        f"dst {dst} dir {direction}: offloaded flows bypass them"
    )}]


_QUEUE_STMT = re.compile(r"(?:^|\s)queue(?:\s|$)")


def nfqueue_conflicts(ruleset: str) -> list[Conflict]:
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
            result.append({"kind": "nfqueue", "device": "", "trigger": "NFQUEUE rule", "detail": (
                f"table {table} chain {chain}: '{stripped}': packets of offloaded flows skip "
                "this rule and are no longer queued to userspace"
            )})
    return result


# --- shaping without tc -----------------------------------------------------------------------
NO_SHAPING = "no qdisc tool; no shaping configured"
_TRUE = ("1", "yes", "on", "true", "enabled")


class UciSection(t.TypedDict):
    type: str
    name: str
    options: dict[str, str | list[str]]


class ShapingSection(t.TypedDict):
    files: dict[str, str]
    bpf: list[str]


def parse_uci(text: str) -> list[UciSection]:
    """Sections of a UCI config file: [{type, name, options: {key: value}}] (``list`` values
    are kept as lists; comments and blank lines skipped)."""
    sections: list[UciSection] = []
    for line in (text or "").splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        if not words:
            continue
        if words[0] == "config" and len(words) >= 2:
            sections.append({"type": words[1], "name": words[2] if len(words) > 2 else "", "options": {}})
        elif words[0] in ("option", "list") and len(words) >= 3 and sections:
            options = sections[-1]["options"]
            if words[0] == "list":
                values = options.get(words[1])
                options[words[1]] = [*values, words[2]] if isinstance(values, list) else [words[2]]
            else:
                options[words[1]] = words[2]
    return sections


def sqm_shapers(text: str) -> list[str]:
    """sqm-scripts' queues that run: sections with ``enabled`` 1 (its run-openwrt.sh starts a
    section only when ``[ "$enabled" -eq 1 ]``), one line each."""
    out = []
    for index, section in enumerate(parse_uci(text)):
        options = section["options"]
        if str(options.get("enabled", "0")).strip() != "1":
            continue
        name = section["name"] or f"@{section['type']}[{index}]"
        what = ", ".join(f"{k} {options[k]}" for k in ("qdisc", "script") if options.get(k))
        out.append(f"SQM (sqm-scripts) shapes {options.get('interface') or '?'} (sqm.{name}"
                   f"{': ' + what if what else ''})")
    return out


def qosify_shapers(text: str) -> list[str]:
    """qosify's interfaces and devices that run: ``interface``/``device`` sections whose
    ``disabled`` is not true (qosify.init: ``config_get_bool disabled ... 0``)."""
    out = []
    for section in parse_uci(text):
        if section["type"] not in ("interface", "device"):
            continue
        if str(section["options"].get("disabled", "0")).strip().lower() in _TRUE:
            continue
        name = section["options"].get("name") or section["name"] or "?"
        out.append(f"qosify shapes {section['type']} {name} (qosify.{section['name'] or section['type']})")
    return out


def parse_shaping_section(text: str) -> ShapingSection:
    """The ``facts:shaping`` section: {files: {path: text}, bpf: [names]}."""
    files: dict[str, list[str]] = {}
    bpf: list[str] = []
    current: list[str] | None = None
    for line in (text or "").splitlines():
        if line.startswith("@file "):
            current = files.setdefault(line[len("@file "):], [])
        elif line.startswith("@bpf "):
            bpf.append(line[len("@bpf "):])
            current = None
        elif current is not None:
            current.append(line)
    return {"files": {path: "\n".join(lines) for path, lines in files.items()}, "bpf": bpf}


def shaping_without_tc(section_text: str) -> tuple[list[str], str]:
    """(what could shape, the facts' message) on a host without tc: UCI's SQM and qosify
    sections that are enabled, and BPF objects pinned under /sys/fs/bpf (a tc-bpf loader's)."""
    data = parse_shaping_section(section_text)
    found = sqm_shapers(data["files"].get("/etc/config/sqm", ""))
    found += qosify_shapers(data["files"].get("/etc/config/qosify", ""))
    if data["bpf"]:
        found.append(f"BPF objects are pinned under /sys/fs/bpf ({', '.join(data['bpf'][:5])}"
                     f"{', ...' if len(data['bpf']) > 5 else ''}): a tc-bpf program may shape or redirect")
    if not found:
        return [], NO_SHAPING
    return found, "no qdisc tool, but shaping is configured: " + "; ".join(found)
