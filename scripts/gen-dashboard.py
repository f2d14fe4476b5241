#!/usr/bin/env python3
"""Generates dashboards/copilot.json, the Grafana dashboard.

Why a generator: ~50 queries share the same scope selector and daily-sample
windows, and panel ids/positions must be unique and tidy; writing them by
hand drifts. The JSON is committed (Grafana imports it as is); run
`scripts/gen-dashboard.py` after editing, `--check` verifies it is current.

Query rules (tests/packaging.rs checks them on the JSON):
  * Report data is daily. Remote-write with REMOTE_WRITE_TIMESTAMPS=report-day
    stores ONE sample per day at 00:00 UTC of the day, so an instant selector
    finds nothing 5 minutes later. Every report-data selector is wrapped in
    `last_over_time(...[2d])` (graphs: the value of the day at each point; 2d
    bridges a day GitHub publishes late) or `[7d]` for "latest" stats (in
    report-day mode the newest day is held back by the settle days).
    Current-value data (/metrics, Pushgateway) works the same way.
  * Rates are ratios of sums: sum(accepted) / sum(generated) over the same
    labels. Never average or sum per-language/per-IDE ratios (the old
    dashboard summed per-language rates and showed 300 %).
  * Scope-level gauges are taken with `max by (org, enterprise)` before
    summing, so a scope collected by two jobs (e.g. scraped and pushed) is
    not counted twice.
  * Only Grafana variables $org, $enterprise and $__rate_interval appear in
    expressions (tests substitute them to run the queries on Prometheus).
"""
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "dashboards" / "copilot.json"
DS = {"type": "prometheus", "uid": "${datasource}"}
# Matches every series when a variable is "All" (.*), including series whose
# scope is the other kind (an org series has no enterprise label).
SEL = 'org=~"$org",enterprise=~"$enterprise"'


def sel(metric, extra=""):
    inner = SEL + ("," + extra if extra else "")
    return f"{metric}{{{inner}}}"


def day(metric, window="2d", extra=""):
    """Value of the report day at each point (works for daily samples)."""
    return f"last_over_time({sel(metric, extra)}[{window}])"


def scope_total(metric, window="2d"):
    """Sum over scopes of a per-scope gauge, each scope counted once."""
    return f"sum(max by (org, enterprise) ({day(metric, window)}))"


def ratio(num, den, by="", window="2d"):
    """Ratio of sums (never a sum of ratios)."""
    b = f" by ({by})" if by else ""
    return (f"sum{b} ({day(num, window)})\n/\n"
            f"sum{b} ({day(den, window)})")


class Builder:
    def __init__(self):
        self.panels = []
        self.next_id = 1
        self.y = 0
        self.row_x = 0
        self.row_h = 0

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def row(self, title):
        self._newline()
        self.panels.append({
            "type": "row", "id": self._id(), "title": title, "collapsed": False,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": [],
        })
        self.y += 1

    def _newline(self):
        if self.row_x:
            self.y += self.row_h
            self.row_x = 0
            self.row_h = 0

    def _place(self, w, h):
        if self.row_x + w > 24:
            self._newline()
        pos = {"h": h, "w": w, "x": self.row_x, "y": self.y}
        self.row_x += w
        self.row_h = max(self.row_h, h)
        return pos

    def panel(self, kind, title, targets, w=12, h=8, unit=None, desc="",
              instant=False, options=None, field=None, stack=False):
        refs = "ABCDEFGHIJ"
        tgts = []
        for i, (expr, legend) in enumerate(targets):
            t = {"refId": refs[i], "datasource": DS, "expr": expr,
                 "legendFormat": legend, "range": not instant, "instant": instant}
            tgts.append(t)
        defaults = {"unit": unit} if unit else {}
        if field:
            defaults.update(field)
        if kind == "timeseries":
            defaults.setdefault("custom", {})
            defaults["custom"].update({
                "drawStyle": "line", "lineInterpolation": "stepAfter",
                "fillOpacity": 10, "showPoints": "never", "spanNulls": False,
                "stacking": {"mode": "normal" if stack else "none", "group": "A"},
            })
        p = {
            "type": kind, "id": self._id(), "title": title, "description": desc,
            "datasource": DS, "gridPos": self._place(w, h), "targets": tgts,
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options or {},
        }
        if kind == "timeseries":
            p["options"] = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                            "tooltip": {"mode": "multi", "sort": "desc"}, **(options or {})}
        self.panels.append(p)

    def stat(self, title, expr, unit=None, desc="", w=4, h=4, legend="", field=None):
        self.panel("stat", title, [(expr, legend)], w=w, h=h, unit=unit, desc=desc,
                   instant=True, field=field,
                   options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                            "colorMode": "value", "graphMode": "none", "textMode": "auto"})


