# shellcheck shell=sh disable=SC2154
# offload_facts, subset flows: the conntrack entries counted here in one pass (the table
# may hold 100k entries), from $fo_conntrack (/proc/net/nf_conntrack) or else
# `conntrack -L`. Prints source=..., then total=, offload=, hw_offload= and rc= (that of the
# listing); facts/parse.py parse_flows_section reads them. Exits 2 when neither exists.
# inputs: fo_conntrack

fo_facts_count() {
  awk '/^rc=[0-9]+$/ {rc = substr($0, 4); next}
    NF && !/flow entries have been shown/ {n++}
    /\[HW_OFFLOAD\]/ {h++} /\[OFFLOAD\]/ {o++}
    END {printf "total=%d\noffload=%d\nhw_offload=%d\nrc=%d\n", n, o, h, rc}'
}
if [ -r "$fo_conntrack" ]; then
  echo "source=$fo_conntrack"
  { cat "$fo_conntrack"; echo "rc=$?"; } | fo_facts_count
elif command -v conntrack >/dev/null 2>&1; then
  echo 'source=conntrack -L'
  { conntrack -L 2>/dev/null; echo "rc=$?"; } | fo_facts_count
else
  echo "no $fo_conntrack and no conntrack binary" >&2
  exit 2
fi
