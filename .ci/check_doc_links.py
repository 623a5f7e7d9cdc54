#!/usr/bin/env python3
"""Every relative link in README.md and docs/ leads to a file that exists, and every
`#anchor` to a heading of that file (GitHub's heading ids). Links inside code blocks and
links with a scheme (https:, mailto:) are not checked. Usage: python3 .ci/check_doc_links.py
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def anchors(path):
    found, fenced = set(), False
    for line in open(path, encoding="utf-8"):
        if line.startswith("```"):
            fenced = not fenced
            continue
        heading = None if fenced else re.match(r"#{1,6} (.*)", line)
        if heading:
            text = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower())
            found.add(text.replace(" ", "-"))
    return found


def main():
    pages = [os.path.join(ROOT, "README.md")] + glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True)
    checked = broken = 0
    for page in sorted(pages):
        text = re.sub(r"```.*?```", "", open(page, encoding="utf-8").read(), flags=re.S)
        for match in re.finditer(r"\[[^\]]*\]\(([^)\s]+)\)", text):
            url = match.group(1)
            if re.match(r"[a-z][a-z0-9+.-]*:", url):
                continue
            checked += 1
            path, _, fragment = url.partition("#")
            target = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            where = os.path.relpath(page, ROOT)
            if not os.path.exists(target):
                print(f"{where}: {url}: no such file")
                broken += 1
            elif fragment and target.endswith(".md") and fragment not in anchors(target):
                print(f"{where}: {url}: no such heading")
                broken += 1
    print(f"{checked} relative links checked, {broken} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
