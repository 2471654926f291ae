# shellcheck shell=bash disable=SC2034
# Shared helpers for scripts/setup, scripts/test and tests/integration/run.
# Source it from bash (it sets no shell options of its own); it defines paths and the
# environment every stage runs with, and a few small logging/timing helpers.
# (SC2034: the FO_* variables are used by the scripts that source this file.)

FO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FO_VENV="$FO_ROOT/.venv"
FO_CACHE="$FO_ROOT/.cache"
FO_COLLECTIONS="$FO_CACHE/collections"
FO_DOWNLOADS="$FO_CACHE/downloads"
# ansible-test needs the collection as a real directory named
# ansible_collections/<namespace>/<name>: a synced copy lives here.
FO_AT_ROOT="$FO_CACHE/ansible-test"
FO_AT_COLLECTION="$FO_AT_ROOT/ansible_collections/flowoffload/nft"
# Host Python used for the venv: Debian 12's interpreter, not a user-installed one.
FO_PYTHON="${FO_PYTHON:-/usr/bin/python3}"

export LANG=C.UTF-8 LC_ALL=C.UTF-8
export ANSIBLE_CONFIG="$FO_ROOT/ansible.cfg"
export ANSIBLE_COLLECTIONS_PATH="$FO_COLLECTIONS"
export ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-0}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PATH="$FO_VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

fo_log() { printf '==> %s\n' "$*"; }
fo_warn() { printf 'WARNING: %s\n' "$*" >&2; }
fo_die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# fo_now: seconds since the epoch (integer), for stage durations.
fo_now() { date +%s; }

# fo_duration SECONDS -> "1m05s"
fo_duration() {
    local s="$1"
    printf '%dm%02ds' "$((s / 60))" "$((s % 60))"
}

# fo_sha256 FILE... -> one hash over the contents of all files (missing files count as empty)
fo_sha256() {
    local f
    for f in "$@"; do
        printf '%s\n' "$f"
        if [[ -f "$f" ]]; then cat "$f"; fi
    done | sha256sum | cut -d' ' -f1
}

# fo_sync_ansible_test_tree: copy git-tracked and untracked-not-ignored files of the repo
# into $FO_AT_COLLECTION (a real directory, as ansible-test requires), deleting anything
# that no longer exists in the repo. tests/output (ansible-test's results) is kept.
fo_sync_ansible_test_tree() {
    local list
    mkdir -p "$FO_AT_COLLECTION"
    list="$(mktemp)"
    # Every file plus each of its parent directories, anchored at the transfer root.
    git -C "$FO_ROOT" ls-files --cached --others --exclude-standard \
        | while IFS= read -r path; do
            [[ -e "$FO_ROOT/$path" || -L "$FO_ROOT/$path" ]] || continue
            printf '/%s\n' "$path"
            while [[ "$path" == */* ]]; do
                path="${path%/*}"
                printf '/%s/\n' "$path"
            done
        done | sort -u >"$list"
    rsync -a --delete --delete-excluded \
        --filter='P /tests/output/' \
        --include-from="$list" --exclude='*' \
        "$FO_ROOT/" "$FO_AT_COLLECTION/"
    rm -f "$list"
}
