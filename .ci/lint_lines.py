"""Turns a linter's JSON report into one line per problem, `SEVERITY RULE POINTER: MESSAGE`,
so that .ci/generators.sh can match them against clients/matrix/allow-list.tsv by rule and
place rather than by line number.

Usage: python lint_lines.py spectral|redocly REPORT.json
"""

import json
import sys


def pointer(path):
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def main():
    tool, report = sys.argv[1], sys.argv[2]
    with open(report, encoding="utf-8") as f:
        data = json.load(f)
    if tool == "spectral":
        names = {0: "error", 1: "warning", 2: "info", 3: "hint"}
        for p in data:
            print(f"{names.get(p.get('severity'), p.get('severity'))} {p['code']} {pointer(p.get('path', []))}: {p['message']}")
    else:
        for p in data.get("problems", []):
            where = (p.get("location") or [{}])[0].get("pointer", "#/")
            message = p["message"].splitlines()[0]
            print(f"{p['severity']} {p['ruleId']} {where}: {message}")


if __name__ == "__main__":
    main()
