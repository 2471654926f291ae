# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one nft double of the unit tests (run through the ``nft`` shim beside it).

Stateful: the ruleset lives in ``$NFT_DOUBLE_STATE/ruleset`` as nft's own listing with
handles (a test seeds it from a captured listing). ``-f FILE|-`` applies a batch as one
transaction (nothing changes when a line is refused), ``-c`` validates only; ``list
ruleset|tables|table|flowtables|flowtable|chain`` answer from the state, ``-j`` as JSON,
``-a`` with handles. Knobs (the kernel's answers):
  $NFT_DOUBLE_STATE/no-flowtables   a kernel without flowtables: every flowtable and
                                    ``flow offload`` statement is refused with ENOENT
                                    (``flowtables`` in the same folder overrides it)
  NFT_REFUSE_OFFLOAD="dev ..."      ``flags offload`` on these devices: EOPNOTSUPP
  NFT_NETDEVS=DIR                   a fake /sys/class/net: a device missing there: ENOENT
and a record, not an answer:
  NFT_DOUBLE_LOG=FILE               every call ("nft ARGS", then the batch) is appended
Every answer comes from the state: without NFT_DOUBLE_STATE the double refuses to run.
"""
from __future__ import annotations

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from nft_ruleset import NftError, Ruleset, Table, parse, priority_number  # pylint: disable=wrong-import-position

META = {"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}
_REASONS = {"No such file or directory", "File exists", "Operation not supported"}


def kernel_refusals(batch: str, name: str, state: str) -> list[str]:
    """What the kernel double refuses, line by line, before anything is applied."""
    errs = []
    no_ft = os.path.exists(os.path.join(state, "no-flowtables")) and not os.path.exists(os.path.join(state, "flowtables"))
    for num, line in enumerate(batch.split("\n"), 1):
        if no_ft:
            errs += _no_flowtables(line, num, name)
            continue
        if line.lstrip().startswith("#") or "devices = {" not in line:
            continue
        found = re.search(r"devices = \{([^}]*)\}", line)
        devs = re.findall(r'"([^"]*)"', found.group(1)) if found else []
        netdevs = os.environ.get("NFT_NETDEVS")
        if netdevs and any(not os.path.exists(os.path.join(netdevs, dev)) for dev in devs):
            errs.append(f"/dev/stdin:{num}:1-40: Error: Could not process rule: No such file or directory\n{line}\n")
        elif "flags offload" in line and any(f'"{dev}"' in line for dev in os.environ.get("NFT_REFUSE_OFFLOAD", "").split()):
            errs.append(f"/dev/stdin:{num}:1-30: Error: Could not process rule: Operation not supported\n{line}\n")
    return errs


def _no_flowtables(line: str, num: int, name: str) -> list[str]:
    def err(col: int, width: int) -> str:
        pre = re.sub(r"[^\t]", " ", line[:col - 1])
        return (f"{name}:{num}:{col}-{col + width - 1}: Error: Could not process rule: No such file or directory\n"
                f"{line}\n{pre}{'^' * min(width, 32)}\n")
    out = []
    if re.match(r"^\tflowtable [^ ]+ \{", line):
        word = line.split()[1]
        out.append(err(line.find(word) + 1, len(word)))
    if line.startswith("add flowtable "):
        out.append(err(1, len(line)))
    if re.search(r"flow offload @", line):
        at = line.find("flow offload")
        out.append(err(at + 1, len(line[at:].split(";")[0])))
    return out


def load(state: str) -> Ruleset:
    path = os.path.join(state, "ruleset")
    if not os.path.exists(path):
        return Ruleset()
    with open(path, encoding="utf-8") as handle:
        return Ruleset(handle.read())


def save(state: str, rules: Ruleset) -> None:
    with open(os.path.join(state, "ruleset.new"), "w", encoding="utf-8") as handle:
        handle.write(rules.text(rules.tables.values(), handles=True))
    os.replace(os.path.join(state, "ruleset.new"), os.path.join(state, "ruleset"))


def batch_errors(rules: Ruleset, batch: str, name: str) -> list[str]:
    lines = batch.split("\n")
    try:
        rules.apply(parse(batch))
    except NftError as exc:
        text = lines[exc.line - 1] if exc.line <= len(lines) else ""
        where = f"{name}:{exc.line}:1-{max(len(text), 1)}"
        if exc.reason in _REASONS:  # the kernel refused it, as in the captured *-enoent.stderr
            return [f"{where}: Error: Could not process rule: {exc.reason}\n{text}\n{'^' * len(text)}\n"]
        return [f"{where}: Error: {exc.reason}\n{text}\n"]
    return []


def as_json(rules: Ruleset, tables: list[Table], kinds: set[str] | None, only: tuple[str, str] | None) -> str:
    items: list[dict[str, object]] = [META]
    for table in tables:
        if kinds is None:
            items.append({"table": {"family": table.family, "name": table.name, "handle": table.handle}})
        for obj in table.objects.values():
            if (kinds is not None and obj.kind not in kinds) or (only and (obj.kind, obj.name) != only):
                continue
            base = {"family": table.family, "name": obj.name, "table": table.name, "handle": obj.handle}
            if obj.kind == "flowtable":
                hook = next((p for p in obj.props if p.startswith("hook ")), "hook ingress priority filter")
                items.append({"flowtable": {**base, "hook": "ingress", "prio": priority_number(hook.split("priority")[1]),
                                            "dev": obj.devices}})
            elif obj.kind == "chain":
                body = {**base}
                typ = next((p for p in obj.props if p.startswith("type ")), "")
                found = re.match(r"type (\w+) hook (\w+) priority (.*)$", typ)
                if found:
                    body.update(type=found.group(1), hook=found.group(2), prio=priority_number(found.group(3)))
                    pol = next((p for p in obj.props if p.startswith("policy ")), "policy accept")
                    body["policy"] = pol.split()[1]
                items.append({"chain": body})
                for handle, rule in obj.rules:
                    items.append({"rule": _rule_json(table, obj.name, handle, rule)})
            elif kinds is None:
                items.append({obj.kind.replace(" ", "_"): base})
    del rules
    return json.dumps({"nftables": items})


def _rule_json(table: Table, chain: str, handle: int, rule: str) -> dict[str, object]:
    body: dict[str, object] = {"family": table.family, "table": table.name, "chain": chain, "handle": handle}
    found = re.search(r' comment "([^"]*)"$', rule)
    if found:
        body["comment"] = found.group(1)
        rule = rule[:found.start()]
    exprs: list[object] = []
    for part in re.findall(r"meta l4proto \{[^}]*\}|meta l4proto \w+|flow (?:add|offload) @\S+|counter|accept|drop|\S+", rule):
        if part.startswith("meta l4proto"):
            values = re.findall(r"[\w-]+", part[len("meta l4proto"):])
            right: object = {"set": values} if "{" in part else values[0]
            exprs.append({"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": right}})
        elif part.startswith("flow "):
            exprs.append({"flow": {"op": "add", "flowtable": part.split()[2]}})
        elif part in ("counter", "accept", "drop"):
            exprs.append({part: None} if part != "counter" else {"counter": {"packets": 0, "bytes": 0}})
        else:
            exprs.append({"unmodelled": part})
    body["expr"] = exprs
    return body


def listing(rules: Ruleset, args: list[str], as_js: bool, handles: bool) -> tuple[int, str, str]:
    what = args[0] if args else "ruleset"
    tables = list(rules.tables.values())
    kinds: set[str] | None = None
    only = None
    if what in ("table", "flowtable", "chain"):
        family, name = (args[1], args[2]) if len(args) > 2 and what == "table" or len(args) > 3 else ("ip", args[1])
        tables = [tb for tb in tables if (tb.family, tb.name) == (family, name)]
        if what != "table":
            only, kinds = (what, args[-1]), {what}
            if tables and (what, args[-1]) not in tables[0].objects:
                tables = []
        if not tables:
            text = f"list {' '.join(args)}"
            return 1, "", f"Error: No such file or directory\n{text}\n{' ' * (len(text) - len(args[-1]))}{'^' * len(args[-1])}\n"
    elif what == "flowtables":
        kinds = {"flowtable"}
    elif what == "tables":
        if as_js:
            listed = [{"table": {"family": tb.family, "name": tb.name, "handle": tb.handle}} for tb in tables]
            return 0, json.dumps({"nftables": [META] + listed}) + "\n", ""
        return 0, "".join(f"table {tb.family} {tb.name}\n" for tb in tables), ""
    elif what != "ruleset":
        return 1, "", f"Error: the nft double does not model 'list {' '.join(args)}'\n"
    if as_js:
        return 0, as_json(rules, tables, kinds, only) + "\n", ""
    return 0, rules.text(tables, kinds, handles, only), ""


def main(argv: list[str]) -> int:
    check = as_js = handles = False
    file = None
    args = list(argv)
    while args and args[0].startswith("-"):
        opt = args.pop(0)
        if opt in ("-c", "--check"):
            check = True
        elif opt in ("-j", "--json"):
            as_js = True
        elif opt in ("-a", "--handle"):
            handles = True
        elif opt in ("-f", "--file"):
            file = args.pop(0)
        elif opt == "--version":
            sys.stdout.write("nftables v1.0.6 (Lester Gooch #5)\n")
            return 0
    batch = None
    if file is not None:
        if file == "-":
            batch = sys.stdin.read()
        else:
            with open(file, encoding="utf-8") as handle:
                batch = handle.read()
    log = os.environ.get("NFT_DOUBLE_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"nft {' '.join(argv)}\n" + ("" if batch is None else batch.rstrip("\n") + "\n"))
    state = os.environ.get("NFT_DOUBLE_STATE")
    if state is None:
        sys.stderr.write("nft double: NFT_DOUBLE_STATE is not set\n")
        return 2
    if batch is not None:
        name = "/dev/stdin" if file in ("-", "/dev/stdin") else str(file)
        errs = kernel_refusals(batch, name, state)
        if not errs:
            rules = load(state)
            errs = batch_errors(rules, batch, name)
            if not errs and not check:
                save(state, rules)
        sys.stderr.write("".join(errs))
        return 1 if errs else 0
    if args and args[0] == "list":
        code, out, err = listing(load(state), args[1:], as_js, handles)
        sys.stdout.write(out)
        sys.stderr.write(err)
        return code
    sys.stderr.write(f"Error: the nft double does not model '{' '.join(argv)}'\n")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
