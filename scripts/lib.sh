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
# Host Python used for the venv: pyenv's 3.13.0 (ansible-core 2.21 needs 3.12 or newer;
# Debian 12's python3 is 3.11). FO_PYTHON=/path/to/python3.1x overrides it.
FO_PYENV_ROOT="${PYENV_ROOT:-$HOME/.pyenv}"
FO_PYTHON="${FO_PYTHON:-$FO_PYENV_ROOT/versions/3.13.0/bin/python3}"

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

# fo_sync_ansible_test_tree: make $FO_AT_COLLECTION (a real directory, as ansible-test
# requires) hold exactly what the collection ships: build it with ansible-galaxy (which
# honours galaxy.yml's build_ignore: lab/, scripts/, bench/, Molecule scenarios stay out)
# and unpack the artifact. tests/output (ansible-test's results) is kept.
fo_sync_ansible_test_tree() {
    local tmp rc=0
    tmp="$(mktemp -d)"
    mkdir -p "$FO_AT_COLLECTION" "$tmp/tree"
    if ansible-galaxy collection build "$FO_ROOT" --output-path "$tmp" --force >"$tmp/build.log" 2>&1 \
        && tar -xzf "$tmp"/flowoffload-nft-*.tar.gz -C "$tmp/tree"; then
        rm -f "$tmp/tree/MANIFEST.json" "$tmp/tree/FILES.json"
        rsync -a --delete --filter='P /tests/output/' "$tmp/tree/" "$FO_AT_COLLECTION/" || rc=1
    else
        cat "$tmp/build.log" >&2
        rc=1
    fi
    rm -rf "$tmp"
    return "$rc"
}

# fo_build_collection OUTDIR [ansible-galaxy collection build options...]: build the
# collection tarball into OUTDIR, with the docs site's pages in it: docs/docsite/rst is
# generated from docs/*.md first (`scripts/docs --rst`, git-ignored, standard-library Python).
# Use it wherever the tarball is built, so the pages always match the guides.
fo_build_collection() {
    local out="$1"
    shift
    "$FO_ROOT/scripts/docs" --rst >/dev/null || return 1
    ansible-galaxy collection build "$FO_ROOT" --output-path "$out" --force "$@"
}

# fo_get_pip_standin VERSION WRITER: print the offline stand-in for ansible-test's pip
# bootstrap script ~/.ansible/test/cache/get_pip_X_Y.py (normally downloaded from
# ci-files.testing.ansible.com, unreachable here). It installs pip VERSION from the wheel
# beside it (pip-VERSION-py3-none-any.whl, fetched from PyPI by the caller). WRITER is the
# script that writes it (scripts/setup, scripts/matrix), named in the file and in its
# message when the wheel is missing.
fo_get_pip_standin() {
    local version="$1" writer="$2"
    cat <<PY
"""Offline stand-in for get-pip.py, written by flowoffload.nft $writer.

ansible-test runs this to put pip $version into the virtual environments it creates.
It installs pip from the wheel next to this file instead of downloading anything.
"""
from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WHEEL = os.path.join(HERE, "pip-$version-py3-none-any.whl")


def main() -> int:
    if not os.path.isfile(WHEEL):
        sys.stderr.write(f"{WHEEL} is missing: run $writer again\n")
        return 1
    argv = sys.argv[1:]
    options = [a for a in argv if a.startswith("-") and a not in ("--no-setuptools", "--no-wheel")]
    packages = [a for a in argv if not a.startswith("-")] or ["pip==$version"]
    extra = [name for flag, name in (("--no-setuptools", "setuptools"), ("--no-wheel", "wheel")) if flag not in argv]
    sys.path.insert(0, WHEEL)
    from pip._internal.cli.main import main as pip_main

    index = [] if extra else ["--no-index"]
    return pip_main(["install", *index, "--find-links", HERE, *options, *packages, *extra])


if __name__ == "__main__":
    sys.exit(main())
PY
}
