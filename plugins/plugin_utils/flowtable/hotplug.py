# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Devices that come and go: the loader, the udev rule and the OpenWrt hotplug scripts (pure, private).

The persisted flowtables are written WITHOUT devices (a flowtable without devices is
valid, so an absent device never makes a load fail); each configured device is a line

    # flowoffload.nft:device=DEV add flowtable F T N { hook ...; devices = { "DEV" }; flags offload; counter; }

rendered by the one renderer (``render_flowtable``; flags and counter repeated, or the
kernel drops them). nft reads those lines as comments. The loader (``LOADER_PATH``, POSIX
sh) reads them:

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
  ``/etc/hotplug.d/net`` on OpenWrt): adds DEV to every loaded flowtable whose file lists it.
- ``flowoffload-load --present`` (``/etc/hotplug.d/iface`` on OpenWrt, after fw4 reloaded):
  adds every listed device that exists.

A device that goes away leaves the flowtable by itself (the kernel unregisters the hook on
NETDEV_UNREGISTER; seen on the lab VM). ``FLOWOFFLOAD_ROOT`` prefixes /sys/class/net and the
file folders: the unit tests run the loader under busybox against a fake tree.

These files are shared by every table the collection persists: they stay while any
collection file (``/etc/flowoffload/*.nft``, the OpenWrt include) remains.
"""
from __future__ import annotations

import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import Read, file_code

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

LOADER = HEADER + r"""# flowoffload-load: the collection's persisted flowtables with the devices that exist.
#   flowoffload-load --table FAMILY TABLE FILE         load FILE unless the table is loaded
#   flowoffload-load --chain FAMILY TABLE CHAIN FILE   load FILE unless our rule is in CHAIN
#   flowoffload-load FILE                              load FILE (units of older versions)
#   flowoffload-load --device DEV                      DEV appeared (udev, OpenWrt hotplug.d/net)
#   flowoffload-load --present                         add every listed device that exists
# FILE defines the flowtables without devices; each configured device is a comment line
# "# flowoffload.nft:device=DEV STATEMENT" (STATEMENT adds DEV to its flowtable), so an
# absent device never makes the load fail. --table: FILE is loaded only when the table is
# not there (one of that name without the collection's mark is left alone: error);
# --chain: only when no rule tagged flowoffload.nft: is in that chain yet. The present
# devices are added in any case, so a start right after an apply changes nothing.
# FLOWOFFLOAD_ROOT prefixes /sys/class/net and the file folders (unit tests only).
set -u
PATH="${PATH:-/usr/bin:/bin}:/usr/sbin:/sbin:/usr/bin:/bin"
export PATH
root=${FLOWOFFLOAD_ROOT:-}
tag='# flowoffload.nft:device='
hotplug=0
tmp=$(mktemp -d 2>/dev/null) || { tmp=/tmp/flowoffload-load.$$; mkdir -p "$tmp" || exit 1; }
trap 'rm -rf "$tmp"' EXIT

say() {
  echo "flowoffload-load: $*" >&2
  if [ "$hotplug" = 1 ] && command -v logger >/dev/null 2>&1; then
    logger -t flowoffload -- "$*" 2>/dev/null
  fi
  return 0
}

present() { [ -e "$root/sys/class/net/$1" ]; }

# devices FILE: the "DEV STATEMENT" lines of FILE
devices() {
  while IFS= read -r line; do
    case $line in "$tag"*) printf '%s\n' "${line#"$tag"}" ;; esac
  done <"$1"
}

# where STATEMENT: "FAMILY TABLE NAME" of an "add flowtable" statement
where() {
  set -f
  # shellcheck disable=SC2086 # split on purpose: the words of the statement
  set -- $1
  set +f
  printf '%s %s %s' "$3" "$4" "$5"
}

# add DEV STATEMENT: DEV joins its flowtable (nothing when that flowtable is not loaded)
add() {
  ft=$(where "$2")
  # shellcheck disable=SC2086 # three words
  nft list flowtable $ft >/dev/null 2>&1 </dev/null || return 0
  if printf '%s\n' "$2" | nft -f - 2>"$tmp/err"; then
    say "$1 joined flowtable $ft"
    return 0
  fi
  say "warning: $1 could not join flowtable $ft: $(cat "$tmp/err")"
  return 1
}

load() {
  file=$1 guard=$2 owned=$3
  [ -r "$file" ] || { say "error: cannot read $file"; return 1; }
  skip=0
  if [ -n "$guard" ]; then
    # shellcheck disable=SC2086 # three words
    nft list chain $guard 2>/dev/null </dev/null | grep -qF 'flowoffload.nft:' && skip=1
  elif [ -n "$owned" ]; then
    # shellcheck disable=SC2086 # two words
    if nft list table $owned >"$tmp/table" 2>/dev/null </dev/null; then
      if ! grep -qF 'comment "managed by flowoffload.nft"' "$tmp/table"; then
        say "error: table $owned exists and is not managed by flowoffload.nft: $file is not loaded"
        return 1
      fi
      skip=1
    fi
  fi
  if [ "$skip" = 1 ]; then
    say "$file is loaded already (${guard:+our rule in chain $guard}${owned:+table $owned}): kept as it is; present devices join"
  fi
  devices "$file" >"$tmp/list"
  : >"$tmp/add"; : >"$tmp/absent"
  while read -r dev stmt; do
    if present "$dev"; then
      printf '%s\n' "$stmt" >>"$tmp/add"
    else
      printf '%s %s\n' "$dev" "$stmt" >>"$tmp/absent"
    fi
  done <"$tmp/list"
  if [ "$skip" = 1 ]; then cat "$tmp/add" >"$tmp/batch"; else cat "$file" "$tmp/add" >"$tmp/batch"; fi
  if [ -s "$tmp/batch" ] && ! nft -f "$tmp/batch" 2>"$tmp/err" </dev/null; then
    say "warning: loading $file with its devices failed ($(cat "$tmp/err")); loading the flowtables, then each device"
    if [ "$skip" = 0 ] && ! nft -f "$file" </dev/null; then
      say "error: nft could not load $file; nothing of it is loaded"
      return 1
    fi
    while read -r dev stmt; do
      if present "$dev"; then add "$dev" "$stmt"; fi
    done <"$tmp/list"
  fi
  # a device that appeared while loading joins now; the others are named
  names=''
  while read -r dev stmt; do
    if present "$dev"; then
      add "$dev" "$stmt"
    else
      names="$names, $dev (flowtable $(where "$stmt"))"
    fi
  done <"$tmp/absent"
  if [ -n "$names" ]; then
    say "warning: absent device(s) left out: ${names#, }; each joins its flowtable when it appears"
  fi
  return 0
}

# each DEV: every listed device named DEV (every present one when DEV is empty) joins
each() {
  for file in "$root"/etc/flowoffload/*.nft "$root"/usr/share/nftables.d/ruleset-post/flowoffload-*.nft; do
    [ -f "$file" ] || continue
    devices "$file" >"$tmp/list"
    while read -r dev stmt; do
      if [ "$dev" = "$1" ] || { [ -z "$1" ] && present "$dev"; }; then add "$dev" "$stmt"; fi
    done <"$tmp/list"
  done
  return 0
}

usage() {
  echo "usage: flowoffload-load [--table FAMILY TABLE | --chain FAMILY TABLE CHAIN] FILE | --device DEV | --present" >&2
  exit 2
}

case ${1:-} in
  --device) [ $# -eq 2 ] || usage; hotplug=1; each "$2" ;;
  --present) [ $# -eq 1 ] || usage; hotplug=1; each '' ;;
  --table) [ $# -eq 4 ] || usage; load "$4" '' "$2 $3" ;;
  --chain) [ $# -eq 5 ] || usage; load "$5" "$2 $3 $4" '' ;;
  -* | '') usage ;;
  *) [ $# -eq 1 ] || usage; load "$1" '' '' ;;
esac
"""

UDEV_RULE = HEADER + f"""\
# A network device that appears (or is renamed) joins the collection's flowtables that list
# it (flowoffload-load --device); one that goes leaves them by itself (the kernel drops it).
ACTION=="add|move", SUBSYSTEM=="net", RUN+="/bin/sh {LOADER_PATH} --device $name"
"""

# procd's hotplug-call sources these (in a subshell) with ACTION and INTERFACE/DEVICE set.
OPENWRT_NET = HEADER + f"""\
# A network device that appears joins the collection's flowtables that list it.
case "$ACTION" in
  add | move) [ -n "$INTERFACE" ] && /bin/sh {LOADER_PATH} --device "$INTERFACE" ;;
esac
"""

OPENWRT_IFACE = HEADER + f"""\
# After an interface comes up (20-firewall may have reloaded fw4, which loads the
# collection's include without devices), every listed device that exists joins again.
[ "$ACTION" = ifup ] && /bin/sh {LOADER_PATH} --present
"""


def hotplug_reads() -> list[Read]:
    """The shared files and the list of collection files that use them."""
    globs = " ".join(PERSISTED_GLOBS)
    reads = [Read(PREFIX + "persisted", f"for fo_f in {globs}; do\n  if [ -f \"$fo_f\" ]; then echo \"$fo_f\"; fi\ndone")]
    for key, path in (("loader", LOADER_PATH), ("udev", UDEV_RULE_PATH), ("net", OPENWRT_NET_PATH),
                      ("iface", OPENWRT_IFACE_PATH)):
        reads.append(Read(PREFIX + key, file_code(path)))
    reads.append(Read(PREFIX + "dir", dir_code()))
    return reads


def dir_code(folder: str = COLLECTION_DIR) -> str:
    """sh listing the collection's folder without a process: ``FOLDER/`` first when it
    exists, then one path per entry (hidden names too); nothing when it does not exist."""
    return f"""\
if [ -d {folder} ]; then
  echo {folder}/
  for fo_x in {folder}/* {folder}/.[!.]* {folder}/..?*; do
    if [ -e "$fo_x" ] || [ -L "$fo_x" ]; then echo "$fo_x"; fi
  done
fi"""


def remove_dir(listing: str | None, entries: t.Iterable[t.Mapping[str, t.Any]]) -> bool:
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
                 openwrt: bool, udev: bool) -> list[dict[str, t.Any]]:
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
