#!/usr/bin/env python3
"""Check the relative links of vdx's Markdown documentation.

For README.md, FORMAT.md and docs/*.md: every relative link and image (`[x](path)`,
`[x](path#anchor)`, `![x](path)`, `[x]: path`) must point to an existing file or folder, and
every `#anchor` (in the same file or in another .md file) must be the GitHub-style slug of a
heading in the target file. http(s) and mailto links are not checked. Links inside code
blocks and code spans are not links and are skipped.

Prints each broken link as `file:line: link: reason` and exits 1, or prints one line saying
how many links were checked and exits 0.

    python3 scripts/check_links.py
"""
import glob
import os
import re
import sys
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(?<!`)(`+)((?:(?!\n[ \t]*\n).)+?)(?<!`)\1(?!`)", re.S)
# [text](dest) or ![alt](dest), the destination optionally in <...> and followed by a title.
INLINE = re.compile(
    r"(!?)\[((?:\\.|[^\[\]\\]|\[(?:\\.|[^\[\]\\])*\])*)\]"
    r"\(\s*(<[^>\n]*>|(?:[^\s()\\]|\\.|\([^\s()]*\))*)"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[([^\]]+)\]:\s*(<[^>]*>|\S+)", re.M)
ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
HTML_ANCHOR = re.compile(r"<a\s[^>]*?(?:name|id)\s*=\s*[\"']([^\"']+)[\"']", re.I)
IGNORED = ("http://", "https://", "mailto:")


def blank_code_blocks(text):
    """The text with the lines of fenced code blocks emptied (line numbers kept)."""
    out, fence = [], None
    for line in text.split("\n"):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
            out.append("")
        elif fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                    and not line.strip()[len(m.group(1)):].strip():
                fence = None
            out.append("")
        else:
            out.append(line)
    return "\n".join(out)


def blank_code(text):
    """The text with fenced code blocks and code spans replaced by spaces (newlines kept, so
    offsets and line numbers stay as in the file)."""
    text = blank_code_blocks(text)
    return CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def heading_text_to_slug(text):
    """GitHub's anchor for a heading: the rendered text, lower-cased, with everything but
    letters, digits, `_`, `-` and spaces removed, and each space made a `-`."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"(?<![\w])_+|_+(?![\w])", "", text)  # _emphasis_ markers, not snake_case
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


_anchor_cache = {}


def anchors(path):
    """Every anchor GitHub gives the Markdown file at path."""
    if path in _anchor_cache:
        return _anchor_cache[path]
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    lines = blank_code_blocks(raw).split("\n")
    found, seen = set(), {}

    def add(title):
        slug = heading_text_to_slug(title)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        found.add(slug if n == 0 else "%s-%d" % (slug, n))

    for i, line in enumerate(lines):
        m = ATX.match(line)
        if m:
            add(m.group(2) or "")
            continue
        if i > 0 and SETEXT.match(line) and lines[i - 1].strip() \
                and not ATX.match(lines[i - 1]) and not lines[i - 1].lstrip().startswith(("-", "*", ">", "|")):
            add(lines[i - 1].strip())
    found.update(HTML_ANCHOR.findall(raw))
    _anchor_cache[path] = found
    return found


def check_link(md_path, dest):
    """None if the link is good, else the reason it is not."""
    if dest.startswith("<") and dest.endswith(">"):
        dest = dest[1:-1]
    dest = dest.replace("\\", "")
    if not dest:
        return "empty link"
    if dest.lower().startswith(IGNORED):
        return None
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", dest):
        return "unsupported scheme (only relative paths, http(s) and mailto are allowed)"
    path, _, fragment = dest.partition("#")
    path = urllib.parse.unquote(path.split("?", 1)[0])
    if path == "":
        target = md_path
    elif path.startswith("/"):
        target = os.path.join(ROOT, path.lstrip("/"))
    else:
        target = os.path.join(os.path.dirname(md_path), path)
    target = os.path.normpath(target)
    if not os.path.exists(target):
        return "no such file: %s" % os.path.relpath(target, ROOT)
    if fragment and target.endswith(".md") and os.path.isfile(target):
        if urllib.parse.unquote(fragment) not in anchors(target):
            return "no heading with anchor #%s in %s" % (fragment, os.path.relpath(target, ROOT))
    return None


def links(text):
    """(offset, destination) of every link and image in text (code already blanked)."""
    for m in INLINE.finditer(text):
        yield m.start(), m.group(3)
    for m in REFERENCE.finditer(text):
        yield m.start(), m.group(2)


def main():
    files = [os.path.join(ROOT, "README.md"), os.path.join(ROOT, "FORMAT.md")]
    files += sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    broken, checked, with_anchor = [], 0, 0
    for path in files:
        if not os.path.isfile(path):
            broken.append("%s: missing" % os.path.relpath(path, ROOT))
            continue
        with open(path, encoding="utf-8") as f:
            text = blank_code(f.read())
        for offset, dest in links(text):
            if dest.lower().strip("<>").startswith(IGNORED):
                continue
            checked += 1
            with_anchor += "#" in dest
            reason = check_link(path, dest)
            if reason:
                line = text.count("\n", 0, offset) + 1
                broken.append("%s:%d: %s: %s" % (os.path.relpath(path, ROOT), line, dest, reason))
    for b in broken:
        print(b)
    if broken:
        return 1
    print("check_links: %d relative links (%d with anchors) in %d files, all resolve"
          % (checked, with_anchor, len(files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
