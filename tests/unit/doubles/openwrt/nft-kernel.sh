#!/bin/sh
# shellcheck disable=SC2086  # $opts and $line are split into words on purpose
# Kernel double for the scenario's routers whose kernel could load modules (openwrt-feed,
# openwrt-nofeed), installed as /usr/local/sbin/nft, before the real /usr/sbin/nft on PATH.
# The containers share the host's kernel, which has no flowtables (and no loadable modules).
# - Until the flow offload modules are "loaded" (the kmodloader double's
#   /sys/module/NAME/initstate for nf_flow_table, nf_flow_table_inet and nft_flow_offload),
#   every call goes to the real nft unchanged: the kernel refuses a flowtable with ENOENT, as
#   a kernel without those modules does.
# - Once they are, it plays a kernel that has them: a batch (-f FILE, -c too) goes to the real
#   nft without its flowtable declarations and `flow add|offload @NAME` statements (each
#   removed line left blank, so the kernel's line numbers stay right), a flowtable naming a
#   device that does not exist is refused with ENOENT at its line, and without -c the
#   flowtables are kept in $STATE; `flush table` and `delete table` drop the table's
#   flowtables (fw4 rebuilds its table from `flush table inet fw4`), `delete flowtable` one.
#   Listings of flowtables (`list flowtables`, `-j list flowtables`, `list flowtable F T N`)
#   come from $STATE merged into the real nft's; text listings of tables and the ruleset get
#   the flowtable blocks back (the offload rule stays without its `flow add` statement, and
#   JSON listings of tables and rulesets show no flowtable: not modelled).
# The listing formats are nft 1.0.6's (../shared/openwrt/captures/real-kernel/40): priority
# 0 printed as `filter`, devices unquoted, `flags offload` and `counter` on lines of their own.
REAL=${NFT_DOUBLE_REAL:-/usr/sbin/nft}
STATE=${NFT_DOUBLE_KERNEL_STATE:-/var/lib/nft-kernel-double}
SYSMOD=${KMODLOADER_SYS_MODULE:-/sys/module}
NET=${NFT_DOUBLE_SYSFS_NET:-/sys/class/net}

loaded() {
	for m in nf_flow_table nf_flow_table_inet nft_flow_offload; do
		[ -e "$SYSMOD/$m/initstate" ] || return 1
	done
}
loaded || exec "$REAL" "$@"

mkdir -p "$STATE"
: >>"$STATE/flowtables"
check=0 json=0 file='' opts=''
while [ $# -gt 0 ]; do
	case $1 in
	-c | --check) check=1 opts="$opts $1" ;;
	-j | --json) json=1 opts="$opts $1" ;;
	-f | --file) file=$2; shift ;;
	-*) opts="$opts $1" ;;
	*) break ;;
	esac
	shift
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# One flowtable per line of $STATE/flowtables: FAMILY TABLE NAME PRIO DEVS FLAGS COUNTER
# (DEVS comma-separated, "-" for none; FLAGS "offload" or "-"; COUNTER 1 or 0).
block() { # FAMILY TABLE [NAME]: the text blocks of that table's flowtables (or of one)
	awk -v fam="$1" -v tab="$2" -v name="${3:-}" '
		$1 == fam && $2 == tab && (name == "" || $3 == name) {
			prio = ($4 == "0") ? "filter" : $4
			print "\tflowtable " $3 " {"
			print "\t\thook ingress priority " prio
			if ($5 != "-") { d = $5; gsub(/,/, ", ", d); print "\t\tdevices = { " d " }" }
			if ($6 == "offload") print "\t\tflags offload"
			if ($7 == "1") print "\t\tcounter"
			print "\t}"
		}' "$STATE/flowtables"
}

inject() { # text listing on stdin: each table's flowtable blocks after its head
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		"table "*" {")
			set -- $line
			block "$2" "$3"
			;;
		esac
	done
}

json_objects() { # FAMILY TABLE NAME filters ("" for any): ', {"flowtable": ...}' per flowtable
	awk -v fam="$1" -v tab="$2" -v name="$3" '
		(fam == "" || $1 == fam) && (tab == "" || $2 == tab) && (name == "" || $3 == name) {
			n = split(($5 == "-") ? "" : $5, d, ",")
			if (n == 1) dev = ", \"dev\": \"" d[1] "\""
			else if (n > 1) { dev = ", \"dev\": ["; for (i = 1; i <= n; i++) dev = dev (i > 1 ? ", " : "") "\"" d[i] "\""; dev = dev "]" }
			else dev = ""
			prio = ($4 == "filter") ? 0 : $4
			printf ", {\"flowtable\": {\"family\": \"%s\", \"name\": \"%s\", \"table\": \"%s\", \"handle\": %d, \"hook\": \"ingress\", \"prio\": %s%s}}", $1, $3, $2, NR + 100, prio, dev
		}' "$STATE/flowtables"
}

