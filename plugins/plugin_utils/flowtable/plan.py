# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Flowtable module: current state and the plan of the owned table or chain (pure, private).

``parse_owned`` / ``parse_chain_mode`` turn the read's listings into ``Current`` (through
the one parser, ``flowtable.nft``); ``plan_owned`` / ``plan_chain`` give the nft batch,
the diff text and what the files persist, as ``FlowtableModel`` values rendered by the
one renderer (``flowtable.model``).
"""
from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.model import (
    OWNED_CHAIN,
    OWNED_CHAIN_PRIORITY,
    OWNER_COMMENT,
    PROTOCOLS,
    RULE_TAG,
    Desired,
    FlowtableModel,
    owned_chain_stmt,
    render_flowtable,
    render_table,
    rule_expr,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.nft import (
    Chain,
    chain_rule_lines,
    offload_rule,
    other_objects,
    parse_chains,
    parse_listing,
    parse_rules,
    parse_text,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.syntax import (
    normalize_devices,
)

RuleKey = tuple[str, tuple[str, ...]]  # (flowtable name, protocols) of one of our rules


# --- current state ----------------------------------------------------------------------
class CurrentRule(t.NamedTuple):
    """A rule of the chain: ``key`` of one of ours (None for a foreign rule), handle, text line."""

    key: RuleKey | None
    handle: int | None
    line: str


@dataclasses.dataclass
class Current:
    """What exists of the objects the task may own, from the listings of the read."""

    exists: bool = False
    owned: bool = False
    flowtables: list[FlowtableModel] = dataclasses.field(default_factory=list)
    chains: list[Chain] = dataclasses.field(default_factory=list)
    rules: list[CurrentRule] = dataclasses.field(default_factory=list)
    others: list[str] = dataclasses.field(default_factory=list)

    def flowtable(self, name: str) -> FlowtableModel | None:
        return next((ft for ft in self.flowtables if ft.name == name), None)


def _rules(json_text: str, text: str, chain: str) -> list[CurrentRule]:
    rules = [r for r in parse_rules(json_text) if r["chain"] == chain]
    lines = chain_rule_lines(text, chain) if text else []
    out = []
    for index, rule in enumerate(rules):
        form = offload_rule(rule)
        ours = form is not None and rule["comment"] == f"{RULE_TAG}{form[0]}"
        key = (form[0], tuple(form[1])) if form is not None and ours else None
        line = lines[index] if len(lines) == len(rules) else f"# rule handle {rule['handle']}"
        out.append(CurrentRule(key, rule["handle"], line))
    return out


def parse_owned(json_text: str | None, text: str, desired: Desired) -> Current:
    """Current state of the owned table from ``nft -j list table`` + ``nft list table``."""
    if json_text is None:
        return Current()
    chains = parse_chains(json_text)
    return Current(
        exists=True,
        owned=parse_text(text).comments.get((desired.family, desired.table)) == OWNER_COMMENT,
        flowtables=parse_listing(json_text, text),
        chains=chains,
        rules=_rules(json_text, text, OWNED_CHAIN),
        others=other_objects(json_text) + [f"chain {c['name']}" for c in chains if c["name"] != OWNED_CHAIN],
    )


def parse_chain_mode(chain_json: str | None, ft_pair: tuple[str, str] | None, desired: Desired) -> Current:
    """Current state in chain mode from ``nft -j list chain`` and the flowtable listing."""
    where = f"{desired.family} {desired.table} {desired.chain}"
    if chain_json is None:
        raise FlowOffloadError(
            f"chain: chain {where} does not exist; chain must name an existing forward "
            "base chain (type filter hook forward) of table, or leave chain unset to let the "
            "module own its table"
        )
    chains = [c for c in parse_chains(chain_json) if c["name"] == desired.chain]
    base = chains[0] if chains else None
    if base is None or base["type"] != "filter" or base["hook"] != "forward":
        kind = f"type {base['type']} hook {base['hook']}" if base and base["hook"] else "a regular chain"
        raise FlowOffloadError(
            f"chain: {where} is {kind}, not a forward base chain; name a chain declared "
            "with 'type filter hook forward', or leave chain unset"
        )
    flowtables = parse_listing(*ft_pair) if ft_pair else []
    return Current(
        exists=True, owned=True,
        flowtables=[ft for ft in flowtables if ft.name == desired.name],
        chains=chains,
        rules=[r for r in _rules(chain_json, "", str(desired.chain)) if r.key is not None],
    )


def _owned_chain_ok(chains: t.Sequence[Chain]) -> bool | None:
    """None: chain missing; True: as rendered; False: differs."""
    for chain in chains:
        if chain["name"] == OWNED_CHAIN:
            return (chain["type"] == "filter" and chain["hook"] == "forward"
                    and chain["priority"] == OWNED_CHAIN_PRIORITY and chain["policy"] == "accept")
    return None


def _needs_recreate(cur: FlowtableModel, new: FlowtableModel) -> bool:
    if (cur.priority, cur.offload, cur.counter, cur.hook) != (new.priority, new.offload, new.counter, new.hook):
        return True
    return bool(set(cur.devices) - set(new.devices))


@dataclasses.dataclass
class Plan:
    commands: list[str]
    before: str
    after: str
    flowtable: FlowtableModel | None
    after_flowtables: list[FlowtableModel]
    after_rules: dict[str, tuple[str, ...]]


def check_devices_free(current: Current, new: FlowtableModel | None) -> None:
    """A device can be in only one flowtable of a table (the kernel answers EEXIST)."""
    if new is None:
        return
    for other in current.flowtables:
        shared = normalize_devices(set(other.devices) & set(new.devices))
        if other.name != new.name and shared:
            raise FlowOffloadError(
                f"devices: {', '.join(shared)} already in flowtable {other.name} (table {new.family} "
                f"{new.table}); a device can be in only one flowtable per table: remove it from "
                "devices or from the other flowtable")


def plan_owned(current: Current, desired: Desired, new: FlowtableModel | None) -> Plan:
    """Batch turning the owned table into exactly what the collection renders."""
    family, table, name = desired.family, desired.table, desired.name
    spec = f"{family} {table}"
    if current.exists and not current.owned:
        raise FlowOffloadError(
            f"table: table {spec} exists and is not managed by flowoffload.nft (it lacks the "
            f"comment \"{OWNER_COMMENT}\"); the module will not take it over. Choose another "
            "table name, or set chain to add the flowtable to that table's forward chain")
    check_devices_free(current, new)
    ours = {key[0]: key[1] for key, _h, _l in current.rules if key is not None}
    cur_ft = current.flowtable(name)
    keep = [ft for ft in current.flowtables if ft.name != name]
    wanted_fts = sorted(keep + ([new] if new else []), key=lambda f: f.name)
    wanted_rules = [(ft.name, desired.protocols if ft.name == name else ours.get(ft.name, PROTOCOLS))
                    for ft in wanted_fts]
    rule_lines = [rule_expr(n, list(p)) for n, p in wanted_rules]
    before_rules = [rule_expr(key[0], list(key[1])) if key else line for key, _h, line in current.rules]
    before = render_table(family, table, current.flowtables, before_rules, extra=current.others) if current.exists else ""
    after = render_table(family, table, wanted_fts, rule_lines)
    result = Plan([], before, after, new, wanted_fts, dict(wanted_rules))
    add_rules = [f"add rule {spec} {OWNED_CHAIN} {line}" for line in rule_lines]
    if not wanted_fts:
        result.commands = [f"delete table {spec}"] if current.exists else []
        return result
    create = [f'add table {spec} {{ comment "{OWNER_COMMENT}"; }}'] + [render_flowtable(ft) for ft in wanted_fts]
    create += [owned_chain_stmt(family, table)] + add_rules
    if not current.exists:
        result.commands = create
        return result
    if current.others or _owned_chain_ok(current.chains) is False:
        # Something else lives in the table we own, or our chain was changed: rebuild it.
        result.commands = [f"delete table {spec}"] + create
        return result
    lines: list[str] = []
    recreate = [ft for ft in wanted_fts if (cur := current.flowtable(ft.name)) is not None and _needs_recreate(cur, ft)]
    chain_missing = _owned_chain_ok(current.chains) is None
    flush = not chain_missing and bool(recreate or before_rules != rule_lines)
    if flush:
        lines.append(f"flush chain {spec} {OWNED_CHAIN}")
    lines += [f"delete flowtable {spec} {ft.name}" for ft in recreate]
    if cur_ft is not None and new is None:
        lines.append(f"delete flowtable {spec} {name}")
    for ft in wanted_fts:
        cur = current.flowtable(ft.name)
        if cur is None or ft in recreate:
            lines.append(render_flowtable(ft))
        elif set(ft.devices) - set(cur.devices):
            # In place; repeat flags and counter or the kernel drops them.
            lines.append(render_flowtable(ft.replace(devices=set(ft.devices) - set(cur.devices))))
    if chain_missing:
        lines.append(owned_chain_stmt(family, table))
    if flush or chain_missing:
        lines += add_rules
    result.commands = lines
    return result


def plan_chain(current: Current, desired: Desired, new: FlowtableModel | None) -> Plan:
    """Batch for chain mode: our flowtable and our tagged rule, nothing else."""
    family, table, name, chain = desired.family, desired.table, desired.name, desired.chain
    spec = f"{family} {table}"
    cur_ft = current.flowtable(name)
    our_rules = [(key, handle) for key, handle, _l in current.rules if key is not None and key[0] == name]
    if cur_ft and not our_rules:
        raise FlowOffloadError(
            f"name: flowtable {name} already exists in table {spec} and no rule tagged "
            f"\"{RULE_TAG}{name}\" feeds it from chain {chain}, so it is not managed by "
            "flowoffload.nft; choose another name")
    before_rules = [rule_expr(key[0], list(key[1])) for key, _h in our_rules]
    before = render_table(family, table, [cur_ft] if cur_ft else [], before_rules, chain) if cur_ft or our_rules else ""
    deletes = [f"delete rule {spec} {chain} handle {handle}" for _k, handle in our_rules]
    if new is None:
        return Plan(deletes + ([f"delete flowtable {spec} {name}"] if cur_ft else []), before, "", None, [], {})
    rule_line = f"insert rule {spec} {chain} {rule_expr(name, list(desired.protocols))}"
    rule_ok = len(our_rules) == 1 and our_rules[0][0] == (name, desired.protocols)
    lines: list[str] = []
    if cur_ft is None or _needs_recreate(cur_ft, new):
        lines = deletes + ([f"delete flowtable {spec} {name}"] if cur_ft else []) + [render_flowtable(new), rule_line]
    else:
        added = set(new.devices) - set(cur_ft.devices)
        if added:
            lines.append(render_flowtable(new.replace(devices=added)))
        if not rule_ok:
            lines += deletes + [rule_line]
    after = render_table(family, table, [new], [rule_expr(name, list(desired.protocols))], chain)
    return Plan(lines, before, after, new, [new], {name: desired.protocols})
