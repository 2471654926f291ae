# shellcheck shell=sh disable=SC2154
# offload_facts, subset conflicts: the qdisc listing (tc -j), also kept in "$fo_t/qdisc"
# for read_tc_filter.sh; a failed listing keeps tc's rc.

if tc -j qdisc show >"$fo_t/qdisc"; then fo_rd "$fo_t/qdisc"
else fo_x=$?; fo_rd "$fo_t/qdisc"; fo_rc "$fo_x"; fi
