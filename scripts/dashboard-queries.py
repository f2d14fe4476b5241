#!/usr/bin/env python3
"""Lists every query of dashboards/copilot.json, machine-readably.

  scripts/dashboard-queries.py            JSON list of {panel, title, refId, expr, instant}
  scripts/dashboard-queries.py --rules    a Prometheus rule file with one recording rule
                                          per query (variables substituted), so that
                                          `promtool check rules` parses every expr offline
  --substitute  also substitute Grafana variables in the JSON output

Substitutions: $scope_type -> org, $scope / $team -> .+ (the "All" value),
$__rate_interval -> 5m.
"""
import json
import re
import sys
from pathlib import Path

DASH = Path(__file__).resolve().parent.parent / "dashboards" / "copilot.json"
SUBST = {"$scope_type": "org", "$scope": ".+", "$team": ".+", "$__rate_interval": "5m"}


def substitute(expr):
    for k in sorted(SUBST, key=len, reverse=True):
        expr = expr.replace(k, SUBST[k])
    left = re.findall(r"\$\{?\w+", expr)
    if left:
        sys.exit(f"unknown Grafana variable(s) {left} in: {expr}")
    return expr


def panels(ps):
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))


def queries():
    d = json.loads(DASH.read_text())
    for p in panels(d["panels"]):
        for t in p.get("targets", []):
            yield {"panel": p["id"], "title": p["title"], "refId": t["refId"],
                   "expr": t.get("expr", ""), "instant": bool(t.get("instant"))}


def main():
    qs = list(queries())
    if "--rules" in sys.argv:
        rules = [{"record": f"dashboard:panel{q['panel']}_{q['refId']}", "expr": substitute(q["expr"])}
                 for q in qs]
        # JSON is valid YAML: promtool reads it as a rule file.
        print(json.dumps({"groups": [{"name": "dashboard-queries", "rules": rules}]}, indent=2))
        return
    if "--substitute" in sys.argv:
        for q in qs:
            q["expr"] = substitute(q["expr"])
    print(json.dumps(qs, indent=2))


if __name__ == "__main__":
    main()
