# shellcheck shell=sh disable=SC2154
# Step probe:recheck of a profile that installs the modules (profile/parts.py): after the
# install and the loads, the software probe once more (nft -c of a flowtable without
# devices, never committed); the apply stops here when the kernel still refuses it.
#
# Inputs (SC2154 above: the renderer assigns them; $fo_t is the prelude's folder):
#   fo_batch   the probe's nft batch
# inputs: fo_batch

printf '%s' "$fo_batch" >"$fo_t/recheck.nft"
nft -c -f "$fo_t/recheck.nft"
