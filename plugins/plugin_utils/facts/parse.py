# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers and classifiers for flowoffload.nft.offload_facts (private).

``gather_subset``, the small ``key=value`` sections of the read script, the platform rules
(init system, firewall in charge) and the hardware offload verdict of a device. The
devices themselves (links, stacks, routes, candidates) are ``links.py``'s. Every function
takes text or data and returns data: no host access; ``run.py`` feeds them the sections
of the read script (``reads.py``).
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import FlowOffloadError
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts.links import (
    NOT_FAST_PATHED,
    STACKED,
)

SUBSETS = ("platform", "kernel", "package", "nft", "interfaces", "flowtables", "flows", "conflicts")

CONFIG_SYMBOLS = (
    "CONFIG_NF_FLOW_TABLE",
    "CONFIG_NF_FLOW_TABLE_INET",
    "CONFIG_NFT_FLOW_OFFLOAD",
    "CONFIG_NF_FLOW_TABLE_IPV4",
    "CONFIG_NF_FLOW_TABLE_IPV6",
)

# Drivers known to implement TC_SETUP_FT (hardware flowtable offload), see the guide.
FT_DRIVERS = frozenset(("mtk_soc_eth", "airoha_eth", "dsa", "mlx5e_rep"))
# Drivers exposing hw-tc-offload without flowtable support (feature is not sufficient).
TC_ONLY_DRIVERS = frozenset((
    "stmmaceth", "st_gmac", "stmmac", "nfp", "hns3", "bnxt_en", "fsl_enetc", "enetc",
    "lan966x-switch", "lan966x", "netdevsim", "ice",
))
OPENWRT_NOTE = (
    "OpenWrt's kernel accepts 'flags offload' on every device (generic patch 701 ignores "
    "EOPNOTSUPP), so the nft -c probe proves nothing there; the proof is conntrack "
    "entries marked [HW_OFFLOAD] (flows.hw_offload)"
)


# --- gather_subset -----------------------------------------------------------------------
def parse_gather_subset(values: t.Sequence[t.Any] | None) -> list[str]:
    """Subsets to gather, in canonical order, from ``all``, names and ``!name``.

    As with Ansible's setup module: a list of only exclusions gathers everything else;
    ``!all`` drops the implicit everything, so ``[!all, kernel]`` gathers ``kernel``.
    """
    valid = ("all",) + SUBSETS
    named: set[str] = set()
    excluded: set[str] = set()
    want_all = exclude_all = False
    for raw in values if values is not None else ["all"]:
        item = str(raw).strip()
        negate = item.startswith("!")
        name = item[1:].strip() if negate else item
        if name not in valid:
            raise FlowOffloadError(
                f"gather_subset: unknown subset {item!r}; valid names are "
                f"{', '.join(valid)} (prefix a name with '!' to exclude it)"
            )
        if name == "all":
            exclude_all, want_all = (True, want_all) if negate else (exclude_all, True)
        else:
            (excluded if negate else named).add(name)
    if want_all and not exclude_all or not (want_all or named or exclude_all):
        named = set(SUBSETS)
    return [name for name in SUBSETS if name in named and name not in excluded]


# --- small file formats ------------------------------------------------------------------
def parse_int(text: str | None) -> int | None:
    value = (text or "").strip()
    return int(value) if re.match(r"^-?\d+$", value) else None


def init_system(pid1_comm: str, has_run_systemd: bool, has_openrc: bool) -> str:
    comm = (pid1_comm or "").strip()
    if comm == "systemd" or has_run_systemd:
        return "systemd"
    if comm == "procd":
        return "procd"
    if comm == "openrc-init" or has_openrc:
        return "openrc"
    return "other"


def firewall_in_charge(os_family: str, fw4: bool, fw3: bool, firewalld: bool, nftables_service: bool) -> str:
    """fw4, fw3, firewalld, nftables.service or none (the first that applies)."""
    if os_family == "OpenWrt":
        if fw4:
            return "fw4"
        if fw3:
            return "fw3"
    if firewalld:
        return "firewalld"
    if nftables_service:
        return "nftables.service"
    return "none"


