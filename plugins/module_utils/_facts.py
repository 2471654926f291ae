# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gatherers for flowoffload.nft.offload_facts (private).

Each gatherer reads the host through a Runner and hands text to the pure parsers in
``_facts_parse``. Nothing here changes the host: the only kernel calls are read-only
ethtool ioctls and ``nft -c`` probes, which never commit. A missing binary or file is
reported (``None``, ``missing``, a reason), never raised.
"""
from __future__ import annotations

import gzip
import json
import typing as t

from ansible_collections.flowoffload.nft.plugins.module_utils import _ethtool
from ansible_collections.flowoffload.nft.plugins.module_utils import _facts_parse as fp
from ansible_collections.flowoffload.nft.plugins.module_utils import _kmod
from ansible_collections.flowoffload.nft.plugins.module_utils import _nft
from ansible_collections.flowoffload.nft.plugins.module_utils import _packages
from ansible_collections.flowoffload.nft.plugins.module_utils import _probe
from ansible_collections.flowoffload.nft.plugins.module_utils._errors import (
    FlowOffloadError,
)

OPENWRT_RELEASE = "/etc/openwrt_release"
SYSCTLS = {
    "nf_flowtable_tcp_timeout": "/proc/sys/net/netfilter/nf_flowtable_tcp_timeout",
    "nf_flowtable_udp_timeout": "/proc/sys/net/netfilter/nf_flowtable_udp_timeout",
    "ip_forward": "/proc/sys/net/ipv4/ip_forward",
    "ipv6_forwarding": "/proc/sys/net/ipv6/conf/all/forwarding",
}


class Gatherer:
    """Gathers subsets once each; later subsets reuse what earlier ones read."""

    def __init__(self, runner: t.Any, ethtool: t.Any = _ethtool) -> None:
        self.runner = runner
        self.ethtool = ethtool
        self.warnings: t.List[str] = []
        self._cache: t.Dict[str, t.Any] = {}

    def _once(self, key: str, func: t.Callable[[], t.Any]) -> t.Any:
        if key not in self._cache:
            self._cache[key] = func()
        return self._cache[key]

    def _json(self, argv: t.Sequence[str]) -> t.Optional[t.List[t.Dict[str, t.Any]]]:
        """JSON list from an iproute2 command, or None when it cannot run."""
        binary = self.runner.which(argv[0])
        if not binary:
            return None
        res = self.runner.run([binary, *argv[1:]])
        if res.rc != 0:
            return None
        return fp.load_json_list(res.stdout)

    # --- entry point -------------------------------------------------------------------
    def gather(self, subsets: t.Sequence[str]) -> t.Dict[str, t.Any]:
        facts: t.Dict[str, t.Any] = {}
        for subset in subsets:
            if subset == "kernel":
                facts["kernel"] = self.kernel()
                facts["sysctl"] = self.sysctl()
            elif subset == "interfaces":
                facts["interfaces"] = self.interfaces()
                facts["candidate_devices"] = self.candidate_devices()
            else:
                facts[subset] = getattr(self, subset)()
        return facts

    # --- platform ----------------------------------------------------------------------
    def platform(self) -> t.Dict[str, t.Any]:
        return self._once("platform", self._platform)

    def _platform(self) -> t.Dict[str, t.Any]:
        run = self.runner
        openwrt_text = run.read(OPENWRT_RELEASE)
        openwrt = openwrt_text is not None
        os_release = _packages.parse_os_release(run.read("/etc/os-release") or run.read("/usr/lib/os-release") or "")
        family = _packages.os_family(os_release, openwrt)
        distribution = os_release.get("ID", "")
        version = os_release.get("VERSION_ID", "")
        if openwrt:
            owrt = _packages.parse_os_release(openwrt_text or "")
            distribution = owrt.get("DISTRIB_ID", "") or "OpenWrt"
            version = owrt.get("DISTRIB_RELEASE", "") or version
        init = fp.init_system(
            run.read("/proc/1/comm") or "",
            run.exists("/run/systemd/system"),
            run.exists("/run/openrc") or run.exists("/sbin/openrc"),
        )
        return {
            "os_family": family,
            "distribution": distribution,
            "distribution_version": version,
            "kernel": self._release(),
            "package_manager": _packages.detect_package_manager(run),
            "firewall": self._firewall(family, init),
            "init": init,
        }

    def _release(self) -> t.Optional[str]:
        release = (self.runner.read("/proc/sys/kernel/osrelease") or "").strip()
        if release:
            return release
        uname = self.runner.which("uname")
        res = self.runner.run([uname, "-r"]) if uname else None
        return res.stdout.strip() if res is not None and res.rc == 0 else None

    def _systemctl(self, verb: str, unit: str) -> str:
        systemctl = self.runner.which("systemctl")
        if not systemctl:
            return ""
        return self.runner.run([systemctl, verb, unit]).stdout.strip()

    def _firewall(self, family: str, init: str) -> str:
        run = self.runner
        fw4 = run.exists("/sbin/fw4") or run.exists("/usr/share/firewall4")
        fw3 = run.exists("/sbin/fw3")
        firewalld = False
        nftables_service = False
        if init == "systemd":
            firewalld = self._systemctl("is-active", "firewalld.service") == "active"
            nftables_service = (
                self._systemctl("is-enabled", "nftables.service") == "enabled"
                or self._systemctl("is-active", "nftables.service") == "active"
            )
        if not firewalld and family != "OpenWrt":
            cmd = run.which("firewall-cmd")
            if cmd:
                res = run.run([cmd, "--state"])
                firewalld = res.rc == 0 and res.stdout.strip() == "running"
        return fp.firewall_in_charge(family, fw4, fw3, firewalld, nftables_service)

    # --- kernel -------------------------------------------------------------------------
    def software(self) -> t.Tuple[t.Optional[bool], str]:
        return self._once("software", lambda: _probe.probe_software(self.runner))

    def kernel(self) -> t.Dict[str, t.Any]:
        supported, message = self.software()
        return {
            "modules": _kmod.module_states(self.runner, _kmod.DEFAULT_MODULES),
            "config": self.kernel_config(),
            "software_offload": {"supported": supported, "message": message},
            "persistence": _kmod.read_persistence(self.runner),
        }

    def kernel_config(self) -> t.Dict[str, t.Any]:
        text: t.Optional[str] = None
        source: t.Optional[str] = None
        raw = self.runner.read_bytes("/proc/config.gz")
        if raw:
            try:
                text, source = gzip.decompress(raw).decode("utf-8", "replace"), "/proc/config.gz"
            except (OSError, EOFError):
                text = None
        release = self._release()
        if text is None and release:
            path = f"/boot/config-{release}"
            text = self.runner.read(path)
            source = path if text is not None else None
        if text is None:
            return {"file": None}
        values: t.Dict[str, t.Any] = {"file": source}
        values.update(fp.kernel_config_values(_kmod.parse_kernel_config(text)))
        return values

    def sysctl(self) -> t.Dict[str, t.Optional[int]]:
        return {key: fp.parse_int(self.runner.read(path)) for key, path in SYSCTLS.items()}

    # --- package / nft / flowtables ------------------------------------------------------
    def package(self) -> t.Dict[str, t.Any]:
        return _packages.offload_package(self.runner, self.platform())

    def nft(self) -> t.Dict[str, t.Any]:
        path = self.runner.which("nft")
        if not path:
            return {"path": None, "version": None, "json": None}
        res = self.runner.run([path, "--version"])
        try:
            version: t.Optional[str] = _nft.parse_version(res.stdout) if res.rc == 0 else None
        except FlowOffloadError:
            version = None
        listing = self.runner.run([path, "-j", "list", "tables"])
        works = False
        if listing.rc == 0:
            try:
                works = isinstance(json.loads(listing.stdout).get("nftables"), list)
            except (ValueError, AttributeError):
                works = False
        return {"path": path, "version": version, "json": works}

    def flowtables(self) -> t.List[t.Dict[str, t.Any]]:
        if not self.runner.which("nft"):
            self.warnings.append("flowtables: the nft binary was not found; no flowtables listed")
            return []
        try:
            return _nft.read_flowtables(self.runner)
        except FlowOffloadError as exc:
            self.warnings.append(f"flowtables: {exc.msg}")
            return []

    # --- flows ---------------------------------------------------------------------------
    def flows(self) -> t.Optional[t.Dict[str, int]]:
        text = self.runner.read("/proc/net/nf_conntrack")
        if text is not None:
            return fp.count_flows(text)
        conntrack = self.runner.which("conntrack")
        if conntrack:
            res = self.runner.run([conntrack, "-L"])
            if res.rc == 0:
                return fp.count_flows(res.stdout)
        return None

    # --- interfaces ------------------------------------------------------------------------
    def links(self) -> t.Dict[str, fp.Link]:
        return self._once("links", self._links)

    def _pppoe(self) -> t.List[str]:
        return fp.parse_pppoe_sessions(self.runner.read("/proc/net/pppoe") or "")

    def _links(self) -> t.Dict[str, fp.Link]:
        pppoe = self._pppoe()
        ip = self.runner.which("ip")
        if ip:
            res = self.runner.run([ip, "-j", "-d", "link", "show"])
            if res.rc == 0 and fp.load_json_list(res.stdout):
                return fp.parse_ip_link(res.stdout, pppoe)
        links: t.Dict[str, fp.Link] = {}
        for name in self.runner.listdir("/sys/class/net"):
            base = f"/sys/class/net/{name}"
            entries = self.runner.listdir(base)
            master_link = self.runner.readlink(f"{base}/master")
            links[name] = fp.parse_sysfs_link(
                name,
                self.runner.read(f"{base}/uevent") or "",
                self.runner.read(f"{base}/type") or "",
                self.runner.read(f"{base}/operstate") or "",
                entries,
                "device" in entries,
                master_link.rstrip("/").rsplit("/", 1)[-1] if master_link else None,
                bool(pppoe),
            )
        return fp.add_lowers(links, pppoe)

    def _driver(self, name: str) -> t.Optional[str]:
        target = self.runner.readlink(f"/sys/class/net/{name}/device/driver")
        if target:
            return target.rstrip("/").rsplit("/", 1)[-1]
        try:
            return self.ethtool.read_drvinfo(name).get("driver") or None
        except (_ethtool.EthtoolError, OSError, ValueError):
            pass
        binary = self.runner.which("ethtool")
        if binary:
            res = self.runner.run([binary, "-i", name])
            if res.rc == 0:
                return _ethtool.parse_ethtool_i(res.stdout).get("driver") or None
        return None

    def _offload_driver(self, name: str, kind: str, driver: t.Optional[str]) -> t.Optional[str]:
        """The driver name that decides offload capability.

        The sysfs link names the bus driver of the device behind the netdev: a DSA
        user port shows its switch's driver and an mlx5 representor ``mlx5_core``,
        while ETHTOOL_GDRVINFO answers ``dsa`` / ``mlx5e_rep``. Ask the ioctl too.
        """
        if kind != "physical" or driver in fp.FT_DRIVERS:
            return driver
        try:
            ethtool_driver = self.ethtool.read_drvinfo(name).get("driver")
        except (_ethtool.EthtoolError, OSError, ValueError):
            return driver
        return ethtool_driver if ethtool_driver in fp.FT_DRIVERS else driver

    def _hw_tc(self, name: str) -> t.Optional[bool]:
        try:
            feature = self.ethtool.read_features(name).get("hw-tc-offload")
            if feature is not None:
                return bool(feature["active"])
        except (_ethtool.EthtoolError, OSError, ValueError):
            pass
        binary = self.runner.which("ethtool")
        if binary:
            res = self.runner.run([binary, "-k", name])
            if res.rc == 0:
                feature = _ethtool.parse_ethtool_k(res.stdout).get("hw-tc-offload")
                if feature is not None:
                    return bool(feature["active"])
        return None

    def _devtype(self, name: str) -> str:
        for line in (self.runner.read(f"/sys/class/net/{name}/uevent") or "").splitlines():
            if line.startswith("DEVTYPE="):
                return line.split("=", 1)[1].strip()
        return ""

    def interfaces(self) -> t.Dict[str, t.Dict[str, t.Any]]:
        return self._once("interfaces", self._interfaces)

    def _interfaces(self) -> t.Dict[str, t.Dict[str, t.Any]]:
        links = self.links()
        openwrt = self.platform()["os_family"] == "OpenWrt"
        software, software_msg = self.software()
        drivers = {name: self._driver(name) for name in links}
        result: t.Dict[str, t.Dict[str, t.Any]] = {}
        for name, link in links.items():
            kind, driver = link["kind"], drivers[name]
            offload_driver = self._offload_driver(name, kind, driver)
            if kind == "physical":
                devtype = self._devtype(name)
                if offload_driver == "dsa" or devtype == "dsa":
                    kind = "dsa"
                elif devtype:
                    kind = devtype
            hw_tc = None if kind == "loopback" else self._hw_tc(name)
            conduit = drivers.get(link["parent"]) if kind == "dsa" and link.get("parent") else None
            probe: t.Optional[bool] = None
            probe_msg = f"not probed: {software_msg}"
            if self._probe_worthy(kind) and software is True:
                probe, probe_msg = _probe.probe_hardware(self.runner, name)
            status, reason = fp.classify_hardware(kind, offload_driver, hw_tc, software, probe, probe_msg,
                                                  openwrt, conduit)
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

    @staticmethod
    def _probe_worthy(kind: str) -> bool:
        return kind != "loopback" and kind not in fp.NOT_FAST_PATHED and kind not in fp.STACKED and kind != "bond"

    def candidate_devices(self) -> t.List[str]:
        return self._once("candidates", self._candidates)

    def _candidates(self) -> t.List[str]:
        links = self.links()
        routes = (self._json(["ip", "-j", "-4", "route", "show", "default"]) or []) + (
            self._json(["ip", "-j", "-6", "route", "show", "default"]) or [])
        addrs = self._json(["ip", "-j", "addr", "show"]) or []
        return fp.candidate_devices(links, routes, addrs)

    # --- conflicts ---------------------------------------------------------------------------
    def conflicts(self) -> t.List[t.Dict[str, str]]:
        devices = self.candidate_devices()
        links = self.links()
        result: t.List[t.Dict[str, str]] = []
        qdiscs = self._json(["tc", "-j", "qdisc", "show"])
        if qdiscs is None:
            self.warnings.append("conflicts: tc is missing or failed; qdiscs were not checked")
            qdiscs = []
        result.extend(fp.qdisc_conflicts(qdiscs, devices))
        with_ingress = {q.get("dev") for q in qdiscs if q.get("kind") in ("ingress", "clsact")}
        for device in devices:
            if device not in with_ingress:
                continue
            filters = self._json(["tc", "-j", "filter", "show", "dev", device, "ingress"]) or []
            result.extend(fp.ifb_conflict(device, fp.mirred_targets(filters), links, qdiscs))
        ip = self.runner.which("ip")
        if ip:
            res = self.runner.run([ip, "xfrm", "policy", "show"])
            if res.rc == 0:
                result.extend(fp.xfrm_conflicts(res.stdout))
        nft = self.runner.which("nft")
        if nft:
            res = self.runner.run([nft, "list", "ruleset"])
            if res.rc == 0:
                result.extend(fp.nfqueue_conflicts(res.stdout))
        return result


def gather(runner: t.Any, gather_subset: t.Optional[t.Sequence[t.Any]],
           ethtool: t.Any = _ethtool) -> t.Tuple[t.Dict[str, t.Any], t.List[str]]:
    """(facts, warnings) for the requested subsets; bad input raises before any read."""
    subsets = fp.parse_gather_subset(gather_subset)
    gatherer = Gatherer(runner, ethtool)
    return gatherer.gather(subsets), gatherer.warnings
