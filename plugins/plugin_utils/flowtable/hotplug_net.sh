# shellcheck shell=sh # (this line is not installed: hotplug.py reads the file without it)
# Managed by flowoffload.nft (Ansible); changes are overwritten.
# A network device that appears joins the collection's flowtables that list it.
case "$ACTION" in
  add | move) [ -n "$INTERFACE" ] && /bin/sh /etc/flowoffload/flowoffload-load --device "$INTERFACE" ;;
esac
