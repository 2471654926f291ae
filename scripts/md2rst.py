"""docs/<name>.md -> docs/docsite/rst/<name>.rst: the Markdown the guides use, as RST.

Standard library only (any python3), so every collection build can run it. It knows the
CommonMark/GFM subset the guides are written in: ATX headings, paragraphs, fenced code,
bullet and ordered lists (nested, with lazy continuation lines), pipe tables, code spans,
**strong**, *emphasis*, links (to another guide: a reference; or an absolute URL) and
backslash escapes. Anything else (block quotes, HTML, images, setext headings, indented
code, rules, reference links, relative links to other files) stops it with the guide's
name and line, so nothing is silently lost.

Usage: md2rst.py ROOT (scripts/docs --rst runs it). The parser lives in md_parse.py beside it.
"""
import os
import re
import sys
import tempfile
import unicodedata

from md_parse import ADORN, AFTER_MARKUP, BEFORE_MARKUP, LABEL, RISKY_START, Parser, Unsupported


# --- RST output -------------------------------------------------------------------------
def escape(text):
    out = []
    for k, c in enumerate(text):
        nxt = text[k + 1:k + 2]
        if c in "\\*`|" or (c == "_" and not nxt.isalnum()):
            out.append("\\" + c)
        else:
            out.append(c)
    return "".join(out)


def plain(nodes):
    return "".join(n[1] if n[0] in ("text", "code") else plain(n[1]) for n in nodes)


class Writer:
    def __init__(self, name, guides):
        self.name = name
        self.guides = guides

    def inline(self, nodes):
        parts = []
        for node in nodes:
            kind = node[0]
            if kind == "text":
                parts.append((False, escape(node[1])))
            elif kind == "code":
                # RST literals cannot start or end with a space (pandoc drops it too)
                code = node[1].strip()
                if not code or "``" in code or code.endswith("`"):
                    raise Unsupported(f"docs/{self.name}.md: the code span {code!r} has no RST form")
                parts.append((True, f"``{code}``"))
            elif kind in ("strong", "em") and len(node[1]) == 1 and node[1][0][0] == "code":
                parts.append((True, f"``{node[1][0][1].strip()}``"))  # RST cannot nest: the code wins
            elif kind in ("strong", "em"):
                mark = "**" if kind == "strong" else "*"
                parts.append((True, f"{mark}{escape(plain(node[1]))}{mark}"))
            else:
                parts.append((True, self.link(node)))
        out = ""
        for k, (markup, text) in enumerate(parts):
            if markup and out and out[-1] not in BEFORE_MARKUP:
                out += "\\ "
            out += text
            nxt = parts[k + 1][1][:1] if k + 1 < len(parts) else ""
            if markup and nxt and nxt not in AFTER_MARKUP:
                out += "\\ "
        if parts and not parts[0][0] and RISKY_START.match(out) and not out.startswith("\\"):
            out = "\\" + out
        if out.endswith("::"):
            out = out[:-1] + "\\:"
        return out

    def link(self, node):
        text = re.sub(r"([\\`<])", r"\\\1", plain(node[1]).strip())
        target = node[2]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            return f"`{text} <{target}>`__"
        path = target.split("#", 1)[0]
        name = os.path.basename(path)[:-3] if path.endswith(".md") else None
        if name in self.guides and os.path.dirname(path.replace("docs/", "", 1).lstrip("./")) in ("", "."):
            return f":ref:`{text} <{LABEL}{name}>`"
        raise Unsupported(f"docs/{self.name}.md: the link to {target!r} is neither another guide "
                          "(docs/NAME.md) nor an absolute URL")

    def blocks(self, blocks, levels):
        out = []
        for block in blocks:
            kind = block[0]
            if kind == "heading":
                while levels and levels[-1] >= block[1]:
                    levels.pop()
                levels.append(block[1])
                if len(levels) > len(ADORN):
                    raise Unsupported(f"docs/{self.name}.md: headings nested too deep")
                title = self.inline(block[2])
                width = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in title)
                out.append([title, ADORN[len(levels) - 1] * max(width, 1)])
            elif kind == "para":
                out.append([self.inline(block[1])])
            elif kind == "code":
                out.append([f".. code:: {block[1]}", ""] + [("   " + line).rstrip() for line in block[2]])
            elif kind == "table":
                lines = [".. list-table::", "   :header-rows: 1", "   :widths: auto", ""]
                for row in block[1]:
                    for k, cell in enumerate(row):
                        text = self.inline(cell)
                        lines.append(("   * - " if k == 0 else "     - ") + text if text else
                                     ("   * -" if k == 0 else "     -"))
                out.append(lines)
            elif kind == "list":
                lines = []
                for k, item in enumerate(block[3]):
                    bullet = "- " if block[1] == "bullet" else f"{block[2] + k}. "
                    body = self.blocks(item, list(levels))
                    if not body:
                        body = [""]
                    for j, line in enumerate(body):
                        if j == 0:
                            lines.append((bullet + line).rstrip())
                        else:
                            lines.append((" " * len(bullet) + line).rstrip() if line else "")
                    lines.append("")
                out.append(lines[:-1])
        flat = []
        for chunk in out:
            if flat:
                flat.append("")
            flat.extend(chunk)
        return flat


def convert(name, text, guides):
    lines = list(enumerate(text.expandtabs(4).split("\n"), 1))
    blocks = Parser(name).blocks(lines)
    body = Writer(name, guides).blocks(blocks, [])
    return ("..\n  Generated from docs/%s.md by scripts/docs (at every collection build): edit that file.\n\n"
            ".. _%s%s:\n\n%s\n" % (name, LABEL, name, "\n".join(body).rstrip()))


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read() == text:
                return False
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".rst")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return True


def main(root):
    docs = os.path.join(root, "docs")
    rst_dir = os.path.join(docs, "docsite", "rst")
    guides = sorted(f[:-3] for f in os.listdir(docs) if f.endswith(".md"))
    os.makedirs(rst_dir, exist_ok=True)
    problems, wrote = [], 0
    for name in guides:
        with open(os.path.join(docs, name + ".md"), encoding="utf-8") as handle:
            text = handle.read()
        try:
            wrote += write_if_changed(os.path.join(rst_dir, name + ".rst"), convert(name, text, guides))
        except Unsupported as exc:
            problems.append(str(exc))
    for leftover in sorted(os.listdir(rst_dir)):
        if leftover.endswith(".rst") and leftover[:-4] not in guides:
            try:
                os.remove(os.path.join(rst_dir, leftover))
            except FileNotFoundError:
                pass
    print(f"{len(guides)} guides -> docs/docsite/rst ({wrote} written)")
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
