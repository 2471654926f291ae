# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""flowoffload.nft.offload_facts on the controller: one read, facts built here (private).

- ``facts_reads(subsets)``: the reads the requested subsets need (``reads.py``);
- ``build_facts(snapshot, subsets)``: ``ansible_facts.flowoffload`` (docs/design.md) from a
  snapshot that may hold other planners' sections too (the gateway reads once for all);
- ``run_facts(target, params, check_mode)``: ``FactsPart`` through the one driver
  (``target/driver.py``): exactly one round trip, read-only (an empty apply spec), the same
  in check mode; never fails because the kernel lacks flowtables or a tool is missing (the
  fact is ``null``/``missing``/``[]`` with the reason or a warning instead).
"""
from __future__ import annotations

import dataclasses
import json
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
    classify_nft_error,
    nft_hint,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import conflicts as fc
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import ethtool as _ethtool
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import links as fl
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import parse as fp
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import reads as fr
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts.reads import facts_reads
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import nft as _nft
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import probe as _probe
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import modules as _kmod
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import packages as _packages
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.driver import Params, drive
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.host import host_from
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    ApplySpec,
    Read,
    Section,
    Snapshot,
    Target,
)

__all__ = ["FactsPart", "build_facts", "facts_reads", "gather_from", "run_facts"]

PLATFORM_KEYS = ("os_family", "distribution", "distribution_version", "kernel", "package_manager",
                 "firewall", "init")
NO_ETHTOOL = "ethtool is not installed on the target"


T = t.TypeVar("T")


class Interface(t.TypedDict):
    """One entry of the ``interfaces`` fact (docs/design.md)."""

    kind: str
    driver: str | None
    operstate: str
    lower: list[str]
    hw_tc_offload: bool | None
    hardware_offload: str
    hardware_offload_reason: str


class Shaping(t.TypedDict):
    """The ``shaping`` fact: how far shaping could be checked."""

    tool: str | None
    checked: bool
    configured: list[str]
    message: str


class NftFacts(t.TypedDict):
    path: str | None
    version: str | None
    json: bool | None


def _first_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else ""


class _Facts:
    """Builds each subset once from the snapshot; collects the warnings."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snap = snapshot
        self.warnings: list[str] = []
        self.shaping: Shaping | None = None  # set by conflicts()
        self._cache: dict[str, object] = {}

    def _once(self, key: str, func: t.Callable[[], T]) -> T:
        if key not in self._cache:
            self._cache[key] = func()
        return t.cast(T, self._cache[key])

    def host(self) -> dict[str, t.Any]:
        return self._once("host", lambda: host_from(self.snap))

    def tools(self) -> dict[str, str]:
        return self.host()["tools"]

    # --- platform, kernel, package ----------------------------------------------------
    def platform(self) -> dict[str, str]:
        host = self.host()
        return {key: host[key] for key in PLATFORM_KEYS}

    def software(self) -> _probe.ProbeResult:
        return self._once("software", lambda: _probe.software_verdict(self.snap))

    def kernel(self) -> dict[str, t.Any]:
        supported, message = self.software()
        config = _kmod.kernel_config_from(self.snap)
        return {
            "modules": _kmod.module_states_from(self.snap, _kmod.DEFAULT_MODULES),
            "config": {"file": config["file"], **fp.kernel_config_values(config)} if config.get("file") else {"file": None},
            "software_offload": {"supported": supported, "message": message},
            "persistence": _kmod.persistence_from(self.snap, self.host()),
        }

    def sysctl(self) -> dict[str, int | None]:
        pairs = fp.parse_pairs(self.snap.text(fr.K_SYSCTL))
        return {key: fp.parse_int(pairs.get(path)) for key, path in fr.SYSCTLS.items()}

    def package(self) -> dict[str, t.Any]:
        return _packages.package_from(self.snap, self.host())

    # --- nft, flowtables, flows ---------------------------------------------------------
    def nft(self) -> NftFacts:
        path = self.tools().get("nft")
        if not path:
            return {"path": None, "version": None, "json": None}
        try:
            version: str | None = _nft.parse_version(self.snap.out(fr.K_NFT_VERSION) or "")
        except FlowOffloadError:
            version = None
        works = False
        listing = self.snap.out(fr.K_NFT_JSON)
        if listing is not None:
            try:
                works = isinstance(json.loads(listing).get("nftables"), list)
            except (ValueError, AttributeError):
                works = False
        return {"path": path, "version": version, "json": works}

    def flowtables(self) -> list[dict[str, t.Any]]:
        if "nft" not in self.tools():
            self.warnings.append("flowtables: the nft binary was not found on the target; no flowtables listed")
            return []
        listing = self.snap.get(fr.K_FT_JSON)
        if listing is None:
            return []
        if not listing.ok:
            if classify_nft_error(listing.err) == "enoent":
                return []  # a kernel without flowtables lists none
            hint = nft_hint(listing.err)
            self.warnings.append(f"flowtables: 'nft -j list flowtables' failed: {listing.err.strip() or f'rc={listing.rc}'}"
                                 + (f"; {hint}" if hint else ""))
            return []
        try:
            return _nft.parse_flowtables(listing.out, self.snap.out(fr.K_FT_TEXT) or "")
        except FlowOffloadError as exc:
            self.warnings.append(f"flowtables: {exc.msg}")
            return []

    def flows(self) -> dict[str, int] | None:
        return fp.parse_flows_section(self.snap.out(fr.K_FLOWS))

    # --- links, interfaces, candidates ----------------------------------------------------
    def _devs(self) -> dict[str, fl.Dev]:
        return self._once("devs", lambda: {name: fl.parse_dev_section(sec.out)
                                           for name, sec in self.snap.with_prefix(fr.DEV_PREFIX).items() if name})

    def _eth(self) -> dict[str, Section]:
        return {name: sec for name, sec in self.snap.with_prefix(fr.ETH_PREFIX).items() if name}

    def _eth_driver(self, name: str) -> str | None:
        sec = self._eth().get(name)
        return (_ethtool.parse_ethtool_i(sec.out).get("driver") or None) if sec is not None else None

    def links(self) -> dict[str, fl.Link]:
        return self._once("links", self._links)

    def _links(self) -> dict[str, fl.Link]:
        pppoe = fl.parse_pppoe_sessions(self.snap.out(fr.K_PPPOE) or "")
        text = self.snap.out(fr.K_IP_LINK)
        if text is not None and fl.load_json_list(text):
            return fl.parse_ip_link(text, pppoe)
        links = {name: fl.link_from_sysfs(dev, bool(pppoe), self._eth_driver(name))
                 for name, dev in sorted(self._devs().items())}
        return fl.add_lowers(links, pppoe)

    def candidate_devices(self) -> list[str]:
        return self._once("candidates", self._candidates)

    def _candidates(self) -> list[str]:
        links = self.links()
        routes4 = self.snap.out(fr.K_ROUTE4)
        if routes4 is not None:  # iproute2 with JSON
            routes = fl.load_json_list(routes4) + fl.load_json_list(self.snap.out(fr.K_ROUTE6) or "")
            return fl.candidate_devices(links, routes, fl.load_json_list(self.snap.out(fr.K_ADDR) or ""))
        return fl.resolve_candidates(links, fl.proc_route_devices(self.snap.text(fr.K_PROC_ROUTES)))

    def _hw_tc(self, name: str) -> tuple[bool | None, str]:
        """(hw-tc-offload active, why it could not be read)."""
        if "ethtool" not in self.tools():
            return None, NO_ETHTOOL
        sec = self._eth().get(name)
        if sec is None:
            return None, f"ethtool did not run on {name}"
        feature = _ethtool.parse_ethtool_k(sec.out).get("hw-tc-offload")
        if feature is not None:
            return feature["active"], ""
        if not sec.ok:
            return None, f"ethtool -k {name}: {_first_line(sec.err) or f'rc={sec.rc}'}"
        return None, f"ethtool -k {name} does not list it"

    @staticmethod
    def _probe_worthy(kind: str) -> bool:
        return kind != "loopback" and kind not in fl.NOT_FAST_PATHED and kind not in fl.STACKED and kind != "bond"

    def interfaces(self) -> dict[str, Interface]:
        links, devs = self.links(), self._devs()
        openwrt = self.host()["os_family"] == "OpenWrt"
        software, software_msg = self.software()
        verdicts = _probe.hardware_verdicts(self.snap)
        drivers = {name: (devs.get(name) or {}).get("driver") or self._eth_driver(name) for name in links}
        result: dict[str, Interface] = {}
        for name, link in links.items():
            kind, driver = link["kind"], drivers[name]
            # The bus driver of a DSA user port is its switch's, of an mlx5 representor
            # mlx5_core; ethtool -i answers dsa / mlx5e_rep: those decide offload.
            offload_driver = driver
            eth_driver = self._eth_driver(name)
            if kind == "physical" and driver not in fp.FT_DRIVERS and eth_driver in fp.FT_DRIVERS:
                offload_driver = eth_driver
            if kind == "physical":
                devtype = (devs.get(name) or {}).get("devtype") or ""
                if offload_driver == "dsa" or devtype == "dsa":
                    kind = "dsa"
                elif devtype:
                    kind = devtype
            hw_tc, why = (None, "") if kind == "loopback" else self._hw_tc(name)
            conduit = drivers.get(link["parent"]) if kind == "dsa" and link.get("parent") else None
            probe: bool | None = None
            probe_msg = f"not probed: {software_msg}"
            if self._probe_worthy(kind) and software is True:
                probe, probe_msg = verdicts.get(name) or (None, (
                    f"not probed: {name!r} is not a name the probe can take" if not _probe.valid_probe_device(name)
                    else f"not probed: {name} did not exist when the probes ran"))
            status, reason = fp.classify_hardware(kind, offload_driver, hw_tc, software, probe, probe_msg,
                                                  openwrt, conduit, why)
            result[name] = {
                "kind": kind,
                "driver": driver,
                "operstate": link["operstate"],
                "lower": list(link.get("lower") or []),
                "hw_tc_offload": hw_tc,
                "hardware_offload": status,
                "hardware_offload_reason": reason,
            }
        return result

    # --- conflicts ------------------------------------------------------------------------
    def conflicts(self) -> list[dict[str, str]]:
        devices, links = self.candidate_devices(), self.links()
        result: list[dict[str, str]] = []
        qdisc_sec = self.snap.get(fr.K_QDISC)
        if "tc" not in self.tools():
            # A stock OpenWrt image has no tc: that is no reason to warn unless something on the
            # host could shape without it showing (SQM/qosify enabled in UCI, tc-bpf objects).
            found, message = fc.shaping_without_tc(self.snap.text(fr.K_SHAPING))
            self.shaping = {"tool": None, "checked": False, "configured": found, "message": message}
            if found:
                self.warnings.append(
                    f"conflicts: tc is not installed on the target, but {'; '.join(found)}: shaping qdiscs "
                    "could not be checked, and offloaded packets bypass them; install tc (opkg install tc-tiny, "
                    "or tc-full) so the facts can check")
            qdiscs: list[dict[str, t.Any]] = []  # tc's JSON: untyped
        elif qdisc_sec is None or not qdisc_sec.ok:
            err = _first_line(qdisc_sec.err) if qdisc_sec is not None else "not read"
            if "BusyBox" in err:
                err = "the target's tc is busybox's, which has no -j; install iproute2's tc"
            self.warnings.append(f"conflicts: 'tc -j qdisc show' failed ({err}); qdiscs were not checked")
            self.shaping = {"tool": "tc", "checked": False, "configured": [],
                            "message": f"'tc -j qdisc show' failed ({err}); qdiscs were not checked"}
            qdiscs = []
        else:
            qdiscs = fl.load_json_list(qdisc_sec.out)
            self.shaping = {"tool": "tc", "checked": True, "configured": [], "message": "qdiscs checked with tc"}
        result.extend(fc.qdisc_conflicts(qdiscs, devices))
        with_ingress = {q.get("dev") for q in qdiscs if q.get("kind") in ("ingress", "clsact")}
        for device in devices:
            if device in with_ingress:
                filters = fl.load_json_list(self.snap.out(fr.FILTER_PREFIX + device) or "")
                result.extend(fc.ifb_conflict(device, fc.mirred_targets(filters), links, qdiscs))
        xfrm = self.snap.out(fr.K_XFRM)
        if xfrm is not None:
            result.extend(fc.xfrm_conflicts(xfrm))
        ruleset = self.snap.out(fr.K_NFQUEUE)
        if ruleset is not None:
            result.extend(fc.nfqueue_conflicts(ruleset))
        return result


