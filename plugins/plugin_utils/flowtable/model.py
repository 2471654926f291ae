# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Flowtable module: the one model, the one renderer, desired state and plan (pure, private).

Two ownership modes:
- owned table (no ``chain``): the whole table is ours, marked by the table comment
  ``managed by flowoffload.nft``; it holds the flowtables and one forward base chain
  (priority filter + 10, policy accept) whose rules are only the offload rules. Whatever
  else is found in it (a rule added by hand, a set, another chain) is drift: the plan puts
  the table back exactly as rendered.
- chain mode: an existing forward base chain of someone else's table; we add only the
  flowtable and one rule tagged ``comment "flowoffload.nft:NAME"`` at the top.
"""
from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.nft import (
    chain_rule_lines,
    normalize_protocols,
    offload_rule,
    other_objects,
    parse_chains,
    parse_flowtables,
    parse_rules,
    parse_text,
    resolve_priority,
    validate_device,
    validate_identifier,
)

OWNER_COMMENT = "managed by flowoffload.nft"
RULE_TAG = "flowoffload.nft:"
OWNED_CHAIN = "forward"
OWNED_CHAIN_PRIORITY = 10  # filter + 10: after the standard filter chains
FAMILIES = ("inet", "ip", "ip6")
PROTOCOLS = ("tcp", "udp")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


# --- the one flowtable model and the one renderer ---------------------------------------
@dataclasses.dataclass(frozen=True)
class FlowtableModel:
    """A flowtable as the collection renders it (devices sorted, priority an int)."""

    family: str
    table: str
    name: str
    hook: str = "ingress"
    priority: int = 0
    devices: tuple[str, ...] = ()
    offload: bool = False
    counter: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "devices", tuple(sorted(set(self.devices))))

    def as_dict(self) -> dict[str, t.Any]:
        """The normalized flowtable of docs/design.md."""
        return {
            "family": self.family, "table": self.table, "name": self.name, "hook": self.hook,
            "priority": self.priority, "devices": list(self.devices), "offload": self.offload,
            "counter": self.counter,
        }

    @classmethod
    def from_dict(cls, data: t.Mapping[str, t.Any]) -> FlowtableModel:
        return cls(str(data["family"]), str(data["table"]), str(data["name"]), str(data.get("hook") or "ingress"),
                   int(data.get("priority") or 0), tuple(data.get("devices") or ()), bool(data.get("offload")),
                   bool(data.get("counter")))

    def replace(self, **changes: t.Any) -> FlowtableModel:
        return dataclasses.replace(self, **changes)


def flowtable_parts(ft: FlowtableModel) -> list[str]:
    """The statements inside a flowtable's braces (no devices clause when there are none)."""
    parts = [f"hook {ft.hook} priority {ft.priority}"]
    if ft.devices:
        # Quoted: names starting with a digit or holding '+' are strings, not numbers/operators.
        parts.append("devices = { " + ", ".join(f'"{dev}"' for dev in ft.devices) + " }")
    if ft.offload:
        parts.append("flags offload")
    if ft.counter:
        parts.append("counter")
    return parts


def render_flowtable(ft: FlowtableModel, form: str = "add") -> str:
    """THE flowtable renderer: ``add`` (one batch statement) or ``block`` (nft text, for the
    diff and the persistence file, indented as inside a table)."""
    if form == "add":
        return f"add flowtable {ft.family} {ft.table} {ft.name} {{ " + "; ".join(flowtable_parts(ft)) + "; }"
    return "".join([f"\tflowtable {ft.name} {{\n"] + [f"\t\t{part}\n" for part in flowtable_parts(ft)] + ["\t}\n"])


def rule_expr(name: str, protocols: t.Sequence[str]) -> str:
    protos = protocols[0] if len(protocols) == 1 else "{ " + ", ".join(protocols) + " }"
    return f'meta l4proto {protos} flow add @{name} comment "{RULE_TAG}{name}"'


def owned_chain_stmt(family: str, table: str) -> str:
    return (f"add chain {family} {table} {OWNED_CHAIN} {{ type filter hook forward priority "
            f"{OWNED_CHAIN_PRIORITY}; policy accept; }}")


# --- desired state: every option validated here, once -----------------------------------
@dataclasses.dataclass(frozen=True)
class Desired:
    family: str
    table: str
    name: str
    chain: str | None
    devices: tuple[str, ...]
    priority: int
    offload: str  # true | false | auto
    counter: bool
    protocols: tuple[str, ...]
    missing_devices: str
    state: str
    persist: bool
    backend: str

    def flowtable(self, devices: t.Iterable[str], hardware: bool) -> FlowtableModel:
        return FlowtableModel(self.family, self.table, self.name, "ingress", self.priority, tuple(devices),
                              hardware, self.counter)