if [ -n "$file" ]; then
	if [ "$file" = - ]; then cat >"$tmp/in"; else cat "$file" >"$tmp/in" || exit 1; fi
	awk -v st="$STATE/flowtables" -v out="$tmp/out" -v new="$tmp/new" -v net="$NET" -v f="$file" '
		function key_of(fam, tab, name) { return fam " " tab " " name }
		function drop_table(fam, tab,   k) { for (k in ft) if (index(k, fam " " tab " ") == 1) delete ft[k] }
		function record(fam, tab, name, body, line,   prio, devs, n, i, d, list, flags, counter, dv) {
			prio = "0"
			if (match(body, /priority [^;]+;/)) { prio = substr(body, RSTART + 9, RLENGTH - 10); gsub(/ /, "", prio) }
			if (prio == "filter") prio = "0"
			list = "-"
			if (match(body, /devices = \{[^}]*\}/)) {
				devs = substr(body, RSTART + 11, RLENGTH - 12); gsub(/[" ]/, "", devs)
				n = split(devs, d, ",")
				list = ""
				for (i = 1; i <= n; i++) {
					if (d[i] == "") continue
					if (system("test -e \"" net "/" d[i] "\"") != 0) {
						printf "%s:%d:1-1: Error: Could not process rule: No such file or directory\n", f, line > "/dev/stderr"
						bad = 1
					}
					list = list (list == "" ? "" : ",") d[i]
				}
				if (list == "") list = "-"
			}
			flags = (body ~ /flags offload/) ? "offload" : "-"
			counter = (body ~ /(^|[;{ \t])counter[; \t]/ || body ~ /counter;?[ \t]*$/) ? 1 : 0
			ft[key_of(fam, tab, name)] = prio " " list " " flags " " counter
		}
		BEGIN { while ((getline l < st) > 0) { split(l, p, " "); ft[p[1] " " p[2] " " p[3]] = p[4] " " p[5] " " p[6] " " p[7] } }
		{ line = $0; blank = 0 }
		inft {
			body = body " " line; blank = 1
			if (line ~ /^[ \t]*}[ \t]*;?[ \t]*$/) { inft = 0; record(cf, ct, cn, body, start) }
		}
		!blank && line ~ /^[ \t]*flush ruleset/ { for (k in ft) delete ft[k] }
		!blank && match(line, /^[ \t]*(flush|delete) table [a-z0-9]+ [^ {;]+/) { split(substr(line, RSTART, RLENGTH), w, " "); drop_table(w[3], w[4]) }
		!blank && match(line, /^[ \t]*delete flowtable [a-z0-9]+ [^ ]+ [^ {;]+/) { split(substr(line, RSTART, RLENGTH), w, " "); delete ft[key_of(w[3], w[4], w[5])]; blank = 1 }
		!blank && match(line, /^[ \t]*(add |create )?flowtable [a-z0-9]+ [^ ]+ [^ {]+ *\{/) {
			split(substr(line, RSTART, RLENGTH), w, " "); o = (w[1] == "flowtable") ? 0 : 1
			cf = w[2 + o]; ct = w[3 + o]; cn = w[4 + o]; body = line; blank = 1; start = NR
			if (line ~ /}[ \t]*;?[ \t]*$/) record(cf, ct, cn, body, NR); else inft = 1
		}
		!blank && match(line, /^table [a-z0-9]+ [^ {]+ *\{/) { split(line, w, " "); fam = w[2]; tab = w[3] }
		!blank && line ~ /^}/ { fam = ""; tab = "" }
		!blank && fam != "" && match(line, /^[ \t]*flowtable [^ {]+ *\{/) {
			split(line, w, " "); cf = fam; ct = tab; cn = w[2]; body = line; blank = 1; start = NR
			if (line ~ /}[ \t]*;?[ \t]*$/) record(cf, ct, cn, body, NR); else inft = 1
		}
		{ if (blank) print "" > out; else { gsub(/[ \t]*flow (add|offload) @[A-Za-z0-9_]+/, "", line); print line > out } }
		END {
			for (k in ft) print k " " ft[k] > new
			close(new)
			exit bad ? 1 : 0
		}' "$tmp/in" || exit 1
	: >>"$tmp/new"
	"$REAL" $opts -f "$tmp/out" 2>"$tmp/err"
	rc=$?
	sed "s|$tmp/out|$file|g" "$tmp/err" >&2
	[ "$rc" = 0 ] || exit "$rc"
	[ "$check" = 1 ] || sort "$tmp/new" >"$STATE/flowtables"
	exit 0
fi

case "$*" in
"list flowtables" | "list flowtables "*)
	if [ "$json" = 1 ]; then
		"$REAL" $opts "$@" >"$tmp/out" || exit $?
		sed "s/]}[[:space:]]*\$/$(json_objects "${3:-}" "" "" | sed 's/[\/&]/\\&/g')]}/" "$tmp/out"
	else
		"$REAL" $opts "$@" | inject
	fi
	;;
"list flowtable "*)
	if ! grep -q "^$3 $4 $5 " "$STATE/flowtables"; then exec "$REAL" $opts "$@"; fi
	if [ "$json" = 1 ]; then
		printf '{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}%s]}\n' \
			"$(json_objects "$3" "$4" "$5")"
	else
		printf 'table %s %s {\n' "$3" "$4"
		block "$3" "$4" "$5"
		printf '}\n'
	fi
	;;
"list table "* | "list ruleset"*)
	if [ "$json" = 1 ]; then exec "$REAL" $opts "$@"; fi
	"$REAL" $opts "$@" >"$tmp/out"
	rc=$?
	inject <"$tmp/out"
	exit "$rc"
	;;
*) exec "$REAL" $opts "$@" ;;
esac
