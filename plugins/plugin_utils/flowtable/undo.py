# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What puts the collection's nft objects back as they were read (pure, private).

A commit-confirmed apply (target/confirm.py) arms a rollback; when it runs, it must leave
the objects the task owns exactly as the read found them, whether the apply's batch went
in or not, and touch nothing else:

- owned table: the table is the collection's alone, so ``add table`` + ``delete table``
  removes whatever is there now, and the table's listing as read (if it existed) loads it
  again, as one nft transaction;
- chain mode: the rules tagged ``flowoffload.nft:NAME`` in the chain are found by their
  handles when the rollback runs (they are new, the plan cannot know them), deleted, the
  flowtable deleted when it exists, and the flowtable and rule as read added again; the
  foreign table and its other rules stay as they are.
"""
from __future__ import annotations

from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.model import (
    RULE_TAG,
    Desired,
    render_flowtable,
    rule_expr,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.plan import Current
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import sh
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import Step

UNDO_KEY = "ft:undo"
_sh = sh.here(__file__)


def owned_undo(desired: Desired, listing: str | None) -> list[str]:
    """The batch that makes the owned table what the read listed (gone when it did not exist)."""
    spec = f"{desired.family} {desired.table}"
    batch = [f"add table {spec}", f"delete table {spec}"]
    if listing and listing.strip():
        batch += listing.rstrip("\n").splitlines()
    return batch


def chain_undo(desired: Desired, current: Current) -> Step:
    """sh that puts the chain mode objects back: ours found by handle when it runs."""
    name = desired.name
    old = current.flowtable(name)
    ours = [key for key, _handle, _line in current.rules if key is not None and key[0] == name]
    restore = [render_flowtable(old)] if old is not None else []
    spec = f"{desired.family} {desired.table} {desired.chain}"
    restore += [f"insert rule {spec} {rule_expr(key[0], list(key[1]))}" for key in ours]
    return Step(UNDO_KEY, _sh("undo_chain.sh", {
        "fo_u_family": desired.family, "fo_u_table": desired.table, "fo_u_chain": desired.chain,
        "fo_u_name": name, "fo_u_tag": f"{RULE_TAG}{name}", "fo_u_restore": "".join(f"{line}\n" for line in restore),
    }))
