# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Devices that come and go: the loader, the udev rule and the OpenWrt hotplug scripts (pure, private).

The persisted flowtables are written WITHOUT devices (a flowtable without devices is
valid, so an absent device never makes a load fail); each configured device is a line

    # flowoffload.nft:device=DEV add flowtable F T N { hook ...; devices = { "DEV" }; flags offload; counter; }

rendered by the one renderer (``render_flowtable``; flags and counter repeated, or the
kernel drops them). nft reads those lines as comments. The loader (``LOADER_PATH``, POSIX
sh: ``hotplug_loader.sh``, installed as it is but for its shellcheck line) reads them:

- ``flowoffload-load --table F T FILE`` / ``--chain F T C FILE`` (the systemd unit's start
  and reload: at boot, with every nftables.service start/restart/reload, and right after a
  changing apply): FILE plus the statements of the devices that exist
  (``/sys/class/net/DEV``) in one ``nft -f``; the absent ones are named in a warning
  (journal). Should that batch fail (a device went meanwhile), FILE alone, then each device.
  FILE is loaded only where it is missing: ``--table`` skips it while table F T exists with
  the collection's mark (a table of that name without the mark is not touched: the load
  fails), ``--chain`` while a rule tagged ``flowoffload.nft:`` is in chain C; the present
  devices join in any case (a device already in its flowtable is a no-op). So a start on a
  host where the apply has just loaded the same objects changes nothing (same handles, the
  offloaded flows stay), and a start or reload after nftables.service flushed the ruleset
  loads FILE again. ``FILE`` alone (units written by older versions) loads it unconditionally.
- ``flowoffload-load --device DEV`` (udev on ACTION add/move of a net device,
  ``/etc/hotplug.d/net`` on OpenWrt, ``hotplug_net.sh``): adds DEV to every loaded
  flowtable whose file lists it.
- ``flowoffload-load --present`` (``/etc/hotplug.d/iface`` on OpenWrt, after fw4 reloaded,
  ``hotplug_iface.sh``): adds every listed device that exists.

A device that goes away leaves the flowtable by itself (the kernel unregisters the hook on
NETDEV_UNREGISTER; seen on the lab VM). ``FLOWOFFLOAD_ROOT`` prefixes /sys/class/net and the
file folders: the unit tests run the loader under busybox against a fake tree.

