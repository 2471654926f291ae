# shellcheck shell=sh # (this line is not installed: hotplug.py reads the file without it)
# Managed by flowoffload.nft (Ansible); changes are overwritten.
# flowoffload-load: the collection's persisted flowtables with the devices that exist.
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
