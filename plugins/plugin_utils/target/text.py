# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the target printed, cut to fit an error message (private)."""
from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.;:!?](?=\s)")


def clip(text: str, limit: int = 800, where: str = "the result's stdout and stderr") -> str:
    """text for an error message: its start (which names the cause), cut at a boundary.

    Whole lines while they fit in limit characters; when the first line alone is longer, its
    whole sentences (else its whole words). What was left out is counted and ``where`` says
    where the full text is (callers put it into a result key)."""
    text = (text or "").strip()
    if len(text) <= limit:
        return text
    kept = ""
    for line in text.splitlines():
        candidate = f"{kept}\n{line}" if kept else line
        if len(candidate) > limit:
            break
        kept = candidate
    if not kept:
        head = text[:limit]
        ends = [m.end() for m in _SENTENCE_END.finditer(head)]
        cut = ends[-1] if ends else head.rfind(" ")
        kept = head[:cut] if cut > 0 else head
    kept = kept.rstrip()
    return f"{kept} [... {len(text) - len(kept)} more characters in {where}]"
