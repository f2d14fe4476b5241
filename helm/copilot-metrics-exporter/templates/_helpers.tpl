{{/* Chart name, truncated to the 63-character DNS label limit. */}}
{{- define "cme.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release + chart name, without repeating the chart name. */}}
{{- define "cme.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "cme.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cme.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{/* Selector labels: immutable on Deployments, keep them minimal. */}}
{{- define "cme.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cme.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cme.labels" -}}
helm.sh/chart: {{ include "cme.chart" . }}
{{ include "cme.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: exporter
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "cme.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cme.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* registry/repository:tag@digest; global.imageRegistry wins. */}}
{{- define "cme.image" -}}
{{- $registry := .Values.global.imageRegistry | default .Values.image.registry }}
{{- $ref := .Values.image.repository }}
{{- if $registry }}{{ $ref = printf "%s/%s" $registry $ref }}{{ end }}
{{- $ref = printf "%s:%s" $ref (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- if .Values.image.digest }}{{ $ref = printf "%s@%s" $ref .Values.image.digest }}{{ end }}
{{- $ref }}
{{- end }}

{{/*
Credentials. ONE place decides the Secret name, which keys are in use, and
each key's name and mount path; secret.yaml and the pod spec both call these
helpers, so the chart-managed Secret, an existing Secret and the pod always
agree on key names.
*/}}
{{- define "cme.secretName" -}}
{{- .Values.existingSecret | default (include "cme.fullname" .) }}
{{- end }}

{{- define "cme.secretMountPath" -}}/etc/copilot-metrics-exporter/secrets{{- end }}

{{/*
The credentials in use, as a JSON list of {id, key, env, value}:
  id    -> name in .Values.secretKeys
  key   -> key name inside the Secret (from secretKeys)
  env   -> the *_FILE variable pointing at the mounted key
  value -> the inline value (used only when the chart creates the Secret)
*/}}
{{- define "cme.credentials" -}}
{{- $v := .Values }}
{{- $out := list }}
{{- if not $v.demo }}
{{- if eq $v.github.auth "app" }}
{{- $out = append $out (dict "id" "githubAppPrivateKey" "env" "GITHUB_APP_PRIVATE_KEY_FILE" "value" $v.github.app.privateKey "what" "github.app.privateKey") }}
{{- else }}
{{- $out = append $out (dict "id" "githubToken" "env" "GHC_TOKEN_FILE" "value" $v.github.token "what" "github.token") }}
{{- end }}
{{- end }}
{{- $pgAuth := include "cme.pushgatewayAuth" . }}
{{- if and $v.pushgateway.enabled (eq $pgAuth "basic") }}
{{- $out = append $out (dict "id" "pushgatewayPassword" "env" "PUSHGATEWAY_PASSWORD_FILE" "value" $v.pushgateway.password "what" "pushgateway.password") }}
{{- else if and $v.pushgateway.enabled (eq $pgAuth "bearer") }}
{{- $out = append $out (dict "id" "pushgatewayBearerToken" "env" "PUSHGATEWAY_BEARER_TOKEN_FILE" "value" $v.pushgateway.bearerToken "what" "pushgateway.bearerToken") }}
{{- end }}
{{- if $v.remoteWrite.enabled }}
{{- if eq $v.remoteWrite.auth "bearer" }}
{{- $out = append $out (dict "id" "remoteWriteBearerToken" "env" "REMOTE_WRITE_BEARER_TOKEN_FILE" "value" $v.remoteWrite.bearerToken "what" "remoteWrite.bearerToken") }}
{{- else if eq $v.remoteWrite.auth "basic" }}
{{- $out = append $out (dict "id" "remoteWritePassword" "env" "REMOTE_WRITE_PASSWORD_FILE" "value" $v.remoteWrite.password "what" "remoteWrite.password") }}
{{- end }}
{{- end }}
{{- $res := list }}
{{- range $out }}
{{- $key := index $v.secretKeys .id }}
{{- if not $key }}{{ fail (printf "secretKeys.%s must not be empty" .id) }}{{ end }}
{{- $res = append $res (merge (dict "key" $key) .) }}
{{- end }}
{{- toJson $res }}
{{- end }}

{{/* The Pushgateway auth in effect: `pushgateway.auth`, where `none` with a
`username` means `basic` (the chart's behaviour before `auth` existed). */}}
{{- define "cme.pushgatewayAuth" -}}
{{- $pg := .Values.pushgateway }}
{{- $auth := $pg.auth | default "none" }}
{{- if and (eq $auth "none") $pg.username }}basic{{ else }}{{ $auth }}{{ end }}
{{- end }}

{{/* `name=value,…` of a map, sorted by name (REMOTE_WRITE_HEADERS,
PUSHGATEWAY_HEADERS, EXTERNAL_LABELS). */}}
{{- define "cme.pairs" -}}
{{- $pairs := list }}
{{- range $name, $value := . }}
{{- $pairs = append $pairs (printf "%s=%s" $name (toString $value)) }}
{{- end }}
{{- $pairs | join "," }}
{{- end }}

{{/*
Checks that need more than the JSON schema can express, each failing with a
message that names the value to set. They run when the chart is installed,
upgraded or rendered (`helm template` counts as an install); `helm lint`
renders as neither, so the default values lint clean (`helm lint --strict`)
while an install with them says what is missing.
*/}}
{{- define "cme.validate" -}}
{{- if or .Release.IsInstall .Release.IsUpgrade }}
{{- $v := .Values }}
{{- if and (not $v.demo) (not $v.github.orgs) (not $v.github.enterprises) }}
{{- fail "\n\ncopilot-metrics-exporter: set github.orgs and/or github.enterprises (the organizations / enterprises to collect), or demo=true to try the chart on sample data" }}
{{- end }}
{{- if and (not $v.demo) (eq $v.github.auth "app") (not $v.github.app.id) }}
{{- fail "\n\ncopilot-metrics-exporter: github.auth=app needs github.app.id (github.app.installationId is optional: the exporter discovers the installation of each organization and enterprise)" }}
{{- end }}
{{- if not $v.existingSecret }}
{{- range (include "cme.credentials" . | fromJsonArray) }}
{{- if not .value }}
{{- fail (printf "\n\ncopilot-metrics-exporter: %s is required (or put it in a Secret and set existingSecret)" .what) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and (eq $v.mode "cronjob") (not $v.pushgateway.enabled) (not $v.remoteWrite.enabled) }}
{{- fail "\n\ncopilot-metrics-exporter: mode=cronjob has no /metrics endpoint: set pushgateway.enabled=true with pushgateway.url, and/or remoteWrite.enabled=true with remoteWrite.url (or mode=deployment)" }}
{{- end }}
{{- if and $v.pushgateway.enabled (not $v.pushgateway.url) }}
{{- fail "\n\ncopilot-metrics-exporter: pushgateway.enabled needs pushgateway.url" }}
{{- end }}
{{- if and $v.remoteWrite.enabled (not $v.remoteWrite.url) }}
{{- fail "\n\ncopilot-metrics-exporter: remoteWrite.enabled needs remoteWrite.url" }}
{{- end }}
{{- if and $v.pushgateway.enabled (eq (include "cme.pushgatewayAuth" .) "basic") (not $v.pushgateway.username) }}
{{- fail "\n\ncopilot-metrics-exporter: pushgateway.auth=basic needs pushgateway.username" }}
{{- end }}
{{- if and $v.pushgateway.enabled (eq $v.pushgateway.auth "bearer") $v.pushgateway.username }}
{{- fail "\n\ncopilot-metrics-exporter: pushgateway.auth=bearer excludes basic auth: leave pushgateway.username empty" }}
{{- end }}
{{- if and $v.remoteWrite.enabled (eq $v.remoteWrite.auth "basic") (not $v.remoteWrite.username) }}
{{- fail "\n\ncopilot-metrics-exporter: remoteWrite.auth=basic needs remoteWrite.username" }}
{{- end }}
{{- if and (eq $v.mode "cronjob") $v.remoteWrite.enabled (eq $v.remoteWrite.timestamps "report-day") (or (not $v.state.enabled) (ne $v.state.type "pvc")) }}
{{- fail "\n\ncopilot-metrics-exporter: remoteWrite.timestamps=report-day in mode=cronjob needs persistent state: set state.enabled=true and state.type=pvc (each run is a new pod; without the per-scope mark every run would resend the whole backfill)" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Whether the state volume is mounted. */}}
{{- define "cme.stateClaimName" -}}
{{- .Values.state.pvc.existingClaim | default (printf "%s-state" (include "cme.fullname" .)) }}
{{- end }}

{{/* Environment of the exporter container: every setting by its env var. */}}
{{- define "cme.env" -}}
{{- $v := .Values }}
{{- $orgs := $v.github.orgs | join "," }}
{{- $ents := $v.github.enterprises | join "," -}}
- name: LISTEN_ADDR
  value: {{ if and (eq $v.mode "deployment") (not .checkMode) }}{{ $v.listenAddress | quote }}{{ else }}""{{ end }}
{{- if $orgs }}
- name: ORG
  value: {{ $orgs | quote }}
{{- end }}
{{- if $ents }}
- name: ENTERPRISE
  value: {{ $ents | quote }}
{{- end }}
- name: GITHUB_API_URL
  value: {{ $v.github.apiUrl | quote }}
{{- if and (eq $v.github.auth "app") (not $v.demo) }}
- name: GITHUB_APP_ID
  value: {{ $v.github.app.id | toString | quote }}
{{- /* Unset: the exporter discovers the installation per org/enterprise. */}}
{{- if $v.github.app.installationId }}
- name: GITHUB_APP_INSTALLATION_ID
  value: {{ $v.github.app.installationId | toString | quote }}
{{- end }}
{{- end }}
{{- if $v.github.caBundle.configMap }}
- name: GITHUB_CA_FILE
  value: {{ printf "/etc/copilot-metrics-exporter/github-ca/%s" $v.github.caBundle.key | quote }}
{{- end }}
- name: CACHE_TTL_SECONDS
  value: {{ $v.collection.cacheTtlSeconds | toString | quote }}
{{- if and (eq $v.mode "deployment") $v.collection.schedule }}
- name: SCHEDULE
  value: {{ $v.collection.schedule | quote }}
{{- end }}
- name: TEAMS
  value: {{ $v.collection.teams | toString | quote }}
- name: SEATS
  value: {{ $v.collection.seats | toString | quote }}
- name: USER_METRICS
  value: {{ $v.collection.userMetrics | quote }}
{{- if $v.collection.userMetricsMax }}
- name: USER_METRICS_MAX
  value: {{ $v.collection.userMetricsMax | toString | quote }}
{{- end }}
- name: REPO_METRICS
  value: {{ $v.collection.repoMetrics | toString | quote }}
{{- with $v.collection.teamBreakdowns }}
- name: TEAM_BREAKDOWNS
  value: {{ . | quote }}
{{- end }}
{{- with $v.collection.userBreakdowns }}
- name: USER_BREAKDOWNS
  value: {{ . | quote }}
{{- end }}
{{- with $v.collection.metricsInclude }}
- name: METRICS_INCLUDE
  value: {{ . | quote }}
{{- end }}
{{- with $v.collection.metricsExclude }}
- name: METRICS_EXCLUDE
  value: {{ . | quote }}
{{- end }}
- name: LOG_FORMAT
  value: {{ $v.log.format | quote }}
- name: LOG_LEVEL
  value: {{ $v.log.level | quote }}
{{- if $v.pushgateway.enabled }}
- name: PUSHGATEWAY_URL
  value: {{ $v.pushgateway.url | quote }}
- name: PUSHGATEWAY_JOB
  value: {{ $v.pushgateway.job | quote }}
{{- if eq (include "cme.pushgatewayAuth" .) "basic" }}
- name: PUSHGATEWAY_USERNAME
  value: {{ $v.pushgateway.username | quote }}
{{- end }}
{{- if $v.pushgateway.headers }}
- name: PUSHGATEWAY_HEADERS
  value: {{ include "cme.pairs" $v.pushgateway.headers | quote }}
{{- end }}
{{- if $v.pushgateway.caBundle.configMap }}
- name: PUSHGATEWAY_CA_FILE
  value: {{ printf "/etc/copilot-metrics-exporter/pushgateway-ca/%s" $v.pushgateway.caBundle.key | quote }}
{{- end }}
{{- end }}
{{- if and $v.externalLabels (or $v.pushgateway.enabled $v.remoteWrite.enabled) }}
- name: EXTERNAL_LABELS
  value: {{ include "cme.pairs" $v.externalLabels | quote }}
{{- end }}
{{- if $v.remoteWrite.enabled }}
- name: REMOTE_WRITE_URL
  value: {{ $v.remoteWrite.url | quote }}
{{- if $v.remoteWrite.headers }}
- name: REMOTE_WRITE_HEADERS
  value: {{ include "cme.pairs" $v.remoteWrite.headers | quote }}
{{- end }}
{{- if eq $v.remoteWrite.auth "basic" }}
- name: REMOTE_WRITE_USERNAME
  value: {{ $v.remoteWrite.username | quote }}
{{- end }}
{{- if $v.remoteWrite.caBundle.configMap }}
- name: REMOTE_WRITE_CA_FILE
  value: {{ printf "/etc/copilot-metrics-exporter/remote-write-ca/%s" $v.remoteWrite.caBundle.key | quote }}
{{- end }}
- name: REMOTE_WRITE_TIMESTAMPS
  value: {{ $v.remoteWrite.timestamps | quote }}
- name: REMOTE_WRITE_SETTLE_DAYS
  value: {{ $v.remoteWrite.settleDays | toString | quote }}
- name: BACKFILL_DAYS
  value: {{ $v.remoteWrite.backfillDays | toString | quote }}
{{- if eq $v.mode "deployment" }}
- name: REMOTE_WRITE_INTERVAL_SECONDS
  value: {{ $v.remoteWrite.intervalSeconds | toString | quote }}
{{- end }}
{{- end }}
{{- if and $v.state.enabled (not .checkMode) }}
- name: STATE_DIR
  value: {{ $v.state.mountPath | quote }}
{{- end }}
{{- range (include "cme.credentials" . | fromJsonArray) }}
- name: {{ .env }}
  value: {{ printf "%s/%s" (include "cme.secretMountPath" $) .key | quote }}
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The pod spec, shared by the CronJob and the Deployment so both modes get the
same hardened settings.
*/}}
{{- define "cme.podSpec" -}}
{{- $v := .Values }}
{{- $creds := include "cme.credentials" . | fromJsonArray -}}
serviceAccountName: {{ include "cme.serviceAccountName" . }}
automountServiceAccountToken: {{ $v.automountServiceAccountToken }}
{{- $pullSecrets := concat ($v.global.imagePullSecrets | default list) ($v.imagePullSecrets | default list) }}
{{- with $pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ if kindIs "map" . }}{{ .name }}{{ else }}{{ . }}{{ end }}
{{- end }}
{{- end }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- if or (eq $v.mode "cronjob") .checkMode }}
restartPolicy: Never
{{- end }}
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
{{- with $v.extraInitContainers }}
initContainers:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: exporter
    image: {{ include "cme.image" . | quote }}
    imagePullPolicy: {{ $v.image.pullPolicy }}
    {{- $args := list }}
    {{- if .checkMode }}{{ $args = append $args "--check" }}
    {{- else if eq $v.mode "cronjob" }}{{ $args = append $args "--once" }}{{ end }}
    {{- if $v.demo }}{{ $args = append $args "--demo" }}{{ end }}
    {{- $args = concat $args ($v.extraArgs | default list) }}
    {{- with $args }}
    args:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    env:
      {{- include "cme.env" . | nindent 6 }}
    {{- with $v.extraEnvFrom }}
    envFrom:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- if and (eq $v.mode "deployment") (not .checkMode) }}
    ports:
      - name: http
        containerPort: 8000
        protocol: TCP
    {{- with $v.deployment.livenessProbe }}
    livenessProbe:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with $v.deployment.readinessProbe }}
    readinessProbe:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- end }}
    securityContext:
      {{- toYaml $v.securityContext | nindent 6 }}
    {{- with $v.resources }}
    resources:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    volumeMounts:
      # Writable scratch space: the root filesystem is read-only.
      - name: tmp
        mountPath: /tmp
      {{- if $creds }}
      - name: credentials
        mountPath: {{ include "cme.secretMountPath" . }}
        readOnly: true
      {{- end }}
      {{- if $v.github.caBundle.configMap }}
      - name: github-ca
        mountPath: /etc/copilot-metrics-exporter/github-ca
        readOnly: true
      {{- end }}
      {{- if and $v.pushgateway.enabled $v.pushgateway.caBundle.configMap }}
      - name: pushgateway-ca
        mountPath: /etc/copilot-metrics-exporter/pushgateway-ca
        readOnly: true
      {{- end }}
      {{- if and $v.remoteWrite.enabled $v.remoteWrite.caBundle.configMap }}
      - name: remote-write-ca
        mountPath: /etc/copilot-metrics-exporter/remote-write-ca
        readOnly: true
      {{- end }}
      {{- if and $v.state.enabled (not .checkMode) }}
      - name: state
        mountPath: {{ $v.state.mountPath }}
      {{- end }}
      {{- with $v.extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
  {{- if not .checkMode }}
  {{- with $v.extraContainers }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  {{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
  {{- if $creds }}
  - name: credentials
    secret:
      secretName: {{ include "cme.secretName" . }}
      defaultMode: 0440
      # Only the keys in use, so an existing Secret needs no unused keys and
      # a missing key fails the pod start loudly.
      items:
        {{- range $creds }}
        - key: {{ .key }}
          path: {{ .key }}
        {{- end }}
  {{- end }}
  {{- if $v.github.caBundle.configMap }}
  - name: github-ca
    configMap:
      name: {{ $v.github.caBundle.configMap }}
  {{- end }}
  {{- if and $v.pushgateway.enabled $v.pushgateway.caBundle.configMap }}
  - name: pushgateway-ca
    configMap:
      name: {{ $v.pushgateway.caBundle.configMap }}
  {{- end }}
  {{- if and $v.remoteWrite.enabled $v.remoteWrite.caBundle.configMap }}
  - name: remote-write-ca
    configMap:
      name: {{ $v.remoteWrite.caBundle.configMap }}
  {{- end }}
  {{- if and $v.state.enabled (not .checkMode) }}
  - name: state
    {{- if eq $v.state.type "pvc" }}
    persistentVolumeClaim:
      claimName: {{ include "cme.stateClaimName" . }}
    {{- else }}
    emptyDir: {}
    {{- end }}
  {{- end }}
  {{- with $v.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Pod template metadata shared by both modes. */}}
{{- define "cme.podMetadata" -}}
labels:
  {{- include "cme.selectorLabels" . | nindent 2 }}
  {{- with .Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
annotations:
  # Roll pods when chart-managed credentials change.
  checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
  {{- with .Values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/*
Seconds between two runs of a cron schedule, for the common shapes:
@hourly/@daily/@weekly, "M * * * *", every N minutes ("*" slash N in the
minute field), every N hours ("M", then "*" slash N), "M H * * *" (a comma list of hours counts as daily: the longest gap is at
most a day), "M H * * D" (weekly). A leading seconds field is dropped.
0 when the shape is not recognised.
*/}}
{{- define "cme.cronSeconds" -}}
{{- $s := trim (toString .) -}}
{{- $macros := dict "@hourly" 3600 "@daily" 86400 "@midnight" 86400 "@weekly" 604800 -}}
{{- if hasKey $macros $s -}}
{{- index $macros $s -}}
{{- else -}}
{{- $f := regexSplit "\\s+" $s -1 -}}
{{- if eq (len $f) 6 }}{{ $f = rest $f }}{{ end -}}
{{- if eq (len $f) 7 }}{{ $f = initial (rest $f) }}{{ end -}}
{{- $num := "^[0-9]+$" -}}
{{- $step := "^\\*/[0-9]+$" -}}
{{- if and (eq (len $f) 5) (eq (index $f 2) "*") (eq (index $f 3) "*") -}}
{{- $m := index $f 0 }}{{ $h := index $f 1 }}{{ $dow := index $f 4 -}}
{{- if and (regexMatch $num $m) (eq $h "*") (eq $dow "*") -}}
3600
{{- else if and (regexMatch $step $m) (eq $h "*") (eq $dow "*") -}}
{{- mul 60 (trimPrefix "*/" $m | int) -}}
{{- else if and (regexMatch $num $m) (regexMatch $step $h) (eq $dow "*") -}}
{{- mul 3600 (trimPrefix "*/" $h | int) -}}
{{- else if and (regexMatch $num $m) (regexMatch "^[0-9]+(,[0-9]+)*$" $h) (eq $dow "*") -}}
86400
{{- else if and (regexMatch $num $m) (regexMatch $num $h) (regexMatch $num $dow) -}}
604800
{{- else -}}
0
{{- end -}}
{{- else -}}
0
{{- end -}}
{{- end -}}
{{- end }}

{{/*
Seconds between two collections, which the alert thresholds scale with:
prometheusRule.intervalSeconds, else derived from cronjob.schedule (cronjob
mode) or collection.schedule / collection.cacheTtlSeconds (deployment mode).
*/}}
{{- define "cme.intervalSeconds" -}}
{{- $v := .Values -}}
{{- if $v.prometheusRule.intervalSeconds -}}
{{- $v.prometheusRule.intervalSeconds | int -}}
{{- else -}}
{{- $schedule := "" -}}
{{- $what := "" -}}
{{- if eq $v.mode "cronjob" }}{{ $schedule = $v.cronjob.schedule }}{{ $what = "cronjob.schedule" }}
{{- else if $v.collection.schedule }}{{ $schedule = $v.collection.schedule }}{{ $what = "collection.schedule" }}{{ end -}}
{{- if $schedule -}}
{{- $s := include "cme.cronSeconds" $schedule | int -}}
{{- if not $s -}}
{{- fail (printf "prometheusRule.intervalSeconds is needed: the alert thresholds follow the collection interval, which cannot be derived from %s %q; set prometheusRule.intervalSeconds to the seconds between two runs" $what $schedule) -}}
{{- end -}}
{{- $s -}}
{{- else -}}
{{- $v.collection.cacheTtlSeconds | int -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/*
One alerting rule. Input: dict name, expr, summary, description, ctx (root),
threshold (seconds, for the description). Per-alert settings come from
prometheusRule.alerts.<name>: enabled, for, severity, labels. Prometheus
template braces in summary/description are written [[ ]] here.
*/}}
{{- define "cme.alertRule" -}}
{{- $pr := .ctx.Values.prometheusRule -}}
{{- $a := index $pr.alerts .name | default dict -}}
{{- if and (ne (toString $a.enabled) "false") (not (has .name ($pr.disabledAlerts | default list))) }}
- alert: {{ .name }}
  expr: |
    {{- .expr | trim | nindent 4 }}
  {{- with $a.for }}
  for: {{ . }}
  {{- end }}
  labels:
    {{- toYaml (merge (dict "severity" ($a.severity | default "warning")) ($a.labels | default dict) ($pr.extraLabels | default dict)) | nindent 4 }}
  annotations:
    summary: {{ .summary | replace "[[" "{{" | replace "]]" "}}" | quote }}
    description: {{ .description | replace "[[" "{{" | replace "]]" "}}" | quote }}
    runbook_url: {{ printf "%s#%s" (trimSuffix "/" $pr.runbookUrl) (lower .name) | quote }}
{{- end }}
{{- end }}

{{/* Seconds as a short duration for alert texts: 26h, 4d, 90m. */}}
{{- define "cme.duration" -}}
{{- $s := int . -}}
{{- if eq (mod $s 86400) 0 }}{{ div $s 86400 }}d
{{- else if eq (mod $s 3600) 0 }}{{ div $s 3600 }}h
{{- else if eq (mod $s 60) 0 }}{{ div $s 60 }}m
{{- else }}{{ $s }}s{{ end -}}
{{- end }}
