#!/usr/bin/env python3
"""Python baseline for the end-to-end benchmark: the straightforward peer-tool
way of computing team metrics (json.loads per line, dict aggregation).

Fetches the user-teams-1-day and users-1-day envelopes from a (fake) GitHub
API, streams every signed link line by line, parses each line with
json.loads, maps it with a Python port of the exporter's naming rule
(src/mapping.rs `map_object`, team prefix `copilot_team_`) and sums the
additive series per team, plus copilot_team_daily_active_users.

Usage: teams_baseline.py API_URL ENTERPRISE DAY OUT.json
Writes {"series": {"name{labels}": value, ...}, "bytes": N, "lines": N}.
Standard library only.
"""
import json
import re
import sys
import urllib.request

PLACEHOLDER = "\x01team\x01"
NON_ADDITIVE = {"avg", "average", "mean", "median", "p50", "p75", "p90", "p95",
                "p99", "ratio", "rate", "percent", "percentage"}


def bookkeeping(f):
    return f == "day" or f == "etl_id" or f.endswith("_id") or f.endswith("_partition")


def sanitize(raw):
    out = []
    for i, c in enumerate(raw):
        if i == 0 and c.isascii() and c.isdigit():
            out.append("_")
        out.append(c if (c.isascii() and (c.isalnum() or c == "_")) else "_")
    return "".join(out) or "_"


def leaf_name(f):
    for suffix in ("_count", "_sum"):
        if f.endswith(suffix) and len(f) > len(suffix):
            return f[: -len(suffix)]
    return f


def base_unit(leaf):
    factor = 1.0
    words = []
    for w in leaf.split("_"):
        if w == "minutes" and factor == 1.0:
            factor, w = 60.0, "seconds"
        elif w == "hours" and factor == 1.0:
            factor, w = 3600.0, "seconds"
        words.append(w)
    return "_".join(words), factor


def object_segment(f):
    return f[len("totals_by_"):] if f.startswith("totals_by_") and len(f) > 10 else f


def array_dims(f):
    i = f.rfind("_by_")
    if i >= 0 and f[i + 4:]:
        return f[i + 4:]
    if f.startswith("by_") and f[3:]:
        return f[3:]
    return None


def additive(name):
    return not any(w in NON_ADDITIVE for w in name.split("_"))


def number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def push_label(labels, name, value):
    name = sanitize(name)
    if name.startswith("__"):
        name = "exported" + name
    while any(n == name for n, _ in labels):
        name = "exported_" + name
    labels.append((name, value))


def emit(out, name, labels, value):
    key = (name, tuple(sorted((k, v) for k, v in labels if v != "")))
    if key not in out:
        out[key] = value


def walk_object(path, labels, obj, out):
    for field in sorted(obj):
        if bookkeeping(field):
            continue
        value = obj[field]
        if number(value):
            leaf, factor = base_unit(leaf_name(field))
            emit(out, path + sanitize(leaf), labels, value * factor)
        elif isinstance(value, dict):
            walk_object(path + sanitize(object_segment(field)) + "_", labels, value, out)
        elif isinstance(value, list):
            dims = array_dims(field)
            if dims is not None:
                prefix, suffix = path, "_by_" + sanitize(dims)
            else:
                prefix, suffix = path + sanitize(field) + "_", ""
            for item in value:
                if not isinstance(item, dict):
                    continue
                element_labels = list(labels)
                for key in sorted(item):
                    if not bookkeeping(key) and isinstance(item[key], str):
                        push_label(element_labels, key, item[key])
                element_leaves(prefix, suffix, element_labels, item, out)


def element_leaves(prefix, suffix, labels, element, out):
    for key in sorted(element):
        if bookkeeping(key):
            continue
        value = element[key]
        if number(value):
            leaf, factor = base_unit(leaf_name(key))
            emit(out, prefix + sanitize(leaf) + suffix, labels, value * factor)
        elif isinstance(value, dict):
            element_leaves(prefix + sanitize(object_segment(key)) + "_", suffix, labels, value, out)


def links(api, enterprise, report, day):
    url = f"{api}/enterprises/{enterprise}/copilot/metrics/reports/{report}?day={day}"
    with urllib.request.urlopen(url) as r:
        if r.status == 204:
            return []
        return json.load(r)["download_links"]


def lines(link):
    with urllib.request.urlopen(link) as r:
        for line in r:
            yield line


def main():
    api, enterprise, day, out_path = sys.argv[1:5]
    scope = [("enterprise", enterprise)]
    base = list(scope)
    push_label(base, "team", PLACEHOLDER)

    teams_of = {}
    slugs = {}
    for link in links(api, enterprise, "user-teams-1-day", day):
        for line in lines(link):
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("day", day) != day:
                continue
            team_id = int(row["team_id"])
            if team_id not in slugs:
                slug = row.get("slug") or f"team-{team_id}"
                if slug in slugs.values():
                    slug = f"{slug}-{team_id}"
                slugs[team_id] = slug
            user_teams = teams_of.setdefault(int(row["user_id"]), [])
            if slugs[team_id] not in user_teams:
                user_teams.append(slugs[team_id])

    sums = {}
    active = {slug: set() for slug in slugs.values()}
    total_bytes = 0
    total_lines = 0
    for link in links(api, enterprise, "users-1-day", day):
        for line in lines(link):
            total_bytes += len(line)
            total_lines += 1
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("day", day) != day:
                continue
            user = row.get("user_id")
            teams = teams_of.get(int(user)) if user is not None else None
            if not teams:
                continue
            values = {}
            walk_object("copilot_team_", base, row, values)
            for team in teams:
                active[team].add(user)
                team_sums = sums.setdefault(team, {})
                for key, value in values.items():
                    if additive(key[0]):
                        team_sums[key] = team_sums.get(key, 0.0) + value

    series = {}

    def text(name, labels, team):
        labels = [(k, team if v == PLACEHOLDER else v) for k, v in labels]
        body = ",".join(f'{k}="{v}"' for k, v in sorted(labels))
        return f"{name}{{{body}}}"

    for team, members in active.items():
        series[text("copilot_team_daily_active_users", base, team)] = float(len(members))
        for (name, labels), value in sums.get(team, {}).items():
            series[text(name, labels, team)] = value
    with open(out_path, "w") as f:
        json.dump({"series": series, "bytes": total_bytes, "lines": total_lines}, f)
    print(f"teams_baseline: {total_lines} lines, {total_bytes} bytes, {len(series)} team series", file=sys.stderr)


if __name__ == "__main__":
    main()
