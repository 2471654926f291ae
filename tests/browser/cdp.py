# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A page in headless chromium driven through the DevTools protocol over a pipe
(``--remote-debugging-pipe``: chromium reads commands on fd 3 and answers on fd 4, each
message JSON ended by a NUL byte), with no package beyond the standard library: real key
presses (``Input.dispatchKeyEvent``), script results (``Runtime.evaluate``) and the
accessibility tree as a screen reader gets it (``Accessibility.getFullAXTree``)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import typing as t
import urllib.parse

KEYS = {  # key -> (code, windowsVirtualKeyCode, text)
    "Tab": ("Tab", 9, ""), "Enter": ("Enter", 13, "\r"), " ": ("Space", 32, " "),
}


class Page:
    """with Page(chromium, path, hash_) as page: page.key("Tab"); page.eval("...")"""

    def __init__(self, binary: str, path: str, hash_: str = "", flags: t.Sequence[str] = ()) -> None:
        self.url = "file://" + urllib.parse.quote(path) + (("#" + hash_) if hash_ else "")
        self.profile = tempfile.mkdtemp(prefix="fo-chromium-cdp-")
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()
        high = [os.dup(fd) for fd in (to_child, from_child)]  # out of the way of fds 3 and 4

        def fds() -> None:
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.proc = subprocess.Popen(  # pylint: disable=subprocess-popen-preexec-fn
            [binary, *flags, "--remote-debugging-pipe", f"--user-data-dir={self.profile}", "about:blank"],
            # close_fds would close fds 3 and 4 after preexec_fn: the pipe is all the child inherits
            # besides the standard fds (os.pipe and os.dup make non-inheritable fds; dup2 does not)
            preexec_fn=fds, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for fd in (to_child, from_child, *high):
            os.close(fd)
        self._buf = b""
        self._id = 0
        self.session = ""

    def __enter__(self) -> "Page":
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable")
        self.send("Emulation.setFocusEmulationEnabled", {"enabled": True})
        self.send("Page.navigate", {"url": self.url})
        self.wait("document.body && document.body.dataset.ready === '1'")
        return self

    def __exit__(self, *_exc: t.Any) -> None:
        try:
            self.send("Browser.close", session=False)
        except (OSError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._write)
        os.close(self._read)
        shutil.rmtree(self.profile, ignore_errors=True)

    def send(self, method: str, params: t.Optional[t.Mapping[str, t.Any]] = None, session: bool = True,
             timeout: float = 60) -> dict[str, t.Any]:
        self._id += 1
        message: dict[str, t.Any] = {"id": self._id, "method": method, "params": dict(params or {})}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._next(deadline)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result") or {}

    def _next(self, deadline: float) -> dict[str, t.Any]:
        while b"\0" not in self._buf:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromium gave no answer over the DevTools pipe")
            chunk = os.read(self._read, 65536)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buf += chunk
        message, self._buf = self._buf.split(b"\0", 1)
        return json.loads(message)

    def eval(self, expression: str) -> t.Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait(self, expression: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.eval(f"!!({expression})"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {expression}")
            time.sleep(0.1)

    def key(self, key: str) -> None:
        """One real key press (down, up) to the focused element."""
        code, vk, text = KEYS[key]
        common = {"key": key, "code": code, "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk}
        self.send("Input.dispatchKeyEvent", {"type": "keyDown", **common, **({"text": text} if text else {})})
        self.send("Input.dispatchKeyEvent", {"type": "keyUp", **common})

    def ax_nodes(self) -> list[dict[str, str]]:
        """The accessibility tree: role, name and properties (string values) of every node not ignored."""
        self.send("Accessibility.enable")
        out = []
        for node in self.send("Accessibility.getFullAXTree")["nodes"]:
            if node.get("ignored"):
                continue
            props = {p["name"]: str((p.get("value") or {}).get("value")) for p in node.get("properties") or []}
            out.append({"role": str((node.get("role") or {}).get("value")),
                        "name": str((node.get("name") or {}).get("value") or ""), **props})
        return out