def kernel_config_values(config: t.Mapping[str, str]) -> dict[str, str | None]:
    """The flowtable symbols (y, m, n; None where the config does not mention them)."""
    return {symbol: config.get(symbol) for symbol in CONFIG_SYMBOLS}


# --- small sections of the read script --------------------------------------------------------
def parse_pairs(text: str) -> dict[str, str]:
    """``key=value`` lines (the first ``=`` splits; later keys win)."""
    out: dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def parse_flows_section(text: str | None) -> dict[str, int] | None:
    """{total, offload, hw_offload} counted on the target; None when nothing was counted
    (no conntrack table, or ``conntrack -L`` failed)."""
    if text is None:
        return None
    pairs = parse_pairs(text)
    if pairs.get("rc", "0") != "0" or "total" not in pairs:
        return None
    return {key: parse_int(pairs.get(key)) or 0 for key in ("total", "offload", "hw_offload")}


# --- hardware offload ------------------------------------------------------------------------
def classify_hardware(kind: str, driver: str | None, hw_tc: bool | None,
                      software: bool | None, probe: bool | None, probe_msg: str,
                      openwrt: bool, conduit_driver: str | None = None,
                      hw_tc_why: str = "") -> tuple[str, str]:
    """(supported|unsupported|unknown, reason) for one device.

    Capability = driver known to implement TC_SETUP_FT + hw-tc-offload on + probe ok;
    ``hw-tc-offload`` alone proves nothing; on OpenWrt the probe proves nothing.
    ``hw_tc_why`` says why hw-tc-offload could not be read (e.g. no ethtool on the target).
    """
    if kind == "loopback":
        return "unsupported", "loopback device: never forwarded, never offloaded"
    if kind in NOT_FAST_PATHED:
        return "unsupported", f"{kind} device: the flowtable cannot fast-path it"
    if kind in STACKED or kind == "bond":
        return "unsupported", (
            f"{kind} device: not offloaded itself; list its lower devices in the flowtable "
            "(their own hardware_offload applies)"
        )
    unread = f"; hw-tc-offload could not be read ({hw_tc_why})" if hw_tc is None and hw_tc_why else ""
    if software is False:
        return "unknown", "the kernel has no flowtable support (see kernel.software_offload)" + unread
    if probe is None:
        return "unknown", (probe_msg or "the hardware probe could not run") + unread
    if probe is False:
        return "unsupported", probe_msg
    effective = conduit_driver if kind == "dsa" else driver
    known = kind == "dsa" and conduit_driver in FT_DRIVERS or effective in FT_DRIVERS
    if kind == "dsa" and not known:
        known = conduit_driver is None  # conduit not found: the dsa layer itself is known
    label = f"dsa port (conduit driver {conduit_driver})" if kind == "dsa" else f"driver {driver or 'unknown'}"
    feature = {True: "hw-tc-offload is on", False: "hw-tc-offload is off",
               None: f"hw-tc-offload could not be read{f' ({hw_tc_why})' if hw_tc_why else ''}"}[hw_tc]
    if openwrt:
        if not known:
            status = "unsupported" if hw_tc is False else "unknown"
            return status, f"{label} is not known to implement flowtable offload (TC_SETUP_FT); {feature}; {OPENWRT_NOTE}"
        if hw_tc is False:
            return "unsupported", f"{label} can offload flows but {feature} (ethtool -K DEV hw-tc-offload on); {OPENWRT_NOTE}"
        return "supported", f"{label} implements flowtable offload and {feature}; {OPENWRT_NOTE}"
    if not known:
        extra = " (it exposes hw-tc-offload for tc, not for flowtables)" if effective in TC_ONLY_DRIVERS else ""
        return "unknown", (
            f"the kernel accepted 'flags offload' but {label} is not known to implement "
            f"flowtable offload (TC_SETUP_FT){extra}; {feature}; only [HW_OFFLOAD] conntrack "
            "entries prove it"
        )
    if hw_tc is False:
        return "unsupported", f"{label} can offload flows but {feature}: ethtool -K DEV hw-tc-offload on"
    return "supported", f"{label} implements flowtable offload, {feature} and the nft -c probe passed"
