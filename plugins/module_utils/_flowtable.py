# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Flowtable module: desired state, plan and render (pure, private).

Two ownership modes:
- owned table (no ``chain``): the whole table is ours, marked by the table comment
  ``managed by flowoffload.nft``; it holds the flowtables and one forward base chain
  (priority filter + 10, policy accept) whose rules are only the offload rules.
- chain mode: an existing forward base chain of someone else's table; we add only the
  flowtable and one rule tagged ``comment "flowoffload.nft:NAME"`` at the top.
"""
from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.flowoffload.nft.plugins.module_utils._errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.module_utils._nft import (
    parse_chains,
    parse_flowtables,
    parse_rules,
    parse_text,
    resolve_priority,
    rule_offload_target,
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

Flowtable = t.Dict[str, t.Any]


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


def desired_state(params: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """Validate module parameters (before touching the host) and return the desired state."""
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
    chain = params.get("chain")
    desired = {
        "name": validate_identifier(params.get("name") or "ft", "name"),
        "family": family,
        "table": validate_identifier(params.get("table") or "flowoffload", "table"),
        "chain": validate_identifier(chain, "chain") if chain else None,
        "devices": sorted({validate_device(dev) for dev in (raw_devices or [])}),
        "priority": resolve_priority("filter" if params.get("priority") is None else params["priority"]),
        "offload": parse_offload(params.get("offload", False)),
        "counter": bool(params.get("counter", True)),
        "protocols": sorted(set(protocols)),
        "missing_devices": params.get("missing_devices") or "fail",
        "state": state,
        "persist": bool(params.get("persist", True)),
        "backend": backend,
    }
    if desired["missing_devices"] not in ("fail", "skip"):
        raise FlowOffloadError("missing_devices: use fail or skip")
    if backend == "nft" and state == "present" and not desired["devices"]:
        raise FlowOffloadError(
            "devices: state=present needs at least one device (a flowtable without devices "
            "offloads nothing); list the forwarding devices, e.g. [lan0, wan0]"
        )
    return desired


def select_devices(desired: t.Mapping[str, t.Any], exists: t.Callable[[str], bool]) -> t.Tuple[t.List[str], t.List[str]]:
    """(devices to use, skipped devices) after the missing_devices policy."""
    missing = [dev for dev in desired["devices"] if not exists(dev)]
    if not missing or desired["state"] == "absent":
        return list(desired["devices"]), []
    if desired["missing_devices"] == "fail":
        raise FlowOffloadError(
            f"devices: {', '.join(missing)} do(es) not exist on this host (no "
            "/sys/class/net entry); create them first, fix the list, or set "
            "missing_devices=skip"
        )
    remaining = [dev for dev in desired["devices"] if dev not in missing]
    if not remaining:
        raise FlowOffloadError(
            f"devices: none of the listed devices exist ({', '.join(missing)}); a flowtable "
            "without devices offloads nothing: fix devices"
        )
    return remaining, missing


def wanted_flowtable(desired: t.Mapping[str, t.Any], devices: t.Sequence[str], offload: bool) -> Flowtable:
    return {
        "family": desired["family"],
        "table": desired["table"],
        "name": desired["name"],
        "hook": "ingress",
        "priority": desired["priority"],
        "devices": sorted(devices),
        "offload": offload,
        "counter": desired["counter"],
    }


# --- the one flowtable model and the one renderer ---------------------------------------
@dataclasses.dataclass(frozen=True)
class FlowtableModel:
    """A flowtable as the collection renders it (devices sorted, priority an int)."""

    family: str
    table: str
    name: str
    hook: str = "ingress"
    priority: int = 0
    devices: t.Tuple[str, ...] = ()
    offload: bool = False
    counter: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "devices", tuple(sorted(set(self.devices))))

    def as_dict(self) -> t.Dict[str, t.Any]:
        """The normalized flowtable of docs/design.md."""
        return {
            "family": self.family, "table": self.table, "name": self.name, "hook": self.hook,
            "priority": self.priority, "devices": list(self.devices), "offload": self.offload,
            "counter": self.counter,
        }

    @classmethod
    def from_dict(cls, data: t.Mapping[str, t.Any]) -> "FlowtableModel":
        return cls(str(data["family"]), str(data["table"]), str(data["name"]), str(data.get("hook") or "ingress"),
                   int(data.get("priority") or 0), tuple(data.get("devices") or ()), bool(data.get("offload")),
                   bool(data.get("counter")))

    def replace(self, **changes: t.Any) -> "FlowtableModel":
        return dataclasses.replace(self, **changes)


def flowtable_parts(ft: FlowtableModel) -> t.List[str]:
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


# --- current state from listings ------------------------------------------------------
def parse_owned(json_text: t.Optional[str], text: str, family: str, table: str) -> t.Dict[str, t.Any]:
    """Current state of an owned-table candidate from ``nft -j list table`` + text."""
    if json_text is None:
        return {"exists": False, "owned": False, "flowtables": [], "chains": [], "rules": []}
    comments = parse_text(text)["comments"]
    return {
        "exists": True,
        "owned": comments.get((family, table)) == OWNER_COMMENT,
        "flowtables": parse_flowtables(json_text, text),
        "chains": parse_chains(json_text),
        "rules": parse_rules(json_text),
    }


def parse_chain_mode(
    chain_json: t.Optional[str], ft_pair: t.Optional[t.Tuple[str, str]], desired: t.Mapping[str, t.Any]
) -> t.Dict[str, t.Any]:
    """Current state in chain mode from ``nft -j list chain`` and the flowtable listing."""
    where = f"{desired['family']} {desired['table']} {desired['chain']}"
    if chain_json is None:
        raise FlowOffloadError(
            f"chain: chain {where} does not exist; chain must name an existing forward "
            "base chain (type filter hook forward) of table, or leave chain unset to let the "
            "module own its table"
        )
    chains = [c for c in parse_chains(chain_json) if c["name"] == desired["chain"]]
    base = chains[0] if chains else {}
    if base.get("type") != "filter" or base.get("hook") != "forward":
        kind = f"type {base.get('type')} hook {base.get('hook')}" if base.get("hook") else "a regular chain"
        raise FlowOffloadError(
            f"chain: {where} is {kind}, not a forward base chain; name a chain declared "
            "with 'type filter hook forward', or leave chain unset"
        )
    flowtables = parse_flowtables(*ft_pair) if ft_pair else []
    return {
        "exists": True,
        "owned": True,
        "flowtables": [ft for ft in flowtables if ft["name"] == desired["name"]],
        "chains": chains,
        "rules": [r for r in parse_rules(chain_json) if r["chain"] == desired["chain"]],
    }


# --- render ---------------------------------------------------------------------------
def _devices_text(devices: t.Sequence[str]) -> str:
    # Quoted: names starting with a digit or holding '+' are strings, not numbers/operators.
    return ", ".join(f'"{dev}"' for dev in devices)


def flowtable_body(ft: Flowtable, devices: t.Optional[t.Sequence[str]] = None) -> str:
    devs = ft["devices"] if devices is None else devices
    parts = [f"hook ingress priority {ft['priority']}", f"devices = {{ {_devices_text(devs)} }}"]
    if ft["offload"]:
        parts.append("flags offload")
    if ft["counter"]:
        parts.append("counter")
    return "; ".join(parts) + ";"


def add_flowtable(ft: Flowtable, devices: t.Optional[t.Sequence[str]] = None) -> str:
    return f"add flowtable {ft['family']} {ft['table']} {ft['name']} {{ {flowtable_body(ft, devices)} }}"


def rule_expr(name: str, protocols: t.Sequence[str]) -> str:
    protos = protocols[0] if len(protocols) == 1 else "{ " + ", ".join(protocols) + " }"
    return f'meta l4proto {protos} flow add @{name} comment "{RULE_TAG}{name}"'


def owned_chain_stmt(family: str, table: str) -> str:
    return (
        f"add chain {family} {table} {OWNED_CHAIN} {{ type filter hook forward priority "
        f"{OWNED_CHAIN_PRIORITY}; policy accept; }}"
    )


def render_text(
    family: str, table: str, flowtables: t.Sequence[Flowtable], rules: t.Mapping[str, t.Sequence[str]],
    chain: t.Optional[str] = None,
) -> str:
    """nft text of the objects we own (for diff and persistence); '' when nothing."""
    if not flowtables and not rules:
        return ""
    lines = [f"table {family} {table} {{"]
    if chain is None:
        lines.append(f'\tcomment "{OWNER_COMMENT}"')
    for ft in sorted(flowtables, key=lambda f: f["name"]):
        lines.append(f"\tflowtable {ft['name']} {{")
        lines.append(f"\t\thook ingress priority {ft['priority']}")
        lines.append(f"\t\tdevices = {{ {_devices_text(ft['devices'])} }}")
        if ft["offload"]:
            lines.append("\t\tflags offload")
        if ft["counter"]:
            lines.append("\t\tcounter")
        lines.append("\t}")
    if chain is None:
        lines.append(f"\tchain {OWNED_CHAIN} {{")
        lines.append(f"\t\ttype filter hook forward priority {OWNED_CHAIN_PRIORITY}; policy accept;")
    else:
        lines.append(f"\tchain {chain} {{")
        lines.append("\t\t# only the rules flowoffload.nft owns in this chain are shown")
    for name in sorted(rules):
        lines.append(f"\t\t{rule_expr(name, rules[name])}")
    lines.append("\t}")
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- plan -----------------------------------------------------------------------------
def _needs_recreate(cur: Flowtable, new: Flowtable) -> bool:
    same = ("priority", "offload", "counter", "hook")
    if any(cur.get(key) != new.get(key) for key in same):
        return True
    return bool(set(cur["devices"]) - set(new["devices"]))


def _rules_for(rules: t.Sequence[t.Mapping[str, t.Any]], name: str, owned_table: bool) -> t.List[t.Mapping[str, t.Any]]:
    found = []
    for rule in rules:
        target, _protos = rule_offload_target(rule)
        if rule.get("comment") == f"{RULE_TAG}{name}" or (owned_table and target == name):
            found.append(rule)
    return found


def _rule_ok(rules: t.Sequence[t.Mapping[str, t.Any]], name: str, protocols: t.Sequence[str]) -> bool:
    if len(rules) != 1:
        return False
    target, protos = rule_offload_target(rules[0])
    return target == name and protos == sorted(protocols)


def current_rules_model(rules: t.Sequence[t.Mapping[str, t.Any]], owned_table: bool) -> t.Dict[str, t.List[str]]:
    """{flowtable name: protocols} for the offload rules we own."""
    model: t.Dict[str, t.List[str]] = {}
    for rule in rules:
        target, protos = rule_offload_target(rule)
        if target and (owned_table or rule.get("comment") == f"{RULE_TAG}{target}"):
            model[target] = protos
    return model


def _owned_chain_ok(chains: t.Sequence[t.Mapping[str, t.Any]]) -> t.Optional[bool]:
    """None: chain missing; True: as expected; False: differs."""
    for chain in chains:
        if chain["name"] == OWNED_CHAIN:
            return (
                chain.get("type") == "filter" and chain.get("hook") == "forward"
                and chain.get("priority") == OWNED_CHAIN_PRIORITY and chain.get("policy") == "accept"
            )
    return None


def plan(current: t.Mapping[str, t.Any], desired: t.Mapping[str, t.Any], new_ft: t.Optional[Flowtable]) -> t.Dict[str, t.Any]:
    """The batch (list of statements) turning current into desired, plus before/after models.

    new_ft is the wanted flowtable (None for state=absent).
    """
    family, table, name = desired["family"], desired["table"], desired["name"]
    chain = desired["chain"]
    owned_mode = chain is None
    spec = f"{family} {table}"
    if owned_mode and current["exists"] and not current["owned"]:
        raise FlowOffloadError(
            f"table: table {spec} exists and is not managed by flowoffload.nft (it lacks the "
            f"comment \"{OWNER_COMMENT}\"); the module will not take it over. Choose another "
            "table name, or set chain to add the flowtable to that table's forward chain"
        )
    cur_ft = next((ft for ft in current["flowtables"] if ft["name"] == name), None)
    our_rules = _rules_for(current["rules"], name, owned_mode)
    if not owned_mode and cur_ft and not our_rules:
        raise FlowOffloadError(
            f"name: flowtable {name} already exists in table {spec} and no rule tagged "
            f"\"{RULE_TAG}{name}\" feeds it from chain {chain}, so it is not managed by "
            "flowoffload.nft; choose another name"
        )
    before_rules = current_rules_model(current["rules"], owned_mode)
    if not owned_mode:
        before_rules = {k: v for k, v in before_rules.items() if k == name}
    before_fts = list(current["flowtables"]) if owned_mode else ([cur_ft] if cur_ft else [])
    lines: t.List[str] = []
    deletes_rules = [f"delete rule {spec} {r['chain']} handle {r['handle']}" for r in our_rules]
    rule_stmt = (
        f"add rule {spec} {OWNED_CHAIN} " if owned_mode else f"insert rule {spec} {chain} "
    )
    if new_ft is None:
        others = [ft for ft in current["flowtables"] if ft["name"] != name]
        if owned_mode and current["exists"] and not others:
            lines.append(f"delete table {spec}")
        else:
            lines.extend(deletes_rules)
            if cur_ft:
                lines.append(f"delete flowtable {spec} {name}")
        after_fts = [ft for ft in before_fts if ft["name"] != name]
        after_rules = {k: v for k, v in before_rules.items() if k != name}
        if owned_mode and not others:
            after_fts, after_rules = [], {}
        return _result(lines, desired, before_fts, before_rules, after_fts, after_rules)

    protocols = desired["protocols"]
    rule_line = rule_stmt + rule_expr(name, protocols)
    if owned_mode and not current["exists"]:
        lines.append(f'add table {spec} {{ comment "{OWNER_COMMENT}"; }}')
        lines.append(add_flowtable(new_ft))
        lines.append(owned_chain_stmt(family, table))
        lines.append(rule_line)
    elif owned_mode and _owned_chain_ok(current["chains"]) is False:
        # Someone changed our chain's type/hook/priority: rebuild the table we own.
        keep = [ft for ft in current["flowtables"] if ft["name"] != name]
        lines.append(f"delete table {spec}")
        lines.append(f'add table {spec} {{ comment "{OWNER_COMMENT}"; }}')
        for ft in sorted(keep + [new_ft], key=lambda f: f["name"]):
            lines.append(add_flowtable(ft))
        lines.append(owned_chain_stmt(family, table))
        for ft_name, protos in sorted({**before_rules, name: protocols}.items()):
            if any(ft["name"] == ft_name for ft in keep + [new_ft]):
                lines.append(f"add rule {spec} {OWNED_CHAIN} " + rule_expr(ft_name, protos))
    else:
        chain_missing = owned_mode and _owned_chain_ok(current["chains"]) is None
        if chain_missing:
            lines.append(owned_chain_stmt(family, table))
        if cur_ft is None or _needs_recreate(cur_ft, new_ft):
            lines.extend(deletes_rules)
            if cur_ft:
                lines.append(f"delete flowtable {spec} {name}")
            lines.append(add_flowtable(new_ft))
            lines.append(rule_line)
        else:
            added = sorted(set(new_ft["devices"]) - set(cur_ft["devices"]))
            if added:
                # In place; repeat flags and counter or the kernel drops them.
                lines.append(add_flowtable(new_ft, added))
            if not _rule_ok(our_rules, name, protocols):
                lines.extend(deletes_rules)
                lines.append(rule_line)
    after_fts = [ft for ft in before_fts if ft["name"] != name] + [new_ft]
    after_rules = {**before_rules, name: list(protocols)}
    return _result(lines, desired, before_fts, before_rules, after_fts, after_rules)


def _result(
    lines: t.List[str], desired: t.Mapping[str, t.Any], before_fts: t.Sequence[Flowtable],
    before_rules: t.Mapping[str, t.Sequence[str]], after_fts: t.Sequence[Flowtable],
    after_rules: t.Mapping[str, t.Sequence[str]],
) -> t.Dict[str, t.Any]:
    family, table, chain = desired["family"], desired["table"], desired["chain"]
    return {
        "commands": lines,
        "before": render_text(family, table, before_fts, before_rules, chain),
        "after": render_text(family, table, after_fts, after_rules, chain),
        "after_flowtables": list(after_fts),
        "after_rules": dict(after_rules),
    }
