# shellcheck shell=sh disable=SC2154
# The fixed part of the apply script (apply_script in target/script.py renders it after the
# prelude, before the lock): how a run stops and how each of its parts reports. The
# generated part calls these functions (target/render.py: one piece for each expectation,
# file and step; a step's section is fo_emit's).
#
#   fo_stop STATUS KEY [MESSAGE]   remove the staged files, print the result marker
#                                  @@NONCE-result STATUS KEY@@ (MESSAGE on stderr), exit 3
#   fo_expect KEY FILE             after the re-check of KEY printed $fo_t/o: unless it is
#                                  FILE byte for byte, section stale:KEY and stop "stale"
#   fo_staging RC PATH             after staging PATH.fo-new (RC its status): on a failure,
#                                  section stage:PATH and stop "failed" (nothing changed)
#   fo_ok                          the result marker of a run that went through
# No inputs: the prelude sets $fo_nonce and $fo_t (SC2154 above).

fo_staged=''
fo_mkdirs=''
fo_stop() {
  for fo_f in $fo_staged; do rm -f "$fo_f"; done
  fo_rmdirs
  printf '@@%s-result %s %s@@\n' "$fo_nonce" "$1" "$2"
  [ -z "${3:-}" ] || printf '%s\n' "$3" >&2
  exit 3
}
fo_expect() {
  cmp -s "$fo_t/o" "$2" || { fo_emit "stale:$1" 1; fo_stop stale "$1"; }
}
fo_staging() {
  if [ "$1" -ne 0 ]; then
    : >"$fo_t/o"; fo_emit "stage:$2" 1; rm -f "$2.fo-new"
    fo_stop failed "stage:$2"
  fi
  fo_staged="$fo_staged $2.fo-new"
}
# the folders staging creates (a file's parent that did not exist): fo_rmdirs removes them
# again when the run stops (and an armed rollback, from its record), each only when empty
fo_newdir() {
  [ -d "$1" ] || fo_mkdirs="$1 $fo_mkdirs"
}
fo_rmdirs() {
  for fo_d in $fo_mkdirs; do rmdir "$fo_d" 2>/dev/null; done
  :
}
fo_ok() { printf '@@%s-result ok -@@\n' "$fo_nonce"; }
# A test-only hook of the crash-consistency tests: each change of the script starts at a
# boundary (fo_boundary, counted from 1); when /run/flowoffload-test-kill-at holds this
# boundary's number, the script kills itself there with SIGKILL (no trap runs), as a lost
# connection or an OOM kill would stop it; "N reset" cuts the power there instead (sysrq b:
# the machine resets at once, without a sync). One test for a file that is never there
# outside the tests.
fo_n=0
fo_boundary() {
  fo_n=$((fo_n + 1))
  [ -e /run/flowoffload-test-kill-at ] || return 0
  fo_val /run/flowoffload-test-kill-at || return 0
  case $fo_v in
    "$fo_n") ;;
    "$fo_n reset") echo b >/proc/sysrq-trigger ;;
    *) return 0 ;;
  esac
  printf '@@%s-killed %s@@\n' "$fo_nonce" "$fo_n"
  kill -9 $$
}
