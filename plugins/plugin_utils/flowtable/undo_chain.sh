# shellcheck shell=sh disable=SC2154
# The rollback of a chain-mode flowtable (flowtable/undo.py renders it; an armed rollback or a
# failed health check runs it, under the host lock, with $fo_t its temporary folder). One nft
# transaction: delete every rule of the chain tagged with our comment (found by handle now:
# the apply made them, the plan could not know their handles), delete our flowtable when it
# exists, then add the flowtable and the rule as the read found them (fo_u_restore, empty
# when the task created them). The chain's other rules and the table stay as they are.
# inputs: fo_u_family fo_u_table fo_u_chain fo_u_name fo_u_tag fo_u_restore

: >"$fo_t/undo-chain.nft" || exit 1
nft -a list chain "$fo_u_family" "$fo_u_table" "$fo_u_chain" >"$fo_t/undo-chain.list" || exit 1
while IFS= read -r fo_u_line; do
  case $fo_u_line in
    *"comment \"$fo_u_tag\" # handle "*)
      printf 'delete rule %s %s %s handle %s\n' "$fo_u_family" "$fo_u_table" "$fo_u_chain" "${fo_u_line##* # handle }" \
        >>"$fo_t/undo-chain.nft"
      ;;
  esac
done <"$fo_t/undo-chain.list"
if nft list flowtable "$fo_u_family" "$fo_u_table" "$fo_u_name" >/dev/null 2>&1; then
  printf 'delete flowtable %s %s %s\n' "$fo_u_family" "$fo_u_table" "$fo_u_name" >>"$fo_t/undo-chain.nft"
fi
printf '%s' "$fo_u_restore" >>"$fo_t/undo-chain.nft"
[ ! -s "$fo_t/undo-chain.nft" ] || nft -f "$fo_t/undo-chain.nft"
