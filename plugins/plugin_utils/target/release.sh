# shellcheck shell=sh disable=SC2154
# The one read of the running kernel's release (section host:osrelease, target/host.py):
# printed, and kept in $fo_kr for the sections after it (the kmod reads look in
# /lib/modules/$fo_kr; their lists start with the host reads). /proc without a process,
# uname -r only where /proc is missing; rc 1 when neither tells.
# No inputs ($fo_v: the prelude's fo_val sets it; SC2154 above).

fo_kr=''
if fo_val /proc/sys/kernel/osrelease; then fo_kr=$fo_v; else fo_kr=$(uname -r) || fo_kr=''; fi
[ -n "$fo_kr" ] && printf '%s\n' "$fo_kr"
