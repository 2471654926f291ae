# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one driver of every action: read -> plan -> apply -> finish (private).

A *part* (flowtable with its nft and fw4 backends, kmod, facts, profile, audit) is an
object with three methods:

``reads(params)``
    validates params (a ``FlowOffloadError`` naming the parameter, before any script
    runs) and returns the ``Read`` list of its read script;
``plan(snapshot, params, check_mode)``
    pure: from what was read, a plan whose ``spec`` (an ``ApplySpec``) says what the one
    apply script changes (empty: nothing to change);
``finish(plan, applied)``
    the return values: from the plan alone when nothing was applied (``applied`` is
    None: idempotent or check mode), else verified against the apply script's read-back;
    raises ``FlowOffloadError`` naming cause and fix when the apply failed.

``drive`` runs them: one round trip when nothing changes (or in check mode), two when
something does.

Runs that overlap on one host (two AWX jobs, a cron job and a person) serialise on the
host lock the apply script takes. The apply re-checks, under that lock, that what the plan
was made from is unchanged; when another run changed it in between, the script changes
nothing and ends ``stale``. ``drive`` then reads and plans again from the new state, at most
``ATTEMPTS`` times in all: the later run either finds nothing left to do or applies its own
change on top, so overlapping runs all end ``ok``. Each further attempt costs one read and,
when something is still to change, one apply.

With ``rollback_timeout`` (the parts that change the host have it) the apply arms a rollback
on the host and the run confirms it over a new connection after the health check
(target/confirm.py): a changing run is then three round trips, an idempotent one still one.
"""
from __future__ import annotations

import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import confirm
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    ApplySpec,
    Read,
    Snapshot,
    Target,
    apply_host,
    read_host,
)

Params = t.Mapping[str, t.Any]
# Reads and plans of one run when the host keeps changing under it (2 re-plans): enough for
# the overlapping runs an operator can start by hand or from a scheduler, bounded so that a
# host that changes on its own all the time ends in the part's "the host changed" error.
ATTEMPTS = 3


class Plan(t.Protocol):
    """What every part's plan has: the apply spec (empty when nothing changes)."""

    @property
    def spec(self) -> ApplySpec:
        ...  # pragma: no cover


P = t.TypeVar("P", bound=Plan)


class Part(t.Protocol[P]):
    """One part of the pipeline, as ``drive`` runs it (see the module docstring)."""

    def reads(self, params: Params) -> list[Read]:
        ...  # pragma: no cover

    def plan(self, snapshot: Snapshot, params: Params, check_mode: bool) -> P:
        ...  # pragma: no cover

    def finish(self, plan: P, applied: ApplyResult | None) -> dict[str, t.Any]:
        ...  # pragma: no cover


def drive(part: Part[P], target: Target, params: Params, check_mode: bool) -> dict[str, t.Any]:
    """read -> plan -> (apply -> confirm) -> finish, for any part."""
    reads = part.reads(params)  # refuses bad input before any script runs
    rollback = confirm.Rollback.from_params(params, getattr(part, "option_prefix", ""))
    attempt = 1
    while True:
        plan = part.plan(read_host(target, reads), params, check_mode)
        if check_mode or not plan.spec.changes():
            result = part.finish(plan, None)
            break
        arm = None if rollback is None else confirm.arm_code(plan.spec, rollback)
        applied = apply_host(target, plan.spec, arm)
        if applied.status == "stale" and attempt < ATTEMPTS:
            attempt += 1
            continue
        if rollback is None or not applied.ok:
            return part.finish(plan, applied)
        confirmed, verified = confirm.confirm_host(target, plan.spec, rollback, applied)
        result = part.finish(plan, verified)
        result["rollback"] = confirmed
        return result
    if rollback is not None:
        result["rollback"] = {"armed": False, "timeout": rollback.timeout, "confirmed": False,
                              "health_check": {}}
    return result
