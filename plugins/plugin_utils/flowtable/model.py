# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Flowtable module: the one model, the one renderer and the desired state (pure, private).

``FlowtableModel`` is the one flowtable value from parse (``flowtable.nft``: listings,
persisted files, the audit's read-back) to render (``render_flowtable``: batch, diff,
persisted file and probe alike). The plan of the owned table or chain is
``flowtable.plan``.

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
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.syntax import (
    normalize_devices,
    normalize_protocols,
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
    """A flowtable as the collection parses and renders it (devices normalized, priority an int)."""

    family: str
    table: str
    name: str
    hook: str = "ingress"
    priority: int = 0
    devices: tuple[str, ...] = ()
    offload: bool = False
    counter: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "devices", normalize_devices(self.devices))

    @property
    def key(self) -> tuple[str, str, str]:
        return self.family, self.table, self.name

    def as_dict(self) -> dict[str, t.Any]:
        """The normalized flowtable of docs/design.md (a return value handed to Ansible)."""
        return {
            "family": self.family, "table": self.table, "name": self.name, "hook": self.hook,
            "priority": self.priority, "devices": list(self.devices), "offload": self.offload,
            "counter": self.counter,
        }

    def replace(self, *, devices: t.Iterable[str]) -> FlowtableModel:
        """The same flowtable with other devices (one device line, a bare definition, an addition)."""
        return dataclasses.replace(self, devices=tuple(devices))


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


def parse_offload(value: object) -> str:
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
        devices=normalize_devices(validate_device(dev) for dev in (raw_devices or [])),
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
