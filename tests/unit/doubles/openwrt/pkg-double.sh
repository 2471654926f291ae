#!/bin/sh
# Shared part of the opkg and apk test doubles (sourced, never run on its own).
# The "feed" is /usr/share/pkg-double/feed/NAME/ with a `control` file (Package, Version,
# Depends, Architecture, Installed-Size, Size, Description) and an optional `root/` tree
# copied to / on install. A dependency that the feed carries is installed first (one that
# it does not carry counts as present: the images' databases list only what they hold).
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
	# file by file: a directory of the package may be a link on the router (merged /usr: /lib)
	while IFS= read -r f; do
		mkdir -p "$R$(dirname "$f")" && cp -a "$FEED/$1/root$f" "$R$f" || return 1
	done < "${TMPDIR:-/tmp}/.pkg-double.$1.list"
	cat "${TMPDIR:-/tmp}/.pkg-double.$1.list"
	rm -f "${TMPDIR:-/tmp}/.pkg-double.$1.list"
}

# The names in the Depends line of a feed package's control (version constraints dropped).
depends() { # feed-package
	control_field "$1" Depends | tr ',' '\n' | sed 's/(.*//; s/^ *//; s/ *$//' | sed '/^$/d'
}
