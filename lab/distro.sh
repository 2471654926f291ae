# shellcheck shell=bash disable=SC2034
# Which Debian release a lab VM image is (sourced after lib.sh by lab/build, lab/up and
# lab/capture; kept out of lib.sh, whose hash keys the container images of lab/images).
#
#   bookworm (default)  Debian 12, kernel 6.1, nft 1.0.6: lab/.images/{vmlinux,initrd.img,
#                       rootfs.img,rootfs-nopython.img,build.key}
#   trixie              Debian 13, kernel 6.12, nft 1.1.x: lab/.images/trixie/{vmlinuz,
#                       initrd.img,rootfs-minimal.img,build.key}, one root disk: no
#                       Python, no netbase (no /etc/protocols), no tc
#
# LAB_DISTRO picks it for every lab script; --distro overrides. The SSH key and the .deb
# caches (lab/.images/debs/) are shared.

# lab_set_distro NAME: sets LAB_DISTRO, LAB_SUITE and LAB_DISTRO_IMAGES (its image folder).
lab_set_distro() {
    case "$1" in
        bookworm) LAB_DISTRO_IMAGES="$LAB_IMAGES" ;;
        trixie) LAB_DISTRO_IMAGES="$LAB_IMAGES/trixie" ;;
        *) die "unknown distro '$1' (--distro or LAB_DISTRO: bookworm or trixie)" ;;
    esac
    LAB_DISTRO=$1
    LAB_SUITE=$1
}
lab_set_distro "${LAB_DISTRO:-bookworm}"

# lab_rootfs NOPY: file name of the root disk for Python (0) or Python-less (1) guests.
lab_rootfs() {
    case "$LAB_DISTRO:$1" in
        bookworm:0) echo rootfs.img ;;
        bookworm:1) echo rootfs-nopython.img ;;
        trixie:*) echo rootfs-minimal.img ;;
    esac
}

# lab_kernel_file: the kernel file qemu boots. bookworm: vmlinux, unpacked from Debian's
# bzImage by lab/extract-vmlinux (booted through its PVH entry, no decompression at
# boot); trixie: vmlinuz, Debian's bzImage as it is (its payload is zstd, which
# extract-vmlinux does not know; qemu boots a bzImage through the Linux boot protocol).
lab_kernel_file() {
    case "$LAB_DISTRO" in
        bookworm) echo vmlinux ;;
        *) echo vmlinuz ;;
    esac
}

# The kernel comes from the suite's own archive. The host (bookworm) has bookworm in its
# apt sources; other suites get a private apt state in lab/.images/apt-SUITE (its own
# sources list and package lists; the host's apt configuration is not touched).
lab_apt_dir() {
    echo "$LAB_IMAGES/apt-$LAB_SUITE"
}

# lab_apt TOOL ARGS...: run apt-get or apt-cache against the suite's archive.
lab_apt() {
    local tool=$1 dir
    shift
    if [ "$LAB_SUITE" = bookworm ]; then
        "$tool" "$@"
        return
    fi
    dir="$(lab_apt_dir)"
    "$tool" -o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null \
        -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" \
        -o Dir::State::status=/dev/null -o APT::Architectures::=amd64 \
        -o APT::Sandbox::User=root "$@"
}

# lab_apt_update: fetch the suite's package lists (not for bookworm: the host's apt).
# Offline with lists from an earlier run, those are used (with a warning).
lab_apt_update() {
    local dir
    [ "$LAB_SUITE" != bookworm ] || return 0
    dir="$(lab_apt_dir)"
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(lab_mirror) $LAB_SUITE main" \
        >"$dir/sources.list"
    if ! lab_apt apt-get -q update >"$dir/update.log" 2>&1 || grep -q '^[WE]:' "$dir/update.log"; then
        if ls "$dir"/lists/*_Packages* >/dev/null 2>&1; then
            log "apt-get update for $LAB_SUITE failed, using the lists of an earlier run ($dir/update.log)"
        else
            cat "$dir/update.log" >&2
            die "apt-get update for $LAB_SUITE failed (log above; debian-archive-keyring must know $LAB_SUITE's key)"
        fi
    fi
}
