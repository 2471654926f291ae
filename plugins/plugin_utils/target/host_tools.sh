# shellcheck shell=sh disable=SC2154
# Section host:tools (target/host.py): "NAME=PATH" for every binary of $fo_tools that
# `command -v` finds (a builtin: no process per tool).
# inputs: fo_tools

# shellcheck disable=SC2086
for fo_x in $fo_tools; do
  if command -v "$fo_x" >/dev/null 2>&1; then printf '%s=' "$fo_x"; command -v "$fo_x"; fi
done
