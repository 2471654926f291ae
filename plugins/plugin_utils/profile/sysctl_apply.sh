# shellcheck shell=sh disable=SC2154
# Step sysctl:apply (profile/sysctl.py): the file's settings into the running kernel.
# systemd-sysctl needs no procps (absent from minimal images) and skips keys the kernel
# lacks; elsewhere (OpenWrt's busybox, OpenRC) sysctl -e -p reads the same file.
#
# Inputs (SC2154 above: the renderer assigns them):
#   fo_init      the host's init system (systemd, procd, openrc, ...)
#   fo_sysfile   the sysctl.d file
# inputs: fo_init fo_sysfile

for fo_b in /usr/lib/systemd/systemd-sysctl /lib/systemd/systemd-sysctl; do
  if [ "$fo_init" = systemd ] && [ -x "$fo_b" ]; then "$fo_b" "$fo_sysfile"; exit; fi
done
sysctl -e -p "$fo_sysfile"