def parse_offload(value: t.Any) -> str:
    """'true', 'false' or 'auto' from a bool or a yes/no/true/false/auto string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().lower() if value is not None else ""
    if text in _TRUE:
        return "true"
    if text in _FALSE:
        return "false"
    if text == "auto":
        return "auto"
    raise FlowOffloadError(
        f"offload: {value!r} is not valid; use false (software), true (hardware required) "
        "or auto (hardware where the kernel accepts it, else software)"
    )


def desired_state(params: t.Mapping[str, t.Any]) -> Desired:
    """Validate module parameters (before any script runs) and return the desired state."""
    family = params.get("family") or "inet"
    if family not in FAMILIES:
        raise FlowOffloadError(
            f"family: {family!r} is not supported; use one of {', '.join(FAMILIES)} "
            "(a flowtable lives in an inet, ip or ip6 table)"
        )
    backend = params.get("backend") or "nft"
    state = params.get("state") or "present"
    raw_devices = params.get("devices")
    if backend == "fw4" and raw_devices:
        raise FlowOffloadError(
            "devices: with backend=fw4 the devices come from fw4's zones (firewall4 builds "
            "flowtable ft in table inet fw4 from the zone devices); remove devices or use "
            "backend=nft"
        )
    protocols = params.get("protocols")
    protocols = list(PROTOCOLS) if protocols is None else list(protocols)
    bad = [p for p in protocols if p not in PROTOCOLS]
    if bad or not protocols:
        raise FlowOffloadError(
            f"protocols: {bad or protocols!r} is not valid; use a non-empty list of tcp and/or udp"
        )
    missing = params.get("missing_devices") or "fail"
    if missing not in ("fail", "skip"):
        raise FlowOffloadError("missing_devices: use fail or skip")
    chain = params.get("chain")
    desired = Desired(
        family=family,
        table=validate_identifier(params.get("table") or "flowoffload", "table"),
        name=validate_identifier(params.get("name") or "ft", "name"),
        chain=validate_identifier(chain, "chain") if chain else None,
        devices=tuple(sorted({validate_device(dev) for dev in (raw_devices or [])})),
        priority=resolve_priority("filter" if params.get("priority") is None else params["priority"]),
        offload=parse_offload(params.get("offload", False)),
        counter=bool(params.get("counter", True)),
        protocols=tuple(normalize_protocols(protocols)),
        missing_devices=missing,
        state=state,
        persist=bool(params.get("persist", True)),
        backend=backend,
    )
    if backend == "nft" and state == "present" and not desired.devices:
        raise FlowOffloadError(
            "devices: state=present needs at least one device (a flowtable without devices "
            "offloads nothing); list the forwarding devices, e.g. [lan0, wan0]"
        )
    return desired


def select_devices(desired: Desired, exists: t.Callable[[str], bool]) -> tuple[list[str], list[str]]:
    """(devices to use, skipped devices) after the missing_devices policy."""
    missing = [dev for dev in desired.devices if not exists(dev)]
    if not missing or desired.state == "absent":
        return list(desired.devices), []
    if desired.missing_devices == "fail":
        raise FlowOffloadError(
            f"devices: {', '.join(missing)} do(es) not exist on this host (no "
            "/sys/class/net entry); create them first, fix the list, or set "
            "missing_devices=skip"
        )
    remaining = [dev for dev in desired.devices if dev not in missing]
    if not remaining:
        raise FlowOffloadError(
            f"devices: none of the listed devices exist ({', '.join(missing)}); a flowtable "
            "without devices offloads nothing: fix devices"
        )
    return remaining, missing


# --- current state ----------------------------------------------------------------------
@dataclasses.dataclass
class Current:
    """What exists of the objects the task may own, from the listings of the read."""

    exists: bool = False
    owned: bool = False
    flowtables: list[FlowtableModel] = dataclasses.field(default_factory=list)
    chains: list[dict[str, t.Any]] = dataclasses.field(default_factory=list)
    # (rendered rule or None for a foreign rule, handle, text line)
    rules: list[tuple[tuple[str, tuple[str, ...]] | None, t.Any, str]] = dataclasses.field(default_factory=list)
    others: list[str] = dataclasses.field(default_factory=list)

    def flowtable(self, name: str) -> FlowtableModel | None:
        return next((ft for ft in self.flowtables if ft.name == name), None)


def _rules(json_text: str, text: str, chain: str) -> list[tuple[t.Any, t.Any, str]]:
    rules = [r for r in parse_rules(json_text) if r["chain"] == chain]
    lines = chain_rule_lines(text, chain) if text else []
    out = []
    for index, rule in enumerate(rules):
        form = offload_rule(rule)
        ours = form is not None and rule.get("comment") == f"{RULE_TAG}{form[0]}"
        key = (form[0], tuple(form[1])) if form is not None and ours else None
        line = lines[index] if len(lines) == len(rules) else f"# rule handle {rule.get('handle')}"
        out.append((key, rule.get("handle"), line))
    return out


def parse_owned(json_text: str | None, text: str, desired: Desired) -> Current:
    """Current state of the owned table from ``nft -j list table`` + ``nft list table``."""
    if json_text is None:
        return Current()
    comments = parse_text(text)["comments"]
    chains = parse_chains(json_text)
    return Current(
        exists=True,
        owned=comments.get((desired.family, desired.table)) == OWNER_COMMENT,
        flowtables=[FlowtableModel.from_dict(ft) for ft in parse_flowtables(json_text, text)],
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
    base = chains[0] if chains else {}
    if base.get("type") != "filter" or base.get("hook") != "forward":
        kind = f"type {base.get('type')} hook {base.get('hook')}" if base.get("hook") else "a regular chain"
        raise FlowOffloadError(
            f"chain: {where} is {kind}, not a forward base chain; name a chain declared "
            "with 'type filter hook forward', or leave chain unset"
        )
    flowtables = parse_flowtables(*ft_pair) if ft_pair else []
    return Current(
        exists=True, owned=True,
        flowtables=[FlowtableModel.from_dict(ft) for ft in flowtables if ft["name"] == desired.name],
        chains=chains,
        rules=[r for r in _rules(chain_json, "", str(desired.chain)) if r[0] is not None],
    )


# --- the wanted owned table and the diff text -------------------------------------------
Rule = tuple[str, tuple[str, ...]]


def render_table(family: str, table: str, flowtables: t.Sequence[FlowtableModel], rules: t.Sequence[str],
                 chain: str | None = None, extra: t.Sequence[str] = ()) -> str:
    """nft text of the objects we own (diff and persistence); '' when there is nothing."""
    if not flowtables and not rules and not extra:
        return ""
    out = [f"table {family} {table} {{\n"]
    if chain is None:
        out.append(f'\tcomment "{OWNER_COMMENT}"\n')
    out.extend(render_flowtable(ft, "block") for ft in sorted(flowtables, key=lambda f: f.name))
    out.extend(f"\t# {line}\n" for line in extra)
    if chain is None:
        out.append(f"\tchain {OWNED_CHAIN} {{\n\t\ttype filter hook forward priority {OWNED_CHAIN_PRIORITY}; policy accept;\n")
    else:
        out.append(f"\tchain {chain} {{\n\t\t# only the rules flowoffload.nft owns in this chain are shown\n")
    out.extend(f"\t\t{line}\n" for line in rules)
    out.append("\t}\n}\n")
    return "".join(out)


def _owned_chain_ok(chains: t.Sequence[t.Mapping[str, t.Any]]) -> bool | None:
    """None: chain missing; True: as rendered; False: differs."""
    for chain in chains:
        if chain["name"] == OWNED_CHAIN:
            return (chain.get("type") == "filter" and chain.get("hook") == "forward"
                    and chain.get("priority") == OWNED_CHAIN_PRIORITY and chain.get("policy") == "accept")
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
        shared = sorted(set(other.devices) & set(new.devices))
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
    recreate = [ft for ft in wanted_fts if current.flowtable(ft.name) and _needs_recreate(current.flowtable(ft.name), ft)]
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
            lines.append(render_flowtable(ft.replace(devices=tuple(set(ft.devices) - set(cur.devices)))))
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
        lines = deletes + ([f"delete flowtable {spec} {name}"] if cur_ft else [])
        return Plan(lines, before, "", None, [], {})
    rule_line = f"insert rule {spec} {chain} {rule_expr(name, list(desired.protocols))}"
    rule_ok = len(our_rules) == 1 and our_rules[0][0] == (name, desired.protocols)
    lines = []
    if cur_ft is None or _needs_recreate(cur_ft, new):
        lines = deletes + ([f"delete flowtable {spec} {name}"] if cur_ft else []) + [render_flowtable(new), rule_line]
    else:
        added = tuple(set(new.devices) - set(cur_ft.devices))
        if added:
            lines.append(render_flowtable(new.replace(devices=added)))
        if not rule_ok:
            lines += deletes + [rule_line]
    after = render_table(family, table, [new], [rule_expr(name, list(desired.protocols))], chain)
    return Plan(lines, before, after, new, [new], {name: desired.protocols})