def build():
    b = Builder()
    pct = {"min": 0, "max": 1}
    scope_legend = "{{org}}{{enterprise}}"

    b.row("Overview (latest report day)")
    b.stat("Report day", f"max({day('copilot_report_day_timestamp_seconds', '7d')}) * 1000",
           unit="dateTimeAsIso",
           desc="Day the values below belong to (GitHub publishes a day about a day later; "
                "remote-write with report-day timestamps holds days back until they settle).")
    b.stat("Daily active users", scope_total("copilot_daily_active_users", "7d"),
           desc="Sum over the selected scopes; a user active in two selected scopes counts twice.")
    b.stat("Weekly active users", scope_total("copilot_weekly_active_users", "7d"))
    b.stat("Monthly active users", scope_total("copilot_monthly_active_users", "7d"))
    b.stat("Acceptance rate (suggestions)",
           ratio("copilot_code_acceptance_activity", "copilot_code_generation_activity", window="7d"),
           unit="percentunit", field=pct,
           desc="Accepted / generated code suggestions: a ratio of sums over the selected scopes.")
    b.stat("Acceptance rate (lines)",
           ratio("copilot_loc_added", "copilot_loc_suggested_to_add", window="7d"),
           unit="percentunit", field=pct,
           desc="Lines added from suggestions / lines suggested to add (ratio of sums).")

    b.row("Adoption")
    b.panel("timeseries", "Active users", [
        (scope_total("copilot_daily_active_users"), "daily"),
        (scope_total("copilot_weekly_active_users"), "weekly (7 days)"),
        (scope_total("copilot_monthly_active_users"), "monthly (28 days)"),
    ], unit="short", desc="DAU / WAU / MAU per report day, summed over the selected scopes.")
    b.panel("timeseries", "Monthly chat, agent and daily CLI users", [
        (scope_total("copilot_monthly_active_chat_users"), "monthly chat"),
        (scope_total("copilot_monthly_active_agent_users"), "monthly agent"),
        (scope_total("copilot_daily_active_cli_users"), "daily CLI"),
    ], unit="short", desc="GitHub omits daily_active_cli_users on days without CLI use: gaps are zero.")
    b.panel("timeseries", "Daily active users by scope", [
        (f"max by (org, enterprise) ({day('copilot_daily_active_users')})", scope_legend),
    ], unit="short")
    b.panel("timeseries", "User-initiated interactions", [
        (f"sum({day('copilot_user_initiated_interaction')})", "interactions"),
    ], unit="short", desc="Prompts and other explicit requests to Copilot per day.")

    b.row("Acceptance")
    b.panel("timeseries", "Acceptance rate", [
        (ratio("copilot_code_acceptance_activity", "copilot_code_generation_activity"), "by suggestions"),
        (ratio("copilot_loc_added", "copilot_loc_suggested_to_add"), "by lines"),
    ], unit="percentunit", field=pct,
        desc="Ratios of sums over the selected scopes, per report day.")
    b.panel("timeseries", "Acceptance rate by IDE", [
        (ratio("copilot_code_acceptance_activity_by_ide", "copilot_code_generation_activity_by_ide",
               by="ide"), "{{ide}}"),
    ], unit="percentunit", field=pct)
    b.panel("bargauge", "Acceptance rate by language (top 15 by suggestions, latest day)", [
        ("(\n" + ratio("copilot_code_acceptance_activity_by_language_feature",
                       "copilot_code_generation_activity_by_language_feature",
                       by="language", window="7d") + "\n)\nand on (language)\ntopk(15, sum by (language) ("
         + day("copilot_code_generation_activity_by_language_feature", "7d") + "))", "{{language}}"),
    ], unit="percentunit", field=pct, instant=True,
        options={"orientation": "horizontal", "displayMode": "gradient",
                 "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}})
    b.panel("timeseries", "Acceptance rate by feature", [
        (ratio("copilot_code_acceptance_activity_by_feature", "copilot_code_generation_activity_by_feature",
               by="feature"), "{{feature}}"),
    ], unit="percentunit", field=pct)
    b.panel("timeseries", "Suggestions and acceptances", [
        (f"sum({day('copilot_code_generation_activity')})", "generated"),
        (f"sum({day('copilot_code_acceptance_activity')})", "accepted"),
    ], unit="short")
    b.panel("timeseries", "Lines of code", [
        (f"sum({day('copilot_loc_suggested_to_add')})", "suggested to add"),
        (f"sum({day('copilot_loc_added')})", "added"),
        (f"sum({day('copilot_loc_suggested_to_delete')})", "suggested to delete"),
        (f"sum({day('copilot_loc_deleted')})", "deleted"),
    ], unit="short")

    b.row("Activity by IDE, feature, language and model")
    b.panel("timeseries", "Code generations by IDE", [
        (f"sum by (ide) ({day('copilot_code_generation_activity_by_ide')})", "{{ide}}"),
    ], unit="short", stack=True, w=8)
    b.panel("timeseries", "Code generations by feature", [
        (f"sum by (feature) ({day('copilot_code_generation_activity_by_feature')})", "{{feature}}"),
    ], unit="short", stack=True, w=8)
    b.panel("timeseries", "Interactions by feature", [
        (f"sum by (feature) ({day('copilot_user_initiated_interaction_by_feature')})", "{{feature}}"),
    ], unit="short", stack=True, w=8)
    b.panel("timeseries", "Code generations by language (top 10)", [
        (f"topk(10, sum by (language) ({day('copilot_code_generation_activity_by_language_feature')}))",
         "{{language}}"),
    ], unit="short", w=8)
    b.panel("timeseries", "Code generations by model", [
        (f"sum by (model) ({day('copilot_code_generation_activity_by_model_feature')})", "{{model}}"),
    ], unit="short", stack=True, w=8)
    b.panel("timeseries", "Lines added by IDE", [
        (f"sum by (ide) ({day('copilot_loc_added_by_ide')})", "{{ide}}"),
    ], unit="short", stack=True, w=8)
    b.panel("timeseries", "Copilot CLI", [
        (f"sum({day('copilot_cli_session')})", "sessions"),
        (f"sum({day('copilot_cli_request')})", "requests"),
    ], unit="short")
    b.panel("timeseries", "Copilot CLI output tokens", [
        (f"sum({day('copilot_cli_token_usage_output_tokens')})", "output tokens"),
    ], unit="short")

    b.row("Pull requests")
    b.panel("timeseries", "Pull requests", [
        (f"sum({day('copilot_pull_requests_total_created')})", "created"),
        (f"sum({day('copilot_pull_requests_total_merged')})", "merged"),
        (f"sum({day('copilot_pull_requests_total_created_by_copilot')})", "created by Copilot"),
        (f"sum({day('copilot_pull_requests_total_merged_created_by_copilot')})", "merged, created by Copilot"),
    ], unit="short", w=8)
    b.panel("timeseries", "Median time to merge", [
        # The exporter converts GitHub's minutes to seconds (base units).
        (f"max by (org, enterprise) ({day('copilot_pull_requests_median_seconds_to_merge')})",
         "all PRs " + scope_legend),
        (f"max by (org, enterprise) ({day('copilot_pull_requests_median_seconds_to_merge_copilot_authored')})",
         "Copilot-authored " + scope_legend),
    ], unit="s", w=8, desc="Medians cannot be combined across scopes: one line per scope.")
    b.panel("timeseries", "Copilot review suggestions by comment type", [
        (f"sum by (comment_type) ({day('copilot_pull_requests_total_copilot_suggestions_by_comment_type')})",
         "{{comment_type}}"),
    ], unit="short", stack=True, w=8)

    b.row("Seats")
    b.stat("Seats", scope_total("copilot_seats", "7d"), w=4)
    b.stat("Active this cycle", scope_total("copilot_seats_active_this_cycle", "7d"), w=4)
    b.stat("Inactive this cycle", scope_total("copilot_seats_inactive_this_cycle", "7d"), w=4)
    idle30 = day("copilot_seats_idle", "7d", 'window="30d"')
    b.stat("Idle 30 days", f"sum(max by (org, enterprise) ({idle30}))", w=4,
           desc="Seats without Copilot activity for 30 days: candidates for reassignment.")
    b.stat("Pending cancellation", scope_total("copilot_seats_pending_cancellation", "7d"), w=4)
    b.stat("Pending invitation", scope_total("copilot_seats_pending_invitation", "7d"), w=4)
    b.panel("timeseries", "Seats over time", [
        (scope_total("copilot_seats"), "total"),
        (scope_total("copilot_seats_active_this_cycle"), "active this cycle"),
        (scope_total("copilot_seats_inactive_this_cycle"), "inactive this cycle"),
        (scope_total("copilot_seats_added_this_cycle"), "added this cycle"),
    ], unit="short", w=8)
    b.panel("timeseries", "Idle seats", [
        (f"sum by (window) (max by (org, enterprise, window) ({day('copilot_seats_idle')}))", "idle {{window}}"),
    ], unit="short", w=8)
    b.panel("piechart", "Seats by editor", [
        (f"sum by (editor) ({day('copilot_seats_by_editor', '7d')})", "{{editor}}"),
    ], instant=True, w=4,
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                 "legend": {"displayMode": "table", "placement": "right", "showLegend": True}})
    b.panel("piechart", "Seats by plan", [
        (f"sum by (plan_type) ({day('copilot_seats_by_plan_type', '7d')})", "{{plan_type}}"),
    ], instant=True, w=4,
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                 "legend": {"displayMode": "table", "placement": "right", "showLegend": True}})

    b.row("Teams")
    b.panel("timeseries", "Daily active users by team (top 15)", [
        (f"topk(15, sum by (team) ({day('copilot_team_daily_active_users')}))", "{{team}}"),
    ], unit="short", w=8, desc="Needs TEAMS=true.")
    b.panel("bargauge", "Acceptance rate by team (latest day)", [
        (ratio("copilot_team_code_acceptance_activity", "copilot_team_code_generation_activity",
               by="team", window="7d"), "{{team}}"),
    ], unit="percentunit", field=pct, instant=True, w=8,
        options={"orientation": "horizontal", "displayMode": "gradient",
                 "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}})
    b.panel("timeseries", "Lines added by team (top 15)", [
        (f"topk(15, sum by (team) ({day('copilot_team_loc_added')}))", "{{team}}"),
    ], unit="short", w=8)

    b.row("Exporter health")
    b.panel("timeseries", "Time since last successful collection", [
        (f"time() - max by (org, enterprise) ({sel('copilot_exporter_last_success_timestamp_seconds')})",
         scope_legend),
    ], unit="s", w=8, desc="Alert CopilotExporterNoRecentSuccess fires above 6h.")
    b.panel("timeseries", "Age of the newest report day", [
        (f"time() - max by (org, enterprise) (max_over_time({sel('copilot_report_day_timestamp_seconds')}[14d]))",
         scope_legend),
    ], unit="s", w=8, desc="Normally 1-2 days; 4-5 days with report-day timestamps (settle days).")
    b.panel("timeseries", "Last collection succeeded", [
        (f"min by (org, enterprise) ({sel('copilot_exporter_collect_success')})", scope_legend),
    ], w=8, field={"min": 0, "max": 1}, desc="1 = the last attempt succeeded (deployment mode).")
    b.panel("timeseries", "GitHub API errors by reason", [
        ("sum by (reason) (increase(copilot_exporter_github_failures_total[$__rate_interval]))", "{{reason}}"),
        # No failure yet means no status_code series: show 0, not "No data".
        ("sum by (status_code) (increase(copilot_exporter_requests_failed_total[$__rate_interval])) or vector(0)",
         "HTTP {{status_code}}"),
    ], unit="short", w=8, stack=True,
        desc="bad_credentials / forbidden / policy_disabled need a human (alert CopilotExporterGitHubAuthError).")
    b.panel("timeseries", "GitHub API requests and cache hits", [
        ("sum(rate(copilot_exporter_github_api_requests_total[$__rate_interval]))", "API requests/s"),
        ("sum(rate(copilot_exporter_cache_hits_total[$__rate_interval]))", "cache hits/s"),
    ], unit="reqps", w=8)
    b.panel("timeseries", "Collection duration", [
        (f"max by (org, enterprise) ({sel('copilot_exporter_collect_duration_seconds')})", scope_legend),
    ], unit="s", w=8)
    b.panel("timeseries", "Pushgateway pushes", [
        ("sum by (result) (increase(copilot_exporter_pushgateway_pushes_total[$__rate_interval]))", "{{result}}"),
        ("sum by (status) (increase(copilot_exporter_pushgateway_push_failures_total[$__rate_interval]))"
         " or vector(0)", "failed {{status}}"),
    ], unit="short", w=8)
    b.panel("timeseries", "Time since last Pushgateway push", [
        ("time() - (\n  push_time_seconds\n  and on (job, instance, org, enterprise)\n  "
         f"{sel('copilot_exporter_last_success_timestamp_seconds')}\n)", "{{job}} " + scope_legend),
    ], unit="s", w=8, desc="Alert CopilotPushgatewayGroupStale fires above 6h.")
    b.panel("timeseries", "Remote-write samples", [
        ("sum by (result) (increase(copilot_exporter_remote_write_samples_total[$__rate_interval]))", "{{result}}"),
    ], unit="short", w=8, stack=True)
    b.panel("timeseries", "Invalid report lines", [
        ("sum by (report) (increase(copilot_exporter_invalid_report_lines_total[$__rate_interval]))", "{{report}}"),
    ], unit="short", w=8, desc="Lines of GitHub reports the exporter could not parse.")
    b.panel("timeseries", "/metrics requests", [
        ("sum(rate(copilot_exporter_requests_total[$__rate_interval]))", "requests/s"),
    ], unit="reqps", w=8)
    b.panel("table", "Exporter versions", [
        ("count by (version, job) (copilot_exporter_build_info)", ""),
    ], instant=True, w=8, options={"showHeader": True})
    return b.panels


def variable(name, label):
    q = f"label_values(copilot_report_day_timestamp_seconds, {name})"
    return {
        "name": name, "label": label, "type": "query", "datasource": DS,
        "definition": q, "query": {"query": q, "refId": f"{name}-values"},
        "refresh": 2, "sort": 1, "multi": True, "includeAll": True,
        # ".*" (not Grafana's default list of values) also matches series
        # without the label: org series have no enterprise label and vice versa.
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "hide": 0, "options": [], "regex": "", "skipUrlSync": False,
    }


def dashboard():
    return {
        "__inputs": [],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard",
        }]},
        "description": "GitHub Copilot usage metrics from copilot-metrics-exporter "
                       "(scraped, Pushgateway or remote-write; daily samples).",
        "editable": True,
        "graphTooltip": 1,
        "id": None,
        "links": [],
        "panels": build(),
        "refresh": "30m",
        "schemaVersion": 39,
        "tags": ["github", "copilot", "copilot-metrics-exporter"],
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource",
             "query": "prometheus", "current": {}, "hide": 0, "refresh": 1,
             "regex": "", "options": [], "skipUrlSync": False},
            variable("org", "Organization"),
            variable("enterprise", "Enterprise"),
        ]},
        "time": {"from": "now-30d", "to": "now"},
        "timepicker": {},
        "timezone": "utc",
        "title": "GitHub Copilot usage",
        "uid": "copilot-metrics-exporter",
        "version": 1,
    }


def main():
    text = json.dumps(dashboard(), indent=2) + "\n"
    if sys.argv[1:] == ["--check"]:
        if not OUT.exists() or OUT.read_text() != text:
            sys.exit(f"{OUT} is out of date: run scripts/gen-dashboard.py")
        return
    OUT.write_text(text)


if __name__ == "__main__":
    main()
