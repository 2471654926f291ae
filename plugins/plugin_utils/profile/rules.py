# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway role's decisions, from its inputs and the facts of one read (private, pure).

What ``roles/gateway/vars/main.yml`` (its Jinja programs) and ``tasks/{apply,configure,
off}.yml`` decided before, as functions of (``Inputs``, facts): the backend, the devices,
the checks that stop a run before any change, which parts run (modules, flowtable,
sysctl) and with which params. ``decide`` raises ``FlowOffloadError`` naming the role
variable and the fix; it never touches the host.
"""
from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import FlowOffloadError
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import packages as _packages
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import shaping as _shaping
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile.inputs import Inputs

# Facts subsets each profile needs: nothing more is read.
SUBSETS = {
    "auto": ["platform", "kernel", "interfaces", "conflicts"],
    "software": ["platform", "kernel", "interfaces", "conflicts"],
    "hardware": ["platform", "kernel", "interfaces", "conflicts"],
    "off": ["platform", "kernel"],
}
# gateway_profile -> the flowtable module's offload option.
OFFLOAD_MODES: dict[str, t.Any] = {"auto": "auto", "software": False, "hardware": True}
FAMILY = "inet"
MODULES = ["nf_flow_table", "nf_flow_table_inet", "nft_flow_offload"]
READY_STATES = ("loaded", "builtin")
# Per-platform data (first match: distribution, then os_family, then default).
PLATFORM_DATA = {
    "OpenWrt": {
        "package": "kmod-nft-offload",
        "hint": "install kmod-nft-offload (opkg install kmod-nft-offload, or apk add kmod-nft-offload)",
    },
    "Debian": {
        "package": None,
        "hint": ("boot a Debian/Ubuntu kernel that ships nf_flow_table, nf_flow_table_inet and "
                 "nft_flow_offload (linux-image-amd64 on Debian, linux-modules-* on Ubuntu); containers "
                 "share the host's kernel, so the host must provide them"),
    },
    "RedHat": {
        "package": None,
        "hint": 'install kernel-modules-core for the running kernel (dnf install "kernel-modules-core-$(uname -r)")',
    },
    "default": {
        "package": None,
        "hint": ("install a kernel built with CONFIG_NF_FLOW_TABLE (modules nf_flow_table, "
                 "nf_flow_table_inet, nft_flow_offload) and reboot into it"),
    },
}
DEFAULT_HINT = ("boot a kernel built with CONFIG_NF_FLOW_TABLE, CONFIG_NF_FLOW_TABLE_INET and "
                "CONFIG_NFT_FLOW_OFFLOAD (y or m)")
OPENWRT_HW_WARNING = (
    "OpenWrt's kernel accepts 'flags offload' on every NIC (patch 701 ignores EOPNOTSUPP), so a "
    "successful run proves nothing; only conntrack entries marked [HW_OFFLOAD] prove hardware "
    "offload (run with gateway_verify=true under traffic)")


def subsets_for(inputs: Inputs) -> list[str]:
    """The facts subsets of the profile (plus flows with gateway_verify)."""
    out = list(SUBSETS[inputs.profile])
    if inputs.verify and inputs.profile != "off":
        out.append("flows")
    return out


def platform_data(platform: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    for key in (platform.get("distribution") or "", platform.get("os_family") or ""):
        if key in PLATFORM_DATA:
            return PLATFORM_DATA[key]
    return PLATFORM_DATA["default"]


def effective_backend(backend: str, facts: t.Mapping[str, t.Any]) -> str:
    """auto -> fw4 where the facts say fw4 is in charge, nft elsewhere."""
    if backend != "auto":
        return backend
    return "fw4" if (facts.get("platform") or {}).get("firewall") == "fw4" else "nft"


def selected_devices(inputs: Inputs, facts: t.Mapping[str, t.Any]) -> list[str]:
    """auto: the facts' candidate devices; else the list given."""
    if inputs.devices is None:
        return list(facts.get("candidate_devices") or [])
    return list(inputs.devices)


def missing_devices(devices: t.Sequence[str], netdevs: t.Collection[str]) -> list[str]:
    return [dev for dev in devices if dev not in netdevs]


def hw_refused(devices: t.Sequence[str], facts: t.Mapping[str, t.Any]) -> list[str]:
    """'device: status, reason' for every device whose facts do not say hardware offload works."""
    interfaces = facts.get("interfaces") or {}
    out = []
    for dev in devices:
        info = interfaces.get(dev) or {}
        status = info.get("hardware_offload") or "unknown"
        if status != "supported":
            out.append(f"{dev}: {status}, {info.get('hardware_offload_reason') or 'the device was not found on the host'}")
    return out


