# shellcheck shell=sh disable=SC2154
# Sections audit:file:PATH (audit/config.py): one per collection file, its content. A path
# with characters outside [A-Za-z0-9_./-] is not one the collection writes, so it is left
# out rather than put into a section key.
#
# Inputs (SC2154 above: the renderer assigns them):
#   fo_globs    the globs of the collection's persisted files (words, expanded here)
#   fo_prefix   the section key's prefix (audit:file:)
# inputs: fo_globs fo_prefix

# shellcheck disable=SC2086 # the globs expand here
for fo_af in $fo_globs; do
  [ -f "$fo_af" ] || continue
  case $fo_af in *[!A-Za-z0-9_./-]*) continue ;; esac
  fo_cap "$fo_prefix$fo_af" cat "$fo_af"
done
