#!/usr/bin/env python3
"""Regenerates the values table in helm/copilot-metrics-exporter/README.md.

Each key in values.yaml preceded by a `# -- description` comment block (helm-
docs style; continuation lines are plain `#` comments) becomes one row: key
path, type, default (from the parsed YAML) and description. The table sits
between the markers `<!-- values-table:start -->` and `<!-- values-table:end -->`.
`--check` fails when the README is not current (tests and CI run it).
Needs PyYAML (installed with yamllint in .ci-deps/venv).
"""
import json
import re
import sys
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parent.parent / "helm" / "copilot-metrics-exporter"
START, END = "<!-- values-table:start -->", "<!-- values-table:end -->"
KEY = re.compile(r"^(\s*)([A-Za-z_][\w.-]*):(\s|$)")


def documented_keys(text):
    stack = []        # (indent, key)
    doc = None        # description being collected
    rows = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            doc = [stripped[4:].strip()]
            continue
        if stripped.startswith("#"):
            if doc is not None:
                doc.append(stripped[1:].strip())
            continue
        m = KEY.match(line)
        if not m:
            continue
        indent, key = len(m.group(1)), m.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        if doc is not None:
            rows.append((tuple(k for _, k in stack), " ".join(doc).strip()))
            doc = None
    return rows


def lookup(values, path):
    for k in path:
        values = values[k]
    return values


def yaml_type(v):
    return {dict: "object", list: "list", bool: "bool", int: "int", float: "float",
            str: "string", type(None): "null"}[type(v)]


def table():
    text = (CHART / "values.yaml").read_text()
    values = yaml.safe_load(text)
    out = ["| Key | Type | Default | Description |", "|-----|------|---------|-------------|"]
    for path, desc in documented_keys(text):
        v = lookup(values, path)
        default = json.dumps(v, separators=(",", ":")) if v not in ("", None) else '`""`'
        if default != '`""`':
            default = "`" + default.replace("|", "\\|") + "`"
        desc = desc.replace("|", "\\|")
        out.append(f"| `{'.'.join(path)}` | {yaml_type(v)} | {default} | {desc} |")
    return "\n".join(out)


def main():
    readme = CHART / "README.md"
    text = readme.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{table()}\n{END}{tail}"
    if sys.argv[1:] == ["--check"]:
        if new != text:
            sys.exit(f"{readme}: values table is out of date: run scripts/gen-chart-readme.py")
        return
    readme.write_text(new)


if __name__ == "__main__":
    main()
