# shellcheck shell=sh # (this line is not installed: hotplug.py reads the file without it)
# Managed by flowoffload.nft (Ansible); changes are overwritten.
# After an interface comes up (20-firewall may have reloaded fw4, which loads the
# collection's include without devices), every listed device that exists joins again.
[ "$ACTION" = ifup ] && /bin/sh /etc/flowoffload/flowoffload-load --present
