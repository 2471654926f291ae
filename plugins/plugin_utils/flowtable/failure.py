# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Flowtable module, nft backend: why an apply failed, and what to do (private).

``explain_failure`` turns the apply script's status (stale, lost, a file that could not
be staged, the lock, nft's refusal of the batch, a follow-up step) into one
``FlowOffloadError`` naming the cause and the fix, from what the plan already read: no
extra round trip.
"""
from __future__ import annotations

import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
    classify_nft_error,
    nft_hint,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    probe as _probe,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.model import (
    FlowtableModel,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.nft import (
    parse_listing,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.reads import (
    PREFIX,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.syntax import (
    normalize_devices,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    Snapshot,
)

if t.TYPE_CHECKING:  # the plan is run.py's; only its type is named here
    from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.run import (
        FtPlan,
    )

STALE = "the host changed while planning (another run or an administrator); nothing was changed; run again"


def _first_error(stderr: str) -> tuple[str, str]:
    """(kind, line) of the FIRST error nft reports (later ones are often consequences)."""
    lines = (stderr or "").splitlines()
    for line in lines:
        if "Error:" in line or "Operation not permitted" in line:
            return classify_nft_error(line), line.strip()
    return classify_nft_error(stderr), (lines[0].strip() if lines else "")


def explain_failure(plan: FtPlan, res: ApplyResult) -> FlowOffloadError:
    """The apply script stopped: a message naming the cause and the fix (no extra round trip)."""
    sec = res.section()
    err = sec.err if sec else res.stderr
    details = {"rc": res.rc, "stdout": res.stdout, "stderr": err, "commands": list(plan.spec.nft)}
    if res.status == "stale":
        return FlowOffloadError(f"{STALE} (state read as {res.key} differs)", **details)
    if res.status == "lost":
        return FlowOffloadError(f"the apply script ended without a result (rc={res.rc}): {res.stderr.strip()}; "
                                "check the host's state before running again", **details)
    if res.key.startswith("stage:"):
        path = res.key[len("stage:"):]
        return FlowOffloadError(f"cannot write {path}: {err.strip() or 'write failed'} (disk full or read-only?); "
                                "nothing was changed (ruleset and files as before); free space or fix the "
                                "directory and run again", **details)
    if res.key == "lock":
        return FlowOffloadError(f"could not take the host lock: {err.strip()}; nothing was changed", **details)
    if res.key in ("nft-check", "nft-apply"):
        stage = "nft -c validation" if res.key == "nft-check" else "apply"
        kind, detail = _first_error(err)
        head = f"nft rejected the batch ({stage}; nothing was applied): {detail or f'rc={res.rc}'}"
        return FlowOffloadError(f"{head}; {_advice(plan, kind, detail)}", **details)
    if res.status == "failed-after":
        return FlowOffloadError(f"the ruleset and files were changed but '{res.key}' failed: {err.strip()}; "
                                "fix it and run again (the next run completes the change)", **details)
    return FlowOffloadError(f"the apply script failed at {res.key}: {err.strip()}", **details)


def _advice(plan: FtPlan, kind: str, detail: str) -> str:
    snapshot = plan.snapshot or Snapshot({})
    if kind == "eperm":
        return "nft needs CAP_NET_ADMIN: run the task as root (become: true)"
    if kind == "enoent":
        if _probe.software_verdict(snapshot)[0] is False:
            return ("the kernel lacks flowtable support (nf_flow_table): even a flowtable without devices is "
                    f"refused. Hint: {nft_hint(detail)}; on Debian/Ubuntu the modules come with the kernel "
                    "image package (linux-image-*/linux-modules-*)")
        return ("a listed device does not exist any more (devices: " + ", ".join(plan.devices) + "); "
                + nft_hint(detail))
    if kind == "eopnotsupp":
        verdicts = _probe.hardware_verdicts(snapshot)
        failing = [dev for dev in plan.devices if verdicts.get(dev, (None, ""))[0] is False]
        names = ", ".join(failing) if failing else "one of " + ", ".join(plan.devices)
        return (f"offload: hardware offload is not supported on {names} (the driver cannot offload flows); "
                "use offload=auto (falls back to software) or offload=false, or remove those devices")
    if kind == "eexist":
        desired = plan.desired
        others: list[FlowtableModel] = []
        if desired is not None:
            json_text = snapshot.out(PREFIX + ("table-json" if desired.chain is None else "flowtables")) or ""
            others = [ft for ft in parse_listing(json_text, "") if ft.table == desired.table
                      and ft.name != desired.name and set(ft.devices) & set(plan.devices)]
        where = "; ".join(f"{', '.join(normalize_devices(set(ft.devices) & set(plan.devices)))} already in flowtable "
                          f"{ft.name}" for ft in others) or "a device is already in another flowtable of this table"
        return (f"devices: {where}; a device can be in only one flowtable per table: remove it from devices "
                "or from the other flowtable")
    if kind == "ebusy":
        return f"{nft_hint(detail)} (a rule outside flowoffload.nft uses the flowtable; remove that rule first)"
    return nft_hint(detail) or "see stderr"
