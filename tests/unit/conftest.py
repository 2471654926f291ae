# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every unit test may count on: the shells and the linter of the target's scripts.

The sh the target runs is tested under busybox ash (OpenWrt's /bin/sh) and dash (Debian's)
and linted with shellcheck. A machine without them fails the suite at its start instead of
skipping those tests; scripts/setup installs them.
"""
from __future__ import annotations

import shutil

import pytest

REQUIRED = {"busybox": "busybox-static", "dash": "dash", "shellcheck": "shellcheck"}


def pytest_sessionstart(session: pytest.Session) -> None:
    del session
    missing = [f"{tool} (Debian package {package})" for tool, package in REQUIRED.items() if not shutil.which(tool)]
    if missing:
        raise pytest.UsageError(
            f"the unit tests need {', '.join(missing)}: run scripts/setup, or apt-get install the package(s)")
