#!/bin/sh
# Shared part of the opkg and apk test doubles (sourced, never run on its own).
# The "feed" is /usr/share/pkg-double/feed/NAME/ with a `control` file (Package, Version,
# Depends, Architecture, Description) and an optional `root/` tree copied to / on install.
# `update` fetches nothing: it marks the lists as present, the way both tools need
# before an install can find a package. Log of every call: /var/log/pkg-double.log.
R=${PKG_DOUBLE_ROOT:-}
FEED=${PKG_DOUBLE_FEED:-$R/usr/share/pkg-double/feed}
LOG=$R/var/log/pkg-double.log
# The feed is "reachable" when its folder exists; else update/install fail as with no network.
release() { sed -n "s/^DISTRIB_RELEASE=.\(.*\).$/\1/p" "$R/etc/openwrt_release" 2>/dev/null; }

log_call() { mkdir -p "$(dirname "$LOG")"; echo "$(basename "$0") $*" >> "$LOG"; }

control_field() { # feed-package field
	sed -n "s/^$2: //p" "$FEED/$1/control" | head -n 1
}

# Copy the package's files and print them, one absolute path per line.
unpack() { # feed-package
	[ -d "$FEED/$1/root" ] || return 0
	(cd "$FEED/$1/root" && find . ! -type d | sed 's|^\.||') > "${TMPDIR:-/tmp}/.pkg-double.$1.list"
	cp -a "$FEED/$1/root/." "$R/"
	cat "${TMPDIR:-/tmp}/.pkg-double.$1.list"
	rm -f "${TMPDIR:-/tmp}/.pkg-double.$1.list"
}
