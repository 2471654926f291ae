# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The commit-confirmed options of the actions that change the host (flowtable, offload_profile)."""
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  rollback_timeout:
    description:
      - Commit-confirmed apply. With a number of seconds above V(0), a run that changes the host
        arms a rollback on the router before it ends the apply, then confirms it over a B(new)
        connection after O(health_check) passed. The router rolls back by itself when no confirm
        arrives within this many seconds (the controller died, the management path is down).
      - The rollback puts back the collection's own nft objects, UCI values and the staged boot
        files as they were read before the apply. Boot files, units, udev and sysctl files change
        only on the confirm, so a reboot inside the window boots the old state. Modules loaded and
        packages installed by the run stay (they change no ruleset).
      - V(0) applies without a rollback (two round trips for a change). With a rollback a
        changing run costs three round trips (read, apply, confirm); an idempotent run one.
      - At least V(10); the window must cover the end of the apply, a new connection and the check.
      - A whole number of seconds, or the same as a string (an AWX survey answer); V("") is V(0).
      - The role variable is C(gateway_rollback_timeout).
    type: raw
    default: 0
  health_check:
    description:
      - A POSIX sh command run on the router after the apply, before the confirm (rc V(0) means
        healthy). When it fails the router rolls back at once and the task fails, showing the
        command's output. It runs without the collection's lock, as root when the task becomes
        root; give it its own time limit (C(timeout 20 ping -c 3 192.0.2.1)).
      - Needs O(rollback_timeout) above V(0). Empty (the default) checks only that a new
        connection reaches the router.
      - The role variable is C(gateway_health_check).
    type: str
    default: ""
"""
