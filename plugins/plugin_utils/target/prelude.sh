# shellcheck shell=sh disable=SC2154
# The start of the read script and of the apply script (rendered by target/script.py through
# target/sh.py): C locale, the folders where OpenWrt and Debian keep their tools on PATH, a
# temporary folder $fo_t removed on exit, and the framing every section is printed in:
#   @@NONCE KEY@@ / its stdout / @@NONCE-err@@ / its stderr / @@NONCE-end RC@@
# (stdout is streamed, so the exit status comes last; parse_sections reads it back).
#
#   fo_head KEY, fo_tail RC   frame a section (stderr is kept in $fo_t/e)
#   fo_emit KEY RC            a section whose stdout is in $fo_t/o (the apply's steps)
#   fo_cap KEY CMD...         CMD as a section (the dynamic reads: one per device)
#   fo_rc N                   a status N without a process
#   fo_val FILE               the first line of FILE in $fo_v (sysfs, /proc values)
#   fo_rd FILE                FILE printed byte for byte, without a process
#   fo_file FILE              the same, or rc 2 and "absent" when FILE does not exist
#
# Inputs (SC2154 above: the renderer assigns them):
#   fo_nonce   this run's marker (FO and 12 hex digits)
#   fo_path    the folders added to PATH
# inputs: fo_nonce fo_path

LC_ALL=C; LANG=C; export LC_ALL LANG
PATH="${PATH:-/usr/bin:/bin}:$fo_path"; export PATH
umask 022
fo_t=$(mktemp -d 2>/dev/null) || { fo_t=/tmp/flowoffload.$$; mkdir -p "$fo_t"; }
trap 'rm -rf "$fo_t"' EXIT
: >"$fo_t/o"; : >"$fo_t/e"
fo_head() { printf '@@%s %s@@\n' "$fo_nonce" "$1"; }
fo_tail() {
  printf '\n@@%s-err@@\n' "$fo_nonce"
  [ ! -s "$fo_t/e" ] || fo_rd "$fo_t/e"
  printf '\n@@%s-end %s@@\n' "$fo_nonce" "$1"
}
fo_emit() {
  fo_head "$1"
  [ ! -s "$fo_t/o" ] || cat "$fo_t/o"
  fo_tail "$2"
}
fo_cap() {
  fo_head "$1"; shift
  "$@" 2>"$fo_t/e"; fo_tail $?
}
fo_rc() { return "$1"; }
fo_val() {
  fo_v=''
  { read -r fo_v <"$1" || [ -n "$fo_v" ]; } 2>/dev/null
}
fo_rd() {
  fo_rl=''
  [ -r "$1" ] || { echo "cannot read $1" >&2; return 1; }
  while IFS= read -r fo_rl; do printf '%s\n' "$fo_rl"; done <"$1"
  [ -z "$fo_rl" ] || printf '%s' "$fo_rl"
}
fo_file() {
  [ -e "$1" ] || { echo absent >&2; return 2; }
  fo_rd "$1"
}
