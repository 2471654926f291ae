# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that touches the host: runs binaries and reads or writes files.

Everything else in module_utils is pure and takes text or data. Unit tests swap this
class for a fake that answers from captured fixtures. Private to flowoffload.nft.
"""
from __future__ import annotations

import os
import typing as t

from ansible_collections.flowoffload.nft.plugins.module_utils._errors import (
    FlowOffloadError,
)

# Where binaries live on the platforms we support (OpenWrt keeps some in /usr/sbin).
_EXTRA_PATHS = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin"]


class Result(t.NamedTuple):
    rc: int
    stdout: str
    stderr: str
    cmd: t.List[str]


class Runner:
    """Thin wrapper over AnsibleModule.run_command and the filesystem."""

    def __init__(self, module: t.Any) -> None:
        self._module = module
        self._bins: t.Dict[str, t.Optional[str]] = {}

    # --- binaries -------------------------------------------------------------------
    def which(self, name: str, required: bool = False) -> t.Optional[str]:
        if name not in self._bins:
            self._bins[name] = self._module.get_bin_path(name, opt_dirs=_EXTRA_PATHS)
        path = self._bins[name]
        if required and not path:
            raise FlowOffloadError(
                f"the '{name}' binary was not found on the target (searched PATH and "
                f"{', '.join(_EXTRA_PATHS)}); install it first (Debian/Ubuntu: apt install "
                f"{_PACKAGE_HINT.get(name, name)}; OpenWrt: opkg/apk add {name})"
            )
        return path

    def run(self, argv: t.Sequence[str], data: t.Optional[str] = None) -> Result:
        """Run argv (a list, never a shell string) with LANG=C; never raises on rc."""
        cmd = list(argv)
        rc, out, err = self._module.run_command(
            cmd,
            data=data,
            binary_data=True,  # callers pass complete text; nothing is appended
            environ_update={"LANG": "C", "LC_ALL": "C"},
        )
        return Result(rc, out, err, cmd)

    def check(self, argv: t.Sequence[str], data: t.Optional[str] = None, what: str = "") -> Result:
        """Run argv and raise FlowOffloadError when it fails."""
        res = self.run(argv, data)
        if res.rc != 0:
            raise FlowOffloadError(
                f"{what or argv[0]} failed (rc={res.rc}): {res.stderr.strip() or res.stdout.strip()}",
                cmd=res.cmd, rc=res.rc, stdout=res.stdout, stderr=res.stderr,
            )
        return res

    # --- files ----------------------------------------------------------------------
    @staticmethod
    def read(path: str) -> t.Optional[str]:
        """Text of a file, or None when it is absent or unreadable."""
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return None

    @staticmethod
    def read_bytes(path: str) -> t.Optional[bytes]:
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except OSError:
            return None

    @staticmethod
    def exists(path: str) -> bool:
        return os.path.lexists(path)

    @staticmethod
    def listdir(path: str) -> t.List[str]:
        try:
            return sorted(os.listdir(path))
        except OSError:
            return []

    @staticmethod
    def readlink(path: str) -> t.Optional[str]:
        try:
            return os.readlink(path)
        except OSError:
            return None

    def write(self, path: str, content: str, mode: int = 0o644) -> None:
        """Write a file atomically (temp file in the same folder, then rename)."""
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        tmp = f"{path}.flowoffload-tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        self._module.atomic_move(tmp, path)

    @staticmethod
    def remove(path: str) -> bool:
        try:
            os.unlink(path)
            return True
        except FileNotFoundError:
            return False


_PACKAGE_HINT = {"nft": "nftables", "modprobe": "kmod", "ip": "iproute2", "uci": "uci"}