These files are shared by every table the collection persists: they stay while any
collection file (``/etc/flowoffload/*.nft``, the OpenWrt include) remains.
"""
from __future__ import annotations

import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Read,
    file_code,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.sh import (
    path_of,
    render,
)

DEVICE_TAG = "# flowoffload.nft:device="
# The one folder that is the collection's own (created by its first file, removed with the
# last one when nothing else is in it). The others it writes into are the system's.
COLLECTION_DIR = "/etc/flowoffload"
LOADER_PATH = f"{COLLECTION_DIR}/flowoffload-load"
UDEV_RULE_PATH = "/etc/udev/rules.d/90-flowoffload.rules"
OPENWRT_NET_PATH = "/etc/hotplug.d/net/30-flowoffload"
OPENWRT_IFACE_PATH = "/etc/hotplug.d/iface/30-flowoffload"
PERSISTED_GLOBS = ("/etc/flowoffload/*.nft", "/usr/share/nftables.d/ruleset-post/flowoffload-*.nft")
PREFIX = "ft:hp:"
HEADER = "# Managed by flowoffload.nft (Ansible); changes are overwritten.\n"


def installed(name: str) -> str:
    """The text of the script file ``name`` beside this file as it is installed on hosts:
    verbatim but for its first line, the ``# shellcheck shell=sh`` directive that lets
    shellcheck read the file (the unit runs it as ``/bin/sh FILE``, procd sources it)."""
    with open(path_of(__file__, name), encoding="utf-8") as handle:
        first, _sep, text = handle.read().partition("\n")
    if not first.startswith("# shellcheck shell=sh"):
        raise ValueError(f"{name}: the first line must be the '# shellcheck shell=sh' directive")
    return text


# The loader, and what procd's hotplug-call sources (in a subshell, with ACTION and
# INTERFACE/DEVICE set) on OpenWrt.
LOADER = installed("hotplug_loader.sh")
OPENWRT_NET = installed("hotplug_net.sh")
OPENWRT_IFACE = installed("hotplug_iface.sh")
DIR_SH = path_of(__file__, "hotplug_dir.sh")
PERSISTED_SH = path_of(__file__, "hotplug_persisted.sh")

UDEV_RULE = HEADER + f"""\
# A network device that appears (or is renamed) joins the collection's flowtables that list
# it (flowoffload-load --device); one that goes leaves them by itself (the kernel drops it).
ACTION=="add|move", SUBSYSTEM=="net", RUN+="/bin/sh {LOADER_PATH} --device $name"
"""


def hotplug_reads() -> list[Read]:
    """The shared files and the list of collection files that use them."""
    reads = [Read(PREFIX + "persisted", render(PERSISTED_SH, {"fo_globs": " ".join(PERSISTED_GLOBS)}))]
    for key, path in (("loader", LOADER_PATH), ("udev", UDEV_RULE_PATH), ("net", OPENWRT_NET_PATH),
                      ("iface", OPENWRT_IFACE_PATH)):
        reads.append(Read(PREFIX + key, file_code(path)))
    reads.append(Read(PREFIX + "dir", dir_code()))
    return reads


def dir_code(folder: str = COLLECTION_DIR) -> str:
    """sh listing the collection's folder without a process: ``FOLDER/`` first when it
    exists, then one path per entry (hidden names too); nothing when it does not exist."""
    return render(DIR_SH, {"fo_dir": folder})


def remove_dir(listing: str | None, entries: t.Iterable[t.Mapping[str, str]]) -> bool:
    """Whether this run removes the collection's folder: it exists (``listing``, the ``dir``
    read; None when not read) and every entry in it is a file this run removes ('' after),
    none is written. ``rmdir`` removes only an empty folder, so whatever someone else put
    there keeps it (and the next read lists it: no change planned again)."""
    lines = (listing or "").splitlines()
    if not lines or lines[0] != COLLECTION_DIR + "/":
        return False
    inside = [e for e in entries if str(e["path"]).startswith(COLLECTION_DIR + "/")]
    if any(e["after"] for e in inside):
        return False
    removed = {e["path"] for e in inside}
    return all(line in removed for line in lines[1:])


def wanted_files(openwrt: bool, udev: bool) -> dict[str, tuple[str, str]]:
    """path -> (content, mode) of the shared files a host with collection files needs."""
    files = {LOADER_PATH: (LOADER, "0755")}
    if openwrt:
        files[OPENWRT_NET_PATH] = (OPENWRT_NET, "0644")
        files[OPENWRT_IFACE_PATH] = (OPENWRT_IFACE, "0644")
    elif udev:
        files[UDEV_RULE_PATH] = (UDEV_RULE, "0644")
    return files


def hotplug_plan(persisted: t.Iterable[str], own_path: str, own_content: str, before: t.Mapping[str, str | None],
                 openwrt: bool, udev: bool) -> list[dict[str, str]]:
    """Shared files to write or remove: [{path, before, after, mode}] ('' = remove).

    ``persisted``: the collection files found by the read; ``own_path``/``own_content``:
    this task's file after the change ('' when it goes). The shared files are wanted while
    any collection file remains.
    """
    keep = bool(own_content) or any(path != own_path for path in persisted)
    wanted = wanted_files(openwrt, udev) if keep else {}
    entries = []
    for path in (LOADER_PATH, UDEV_RULE_PATH, OPENWRT_NET_PATH, OPENWRT_IFACE_PATH):
        after, mode = wanted.get(path, ("", "0644"))
        current = before.get(path) or ""
        if current != after:
            entries.append({"path": path, "before": current, "after": after, "mode": mode})
    return entries


def before_files(out: t.Callable[[str], str | None]) -> tuple[list[str], dict[str, str | None]]:
    """(collection files, path -> content) from a snapshot's ``out``."""
    persisted = (out(PREFIX + "persisted") or "").split()
    before = {LOADER_PATH: out(PREFIX + "loader"), UDEV_RULE_PATH: out(PREFIX + "udev"),
              OPENWRT_NET_PATH: out(PREFIX + "net"), OPENWRT_IFACE_PATH: out(PREFIX + "iface")}
    return persisted, before