def conflict_lines(facts: t.Mapping[str, t.Any],
                   items: t.Sequence[t.Mapping[str, t.Any]] | None = None) -> list[str]:
    """One line per conflict found by the facts ('qdisc on eth0: cake ...'), or of ``items``."""
    out = []
    for item in (facts.get("conflicts") or []) if items is None else items:
        device = item.get("device") or ""
        out.append(f"{item.get('kind') or 'conflict'}{' on ' + device if device else ''}: {item.get('detail') or ''}")
    return out


def _modules(facts: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return (facts.get("kernel") or {}).get("modules") or {}


def modules_not_ready(facts: t.Mapping[str, t.Any]) -> list[str]:
    return [name for name, info in _modules(facts).items() if (info or {}).get("state") not in READY_STATES]


def modules_loadable(facts: t.Mapping[str, t.Any]) -> list[str]:
    return [name for name, info in _modules(facts).items() if (info or {}).get("state") != "builtin"]


def _persistence(facts: t.Mapping[str, t.Any]) -> t.Mapping[str, t.Any]:
    return (facts.get("kernel") or {}).get("persistence") or {}


def persistence_present(facts: t.Mapping[str, t.Any]) -> bool:
    return bool(_persistence(facts).get("present"))


def persistence_missing(facts: t.Mapping[str, t.Any]) -> bool:
    """The boot-time list offload_kmod keeps lacks a loadable module (OpenWrt keeps none:
    its packages autoload through /etc/modules.d)."""
    persistence = _persistence(facts)
    if not persistence.get("file"):
        return False
    listed = set(persistence.get("modules") or [])
    return any(name not in listed for name in modules_loadable(facts))


def software_support(facts: t.Mapping[str, t.Any]) -> tuple[bool | None, str]:
    sw = (facts.get("kernel") or {}).get("software_offload") or {}
    return sw.get("supported"), sw.get("message") or ""


# The kernel config symbols of the flow offload modules: "is not set" means no package helps.
FLOW_SYMBOLS = ("CONFIG_NF_FLOW_TABLE", "CONFIG_NF_FLOW_TABLE_INET", "CONFIG_NFT_FLOW_OFFLOAD")
# Package managers that can install what install_candidates names, per platform family.
INSTALLERS = {"OpenWrt": ("opkg", "apk"), "Debian": ("apt",), "RedHat": ("dnf", "yum")}


@dataclasses.dataclass(frozen=True)
class Install:
    """The kernel lacks the flow offload modules and these packages provide them."""

    manager: str
    packages: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def names(self) -> str:
        return ", ".join(self.packages)


def installable(facts: t.Mapping[str, t.Any], module_support: bool | None) -> tuple[Install | None, str]:
    """(Install, "") where missing modules would come with a package of the running kernel's
    platform; else (None, why no package can help, or "" when no module is missing)."""
    missing = [name for name, info in _modules(facts).items() if (info or {}).get("state") == "missing"]
    if not missing:
        return None, ""
    if module_support is False:
        return None, ("this kernel was built without loadable module support (CONFIG_MODULES is not set), "
                      "so no package can add the flow offload modules")
    config = (facts.get("kernel") or {}).get("config") or {}
    unset = [symbol for symbol in FLOW_SYMBOLS if config.get(symbol) == "n"]
    if unset:
        return None, (f"this kernel was built without {', '.join(unset)} ({config.get('file') or 'kernel config'}), "
                      "so no package can add the flow offload modules")
    platform = facts.get("platform") or {}
    manager = str(platform.get("package_manager") or "")
    family = str(platform.get("os_family") or "")
    packages = _packages.install_candidates(platform)
    if not packages:
        return None, f"no package of {platform.get('distribution') or family or 'this platform'} is known to provide them"
    if manager not in INSTALLERS.get(family, ()):
        return None, (f"{' or '.join(INSTALLERS.get(family, ())) or 'a package manager'} was not found to install "
                      f"{', '.join(packages)}")
    return Install(manager, tuple(packages), tuple(missing)), ""


@dataclasses.dataclass
class Decision:
    """What the run does: parts and their params (None: the part does not run)."""

    backend: str
    devices: list[str]
    kmod: dict[str, t.Any] | None = None
    flowtable: dict[str, t.Any] | None = None
    sysctl: bool = True
    remove_sysctl: bool = False
    loading_modules: bool = False
    unsupported: str = ""  # the reason when auto reports and changes nothing
    fallback: str = ""  # why gateway_conflicts made the profile offload less (software, exclude)
    install: Install | None = None  # packages installed first, then the probe runs again in the apply
    warnings: list[str] = dataclasses.field(default_factory=list)
    report: list[str] = dataclasses.field(default_factory=list)


def flowtable_params(inputs: Inputs, backend: str, devices: t.Sequence[str], state: str = "present",
                     offload: bool | None = None) -> dict[str, t.Any]:
    """The flowtable module's params for the profile (fw4 takes the devices from its zones;
    ``offload``: the mode gateway_conflicts forces, else the profile's)."""
    params: dict[str, t.Any] = {
        "name": inputs.flowtable, "family": FAMILY, "table": inputs.table, "chain": inputs.chain,
        "backend": backend, "persist": True, "state": state,
    }
    if state == "present":
        params.update(
            devices=None if backend == "fw4" else list(devices),
            priority=inputs.priority,
            offload=OFFLOAD_MODES[inputs.profile] if offload is None else offload,
            counter=inputs.counter,
            protocols=list(inputs.protocols),
            missing_devices="skip" if inputs.devices_auto else "fail",
        )
    return params


def unsupported_hint(inputs: Inputs, data: t.Mapping[str, t.Any], install: Install | None, why: str) -> str:
    """What to do where the kernel has no flowtables and the role will not install them."""
    if install is not None:  # gateway_install_packages: false
        return (f"install {install.names} ({install.manager}), or set gateway_install_packages: true to let the "
                "role install it")
    if why.startswith("this kernel was built without"):
        return f"{why}: {DEFAULT_HINT}"
    if why:
        return f"{data['hint']} ({why})"
    return str(data["hint"])


def decide(inputs: Inputs, facts: t.Mapping[str, t.Any], netdevs: t.Collection[str],
           module_support: bool | None = None) -> Decision:
    """The plan of the profile, or FlowOffloadError before anything changes.

    Where the kernel refuses flowtables because modules are missing that a package of the
    platform provides (``installable``) and ``gateway_install_packages`` allows it, the run
    goes on as on a capable kernel: the apply installs the package first, loads the modules
    and probes again before it configures anything (``Decision.install``)."""
    backend = effective_backend(inputs.backend, facts)
    platform = facts.get("platform") or {}
    data = platform_data(platform)
    if inputs.profile == "off":
        decision = Decision(backend, [], remove_sysctl=True)
        decision.flowtable = flowtable_params(inputs, backend, [], state="absent")
        if persistence_present(facts):
            decision.kmod = {"state": "absent", "persistent": True, "modules": list(MODULES), "package": None}
        return decision
    devices = selected_devices(inputs, facts)
    decision = Decision(backend, devices)
    if inputs.devices is not None and backend == "fw4":
        decision.warnings.append(
            "gateway_devices is ignored with the fw4 backend: firewall4 builds its flowtable from the "
            "devices of its zones; set gateway_devices: auto, or gateway_backend: nft")
    if inputs.devices is not None and backend == "nft":
        missing = missing_devices(devices, netdevs)
        if missing:
            raise FlowOffloadError(
                f"gateway_devices: {', '.join(missing)} {'does' if len(missing) == 1 else 'do'} not exist on "
                f"this host (devices found: {', '.join(sorted(netdevs)) or 'none'}); fix gateway_devices, "
                "or set it to auto to use the forwarding devices the facts find. Nothing was changed")
    _shaping.refuse_fw4_exclude(inputs.conflicts, backend)
    supported, message = software_support(facts)
    install, why = installable(facts, module_support) if supported is False else (None, "")
    if supported is False and install is not None and inputs.install_packages:
        decision.install = install
    elif supported is False:
        hint = unsupported_hint(inputs, data, install, why)
        if inputs.profile != "auto" or inputs.fail_unsupported:
            auto_hint = "; or leave gateway_fail_unsupported false to only report it" if inputs.profile == "auto" else ""
            raise FlowOffloadError(
                f"gateway_profile={inputs.profile} needs flowtables, but this kernel has none: {message}. "
                f"To fix: {hint}{auto_hint}. Nothing was changed")
        decision.unsupported = message
        decision.sysctl = False
        decision.devices = []
        decision.report.append(f"no flow offload: {message}. Nothing was changed. To enable it: {hint}.")
        return decision
    lines = conflict_lines(facts)
    if lines and inputs.conflicts == "fail":
        raise FlowOffloadError(
            f"offloaded packets bypass these features, so gateway_conflicts=fail stops here: {'; '.join(lines)}. "
            "Remove them, or set gateway_conflicts=warn to accept that they no longer see offloaded flows. "
            "Nothing was changed")
    policy = None
    if inputs.conflicts in _shaping.POLICIES:
        policy = _shaping.apply_policy(inputs.conflicts, inputs.profile, backend, devices, facts.get("conflicts") or [])
        lines = conflict_lines(facts, policy.rest)
        decision.report += policy.report
        decision.warnings += policy.warnings
        decision.fallback = policy.reason
        devices = decision.devices = policy.devices
    decision.warnings.extend(f"offloaded packets bypass {line}" for line in lines)
    if policy is not None and policy.no_flowtable:
        # no flowtable: no module to load or package to install for it
        decision.install = None
        decision.flowtable = flowtable_params(inputs, backend, [], state="absent")
        return decision
    if not devices and backend == "nft":
        why = ("the facts found no forwarding device (candidate_devices is empty)" if inputs.devices_auto
               else "gateway_devices is empty")
        raise FlowOffloadError(
            f"no devices to offload: {why}; set gateway_devices to the gateway's LAN and WAN devices, for "
            "example ['eth0', 'eth1'] or 'eth0,eth1'. Nothing was changed")
    if inputs.profile == "hardware" and (policy is None or policy.offload is None):
        refused = hw_refused(devices, facts)
        if refused:
            first = (f" The kernel has no flowtables until {decision.install.names} is installed, so no device "
                     "can be judged yet: run gateway_profile=auto (or software) once to install it, then "
                     "hardware." if decision.install is not None else "")
            raise FlowOffloadError(
                "gateway_profile=hardware needs hardware offload on every device, but the facts say these "
                f"cannot: {'; '.join(refused)}. Use gateway_profile=auto (hardware where possible, software "
                f"elsewhere) or list only capable devices in gateway_devices.{first} Nothing was changed")
        if platform.get("distribution") == "OpenWrt" or platform.get("os_family") == "OpenWrt":
            decision.warnings.append(OPENWRT_HW_WARNING)
    not_ready = modules_not_ready(facts)
    if not_ready or persistence_missing(facts):
        decision.kmod = {"state": "present", "persistent": True, "modules": list(MODULES),
                         "package": data["package"]}
        decision.loading_modules = bool(not_ready)
    decision.flowtable = flowtable_params(inputs, backend, devices, offload=policy.offload if policy else None)
    return decision


def install_line(install: Install, packages: t.Sequence[t.Mapping[str, t.Any]], done: bool) -> str:
    """The report line of a run that installs the modules' package (``done``: it ran; else
    check mode's "would")."""
    sizes = []
    for package in packages:
        parts = []
        if package.get("installed_size") is not None:
            parts.append(f"installed size {package['installed_size']} bytes")
        if package.get("download_size") is not None:
            parts.append(f"download {package['download_size']} bytes")
        said = ", ".join(parts) or "size unknown"
        sizes.append(f"{package.get('name')}: {said} ({package.get('note') or 'not reported'})")
    size_text = "; ".join(sizes) or "size unknown"
    if done:
        return (f"installed {install.names} with {install.manager} (modules {', '.join(install.missing)} were "
                f"missing), loaded the modules and checked that the kernel accepts a flowtable before configuring "
                f"offloading; {size_text}.")
    return (f"would install {install.names} with {install.manager} (modules {', '.join(install.missing)} are "
            "missing, so the kernel has no flowtables), load the modules, check that the kernel then accepts a "
            f"flowtable and configure offloading; {size_text}. gateway_install_packages: false turns the install off.")


def flows_line(flows: t.Mapping[str, t.Any] | None) -> str:
    """The gateway_verify report line."""
    flows = flows or {}
    soft, hard, total = int(flows.get("offload") or 0), int(flows.get("hw_offload") or 0), int(flows.get("total") or 0)
    tail = "" if soft + hard > 0 else " (none offloaded yet: flows are offloaded once traffic is forwarded through the devices)"
    return f"{soft} software-offloaded and {hard} hardware-offloaded of {total} conntrack entries{tail}."
