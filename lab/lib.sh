# shellcheck shell=bash
# Shared helpers for the lab scripts (sourced, never executed).
set -euo pipefail
export LANG=C LC_ALL=C

LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034 # false positive: read by the scripts that source this file (lab/capture, lab/bench)
REPO_DIR="$(dirname "$LAB_DIR")"
# LAB_IMAGES may point elsewhere (lab/bench builds a cold image in a scratch folder).
LAB_IMAGES="${LAB_IMAGES:-$LAB_DIR/.images}"
LAB_STATE="${LAB_STATE:-$LAB_DIR/.state}"
# shellcheck disable=SC2034 # false positive: the default suite, read by lab/build and lab/distro.sh
LAB_SUITE=bookworm

die() {
    echo "lab: error: $*" >&2
    exit 1
}

log() {
    echo "lab: $*" >&2
}

need_root() {
    [ "$(id -u)" = 0 ] || die "run as root (debootstrap, mkfs and podman need it)"
}

# need_cmd BINARY PACKAGE: fail naming the apt package when a binary is missing.
need_cmd() {
    command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] \
        || die "'$1' not found: install the apt package '$2' (listed in lab/apt-packages.txt; scripts/setup installs them)"
}

# The Debian mirror the host's apt uses (deb822 or one-line sources), else deb.debian.org.
lab_mirror() {
    local uri=""
    if [ -n "${LAB_MIRROR:-}" ]; then
        echo "$LAB_MIRROR"
        return
    fi
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        uri="$(awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i !~ /security/) {print $i; exit}}' \
            /etc/apt/sources.list.d/debian.sources)"
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri="$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^(http|https|file):/) {print $i; exit}}' \
            /etc/apt/sources.list)"
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

# sha256 over the contents of the given files, in order.
hash_files() {
    cat "$@" | sha256sum | cut -d' ' -f1
}

vm_dir() {
    echo "$LAB_STATE/$1"
}

# vm_running NAME: true when the qemu process of NAME (pid file) is alive.
vm_running() {
    local dir pid
    dir="$(vm_dir "$1")"
    [ -f "$dir/qemu.pid" ] || return 1
    pid="$(cat "$dir/qemu.pid")"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
        && grep -q qemu-system "/proc/$pid/cmdline" 2>/dev/null
}

check_name() {
    case "$1" in
        ''|*[!A-Za-z0-9_-]*) die "VM name '$1' is invalid: use letters, digits, '-' or '_'" ;;
    esac
}

# ssh options for VM NAME (needs its state folder); prints one option per line. The control
# socket has a short fixed name (one VM per folder): ssh adds 17 characters while creating
# it, and "$dir/ssh-%C" passed the 107 a Unix socket path may have in a clone under
# /tmp/ci4/main (ssh then failed, and lab/up waited for SSH in vain).
ssh_opts() {
    local dir
    dir="$(vm_dir "$1")"
    printf '%s\n' -i "$LAB_IMAGES/id_ed25519" -p "$(cat "$dir/port")" \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
        -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=5 \
        -o ControlMaster=auto -o ControlPersist=120s -o "ControlPath=$dir/cm" \
        -o ServerAliveInterval=10 -o ServerAliveCountMax=6
}

# lab_debootstrap SUITE TARGET PACKAGES: minbase debootstrap with a .deb cache kept in
# $LAB_IMAGES/debs/SUITE so a rebuild downloads nothing that did not change.
lab_debootstrap() {
    local suite=$1 target=$2 packages=$3 cache
    cache="$LAB_IMAGES/debs/$suite"
    mkdir -p "$cache"
    debootstrap --variant=minbase --include="$packages" --cache-dir="$cache" \
        "$suite" "$target" "$(lab_mirror)" >"$target.log" 2>&1 \
        || { tail -n 30 "$target.log" >&2; die "debootstrap $suite failed (log above)"; }
    rm -f "$target.log"
    # debootstrap unmounts the target's /proc and /sys at its end, but not when something
    # held them busy at that moment (a recursive grep of lab/ did): unmount what is left,
    # so that nothing of the host's /proc ends up in an image.
    awk -v root="$target/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r \
        | while read -r mnt; do umount -l "$mnt"; done
}

# scratch_dir PATH: a tmpfs at PATH (fast dpkg), or a plain folder where mounting fails.
scratch_dir() {
    mkdir -p "$1"
    mount -t tmpfs -o size=6g,mode=0755 lab-scratch "$1" 2>/dev/null || true
}

scratch_cleanup() {
    if mountpoint -q "$1" 2>/dev/null; then
        umount "$1"
    fi
    rm -rf "$1"
}
