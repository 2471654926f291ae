# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ruleset of the nft double (nft_double.py): parse nft text, keep it, print it as nft.

One parser reads both what nft prints (``list ruleset``, with ``-a`` handles) and what
the collection's scripts and fw4 send (``add ...`` commands, ``table X { ... }`` blocks),
into a statement tree; ``Ruleset`` applies it and prints listings in nft 1.0.6's format
(tests/unit/fixtures/1.0.6-bookworm-handmade-ft-owned-one.txt).
"""
from __future__ import annotations

import dataclasses
import re
import typing as t

_OBJECT = re.compile(r"^(?:(?:add|create)\s+)?(table|chain|flowtable|set|map|ct helper|ct timeout|counter|quota)\b")
_HANDLE = re.compile(r"#\s*handle (\d+)")


def _filter_priority(text: str) -> str:
    """``type filter hook forward priority 10`` as nft prints it: ``priority filter + 10``."""
    found = re.search(r"priority (-?\d+)$", text)
    if not found or not text.startswith("type filter"):
        return text
    number = int(found.group(1))
    name = "filter" if number == 0 else f"filter {'+' if number > 0 else '-'} {abs(number)}"
    return text[:found.start(1)] + name


def priority_number(text: str) -> int:
    """The number behind ``filter + 10``, ``0``, ``filter``: what nft -j prints as prio."""
    found = re.match(r"(?:filter|(-?\d+))(?:\s*([+-])\s*(\d+))?$", text.strip())
    if not found:
        return 0
    base = int(found.group(1) or 0)
    return base + (int(found.group(3)) * (1 if found.group(2) == "+" else -1) if found.group(2) else 0)


class NftError(Exception):
    """A message nft would print for the statement at ``line`` (ENOENT, EEXIST, ...)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line, self.reason = line, reason


@dataclasses.dataclass
class Node:
    text: str
    line: int
    handle: int = 0
    body: list[Node] | None = None  # a block's statements


def parse(text: str) -> list[Node]:
    """Statements (``;`` or newline ends one) and blocks (an object header before ``{``)."""
    nodes, _pos = _block(text, 0, [1])
    return nodes


def _block(text: str, pos: int, line: list[int]) -> tuple[list[Node], int]:
    nodes: list[Node] = []
    cur, start, depth, quote, handle = "", line[0], 0, False, 0

    def flush() -> None:
        nonlocal cur, handle
        stmt = " ".join(cur.split())
        if stmt:
            nodes.append(Node(stmt, start, handle))
        cur, handle = "", 0

    while pos < len(text):
        char = text[pos]
        if char == '"':
            quote = not quote
        elif not quote and char == "#":
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end
            found = _HANDLE.search(text[pos:end])
            if found:
                handle = int(found.group(1))
                if not cur.strip() and nodes:
                    nodes[-1].handle = nodes[-1].handle or handle
            pos = end
            continue
        elif not quote and char == "{" and depth == 0 and _OBJECT.match(" ".join(cur.split())):
            head, hline = " ".join(cur.split()), start
            body, pos = _block(text, pos + 1, line)
            own = handle
            nodes.append(Node(head, hline, own, body))
            cur, handle, start = "", 0, line[0]
            continue
        elif not quote and char == "{":
            depth += 1
        elif not quote and char == "}" and depth:
            depth -= 1
        elif not quote and char == "}":
            flush()
            return nodes, pos + 1
        if not quote and depth == 0 and char in ";\n":
            flush()
            if char == "\n":
                line[0] += 1
            start = line[0]
            pos += 1
            continue
        if char == "\n":
            line[0] += 1
            char = " "
        if not cur.strip():
            start = line[0]
        cur += char
        pos += 1
    flush()
    return nodes, pos


@dataclasses.dataclass
class Obj:
    kind: str
    name: str
    handle: int
    props: list[str] = dataclasses.field(default_factory=list)  # chain type/policy, set lines, ...
    rules: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    devices: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Table:
    family: str
    name: str
    handle: int
    comment: str = ""
    objects: dict[tuple[str, str], Obj] = dataclasses.field(default_factory=dict)


