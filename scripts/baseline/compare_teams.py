#!/usr/bin/env python3
"""Compares the exporter's copilot_team_* series (text exposition on stdout
of --once) with the Python baseline's JSON. Exits 1 on any difference.

Usage: compare_teams.py EXPORTER.prom BASELINE.json
"""
import json
import math
import re
import sys

LINE = re.compile(r'^(copilot_team_[A-Za-z0-9_]*)(\{.*\})?\s+(\S+)$')


def main():
    prom, base = sys.argv[1:3]
    ours = {}
    with open(prom) as f:
        for line in f:
            m = LINE.match(line.strip())
            if m:
                ours[m.group(1) + (m.group(2) or "{}")] = float(m.group(3))
    theirs = json.load(open(base))["series"]
    missing = sorted(set(theirs) - set(ours))
    extra = sorted(set(ours) - set(theirs))
    wrong = [k for k in set(ours) & set(theirs)
             if not math.isclose(ours[k], theirs[k], rel_tol=1e-9, abs_tol=1e-9)]
    exact = sum(1 for k in set(ours) & set(theirs) if ours[k] == theirs[k])
    if missing or extra or wrong or not ours:
        print(f"MISMATCH: {len(ours)} exporter series, {len(theirs)} baseline series; "
              f"{len(missing)} missing, {len(extra)} extra, {len(wrong)} different", file=sys.stderr)
        for k in (missing[:5] + extra[:5] + wrong[:5]):
            print(f"  {k}: exporter={ours.get(k)} baseline={theirs.get(k)}", file=sys.stderr)
        sys.exit(1)
    print(f"team metrics match: {len(ours)} series equal ({exact} bit-identical, "
          f"the rest within 1e-9 relative)")


if __name__ == "__main__":
    main()
