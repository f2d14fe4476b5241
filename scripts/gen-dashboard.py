#!/usr/bin/env python3
"""Generates dashboards/copilot.json, the Grafana dashboard.

Why a generator: ~50 queries share the same scope selector and daily-sample
windows, and panel ids/positions must be unique and tidy; writing them by
hand drifts. The JSON is committed (Grafana imports it as is); run
`scripts/gen-dashboard.py` after editing, `--check` verifies it is current.

Query rules (tests/packaging.rs checks them on the JSON; tests/end_to_end.rs
evaluates every stat on a real Prometheus fed by all three paths):
  * One scope kind at a time: $scope_type is `org` or `enterprise`, $scope the
    selected logins/slugs (All = ".+": only series that HAVE that label). An
    enterprise and its organizations are never added together.
  * Never count a value twice when it arrives by several paths (scraped
    /metrics, Pushgateway, remote-write: different `job`/`instance` or none).
    `day()` keeps, per scope, only the sources whose newest report day is the
    scope's newest (a report-day remote-write that still holds days back is
    dropped) and collapses the copies with `max by (<scope>, <dims>)`.
  * Report data is daily. Remote-write with REMOTE_WRITE_TIMESTAMPS=report-day
    stores ONE sample per day at 12:00 UTC of the day, so an instant selector
    finds nothing 5 minutes later. Every report-data selector is wrapped in
    `last_over_time(...[2d])` (graphs: the value of the day at each point; 2d
    bridges a day GitHub publishes late) or `[7d]` for "latest" stats (in
    report-day mode the newest day is held back by the settle days).
  * Rates are ratios of sums: sum(accepted) / sum(generated) over the same
    labels. Never average or sum per-language/per-IDE ratios (the old
    dashboard summed per-language rates and showed 300 %).
  * Only the Grafana variables $scope_type, $scope, $team and $__rate_interval
    appear in expressions (tests substitute them to run the queries).
  * Every panel has a description; report-data panels have a 1h minimum
    interval (daily data: finer steps only cost queries).
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "dashboards" / "copilot.json"
# The chart's copy, shipped as a ConfigMap (grafanaDashboard.enabled).
CHART_COPY = ROOT / "helm" / "copilot-metrics-exporter" / "files" / "copilot.json"
DS = {"type": "prometheus", "uid": "${datasource}"}
ST = "$scope_type"
SEL = f'{ST}=~"$scope"'
# Labels that tell one source (scrape target, Pushgateway group, remote-write
# stream without job/instance) of one scope from another.
SOURCE = f"{ST}, job, instance"
SCOPE_LEGEND = "{{org}}{{enterprise}}"
MIN_INTERVAL = "1h"


def sel(metric, extra=""):
    inner = SEL + ("," + extra if extra else "")
    return f"{metric}{{{inner}}}"


def newest_sources(window):
    """Report-day series of the sources that carry the scope's newest day."""
    rd = f"last_over_time({sel('copilot_report_day_timestamp_seconds')}[{window}])"
    return f"(\n    {rd}\n    == on ({ST}) group_left\n    max by ({ST}) ({rd})\n  )"


def day(metric, window="2d", extra="", by=""):
    """Value of the newest report day per scope (and `by` labels), each
    value counted once however many paths delivered it."""
    dims = f", {by}" if by else ""
    return (f"max by ({ST}{dims}) (\n  last_over_time({sel(metric, extra)}[{window}])\n"
            f"  and on ({SOURCE}) {newest_sources(window)}\n)")


def scope_total(metric, window="2d", extra=""):
    """Sum over the selected scopes (of one kind) of a per-scope gauge."""
    return f"sum(\n{day(metric, window, extra)}\n)"


def by_total(metric, by, window="2d", extra=""):
    return f"sum by ({by}) (\n{day(metric, window, extra, by=by)}\n)"