def gather_from(snapshot: Snapshot, subsets: t.Sequence[t.Any] | None) -> tuple[dict[str, t.Any], list[str]]:
    """(facts, warnings) from a snapshot that holds at least ``facts_reads(subsets)``.

    ``subsets``: the values as the ``gather_subset`` option takes them (``all``, names,
    ``!name``); an empty or None value means ``all``, as for the option."""
    facts = _Facts(snapshot)
    out: dict[str, t.Any] = {}
    for subset in fp.parse_gather_subset(subsets):
        if subset == "kernel":
            out["kernel"] = facts.kernel()
            out["sysctl"] = facts.sysctl()
        elif subset == "interfaces":
            out["interfaces"] = facts.interfaces()
            out["candidate_devices"] = facts.candidate_devices()
        elif subset == "conflicts":
            out["conflicts"] = facts.conflicts()
            out["shaping"] = dict(facts.shaping or {})
        else:
            out[subset] = getattr(facts, subset)()
    return out, facts.warnings


def build_facts(snapshot: Snapshot, subsets: t.Sequence[t.Any] | None) -> dict[str, t.Any]:
    """``ansible_facts.flowoffload`` (the structure of docs/design.md) from a snapshot."""
    return gather_from(snapshot, subsets)[0]


@dataclasses.dataclass(frozen=True)
class FactsPlan:
    """Read-only: the spec is always empty; the facts are built when planning."""

    facts: dict[str, t.Any]
    warnings: list[str]
    spec: ApplySpec = dataclasses.field(default_factory=ApplySpec)


class FactsPart:
    """offload_facts as a part of the one driver (target/driver.py): reads, plan, finish."""

    def reads(self, params: Params) -> list[Read]:
        return facts_reads(params.get("gather_subset"))  # validates gather_subset before anything runs

    def plan(self, snapshot: Snapshot, params: Params, check_mode: bool) -> FactsPlan:
        del check_mode  # nothing ever changes: check mode reads exactly the same
        return FactsPlan(*gather_from(snapshot, params.get("gather_subset")))

    def finish(self, plan: FactsPlan, applied: ApplyResult | None) -> dict[str, t.Any]:
        del applied  # the spec is empty: nothing is ever applied
        result: dict[str, t.Any] = {"changed": False, "ansible_facts": {"flowoffload": plan.facts}}
        if plan.warnings:
            result["warnings"] = plan.warnings
        return result


def run_facts(target: Target, params: Params, check_mode: bool) -> dict[str, t.Any]:
    """The module: one read script (one round trip), facts built on the controller.

    Read-only, so check mode reads exactly the same. A bad ``gather_subset`` fails before
    anything runs."""
    return drive(FactsPart(), target, params, check_mode)
