# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``HostRoot``: a fake target that runs the REAL read and apply scripts on a temporary root.

Each script runs in a private mount namespace (``unshare --mount``; ``unshare -rm`` when the
tests do not run as root), chrooted into ``root``: a folder that stands for the whole host
(``/etc``, ``/run``, ``/boot``, ``/lib/modules/RELEASE``, ``/proc`` with the values the reads
need, ``/sys/class/net``, ``/sys/module``, ``/usr/share``, ``/var``, ``/tmp``). Only these are
mounted into it, for the run and in that namespace alone:

  /dev             the host's (``/dev/null``)
  /usr/lib, /lib64 the host's, read-only (the shared libraries of dash and python3)
  /usr/bin         the toolbox: busybox's general applets (cat, awk, mv, ...), dash, python3
  /opt/fo/doubles  tests/unit/doubles (read-only)
  /opt/fo/bin      the doubles this host has (``tools``), first on PATH

So nothing outside ``root`` changes, and what a script changed is in ``root``: ``snapshot()``
holds every file (bytes), symlink (target) and folder of it, the nft double's ruleset
(``/var/lib/nft-double/ruleset``) included, so a test can assert "byte for byte unchanged".
``/proc`` is a plain folder of the root: no process of the host shows through (the apply's
lock therefore takes OpenWrt's ``mkdir`` scheme, as there is no ``flock`` in the toolbox).

Debian's busybox sh runs its own applets (modprobe, sysctl, ip, ...) before PATH and answers
``command -v`` for every applet; as in ``ShellTarget``, each double is also a shell function
of its name, so the doubles win. The tools a script finds are thus the doubles, the toolbox,
and (under busybox only) busybox's applets.
"""
from __future__ import annotations

import atexit
import os
import pathlib
import shutil
import subprocess
import tempfile
import typing as t

from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FakeTarget,
)

HERE = pathlib.Path(__file__).resolve().parent
DOUBLES = HERE.parent.parent / "doubles"
SHELLS = {"busybox": ("/usr/bin/busybox", "sh"), "dash": ("/usr/bin/dash",)}
NFT_STATE = "/var/lib/nft-double"
# the applets a POSIX host has whatever it is (no tool the collection looks for)
APPLETS = ("[", "awk", "basename", "cat", "chmod", "cmp", "cp", "cut", "date", "dirname", "echo", "env", "expr",
           "false", "find", "grep", "gunzip", "gzip", "head", "id", "kill", "ln", "logger", "ls", "mkdir", "mktemp",
           "mv", "printf", "readlink", "realpath", "rm", "rmdir", "sed", "sh", "sleep", "sort", "stat", "sync", "tail",
           "tee", "test", "touch", "tr", "true", "uname", "uniq", "wc", "xargs", "zcat")
# mount points of the namespace, kept (empty) in the root
MOUNTS = ("dev", "usr/lib", "usr/bin", "lib64", "opt/fo/doubles", "opt/fo/bin")
# the doubles of a Debian host like the lab VM (name -> path below tests/unit/doubles)
DEBIAN_TOOLS = {"nft": "nft/nft", "ip": "host/answer", "tc": "host/answer", "ethtool": "host/answer",
                "modprobe": "host/modprobe", "rmmod": "host/rmmod", "modinfo": "kmod/modinfo",
                "systemctl": "host/systemctl", "sysctl": "host/sysctl", "dpkg": "host/unexpected",
                "apt-get": "host/unexpected"}
Snap = dict[str, bytes | str | None]

_TOOLBOX: list[str] = []


def toolbox() -> str:
    """The /usr/bin of every root (made once per test session)."""
    if not _TOOLBOX:
        box = tempfile.mkdtemp(prefix="fo-toolbox-")
        atexit.register(shutil.rmtree, box, True)
        shutil.copy2("/usr/bin/busybox", os.path.join(box, "busybox"))
        shutil.copy2("/usr/bin/dash", os.path.join(box, "dash"))
        python = os.path.realpath(shutil.which("python3", path="/usr/bin:/bin") or "/usr/bin/python3")
        shutil.copy2(python, os.path.join(box, "python3"))
        for name in APPLETS:
            os.symlink("busybox", os.path.join(box, name))
        _TOOLBOX.append(box)
    return _TOOLBOX[0]


_SETUP = r"""set -e
r=$1 box=$2 doubles=$3 bin=$4 lib64=$5 sysctl=$6; shift 6
mount --rbind /dev "$r/dev"
mount --bind /usr/lib "$r/usr/lib"; mount -o remount,bind,ro "$r/usr/lib"
mount --bind "$lib64" "$r/lib64"
mount --bind "$box" "$r/usr/bin"
mount --bind "$doubles" "$r/opt/fo/doubles"; mount -o remount,bind,ro "$r/opt/fo/doubles"
mount --bind "$bin" "$r/opt/fo/bin"
# the apply runs systemd-sysctl where it exists: the host's is replaced by the double
if [ -e "$r/usr/lib/systemd/systemd-sysctl" ]; then mount --bind "$sysctl" "$r/usr/lib/systemd/systemd-sysctl"; fi
exec chroot "$r" "$@"
"""


class HostRoot(FakeTarget):
    """The target double that runs the real scripts (see the module docstring).

    ``shell``: "busybox" (OpenWrt's ash) or "dash" (Debian's sh); ``tools``: the doubles on
    PATH (name -> path below tests/unit/doubles); ``env``: the doubles' knobs
    (NFT_REFUSE_OFFLOAD, ...). ``round_trips``, ``scripts`` and ``applies`` as FakeTarget's.
    ``before_apply``: changes of the host by someone else between a read and the next apply
    (each is called with the host once, just before an apply script runs, in order).
    """

    def __init__(self, path: pathlib.Path, shell: str = "busybox",
                 tools: t.Mapping[str, str] | None = None, env: t.Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.root = path / "root"
        self.bin = path / "bin"
        self.shell = shell
        self.env = {"NFT_DOUBLE_STATE": NFT_STATE, "NFT_NETDEVS": "/sys/class/net", **(env or {})}
        self.last: tuple[int, str, str] | None = None
        self.before_apply: list[t.Callable[[HostRoot], None]] = []
        for mount in MOUNTS:
            (self.root / mount).mkdir(parents=True, exist_ok=True)
        for folder in ("etc", "run", "tmp", "proc/sys", "sys/class/net", "sys/module", NFT_STATE.lstrip("/")):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").chmod(0o1777)
        for name, target in (("bin", "usr/bin"), ("sbin", "usr/bin"), ("usr/sbin", "bin")):
            os.symlink(target, self.root / name)
        # the dynamic loader's links name /lib/<multiarch>: /lib is the root's own (modules)
        for arch in sorted(n for n in os.listdir("/usr/lib") if n.endswith("-linux-gnu")):
            self.link(f"/lib/{arch}", f"../usr/lib/{arch}")
        self.bin.mkdir(parents=True, exist_ok=True)
        self.set_tools(DEBIAN_TOOLS if tools is None else tools)

    # --- the host -----------------------------------------------------------------------------
    def set_tools(self, tools: t.Mapping[str, str]) -> None:
        """The doubles on PATH, exactly these (name -> path below tests/unit/doubles)."""
        for old in self.bin.iterdir():
            old.unlink()
        for name, rel in tools.items():
            assert (DOUBLES / rel).is_file(), rel
            os.symlink(f"/opt/fo/doubles/{rel}", self.bin / name)

    def path(self, path: str) -> pathlib.Path:
        """The file standing for the host's ``path`` (absolute)."""
        assert path.startswith("/"), path
        return self.root / path.lstrip("/")

    def write(self, path: str, text: str | bytes, mode: int = 0o644) -> None:
        """Seed the host's file ``path`` (folders made as needed)."""
        file = self.path(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, str):
            file.write_text(text, encoding="utf-8")
        else:
            file.write_bytes(text)
        file.chmod(mode)

    def seed(self, files: t.Mapping[str, str | bytes]) -> None:
        for path, text in files.items():
            self.write(path, text)

    def link(self, path: str, target: str) -> None:
        file = self.path(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, file)

    def read(self, path: str) -> str | None:
        """The host's file ``path`` (None when it does not exist)."""
        file = self.path(path)
        return file.read_text(encoding="utf-8") if file.is_file() else None

    def exists(self, path: str) -> bool:
        return os.path.lexists(self.path(path))

    def seed_ruleset(self, listing: str) -> None:
        """The nft double's ruleset, from a listing (``nft list ruleset`` as a capture holds it)."""
        self.write(f"{NFT_STATE}/ruleset", listing)

    def ruleset(self) -> str:
        """The ruleset as ``nft list ruleset`` prints it now."""
        rc, out, err = self.run(["/opt/fo/bin/nft", "list", "ruleset"])
        assert rc == 0, err
        return out

    def snapshot(self) -> Snap:
        """Every folder (None), symlink ("-> target") and file (its bytes) of the root, by path."""
        out: Snap = {}
        for folder, dirs, files in os.walk(self.root):
            for name in sorted(dirs + files):
                full = os.path.join(folder, name)
                rel = "/" + os.path.relpath(full, self.root)
                if os.path.islink(full):
                    out[rel] = "-> " + os.readlink(full)
                elif os.path.isdir(full):
                    out[rel] = None
                else:
                    with open(full, "rb") as handle:
                        out[rel] = handle.read()
        return out

    # --- running ------------------------------------------------------------------------------
    def run(self, argv: t.Sequence[str]) -> tuple[int, str, str]:
        """argv run in the root (chrooted, in its own mount namespace), with the doubles' env."""
        unshare = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "-rm"]
        lib64 = os.path.realpath("/lib64")
        env = ["/usr/bin/env", "-i", "PATH=/opt/fo/bin:/usr/bin", "HOME=/root", "PYTHONDONTWRITEBYTECODE=1",
               *(f"{k}={v}" for k, v in self.env.items())]
        cmd = [*unshare, "/usr/bin/dash", "-c", _SETUP, "setup", str(self.root), toolbox(), str(DOUBLES),
               str(self.bin), lib64, str(DOUBLES / "host" / "sysctl"), *env, *argv]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    def shims(self) -> str:
        """A shell function for each double (busybox's applets come before PATH)."""
        return "".join(f"{name.name}() {{ /opt/fo/bin/{name.name} \"$@\"; }}\n" for name in sorted(self.bin.iterdir())
                       if name.name.isidentifier())

    def run_script(self, script: str) -> tuple[int, str, str]:
        self.round_trips += 1
        self.scripts.append(script)
        if "# flowoffload.nft: apply" in script and self.before_apply:
            self.before_apply.pop(0)(self)
        shell = ["/usr/bin/busybox", "sh"] if self.shell == "busybox" else ["/usr/bin/dash"]
        self.last = self.run([*shell, "-c", self.shims() + script])
        return self.last
