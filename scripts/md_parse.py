"""The Markdown side of scripts/md2rst.py: the block parser of the guides' Markdown subset.

Standard library only. ``Parser(name).blocks(lines)`` turns numbered lines into block
nodes (headings, paragraphs, fenced code, lists, tables) with inline nodes inside;
``Unsupported`` names a construct it does not know, with the guide and line.
"""
import re

LABEL = "ansible_collections.flowoffload.nft.docsite."
ADORN = "=-~^\"'"
PUNCT = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$")
HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
BULLET = re.compile(r"^( {0,3})([-*+])( +|[ \t]*$)")
ORDERED = re.compile(r"^( {0,3})(\d{1,9})([.)])( +|[ \t]*$)")
RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
DELIM = re.compile(r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
# What RST would read as block markup at the start of a paragraph (list, enumerator,
# option, field, comment, doctest): such a first character is escaped.
RISKY_START = re.compile(
    r"^(?:[-*+\u2022\u2023\u2043](?:\s|$)|-{1,2}\w|/\w|\d+[.)](?:\s|$)|[A-Za-z][.)](?:\s|$)"
    r"|[ivxlcdmIVXLCDM]+[.)](?:\s|$)|#[.)]|\(\w+\)|:|\.\.|>>>|[!-/:-@\[-`{-~]{2,})")
BEFORE_MARKUP = set(" \t\n-:/'\"<([{\u2018\u201c\u00ab\u2019")
AFTER_MARKUP = set(" \t\n-.,:;!?\\/'\")]}>\u2019\u201d\u00bb")


class Unsupported(Exception):
    """A construct the converter does not know: the message names it."""


def indent_of(line):
    return len(line) - len(line.lstrip(" "))


def strip_indent(line, count):
    return line[min(count, indent_of(line)):]


def marker(line):
    """(kind, delimiter, start, content column) of a list item's first line, or None."""
    if RULE.match(line):
        return None
    m = BULLET.match(line) or ORDERED.match(line)
    if not m:
        return None
    # content column: after the marker and its spaces (one space when there is no content
    # or more than four: CommonMark's rule)
    spaces = len(m.group(m.lastindex))
    spaces = spaces if line[m.end():] and spaces <= 4 else 1
    if m.re is BULLET:
        return ("bullet", m.group(2), 1, len(m.group(1)) + 1 + spaces)
    return ("ordered", m.group(3), int(m.group(2)), len(m.group(1)) + len(m.group(2)) + 1 + spaces)


def starts_block(line, in_paragraph):
    """Whether a line opens a new block (so it ends a paragraph)."""
    if FENCE.match(line) or HEADING.match(line) or RULE.match(line):
        return True
    if line.lstrip().startswith(">") or line.lstrip().startswith("<"):
        return True
    mk = marker(line)
    if mk and (line[mk[3]:].strip() or not in_paragraph):
        return mk[0] == "bullet" or mk[2] == 1 or not in_paragraph
    return False


class Parser:
    def __init__(self, name):
        self.name = name

    def fail(self, line_no, what):
        raise Unsupported(f"docs/{self.name}.md:{line_no}: {what}")

    def blocks(self, lines):
        """lines: [(line number, text)] with the container's indentation removed."""
        out = []
        i = 0
        while i < len(lines):
            no, line = lines[i]
            if not line.strip():
                i += 1
                continue
            m = FENCE.match(line)
            if m:
                i = self.fence(lines, i, m, out)
                continue
            if RULE.match(line):
                self.fail(no, "a thematic break (---, ***): not supported")
            m = HEADING.match(line)
            if m:
                out.append(("heading", len(m.group(1)), self.inline(m.group(2) or "", no)))
                i += 1
                continue
            if line.startswith("    "):
                self.fail(no, "an indented code block: use a fenced one")
            if line.lstrip().startswith(">"):
                self.fail(no, "a block quote: not supported")
            if line.lstrip().startswith("<"):
                self.fail(no, "an HTML block: not supported")
            if line.lstrip().startswith("|") and i + 1 < len(lines) and DELIM.match(lines[i + 1][1]):
                i = self.table(lines, i, out)
                continue
            if marker(line):
                i = self.list(lines, i, out)
                continue
            i = self.paragraph(lines, i, out)
        return out

    def fence(self, lines, i, m, out):
        no = lines[i][0]
        indent, fence, lang = len(m.group(1)), m.group(2), m.group(3)
        close = re.compile(r"^ {0,3}" + re.escape(fence[0]) + "{%d,}[ \t]*$" % len(fence))
        body = []
        i += 1
        while i < len(lines) and not close.match(lines[i][1]):
            body.append(strip_indent(lines[i][1], indent))
            i += 1
        if i == len(lines):
            self.fail(no, "a code fence that is never closed")
        while body and not body[-1].strip():
            body.pop()
        if not body:
            self.fail(no, "an empty code block")
        out.append(("code", lang or "text", body))
        return i + 1

    def paragraph(self, lines, i, out):
        no = lines[i][0]
        text = [lines[i][1].strip()]
        i += 1
        while i < len(lines) and lines[i][1].strip() and not starts_block(lines[i][1], True):
            if SETEXT.match(lines[i][1]):
                self.fail(lines[i][0], "a setext heading (text underlined with = or -): use # headings")
            if lines[i][1].lstrip().startswith("|") and i + 1 < len(lines) and DELIM.match(lines[i + 1][1]):
                break
            text.append(lines[i][1].strip())
            i += 1
        out.append(("para", self.inline("\n".join(text), no)))
        return i

    def table(self, lines, i, out):
        no = lines[i][0]
        head = self.cells(lines[i][1])
        width = len(self.cells(lines[i + 1][1]))
        if len(head) != width:
            self.fail(no, "a table whose header and delimiter rows differ in cells")
        rows = [head]
        i += 2
        while i < len(lines) and lines[i][1].strip():
            if not lines[i][1].lstrip().startswith("|"):
                self.fail(lines[i][0], "a table row without a leading |")
            row = self.cells(lines[i][1])[:width]
            rows.append(row + [""] * (width - len(row)))
            i += 1
        out.append(("table", [[self.inline(cell, no) for cell in row] for row in rows]))
        return i

    @staticmethod
    def cells(line):
        text = line.strip()
        if text.startswith("|"):
            text = text[1:]
        if text.endswith("|") and not text.endswith("\\|"):
            text = text[:-1]
        cells, cur, k = [], [], 0
        while k < len(text):
            if text[k] == "\\" and text[k + 1:k + 2] == "|":
                cur.append("\\|")
                k += 2
                continue
            if text[k] == "|":
                cells.append("".join(cur).strip())
                cur = []
            else:
                cur.append(text[k])
            k += 1
        cells.append("".join(cur).strip())
        # GFM: \| is a pipe in a cell, in code spans too
        return [c.replace("\\|", "\x00") for c in cells]

    def list(self, lines, i, out):
        first = marker(lines[i][1])
        items = []
        while i < len(lines):
            mk = marker(lines[i][1])
            if not mk or mk[0] != first[0] or mk[1] != first[1]:
                break
            col = mk[3]
            no, line = lines[i]
            content = [(no, line[col:])]
            i += 1
            fenced = bool(FENCE.match(content[0][1]))
            lazy = bool(content[0][1].strip()) and not fenced
            while i < len(lines):
                no, line = lines[i]
                if not line.strip():
                    j = i
                    while j < len(lines) and not lines[j][1].strip():
                        j += 1
                    if j < len(lines) and indent_of(lines[j][1]) >= col:
                        content.extend((lines[k][0], "") for k in range(i, j))
                        i = j
                        lazy = False
                        continue
                    break
                if indent_of(line) >= col:
                    text = line[col:]
                    if FENCE.match(text):
                        fenced = not fenced
                        lazy = False
                    else:
                        lazy = not fenced and not HEADING.match(text)
                    content.append((no, text))
                    i += 1
                    continue
                if fenced:
                    self.fail(no, "a code fence in a list item that runs out of the item")
                if lazy and not starts_block(line, True) and not marker(line):
                    content.append((no, line.strip()))
                    i += 1
                    continue
                break
            items.append(self.blocks(content))
            j = i
            while j < len(lines) and not lines[j][1].strip():
                j += 1
            mk = marker(lines[j][1]) if j < len(lines) else None
            if not mk or mk[0] != first[0] or mk[1] != first[1] or indent_of(lines[j][1]) >= col:
                break
            i = j
        out.append(("list", first[0], first[2], items))
        return i

    # --- inline ---------------------------------------------------------------------
    def inline(self, text, no):
        return self._inline(text, no)

    def _inline(self, s, no):
        nodes, buf, k = [], [], 0

        def flush():
            if buf:
                nodes.append(("text", "".join(buf).replace("\x00", "|")))
                buf.clear()

        while k < len(s):
            c = s[k]
            if c == "\x00":
                buf.append("|")
                k += 1
                continue
            if c == "\\" and k + 1 < len(s) and s[k + 1] in PUNCT:
                buf.append(s[k + 1])
                k += 2
                continue
            if c == "\\" and s[k + 1:k + 2] == "\n":
                self.fail(no, "a hard line break (backslash at the end of a line)")
            if c == "`":
                run = len(s[k:]) - len(s[k:].lstrip("`"))
                m = re.compile(r"(?<!`)`{%d}(?!`)" % run).search(s, k + run)
                if not m:
                    buf.append("`" * run)
                    k += run
                    continue
                code = s[k + run:m.start()].replace("\n", " ").replace("\x00", "|")
                if code.startswith(" ") and code.endswith(" ") and code.strip():
                    code = code[1:-1]
                flush()
                nodes.append(("code", code))
                k = m.end()
                continue
            if c == "!" and s[k + 1:k + 2] == "[":
                self.fail(no, "an image: not supported")
            if c == "[":
                end = self._bracket(s, k)
                if end is not None and s[end + 1:end + 2] == "(":
                    close = s.find(")", end + 2)
                    target = s[end + 2:close].strip() if close > 0 else ""
                    if close < 0 or not target or re.search(r"\s", target):
                        self.fail(no, f"a link target that is not a plain URL or path: {s[k:close + 1]!r}")
                    flush()
                    nodes.append(("link", self._inline(s[k + 1:end], no), target))
                    k = close + 1
                    continue
                if end is not None and s[end + 1:end + 2] == "[":
                    self.fail(no, f"a reference-style link: {s[k:end + 1]!r}; write [text](url)")
                buf.append(c)
                k += 1
                continue
            if c == "<":
                m = re.compile(r"<((?:https?|ftp)://[^\s<>]+)>").match(s, k)
                if m:
                    flush()
                    nodes.append(("link", [("text", m.group(1))], m.group(1)))
                    k = m.end()
                    continue
                if HTML_TAG.match(s, k):
                    self.fail(no, f"inline HTML {HTML_TAG.match(s, k).group(0)!r}: put it in a code span")
            if c in "*_":
                run = len(s[k:]) - len(s[k:].lstrip(c))
                found = self._emphasis(s, k, c, run) if run <= 2 else None
                if found:
                    end, size = found
                    flush()
                    nodes.append(("strong" if size == 2 else "em", self._inline(s[k + size:end], no)))
                    k = end + size
                    continue
                buf.append(c * run)
                k += run
                continue
            buf.append(" " if c == "\n" else c)
            k += 1
        flush()
        return nodes

    @staticmethod
    def _skip(s, j):
        """Past a backslash escape or a whole code span at j (None: neither starts there)."""
        if s[j] == "\\":
            return j + 2
        if s[j] == "`":
            run = len(s[j:]) - len(s[j:].lstrip("`"))
            m = re.compile(r"(?<!`)`{%d}(?!`)" % run).search(s, j + run)
            return m.end() if m else j + run
        return None

    @staticmethod
    def _bracket(s, k):
        depth, j = 0, k
        while j < len(s):
            skipped = Parser._skip(s, j)
            if skipped is not None:
                j = skipped
                continue
            if s[j] == "[":
                depth += 1
            elif s[j] == "]":
                depth -= 1
                if depth == 0:
                    return j
            j += 1
        return None

    @staticmethod
    def _emphasis(s, k, c, size):
        """(end, size) of the closing delimiter run of an emphasis opened at k, or None."""
        after = s[k + size:k + size + 1]
        before = s[k - 1:k] if k else ""
        if not after or after.isspace():
            return None
        if c == "_" and before.isalnum():
            return None
        j = k + size
        while j < len(s):
            skipped = Parser._skip(s, j)
            if skipped is not None:
                j = skipped
                continue
            if s[j] == c:
                run = len(s[j:]) - len(s[j:].lstrip(c))
                prev, nxt = s[j - 1], s[j + run:j + run + 1]
                if run == size and not prev.isspace() and not (c == "_" and nxt.isalnum()):
                    return j, size
                j += run
                continue
            j += 1
        return None
