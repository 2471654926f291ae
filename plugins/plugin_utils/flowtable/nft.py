# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""THE parser of nft: listings (JSON and text), persisted files, chains and rules (pure, private).

One text parser (``parse_text``) reads every nft text the collection meets: ``nft list``
output, the files it persists (``table F T { flowtable N {...} }`` blocks, ``add flowtable``
statements and the loader lines ``# flowoffload.nft:device=DEV add flowtable ...``) and so
the audit's read-back of those files. It yields the one model, ``FlowtableModel``.

JSON output (``nft -j``) gives structure; it omits table comments and the flowtable flags
``offload`` and ``counter``, which come from the text listing of the same objects
(``parse_listing``). Everything here takes text and returns data (the read script gets
the text). The words of nft (identifiers, the device rule, priorities, protocols) live in
``flowtable.syntax`` and are importable from here too.
"""
from __future__ import annotations

import dataclasses
import json
import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.hotplug import (
    DEVICE_TAG,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.model import (
    FlowtableModel,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.syntax import (
    normalize_protocols,
    resolve_priority,
)

FAMILIES = ("inet", "ip", "ip6", "netdev", "arp", "bridge")
# nft's JSON is untyped data: named once here, checked (isinstance) where it is read.
JsonObject = dict[str, t.Any]
Key = tuple[str, str, str]  # (family, table, flowtable name)

_VERSION_RE = re.compile(r"v?(\d+\.\d+(?:\.\d+)*)")


def parse_version(text: str) -> str:
    """Version from ``nft --version`` ("nftables v1.0.6 (Lester Gooch #5)" -> "1.0.6")."""
    match = _VERSION_RE.search(text or "")
    if not match:
        raise FlowOffloadError(f"cannot read the nft version from {text.strip()!r}")
    return match.group(1)


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


# --- JSON -----------------------------------------------------------------------------
def load_json(json_text: str) -> list[JsonObject]:
    """The list under "nftables" (empty for empty output), without metainfo entries."""
    if not (json_text or "").strip():
        return []
    try:
        data = json.loads(json_text)
    except ValueError as exc:
        raise FlowOffloadError(f"cannot parse nft JSON output: {exc}") from None
    items = data.get("nftables", []) if isinstance(data, dict) else []
    return [item for item in items if isinstance(item, dict) and "metainfo" not in item]


def _json_devices(raw: object) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    return tuple(str(dev) for dev in raw) if isinstance(raw, list) else ()


# --- text: the one text parser ----------------------------------------------------------
_TABLE_RE = re.compile(r"^table\s+(\S+)\s+(\S+)\s*\{\s*$")
_FT_RE = re.compile(r"^flowtable\s+(\S+)\s*\{\s*$")
_COMMENT_RE = re.compile(r'^comment\s+"((?:[^"\\]|\\.)*)"\s*;?\s*$')
_ADD_RE = re.compile(r"^add flowtable\s+(\S+)\s+(\S+)\s+(\S+)\s*\{(.*)\}\s*$")
_HOOK_RE = re.compile(r"^hook\s+(\S+)\s+priority\s+(.+?)\s*;?$")
_DEVICES_RE = re.compile(r"devices\s*=\s*\{([^}]*)\}")
_HANDLE_RE = re.compile(r"\s*# handle \d+$")


def _unquote(name: str) -> str:
    name = name.strip()
    return name[1:-1] if len(name) >= 2 and name[0] == name[-1] == '"' else name


@dataclasses.dataclass
class _Draft:
    """A flowtable while its statements are read."""

    hook: str = "ingress"
    priority: int = 0
    devices: set[str] = dataclasses.field(default_factory=set)
    offload: bool = False
    counter: bool = False

    def statement(self, raw: str) -> None:
        """hook/priority, devices, flags or counter from one statement of the braces."""
        part = raw.strip().rstrip(";").strip()
        hook = _HOOK_RE.match(part)
        if hook:
            self.hook = hook.group(1)
            try:
                self.priority = resolve_priority(hook.group(2).strip())
            except FlowOffloadError:
                pass  # a priority nft itself would refuse: the model keeps its default
        elif part.split()[:1] == ["flags"]:
            self.offload = "offload" in part[len("flags"):].replace(",", " ").split()
        elif part == "counter":
            self.counter = True
        elif part.startswith("devices"):
            found = _DEVICES_RE.search(part)
            if found:
                self.devices.update(_unquote(dev) for dev in found.group(1).split(",") if dev.strip())


@dataclasses.dataclass
class NftText:
    """What an nft text says: table comments and the flowtables it defines."""

    comments: dict[tuple[str, str], str]
    flowtables: dict[Key, FlowtableModel]

    def models(self) -> list[FlowtableModel]:
        return [self.flowtables[key] for key in sorted(self.flowtables)]


def parse_text(text: str | None) -> NftText:
    """THE text parser: ``nft list`` output, a persisted file, the audit's read-back.

    Reads ``table F T { comment "..."; flowtable N { ... } }`` blocks, ``add flowtable F T
    N { ...; }`` statements and the loader lines (``DEVICE_TAG``), whose statement gives a
    configured device (a persisted definition carries none)."""
    comments: dict[tuple[str, str], str] = {}
    drafts: dict[Key, _Draft] = {}
    table: tuple[str, str] | None = None
    block: _Draft | None = None
    depth = 0
    for raw in (text or "").splitlines():
        line = _HANDLE_RE.sub("", raw.strip())
        device_line = line.startswith(DEVICE_TAG)
        if device_line:
            line = line[len(DEVICE_TAG):].partition(" ")[2].strip()
        elif not line or line.startswith("#"):
            continue
        add = _ADD_RE.match(line)
        if add:
            key = (add.group(1), _unquote(add.group(2)), _unquote(add.group(3)))
            draft = drafts.setdefault(key, _Draft())
            for part in add.group(4).split(";"):
                draft.statement(part)
            continue
        if device_line:
            continue
        table_match, ft_match, comment = _TABLE_RE.match(line), _FT_RE.match(line), _COMMENT_RE.match(line)
        if depth == 0 and table_match:
            table = (table_match.group(1), _unquote(table_match.group(2)))
        elif depth == 1 and table and ft_match:
            block = drafts.setdefault((table[0], table[1], _unquote(ft_match.group(1))), _Draft())
        elif depth == 1 and table and comment:
            comments[table] = comment.group(1)
        elif depth == 2 and block is not None:
            block.statement(line)
        depth = max(depth + line.count("{") - line.count("}"), 0)
        if depth <= 1:
            block = None
        if depth == 0:
            table = None
    return NftText(comments, {key: FlowtableModel(*key, d.hook, d.priority, tuple(d.devices), d.offload, d.counter)
                              for key, d in drafts.items()})


def parse_file(text: str | None) -> list[FlowtableModel]:
    """The flowtables a persisted file configures, devices from its loader lines."""
    return parse_text(text).models()


def parse_listing(json_text: str, text: str) -> list[FlowtableModel]:
    """The flowtables of ``nft -j list ...`` (structure) with the flags of the text listing."""
    flags = parse_text(text).flowtables
    result = []
    for item in load_json(json_text):
        ft = item.get("flowtable")
        if not isinstance(ft, dict):
            continue
        key = (str(ft.get("family", "")), str(ft.get("table", "")), str(ft.get("name", "")))
        found = flags.get(key)
        result.append(FlowtableModel(*key, hook=str(ft.get("hook", "ingress")), priority=int(ft.get("prio", 0)),
                                     devices=_json_devices(ft.get("dev")), offload=bool(found and found.offload),
                                     counter=bool(found and found.counter)))
    return sorted(result, key=lambda ft: ft.key)


def parse_flowtables(json_text: str, text: str) -> list[dict[str, t.Any]]:
    """Normalized flowtables (docs/design.md, as the facts return them) of a listing."""
    return [ft.as_dict() for ft in parse_listing(json_text, text)]


# --- JSON chains and rules --------------------------------------------------------------
class Chain(t.TypedDict):
    """A chain of a JSON listing (type, hook, priority, policy: base chains only, else None)."""

    family: str
    table: str
    name: str
    handle: int | None
    type: str | None
    hook: str | None
    priority: int | None
    policy: str | None


class Rule(t.TypedDict):
    """A rule of a JSON listing; ``expr`` is nft's JSON as printed."""

    family: str
    table: str
    chain: str
    handle: int | None
    comment: str
    expr: list[JsonObject]


def _objects(json_text: str, kind: str) -> t.Iterator[JsonObject]:
    """The ``kind`` objects of a JSON listing, in listing order."""
    for item in load_json(json_text):
        obj = item.get(kind)
        if isinstance(obj, dict):
            yield obj


def parse_chains(json_text: str) -> list[Chain]:
    """Chains: family, table, name, handle, and for base chains type, hook, priority, policy."""
    return [Chain(family=obj.get("family", ""), table=obj.get("table", ""), name=obj.get("name", ""),
                  handle=obj.get("handle"), type=obj.get("type"), hook=obj.get("hook"), priority=obj.get("prio"),
                  policy=obj.get("policy")) for obj in _objects(json_text, "chain")]


def parse_rules(json_text: str) -> list[Rule]:
    """Rules in listing order: family, table, chain, handle, comment, expr."""
    return [Rule(family=obj.get("family", ""), table=obj.get("table", ""), chain=obj.get("chain", ""),
                 handle=obj.get("handle"), comment=obj.get("comment", ""), expr=list(obj.get("expr") or []))
            for obj in _objects(json_text, "rule")]


def rule_offload_target(rule: Rule) -> tuple[str | None, list[str]]:
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


def offload_rule(rule: Rule) -> tuple[str, list[str]] | None:
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
        line = _HANDLE_RE.sub("", raw_line.strip())
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
