# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The script files the target runs: linted as files, rendered only through shq, run under
busybox ash and dash."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess

import pytest

from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import fw4
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import sh

PLUGINS = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "plugins"))
SCRIPTS = sorted(glob.glob(os.path.join(PLUGINS, "**", "*.sh"), recursive=True))
SHELLS = {"busybox": [shutil.which("busybox") or "busybox", "sh"], "dash": [shutil.which("dash") or "dash"]}


def test_there_are_script_files() -> None:
    assert os.path.join(PLUGINS, "plugin_utils", "flowtable", "fw4_apply.sh") in SCRIPTS


@pytest.mark.parametrize("path", SCRIPTS, ids=os.path.basename)
def test_every_script_file_is_shellcheck_clean_and_parses_in_both_shells(path: str) -> None:
    proc = subprocess.run(["shellcheck", path], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout
    for shell in SHELLS.values():
        proc = subprocess.run([*shell, "-n", path], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, (shell, proc.stderr)


def test_render_assigns_the_declared_inputs_through_shq(tmp_path) -> None:
    path = tmp_path / "x.sh"
    path.write_text("# shellcheck shell=sh\n# a comment\n# inputs: fo_a fo_b\n\nprintf '%s|%s\\n' \"$fo_a\" \"$fo_b\"\n")
    code = sh.render(str(path), {"fo_b": "x'; reboot; '", "fo_a": "$(id)"})
    assert "# a comment" not in code and code.startswith("fo_a='$(id)'\nfo_b=")
    for shell in SHELLS.values():
        out = subprocess.run([*shell, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out == "$(id)|x'; reboot; '\n"


def test_render_refuses_inputs_that_differ_from_the_declared_ones(tmp_path) -> None:
    path = tmp_path / "y.sh"
    path.write_text("# shellcheck shell=sh\n# inputs: fo_a\necho \"$fo_a\"\n")
    with pytest.raises(ValueError, match="declared"):
        sh.render(str(path), {"fo_a": 1, "fo_other": 2})
    with pytest.raises(ValueError, match="declared"):
        sh.render(str(path), {})


def test_a_here_document_is_refused(tmp_path) -> None:
    path = tmp_path / "z.sh"
    path.write_text("# shellcheck shell=sh\n# inputs: fo_a\ncat <<EOF\n# not a comment\nEOF\n")
    with pytest.raises(ValueError, match="here-document"):
        sh.render(str(path), {"fo_a": 1})


# --- fw4_apply.sh, run for real with uci/fw4/nft stubs that log what they are asked --------------
STUBS = """\
uci() { echo "uci $*" >>"$fo_log"; return "${FAIL_UCI:-0}"; }
fw4() { echo "fw4 $*" >>"$fo_log"; [ "$1" = check ] && return "${FAIL_CHECK:-0}"; return 0; }
nft() { echo "nft $*" >>"$fo_log"; [ -n "$LISTED" ] && printf '%s\\n' "$LISTED"; [ -n "$LISTED" ]; }
"""


def _run(shell: list[str], tmp_path, code: str, **env: str) -> tuple[int, str, list[str]]:
    log = tmp_path / "log"
    log.write_text("")
    proc = subprocess.run([*shell, "-c", f"fo_log={log}\nfo_t={tmp_path}\n" + STUBS + code], capture_output=True, text=True,
                          check=False, env={"PATH": os.environ["PATH"], **env})
    return proc.returncode, proc.stdout, log.read_text().splitlines()


@pytest.mark.parametrize("shell", SHELLS, ids=list(SHELLS))
def test_fw4_apply_sets_commits_checks_reloads_and_verifies(shell: str, tmp_path) -> None:
    code = fw4.apply_code({"flow_offloading": "1"}, {"flow_offloading": None, "flow_offloading_hw": None}, True, False)
    rc, out, log = _run(SHELLS[shell], tmp_path, code, LISTED="table inet fw4 { flowtable ft { } }")
    assert rc == 0 and out.endswith("@fo4 result ok -\n"), out
    assert log == ["uci set firewall.@defaults[0].flow_offloading=1", "uci commit firewall", "fw4 check",
                   "fw4 reload", "nft list flowtable inet fw4 ft"]


@pytest.mark.parametrize("shell", SHELLS, ids=list(SHELLS))
def test_fw4_apply_puts_the_old_values_back_when_the_flowtable_is_not_listed(shell: str, tmp_path) -> None:
    code = fw4.apply_code({"flow_offloading": "1", "flow_offloading_hw": "1"},
                          {"flow_offloading": None, "flow_offloading_hw": "0"}, True, True)
    rc, out, log = _run(SHELLS[shell], tmp_path, code, LISTED="")
    assert rc == 1 and "@fo4 result failed verify" in out
    assert log[-4:] == ["uci -q delete firewall.@defaults[0].flow_offloading",
                        "uci set firewall.@defaults[0].flow_offloading_hw=0", "uci commit firewall", "fw4 reload"]


@pytest.mark.parametrize("shell", SHELLS, ids=list(SHELLS))
def test_fw4_apply_failed_check_restores_uci_without_a_reload(shell: str, tmp_path) -> None:
    code = fw4.apply_code({"flow_offloading": None}, {"flow_offloading": "1", "flow_offloading_hw": None}, False, False)
    rc, out, log = _run(SHELLS[shell], tmp_path, code, FAIL_CHECK="1")
    assert rc == 1 and "@fo4 result failed check" in out
    assert "fw4 reload" not in log and log[-2:] == ["uci set firewall.@defaults[0].flow_offloading=1", "uci commit firewall"]


@pytest.mark.parametrize("shell", SHELLS, ids=list(SHELLS))
def test_fw4_apply_reload_only_changes_no_uci_value(shell: str, tmp_path) -> None:
    code = fw4.apply_code({}, {"flow_offloading": "1", "flow_offloading_hw": None}, True, False)
    rc, out, log = _run(SHELLS[shell], tmp_path, code, LISTED="flowtable ft")
    assert rc == 0 and "@fo4 result ok -" in out
    assert log == ["fw4 check", "fw4 reload", "nft list flowtable inet fw4 ft"]
