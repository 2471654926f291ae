# shellcheck shell=sh disable=SC2154
# offload_facts, subset conflicts: the ingress tc filters (ifb redirects for SQM) of each
# device with an ingress or clsact qdisc, one section "$fo_filter_prefix<device>" each.
# When the JSON listing of read_qdisc.sh (one line, in "$fo_t/qdisc") names neither kind,
# no tc runs again; without that listing (an old tc) the text listing is read. Device
# names that are not plain words are skipped.
# inputs: fo_filter_prefix

fo_q=''
if [ -s "$fo_t/qdisc" ]; then read -r fo_q <"$fo_t/qdisc" || :; fi
case $fo_q in
  '['*'"kind":"ingress"'*|'['*'"kind":"clsact"'*|'') fo_x=1 ;;
  '['*) fo_x=0 ;;
  *) fo_x=1 ;;
esac
if [ "$fo_x" = 1 ] && command -v tc >/dev/null 2>&1; then
  tc qdisc show 2>/dev/null | while read -r fo_f1 fo_fk _ fo_f4 fo_fv _; do
    [ "$fo_f1 $fo_f4" = "qdisc dev" ] || continue
    case $fo_fk in ingress|clsact) ;; *) continue ;; esac
    case $fo_fv in ''|*[!A-Za-z0-9_.@+-]*) continue ;; esac
    fo_cap "$fo_filter_prefix$fo_fv" tc -j filter show dev "$fo_fv" ingress
  done
fi
