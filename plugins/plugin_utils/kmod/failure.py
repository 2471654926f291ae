# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""offload_kmod's apply failures explained (private): which step stopped the apply script,
what the host said, and the fix (``finish_kmod`` raises them)."""
from __future__ import annotations

import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    packages as _packages,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    Section,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.text import clip

if t.TYPE_CHECKING:  # pragma: no cover
    from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod.plan import (
        KmodPlan,
    )


def said(section: Section | None) -> str:
    """What a step printed (stderr first), cut for a message."""
    if section is None:
        return "no output"
    text = "\n".join(x for x in (section.err.strip(), section.out.strip()) if x)
    return clip(text, 1500) if text else "no message"


def failure(plan: KmodPlan, res: ApplyResult) -> FlowOffloadError:
    """The error of an apply that did not go through: cause and fix, by the step it stopped at."""
    key, sec = res.key, res.section()
    details = {"rc": sec.rc if sec else res.rc, "stdout": sec.out if sec else res.stdout[-2000:],
               "stderr": sec.err if sec else res.stderr[-2000:]}
    kernel = plan.platform.get("kernel") or ""
    if res.status == "stale":
        return FlowOffloadError(
            f"the host changed while planning ({plan.persistence.get('file') or key} is not what was read); "
            "nothing was changed; run again", **details)
    if res.status == "lost":
        return FlowOffloadError(
            f"the apply script ended without a result (rc={res.rc}): {clip(res.stderr, 500) or 'no message'}; "
            "the connection may have dropped: check the host and run again", **details)
    if key == "lock":
        return FlowOffloadError(f"could not take the host lock: {said(sec)}", **details)
    if key.startswith("stage:"):
        path = key[len("stage:"):]
        return FlowOffloadError(
            f"cannot write {path}: {said(sec)}; nothing was changed (free space on that filesystem "
            "or make it writable, then run again)", **details)
    if key == "kmod:install":
        action = next(a for a in plan.actions if a["action"] == "install")
        return FlowOffloadError(_packages.install_failure_message(
            action["manager"], action["packages"], sec.out if sec else "", sec.err if sec else "",
            sec.rc if sec else res.rc), **details)
    if key == "kmod:install-check":
        installed = ", ".join(p for a in plan.actions if a["action"] == "install" for p in a["packages"])
        still = (sec.out if sec else "").replace("still missing:", "").split()
        return FlowOffloadError(
            f"installed {installed} but modules {still} are still missing for the running kernel "
            f"{kernel}: that package does not ship them for this kernel (reboot into the kernel it "
            "installed, or pick the package matching uname -r)", **details)
    if key.startswith("kmod:load:"):
        name = key[len("kmod:load:"):]
        told = said(sec)
        if sec is not None and not (sec.out.strip() or sec.err.strip()):
            told = ("no message (OpenWrt's modprobe is kmodloader, which fails silently when the kernel "
                    "has no loadable module support or the module file is absent)")
        return FlowOffloadError(
            f"loading kernel module {name} failed (modprobe {name}, rc={details['rc']}): {told}; "
            "the kernel log (dmesg) has the details (signature, symbol or version mismatch with the "
            "running kernel)", **details)
    if key.startswith("kmod:unload:"):
        name = key[len("kmod:unload:"):]
        return FlowOffloadError(
            f"unloading kernel module {name} failed (rmmod {name}, rc={details['rc']}): {said(sec)}; "
            "the boot-time list was already updated", **details)
    if key.startswith("file:"):
        return FlowOffloadError(f"moving the staged {key[5:]} into place failed: {said(sec)}", **details)
    return FlowOffloadError(f"the apply script failed at {key or 'an unknown step'} ({res.status}): {said(sec)}",
                            **details)
