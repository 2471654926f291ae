# shellcheck shell=sh disable=SC2154
# offload_facts, subset conflicts: nft rules that send packets to a userspace queue. Not
# the whole ruleset: table and chain heads (the context) and the lines saying queue; and
# only when a program listens on a queue ($fo_nfq_proc, nfnetlink_queue, lists the bound
# queues): the full listing costs seconds beside a large ruleset, and a queue without a
# listener sees nothing. facts/conflicts.py nfqueue_conflicts reads them.
# inputs: fo_nfq_proc

if fo_val "$fo_nfq_proc" && [ -n "$fo_v" ]; then
  if nft list ruleset >"$fo_t/facts-rs"; then
    grep -E '^table |^[[:space:]]*chain |queue' "$fo_t/facts-rs" || :
  else fo_rc $?; fi
else
  echo "# no queue is bound ($fo_nfq_proc): the ruleset was not listed"
fi
