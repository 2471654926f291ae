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
"""
from __future__ import annotations

import typing as t

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
    """read -> plan -> (apply) -> finish, for any part; at most two round trips."""
    reads = part.reads(params)  # refuses bad input before any script runs
    plan = part.plan(read_host(target, reads), params, check_mode)
    if check_mode or not plan.spec.changes():
        return part.finish(plan, None)
    return part.finish(plan, apply_host(target, plan.spec))