def ratio(num, den, by="", window="2d"):
    """Ratio of sums (never a sum of ratios)."""
    if by:
        return f"{by_total(num, by, window)}\n/\n{by_total(den, by, window)}"
    return f"{scope_total(num, window)}\n/\n{scope_total(den, window)}"


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
              instant=False, options=None, field=None, stack=False, daily=True):
        if not desc:
            raise SystemExit(f"panel {title!r} has no description")
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
        if daily:
            p["interval"] = MIN_INTERVAL
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
    one = " of the selected scopes (organizations OR enterprises, never both added)"

    b.row("Overview (latest report day)")
    b.stat("Report day", f"max(\n{day('copilot_report_day_timestamp_seconds', '7d')}\n) * 1000",
           unit="dateTimeAsIso",
           desc="Day the values below belong to (GitHub publishes a day about a day later; "
                "remote-write with report-day timestamps holds days back until they settle).")
    b.stat("Daily active users", scope_total("copilot_daily_active_users", "7d"),
           desc="Users active on the report day, summed over the selected scopes; a user "
                "active in two selected organizations counts twice.")
    b.stat("Weekly active users", scope_total("copilot_weekly_active_users", "7d"),
           desc="Users active in the 7 days up to the report day" + one + ".")
    b.stat("Monthly active users", scope_total("copilot_monthly_active_users", "7d"),
           desc="Users active in the calendar month up to the report day" + one + ".")
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
        (scope_total("copilot_monthly_active_users"), "monthly"),
    ], unit="short", desc="DAU / WAU / MAU per report day, summed over the selected scopes.")
    b.panel("timeseries", "Monthly chat, agent and daily CLI users", [
        (scope_total("copilot_monthly_active_chat_users"), "monthly chat"),
        (scope_total("copilot_monthly_active_agent_users"), "monthly agent"),
        (scope_total("copilot_daily_active_cli_users"), "daily CLI"),
    ], unit="short", desc="GitHub omits daily_active_cli_users on days without CLI use: gaps are zero.")
    b.panel("timeseries", "Daily active users by scope", [
        (day("copilot_daily_active_users"), SCOPE_LEGEND),
    ], unit="short", desc="One line per selected organization or enterprise.")
    b.panel("timeseries", "User-initiated interactions", [
        (scope_total("copilot_user_initiated_interaction"), "interactions"),
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
    ], unit="percentunit", field=pct, desc="Accepted / generated suggestions per IDE (ratio of sums).")
    b.panel("bargauge", "Acceptance rate by language (top 15 by suggestions, latest day)", [
        ("(\n" + ratio("copilot_code_acceptance_activity_by_language_feature",
                       "copilot_code_generation_activity_by_language_feature",
                       by="language", window="7d") + "\n)\nand on (language)\ntopk(15, "
         + by_total("copilot_code_generation_activity_by_language_feature", "language", "7d") + ")",
         "{{language}}"),
    ], unit="percentunit", field=pct, instant=True,
        desc="Accepted / generated suggestions per language, summed over features; "
             "the 15 languages with the most suggestions.",
        options={"orientation": "horizontal", "displayMode": "gradient",
                 "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}})
    b.panel("timeseries", "Acceptance rate by feature", [
        (ratio("copilot_code_acceptance_activity_by_feature", "copilot_code_generation_activity_by_feature",
               by="feature"), "{{feature}}"),
    ], unit="percentunit", field=pct,
        desc="Accepted / generated suggestions per feature (code completion, agent edit, chat modes).")
    b.panel("timeseries", "Suggestions and acceptances", [
        (scope_total("copilot_code_generation_activity"), "generated"),
        (scope_total("copilot_code_acceptance_activity"), "accepted"),
    ], unit="short", desc="Code suggestions shown and accepted per report day.")
    b.panel("timeseries", "Lines of code", [
        (scope_total("copilot_loc_suggested_to_add"), "suggested to add"),
        (scope_total("copilot_loc_added"), "added"),
        (scope_total("copilot_loc_suggested_to_delete"), "suggested to delete"),
        (scope_total("copilot_loc_deleted"), "deleted"),
    ], unit="short", desc="Lines suggested and accepted per report day.")

    b.row("Activity by IDE, feature, language and model")
    b.panel("timeseries", "Code generations by IDE", [
        (by_total("copilot_code_generation_activity_by_ide", "ide"), "{{ide}}"),
    ], unit="short", stack=True, w=8, desc="Suggestions shown per IDE, stacked.")
    b.panel("timeseries", "Code generations by feature", [
        (by_total("copilot_code_generation_activity_by_feature", "feature"), "{{feature}}"),
    ], unit="short", stack=True, w=8, desc="Suggestions shown per Copilot feature, stacked.")
    b.panel("timeseries", "Interactions by feature", [
        (by_total("copilot_user_initiated_interaction_by_feature", "feature"), "{{feature}}"),
    ], unit="short", stack=True, w=8, desc="User-initiated interactions per feature, stacked.")
    b.panel("timeseries", "Code generations by language (top 10)", [
        (f"topk(10, {by_total('copilot_code_generation_activity_by_language_feature', 'language')})",
         "{{language}}"),
    ], unit="short", w=8, desc="Suggestions shown per language (summed over features), the 10 largest.")
    b.panel("timeseries", "Code generations by model", [
        (by_total("copilot_code_generation_activity_by_model_feature", "model"), "{{model}}"),
    ], unit="short", stack=True, w=8, desc="Suggestions shown per model (summed over features), stacked.")
    b.panel("timeseries", "Lines added by IDE", [
        (by_total("copilot_loc_added_by_ide", "ide"), "{{ide}}"),
    ], unit="short", stack=True, w=8, desc="Lines added from suggestions per IDE, stacked.")
    b.panel("timeseries", "Copilot CLI", [
        (scope_total("copilot_cli_session"), "sessions"),
        (scope_total("copilot_cli_request"), "requests"),
    ], unit="short", desc="Copilot CLI sessions and requests per report day.")
    b.panel("timeseries", "Copilot CLI output tokens", [
        (scope_total("copilot_cli_token_usage_output_tokens"), "output tokens"),
    ], unit="short", desc="Output tokens of Copilot CLI per report day.")

    b.row("Pull requests")
    b.panel("timeseries", "Pull requests", [
        (scope_total("copilot_pull_requests_total_created"), "created"),
        (scope_total("copilot_pull_requests_total_merged"), "merged"),
        (scope_total("copilot_pull_requests_total_created_by_copilot"), "created by Copilot"),
        (scope_total("copilot_pull_requests_total_merged_created_by_copilot"), "merged, created by Copilot"),
    ], unit="short", w=8, desc="Pull requests created and merged per report day, all and by Copilot.")
    b.panel("timeseries", "Median time to merge", [
        # The exporter converts GitHub's minutes to seconds (base units).
        (day("copilot_pull_requests_median_seconds_to_merge"), "all PRs " + SCOPE_LEGEND),
        (day("copilot_pull_requests_median_seconds_to_merge_copilot_authored"),
         "Copilot-authored " + SCOPE_LEGEND),
    ], unit="s", w=8, desc="Medians cannot be combined across scopes: one line per scope.")
    b.panel("timeseries", "Copilot review suggestions by comment type", [
        (by_total("copilot_pull_requests_total_copilot_suggestions_by_comment_type", "comment_type"),
         "{{comment_type}}"),
    ], unit="short", stack=True, w=8, desc="Suggestions made by Copilot code review, per comment type.")

    b.row("Seats")
    b.stat("Seats", scope_total("copilot_seats", "7d"), w=4,
           desc="Copilot seats assigned" + one + ".")
    b.stat("Active this cycle", scope_total("copilot_seats_active_this_cycle", "7d"), w=4,
           desc="Seats used in the current billing cycle.")
    b.stat("Inactive this cycle", scope_total("copilot_seats_inactive_this_cycle", "7d"), w=4,
           desc="Seats not used in the current billing cycle.")
    b.stat("Idle 30 days", scope_total("copilot_seats_idle", "7d", 'window="30d"'), w=4,
           desc="Seats without Copilot activity for 30 days: candidates for reassignment.")
    b.stat("Pending cancellation", scope_total("copilot_seats_pending_cancellation", "7d"), w=4,
           desc="Seats that end with the billing cycle.")
    b.stat("Pending invitation", scope_total("copilot_seats_pending_invitation", "7d"), w=4,
           desc="Seats assigned to users who have not accepted the invitation yet.")
    b.panel("timeseries", "Seats over time", [
        (scope_total("copilot_seats"), "total"),
        (scope_total("copilot_seats_active_this_cycle"), "active this cycle"),
        (scope_total("copilot_seats_inactive_this_cycle"), "inactive this cycle"),
        (scope_total("copilot_seats_added_this_cycle"), "added this cycle"),
    ], unit="short", w=8, desc="Seat counts over time, summed over the selected scopes.")
    b.panel("timeseries", "Idle seats", [
        (by_total("copilot_seats_idle", "window"), "idle {{window}}"),
    ], unit="short", w=8, desc="Seats without activity for each idle window.")
    b.panel("piechart", "Seats by editor", [
        (by_total("copilot_seats_by_editor", "editor", "7d"), "{{editor}}"),
    ], instant=True, w=4, desc="Seats by the editor last used.",
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                 "legend": {"displayMode": "table", "placement": "right", "showLegend": True}})
    b.panel("piechart", "Seats by plan", [
        (by_total("copilot_seats_by_plan_type", "plan_type", "7d"), "{{plan_type}}"),
    ], instant=True, w=4, desc="Seats by plan (business, enterprise).",
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                 "legend": {"displayMode": "table", "placement": "right", "showLegend": True}})

    b.row("Teams")
    team = 'team=~"$team"'
    b.panel("timeseries", "Daily active users by team (top 15)", [
        (f"topk(15, {by_total('copilot_team_daily_active_users', 'team', extra=team)})", "{{team}}"),
    ], unit="short", w=8,
        desc="Needs TEAMS=true. A user on two teams counts in both; teams under five seats are absent.")
    b.panel("bargauge", "Acceptance rate by team (latest day)", [
        (f"{by_total('copilot_team_code_acceptance_activity', 'team', '7d', team)}\n/\n"
         f"{by_total('copilot_team_code_generation_activity', 'team', '7d', team)}", "{{team}}"),
    ], unit="percentunit", field=pct, instant=True, w=8,
        desc="Accepted / generated suggestions of each team's members (ratio of sums).",
        options={"orientation": "horizontal", "displayMode": "gradient",
                 "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}})
    b.panel("timeseries", "Lines added by team (top 15)", [
        (f"topk(15, {by_total('copilot_team_loc_added', 'team', extra=team)})", "{{team}}"),
    ], unit="short", w=8, desc="Lines added from suggestions by each team's members.")

    b.row("Exporter health")
    health = {"daily": False}
    b.panel("timeseries", "Time since last successful collection", [
        (f"time() - max by ({ST}) ({sel('copilot_exporter_last_success_timestamp_seconds')})",
         SCOPE_LEGEND),
    ], unit="s", w=8, **health,
        desc="Alert CopilotExporterNoRecentSuccess fires when this exceeds the schedule interval plus slack.")
    b.panel("timeseries", "Age of the newest report day", [
        (f"time() - max by ({ST}) (max_over_time({sel('copilot_report_day_timestamp_seconds')}[14d]))",
         SCOPE_LEGEND),
    ], unit="s", w=8, **health,
        desc="Normally 1-3 days; settle days more with report-day timestamps (alert CopilotMetricsDataStale).")
    b.panel("timeseries", "Last collection succeeded", [
        (f"min by ({ST}) ({sel('copilot_exporter_collect_success')})", SCOPE_LEGEND),
    ], w=8, field={"min": 0, "max": 1}, **health,
        desc="1 = the last attempt succeeded, 0 = it failed (alert CopilotExporterCollectionFailing).")
    b.panel("timeseries", "GitHub API errors by reason", [
        ("sum by (reason) (increase(copilot_exporter_github_failures_total[$__rate_interval]))", "{{reason}}"),
        # No failure yet means no status_code series: show 0, not "No data".
        ("sum by (status_code) (increase(copilot_exporter_requests_failed_total[$__rate_interval])) or vector(0)",
         "HTTP {{status_code}}"),
    ], unit="short", w=8, stack=True, **health,
        desc="bad_credentials / forbidden / policy_disabled need a human (alert CopilotExporterGitHubAuthError).")
    b.panel("timeseries", "GitHub API requests and cache hits", [
        ("sum(rate(copilot_exporter_github_api_requests_total[$__rate_interval]))", "API requests/s"),
        ("sum(rate(copilot_exporter_cache_hits_total[$__rate_interval]))", "cache hits/s"),
    ], unit="reqps", w=8, **health, desc="Calls to GitHub and scrapes answered from the snapshot.")
    b.panel("timeseries", "Collection duration", [
        (f"max by ({ST}) ({sel('copilot_exporter_collect_duration_seconds')})", SCOPE_LEGEND),
    ], unit="s", w=8, **health, desc="Duration of the last collection attempt per scope.")
    b.panel("timeseries", "Pushgateway pushes", [
        ("sum by (result) (increase(copilot_exporter_pushgateway_pushes_total[$__rate_interval]))", "{{result}}"),
        ("sum by (status) (increase(copilot_exporter_pushgateway_push_failures_total[$__rate_interval]))"
         " or vector(0)", "failed {{status}}"),
    ], unit="short", w=8, **health, desc="Groups pushed and failed push attempts (by HTTP status).")
    b.panel("timeseries", "Time since last Pushgateway push", [
        ("time() - max by (job, org, enterprise) (\n  push_time_seconds\n  and on (job, instance, org, enterprise)\n  "
         f"{sel('copilot_exporter_last_success_timestamp_seconds')}\n)", "{{job}} " + SCOPE_LEGEND),
    ], unit="s", w=8, **health,
        desc="Age of each Pushgateway group of the exporter (alert CopilotPushgatewayGroupStale).")
    b.panel("timeseries", "Remote-write samples", [
        ("sum by (result) (increase(copilot_exporter_remote_write_samples_total[$__rate_interval]))", "{{result}}"),
    ], unit="short", w=8, stack=True, **health,
        desc="Samples sent, retried, rejected (4xx) and failed (alert CopilotExporterRemoteWriteFailing).")
    b.panel("timeseries", "Invalid report lines", [
        ("sum by (report) (increase(copilot_exporter_invalid_report_lines_total[$__rate_interval]))", "{{report}}"),
    ], unit="short", w=8, **health, desc="Lines of GitHub reports the exporter could not parse.")
    b.panel("timeseries", "/metrics requests", [
        ("sum(rate(copilot_exporter_requests_total[$__rate_interval]))", "requests/s"),
    ], unit="reqps", w=8, **health, desc="Scrapes of the exporter's /metrics endpoint.")
    b.panel("table", "Exporter versions", [
        ("count by (version, job) (copilot_exporter_build_info)", ""),
    ], instant=True, w=8, options={"showHeader": True}, **health,
        desc="Versions of the exporter reporting, per job.")
    return b.panels


def query_variable(name, label, query, all_value, multi=True, desc=""):
    return {
        "name": name, "label": label, "description": desc, "type": "query", "datasource": DS,
        "definition": query, "query": {"query": query, "refId": f"{name}-values"},
        "refresh": 2, "sort": 1, "multi": multi, "includeAll": True,
        "allValue": all_value,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "hide": 0, "options": [], "regex": "", "skipUrlSync": False,
    }


def variables():
    scope_type = {
        "name": "scope_type", "label": "Scope", "type": "custom",
        "description": "Show organizations or enterprises. An enterprise's numbers already "
                       "include its organizations, so the two are never added together.",
        "query": "org,enterprise", "multi": False, "includeAll": False,
        "current": {"selected": True, "text": "org", "value": "org"},
        "options": [
            {"selected": True, "text": "org", "value": "org"},
            {"selected": False, "text": "enterprise", "value": "enterprise"},
        ],
        "hide": 0, "skipUrlSync": False,
    }
    return [
        {"name": "datasource", "label": "Data source", "type": "datasource",
         "query": "prometheus", "hide": 0, "refresh": 1, "regex": "", "options": [],
         "skipUrlSync": False,
         # Chosen on import from grafana.com (__inputs); provisioned copies
         # fall back to the default Prometheus data source.
         "current": {"selected": False, "text": "${DS_PROMETHEUS}", "value": "${DS_PROMETHEUS}"}},
        scope_type,
        # ".+" for All: only series that carry the chosen scope label.
        query_variable("scope", "Organization / enterprise",
                       'label_values(copilot_report_day_timestamp_seconds{$scope_type!=""}, $scope_type)', ".+",
                       desc="Logins or slugs of the chosen scope kind."),
        query_variable("team", "Team",
                       'label_values(copilot_team_daily_active_users{$scope_type=~"$scope"}, team)', ".+",
                       desc="Teams (TEAMS=true) of the selected scopes; filters the Teams row."),
    ]


def dashboard():
    return {
        "__inputs": [{
            "name": "DS_PROMETHEUS", "label": "Prometheus", "description": "Prometheus (or Mimir, "
            "Thanos, VictoriaMetrics) holding the exporter's metrics",
            "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus",
        }],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
            {"type": "panel", "id": "bargauge", "name": "Bar gauge", "version": ""},
            {"type": "panel", "id": "piechart", "name": "Pie chart", "version": ""},
            {"type": "panel", "id": "table", "name": "Table", "version": ""},
        ],
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
        "templating": {"list": variables()},
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
        for out in (OUT, CHART_COPY):
            if not out.exists() or out.read_text() != text:
                sys.exit(f"{out} is out of date: run scripts/gen-dashboard.py")
        return
    OUT.write_text(text)
    CHART_COPY.write_text(text)


if __name__ == "__main__":
    main()
