#!/usr/bin/env python3
"""Python baseline for the end-to-end benchmark: the straightforward peer-tool
way of computing team metrics (json.loads per line, dict aggregation).

Fetches the user-teams-1-day and users-1-day envelopes from a (fake) GitHub
API, streams every signed link line by line, parses each line with
json.loads, maps it with a Python port of the exporter's naming rule
(src/report/naming.rs `map_leaves`, team prefix `copilot_team_`) and sums
the quantities (src/report/quantity.rs) per team, plus
copilot_team_daily_active_users.

Usage: teams_baseline.py API_URL ENTERPRISE DAY OUT.json
Writes {"series": {"name{labels}": value, ...}, "bytes": N, "lines": N}.
Standard library only.
"""
import json
import re
import sys
import urllib.request

PLACEHOLDER = "\x01team\x01"


def bookkeeping(f):
    return f == "day" or f == "etl_id" or f.endswith("_id") or f.endswith("_partition")


def element_id(f):
    return f.endswith("_id") and f != "etl_id"


def segment(raw):
    """A name segment: [a-zA-Z0-9_] only, no leading, trailing or repeated `_`."""
    out = re.sub(r"[^A-Za-z0-9]", "_", "".join(c if c.isascii() else "_" for c in raw))
    return re.sub(r"_+", "_", out).strip("_")


def quantity(field):
    words = [w.lower() for w in re.split(r"[^A-Za-z0-9]", "".join(c if c.isascii() else "_" for c in field)) if w]
    if not words:
        return False
    if words[0] == "total":
        return True
    if len(words) < 2:
        return False
    return words[-1] in ("count", "sum", "users") or (
        words[-1] == "used" and words[-2] in ("credits", "tokens"))


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


def object_path(path, f):
    seg = segment(f[len("totals_by_"):] if f.startswith("totals_by_") and len(f) > 10 else f)
    return path + seg + "_" if seg else path


def array_parts(path, f):
    i = f.rfind("_by_")
    dims = f[i + 4:] if i >= 0 and f[i + 4:] else (f[3:] if f.startswith("by_") and f[3:] else None)
    dims = segment(dims) if dims is not None else ""
    if dims:
        return path, "_by_" + dims
    seg = segment(f)
    return (path + seg + "_" if seg else path), ""


def leaf(path, field, suffix, value, labels, out):
    name, factor = base_unit(leaf_name(field))
    name = segment(name)
    if name:
        emit(out, path + name + suffix, labels, value * factor, quantity(field))


def number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def push_label(labels, name, value):
    name = sanitize(name)
    if name.startswith("__"):
        name = "exported" + name
    while any(n == name for n, _ in labels):
        name = "exported_" + name
    labels.append((name, value))


def emit(out, name, labels, value, is_quantity):
    # Teams sum quantities only: other leaves never enter.
    if not is_quantity:
        return
    key = (name, tuple(sorted((k, v) for k, v in labels if v != "")))
    if key not in out:
        out[key] = value


def walk_object(path, labels, obj, out):
    for field in sorted(obj):
        if bookkeeping(field):
            continue
        value = obj[field]
        if number(value):
            leaf(path, field, "", value, labels, out)
        elif isinstance(value, dict):
            walk_object(object_path(path, field), labels, value, out)
        elif isinstance(value, list):
            prefix, suffix = array_parts(path, field)
            for item in value:
                if not isinstance(item, dict):
                    continue
                element_labels = list(labels)
                for key in sorted(item):
                    v = item[key]
                    if element_id(key):
                        if isinstance(v, str):
                            push_label(element_labels, key, v)
                        elif isinstance(v, int) and not isinstance(v, bool):
                            push_label(element_labels, key, str(v))
                    elif not bookkeeping(key) and isinstance(v, str):
                        push_label(element_labels, key, v)
                element_leaves(prefix, suffix, element_labels, item, out)


def element_leaves(prefix, suffix, labels, element, out):
    for key in sorted(element):
        if bookkeeping(key):
            continue
        value = element[key]
        if number(value):
            leaf(prefix, key, suffix, value, labels, out)
        elif isinstance(value, dict):
            element_leaves(object_path(prefix, key), suffix, labels, value, out)


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

    members = {}
    raw_slugs = {}
    for link in links(api, enterprise, "user-teams-1-day", day):
        for line in lines(link):
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("day", day) != day:
                continue
            team_id = int(row["team_id"])
            slug = (row.get("slug") or "").strip() or f"team-{team_id}"
            raw_slugs[team_id] = min(slug, raw_slugs.get(team_id, slug))
            members.setdefault(int(row["user_id"]), set()).add(team_id)
    # Slug clashes: the smallest team_id keeps the slug, the others get
    # `<slug>-<team_id>` (repeated while taken), whatever the row order.
    slugs, taken = {}, set()
    for team_id in sorted(raw_slugs):
        if raw_slugs[team_id] not in taken:
            slugs[team_id] = raw_slugs[team_id]
            taken.add(raw_slugs[team_id])
    for team_id in sorted(raw_slugs):
        if team_id in slugs:
            continue
        label = f"{raw_slugs[team_id]}-{team_id}"
        while label in taken or label in raw_slugs.values():
            label = f"{label}-{team_id}"
        slugs[team_id] = label
        taken.add(label)
    teams_of = {user: [slugs[t] for t in teams] for user, teams in members.items()}

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