class Ruleset:
    def __init__(self, text: str = "") -> None:
        self.tables: dict[tuple[str, str], Table] = {}
        self.next_handle = 1
        self.apply(parse(text), listing=True)

    def handle(self, given: int = 0) -> int:
        self.next_handle = max(self.next_handle, given + 1)
        if given:
            return given
        self.next_handle += 1
        return self.next_handle - 1

    def table(self, family: str, name: str, line: int) -> Table:
        if (family, name) not in self.tables:
            raise NftError(line, "No such file or directory")
        return self.tables[(family, name)]

    def obj(self, family: str, table: str, kind: str, name: str, line: int) -> Obj:
        found = self.table(family, table, line).objects.get((kind, name))
        if found is None:
            raise NftError(line, "No such file or directory")
        return found

    # --- applying statements ----------------------------------------------------------------
    def apply(self, nodes: t.Sequence[Node], listing: bool = False) -> None:
        for node in nodes:
            self.command(node, listing)

    def command(self, node: Node, listing: bool) -> None:
        words = node.text.split()
        verb = words[0] if words[0] in ("add", "create", "delete", "destroy", "flush", "insert", "replace") else "add"
        rest = words[1:] if words[0] == verb else words
        if not rest:
            return
        kind = " ".join(rest[:2]) if rest[0] == "ct" else rest[0]
        args = rest[2:] if rest[0] == "ct" else rest[1:]
        if kind == "ruleset" and verb == "flush":
            self.tables.clear()
        elif kind == "table":
            self.table_cmd(verb, args[0], args[1], node, listing)
        elif kind == "rule":
            self.rule_cmd(verb, args, node)
        elif kind in ("chain", "flowtable", "set", "map", "ct helper", "ct timeout", "counter", "quota"):
            table = self.table(args[0], args[1], node.line)
            self.object_cmd(verb, table, kind, args[2], node)
        elif kind in ("define", "include"):
            return
        else:
            raise NftError(node.line, f"syntax error, unexpected {rest[0]}")

    def table_cmd(self, verb: str, family: str, name: str, node: Node, listing: bool) -> None:
        key = (family, name)
        if verb in ("delete", "destroy"):
            if key not in self.tables and verb == "delete":
                raise NftError(node.line, "No such file or directory")
            self.tables.pop(key, None)
            return
        if verb == "flush":
            table = self.table(family, name, node.line)
            # fw4 rebuilds its table after `flush table`: rules and flowtables go (as the
            # kernel double of the OpenWrt scenario models it), chains and sets stay
            table.objects = {k: dataclasses.replace(o, rules=[]) for k, o in table.objects.items() if k[0] != "flowtable"}
            return
        if key in self.tables and verb == "create":
            raise NftError(node.line, "File exists")
        table = self.tables.setdefault(key, Table(family, name, self.handle(node.handle if listing else 0)))
        for child in node.body or []:
            first = child.text.split()[0]
            if first == "comment":
                table.comment = child.text.split(None, 1)[1]
            elif first in ("define", "include", "flags"):
                continue
            else:
                kind = " ".join(child.text.split()[:2]) if first == "ct" else first
                name_ = child.text.split()[2 if first == "ct" else 1]
                self.object_cmd("add", table, kind, name_, child, listing)

    def object_cmd(self, verb: str, table: Table, kind: str, name: str, node: Node, listing: bool = False) -> None:
        key = (kind, name)
        if verb in ("delete", "destroy"):
            if key not in table.objects and verb == "delete":
                raise NftError(node.line, "No such file or directory")
            table.objects.pop(key, None)
            return
        if verb == "flush":
            if key not in table.objects:
                raise NftError(node.line, "No such file or directory")
            table.objects[key].rules = []
            return
        if key in table.objects and verb == "create":
            raise NftError(node.line, "File exists")
        obj = table.objects.get(key)
        if obj is None:
            obj = table.objects[key] = Obj(kind, name, self.handle(node.handle if listing else 0))
        for child in node.body or []:
            self.object_line(obj, child, listing)

    def object_line(self, obj: Obj, child: Node, listing: bool) -> None:
        text = child.text
        if obj.kind == "flowtable":
            found = re.match(r"devices = \{(.*)\}$", text)
            if found:
                devs = [d.strip().strip('"') for d in found.group(1).split(",") if d.strip()]
                obj.devices = sorted(set(obj.devices) | set(devs))
            elif text.startswith("hook "):
                prio = text.split("priority", 1)[1].strip()
                obj.props = [p for p in obj.props if not p.startswith("hook ")]
                obj.props.insert(0, "hook ingress priority " + ("filter" if prio == "0" else prio))
            elif text not in obj.props:
                obj.props.append(text)
        elif obj.kind == "chain" and text.startswith(("type ", "policy ", "comment ")) and not obj.rules:
            if text.startswith("type "):
                text = _filter_priority(text)
            obj.props = [p for p in obj.props if p.split()[0] != text.split()[0]] + [text]
        elif obj.kind == "chain":
            obj.rules.append((self.handle(child.handle if listing else 0), text))
        else:
            obj.props.append(text)

    def rule_cmd(self, verb: str, args: list[str], node: Node) -> None:
        family, table, chain = args[:3]
        obj = self.obj(family, table, "chain", chain, node.line)
        if verb in ("delete", "destroy"):
            handle = int(args[4]) if len(args) > 4 and args[3] == "handle" else -1
            if handle not in [h for h, _r in obj.rules]:
                if verb == "delete":
                    raise NftError(node.line, "No such file or directory")
                return
            obj.rules = [(h, r) for h, r in obj.rules if h != handle]
            return
        text = " ".join(args[3:])
        new = (self.handle(), text)
        obj.rules = [new] + obj.rules if verb == "insert" else obj.rules + [new]

    # --- listings ------------------------------------------------------------------------------
    def text(self, tables: t.Iterable[Table], kinds: t.Container[str] | None = None, handles: bool = False,
             only: tuple[str, str] | None = None) -> str:
        out = []
        for table in tables:
            out.append(f"table {table.family} {table.name} {{" + (f" # handle {table.handle}" if handles else ""))
            if table.comment and kinds is None:
                out.append(f"\tcomment {table.comment}")
            blocks = []
            for obj in table.objects.values():
                if (kinds is not None and obj.kind not in kinds) or (only and (obj.kind, obj.name) != only):
                    continue
                blocks.append(self.obj_text(obj, handles))
            out.append("\n\n".join(blocks)) if blocks else None
            out.append("}")
        return "".join(line + "\n" for line in out)

    @staticmethod
    def obj_text(obj: Obj, handles: bool) -> str:
        lines = [f"\t{obj.kind} {obj.name} {{" + (f" # handle {obj.handle}" if handles else "")]
        props = list(obj.props)
        if obj.kind == "flowtable":
            hook = [p for p in props if p.startswith("hook ")]
            rest = [p for p in props if not p.startswith("hook ")]
            props = hook + ([f"devices = {{ {', '.join(obj.devices)} }}"] if obj.devices else [])
            props += sorted(rest, key=lambda p: (p != "flags offload", p))
        if obj.kind == "chain":
            typ = [p + ";" for p in props if p.startswith("type ")] + [p + ";" for p in props if p.startswith("policy ")]
            props = ([" ".join(typ)] if typ else []) + [p for p in props if p.startswith("comment ")]
        lines += [f"\t\t{prop}" for prop in props]
        for handle, rule in obj.rules:
            lines.append(f"\t\t{rule}" + (f" # handle {handle}" if handles else ""))
        lines.append("\t}")
        return "\n".join(lines)
