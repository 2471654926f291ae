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
