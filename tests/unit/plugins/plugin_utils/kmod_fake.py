# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper for the offload_kmod/offload_facts kernel tests: read snapshots as the real
read script prints them, built from captured files.

``kmod_sections`` filters whole captured files (modules.dep, modules.builtin, kernel
config) with the same patterns the read script's grep uses, so a test can feed real
captures; ``host_sections`` gives the ``host:`` sections of a Debian or OpenWrt host.
Both return ``{key: Section}`` for ``FakeTarget`` or ``Snapshot``.
"""
from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    modules as _kmod,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    plan as _kmod_plan,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Section,
    Snapshot,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    SHARED_CAPTURES,
    fixture,
    sec,
)

VM = "1.0.6-bookworm-kmod-vm"
REL = "6.1.0-56-amd64"
NAMES = list(_kmod.DEFAULT_MODULES)
ABSENT = Section(2, "", "absent\n")


def module_tree(tmp_path: t.Any, monkeypatch: t.Any, dep: str, proc: str, builtin: str | None = None) -> t.Any:
    """A /lib/modules/$(uname -r) with ``dep`` (and ``builtin``) and a /proc/modules of ``proc``
    under tmp_path; the kmod reads and boot lists pointed there. Returns the module folder."""
    folder = tmp_path / "lib-modules" / os.uname().release
    folder.mkdir(parents=True)
    (folder / "modules.dep").write_text(dep)
    if builtin is not None:
        (folder / "modules.builtin").write_text(builtin)
    (tmp_path / "proc-modules").write_text(proc)
    monkeypatch.setattr(_kmod, "MODULES_DIR", str(tmp_path / "lib-modules"))
    monkeypatch.setattr(_kmod, "PROC_MODULES", str(tmp_path / "proc-modules"))
    monkeypatch.setattr(_kmod, "ETC_MODULES", str(tmp_path / "etc-modules"))
    monkeypatch.setattr(_kmod, "SYSTEMD_FILE", str(tmp_path / "modules-load.d" / "flowoffload.conf"))
    return folder


def capture(manager: str, case: str, part: str = "out") -> str:
    """A file of ../shared/openwrt/captures/<manager>/<case>.<part>."""
    with open(os.path.join(SHARED_CAPTURES, manager, f"{case}.{part}"), encoding="utf-8") as handle:
        return handle.read()


def host_sections(release: str = REL, *, openwrt: bool = False, systemd: bool = True,
                  tools: t.Iterable[str] = ("modprobe", "rmmod", "modinfo", "apt-get", "dpkg"),
                  os_release: str | None = None) -> dict[str, Section]:
    found = "".join(f"{name}=/usr/sbin/{name}\n" for name in tools)
    if openwrt:
        return {
            "host:os-release": sec(os_release if os_release is not None else capture("opkg", "33-os-release")),
            "host:openwrt_release": sec(capture("opkg", "32-openwrt-release")),
            "host:osrelease": sec(release + "\n"),
            "host:pid1": sec("procd\n"),
            "host:tools": sec(found),
            "host:paths": sec("/sbin/fw4\n/etc/openwrt_release\n"),
        }
    return {
        "host:os-release": sec(os_release if os_release is not None else fixture(f"{VM}-os-release.txt")),
        "host:openwrt_release": Section(1, "", "cat: can't open '/etc/openwrt_release': No such file or directory\n"),
        "host:osrelease": sec(release + "\n"),
        "host:pid1": sec("systemd\n" if systemd else "init\n"),
        "host:tools": sec(found),
        "host:paths": sec("/run/systemd/system\n" if systemd else ""),
    }


def _grep(text: str | None, pattern: str) -> str | None:
    if text is None:
        return None
    regex = re.compile(pattern)
    return "".join(line + "\n" for line in text.splitlines() if regex.search(line))


def kmod_sections(names: t.Sequence[str] = (), *, proc: str | None = None,
                  builtin: str | None = None, dep: str | None = None,
                  listing: t.Sequence[str] | None = None, config: str | None = None,
                  config_source: str = "/proc/config.gz", sys_lines: str = "",
                  modinfo: t.Mapping[str, tuple[int, str]] | None = None,
                  etc_modules: str | None = None, modules_load: str | None = None) -> dict[str, Section]:
    """The ``kmod:`` sections; None means the file is absent (as the script reports it)."""
    # pylint: disable-next=protected-access
    suffix, _loop, alt = _kmod._group(list(names) or NAMES)
    ko = r"\.ko(\.(xz|gz|zst))?"
    builtin_out = _grep(builtin, rf"(^|/)({alt}){ko}$")
    dep_out = _grep(dep, rf"^([^:]*/)?({alt}){ko}:")
    ls_out = _grep("\n".join(listing) if listing is not None else None, rf"^({alt}){ko}$")
    config_out = _grep(config, _kmod.CONFIG_RE)
    out = {
        _kmod.PREFIX + "proc-modules": sec(proc) if proc is not None else Section(
            1, "", "cat: can't open '/proc/modules': No such file or directory\n"),
        _kmod.PREFIX + "builtin" + suffix: sec(builtin_out) if builtin_out is not None else ABSENT,
        _kmod.PREFIX + "dep" + suffix: sec(dep_out) if dep_out is not None else ABSENT,
        _kmod.PREFIX + "ls" + suffix: sec(ls_out) if ls_out is not None else ABSENT,
        _kmod.PREFIX + "config": sec(f"# source: {config_source}\n{config_out}") if config_out is not None
        else Section(2, "", "no /proc/config.gz, no /boot/config\n"),
        _kmod.PREFIX + "sys" + suffix: sec(sys_lines),
        _kmod.PREFIX + "modinfo" + suffix: sec("".join(f"{n} {rc} {line}\n" for n, (rc, line) in modinfo.items()))
        if modinfo is not None else Section(127, "", "modinfo not found\n"),
        _kmod.PREFIX + "etc-modules": sec(etc_modules) if etc_modules is not None else ABSENT,
        _kmod.PREFIX + "modules-load": sec(modules_load) if modules_load is not None else ABSENT,
    }
    return out


def vm_sections(proc: str | None = None, names: t.Sequence[str] = (), systemd: bool = True,
                **extra: t.Any) -> dict[str, Section]:
    """The lab VM (Debian 6.1.0-56-amd64) from its captures; proc defaults to a fresh boot."""
    kwargs: dict[str, t.Any] = {
        "proc": fixture(f"{VM}-proc-modules-fresh.txt") if proc is None else proc,
        "dep": fixture(f"{VM}-modules-dep-netfilter.txt"),
        "builtin": fixture(f"{VM}-modules-builtin.txt"),
        "listing": ["build", "kernel", "modules.dep", "modules.builtin", "modules.alias"],
        "modinfo": {},
        "etc_modules": fixture(f"{VM}-etc-modules.txt"),
    }
    kwargs.update(extra)
    return {**host_sections(REL, systemd=systemd), **kmod_sections(names, **kwargs)}


def snap(sections: t.Mapping[str, Section]) -> Snapshot:
    return Snapshot(sections)


def params(**kw: t.Any) -> dict[str, t.Any]:
    """offload_kmod's params as the tests use them (the module's defaults, all modules)."""
    base: dict[str, t.Any] = {"state": "present", "persistent": True, "modules": list(NAMES), "package": None}
    base.update(kw)
    return base


def plan_of(sections: t.Mapping[str, Section], **kw: t.Any) -> t.Any:
    return _kmod_plan.plan_kmod(Snapshot(sections), params(**kw), False)


def openwrt(proc: str | None = None, listing: t.Sequence[str] = (),
            tools: t.Sequence[str] = ("modprobe", "rmmod", "opkg")) -> dict[str, Section]:
    """An OpenWrt 24.10 host's kmod sections."""
    return {**host_sections("6.6.86", openwrt=True, tools=tools),
            **kmod_sections(proc=proc, listing=list(listing))}
