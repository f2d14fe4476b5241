#!/usr/bin/env python3
"""Writes helm/copilot-metrics-exporter/values.schema.json (JSON Schema draft-07).

The schema is kept as Python here because JSON cannot hold comments and the
per-mode rules (if/then) read better as code. Run it after changing
values.yaml; tests/packaging.rs fails when the committed file differs from
what this script produces (`--check`).
"""
import json
import sys
from pathlib import Path

CHART = Path(__file__).resolve().parent.parent / "helm" / "copilot-metrics-exporter"


def obj(props, required=(), extra=False, desc=None):
    o = {"type": "object", "properties": props, "additionalProperties": extra}
    if required:
        o["required"] = list(required)
    if desc:
        o["description"] = desc
    return o


S = {"type": "string"}
B = {"type": "boolean"}
MAP = {"type": "object"}
ARR = {"type": "array"}
STRMAP = {"type": "object", "additionalProperties": {"type": "string"}}
NONNEG = {"type": "integer", "minimum": 0}
URL = {"type": "string", "pattern": "^https?://"}
URL_OR_EMPTY = {"type": "string", "pattern": "^(https?://.*)?$"}
ID = {"type": ["string", "integer"], "pattern": "^[0-9]*$"}
# Optional integer: null or "" means "leave the Kubernetes default".
OPT_INT = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}, {"const": ""}]}
CA = obj({"configMap": S, "key": {"type": "string", "minLength": 1}})
DNS_LIST = {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True}

schema = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "copilot-metrics-exporter values",
    "description": "Values of the copilot-metrics-exporter Helm chart; see README.md.",
    "type": "object",
    "additionalProperties": False,
    "required": ["mode", "image", "github", "cronjob", "deployment"],
    "properties": {
        "nameOverride": S,
        "fullnameOverride": S,
        "namespaceOverride": S,
        "commonLabels": STRMAP,
        # Parent charts inject `global`; declare it so additionalProperties
        # does not reject it.
        "global": {"type": "object", "properties": {
            "imageRegistry": S, "imagePullSecrets": ARR}},
        "mode": {"type": "string", "enum": ["cronjob", "deployment"]},
        "demo": B,
        "image": obj({
            "registry": S,
            "repository": {"type": "string", "minLength": 1},
            "tag": {"type": ["string", "number"]},
            "digest": {"type": "string", "pattern": "^(sha256:[a-f0-9]{64})?$"},
            "pullPolicy": {"type": "string", "enum": ["Always", "IfNotPresent", "Never"]},
        }, required=["repository"]),
        "imagePullSecrets": ARR,
        "github": obj({
            "apiUrl": URL,
            "orgs": DNS_LIST,
            "enterprises": DNS_LIST,
            "auth": {"type": "string", "enum": ["token", "app"]},
            "token": S,
            "app": obj({"id": ID, "installationId": ID, "privateKey": S}),
            "caBundle": CA,
        }, required=["apiUrl", "auth"]),
        "existingSecret": S,
        "secretKeys": obj({k: {"type": "string", "pattern": "^[-._a-zA-Z0-9]+$"} for k in [
            "githubToken", "githubAppPrivateKey", "pushgatewayPassword",
            "pushgatewayBearerToken", "remoteWriteBearerToken", "remoteWritePassword"]},
            required=["githubToken", "githubAppPrivateKey", "pushgatewayPassword",
                      "pushgatewayBearerToken", "remoteWriteBearerToken",
                      "remoteWritePassword"]),
        "collection": obj({
            "cacheTtlSeconds": NONNEG,
            "schedule": S,
            "teams": B,
            "seats": B,
            "userMetrics": {"type": "string", "enum": ["off", "login", "hashed"]},
            "userMetricsMax": {"anyOf": [{"type": "integer", "minimum": 0}, {"const": ""}]},
            "repoMetrics": B,
            "teamBreakdowns": S,
            "userBreakdowns": S,
            "metricsInclude": S,
            "metricsExclude": S,
        }),
        "log": obj({
            "format": {"type": "string", "enum": ["text", "json"]},
            "level": {"type": "string", "minLength": 1},
        }),
        "pushgateway": obj({
            "enabled": B, "url": URL_OR_EMPTY,
            "job": {"type": "string", "minLength": 1},
            "auth": {"type": "string", "enum": ["none", "basic", "bearer"]},
            "username": S, "password": S, "bearerToken": S,
            "headers": STRMAP,
            "caBundle": CA,
        }),
        # Prometheus label names, not one the exporter reserves (`org`,
        # `enterprise`, `job`, `__*`; Go's regexp has no lookahead, hence
        # the two alternatives).
        "externalLabels": {
            "type": "object",
            "propertyNames": {"pattern": "^([a-zA-Z]|_[a-zA-Z0-9])[a-zA-Z0-9_]*$",
                              "not": {"enum": ["org", "enterprise", "job"]}},
            "additionalProperties": {"type": "string", "minLength": 1},
        },
        "remoteWrite": obj({
            "enabled": B, "url": URL_OR_EMPTY,
            "headers": STRMAP,
            "auth": {"type": "string", "enum": ["none", "bearer", "basic"]},
            "username": S, "bearerToken": S, "password": S,
            "caBundle": CA,
            "timestamps": {"type": "string", "enum": ["now", "report-day"]},
            "settleDays": NONNEG,
            "backfillDays": NONNEG,
            "intervalSeconds": NONNEG,
        }),
        "state": obj({
            "enabled": B,
            "type": {"type": "string", "enum": ["pvc", "emptyDir"]},
            "mountPath": {"type": "string", "pattern": "^/"},
            "pvc": obj({
                "existingClaim": S, "storageClassName": S,
                "accessModes": {"type": "array", "minItems": 1, "items": {
                    "type": "string",
                    "enum": ["ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod", "ReadOnlyMany"]}},
                "size": {"type": "string", "minLength": 1},
                "keep": B,
            }),
        }),
        "cronjob": obj({
            "schedule": S,
            "timeZone": S,
            "suspend": B,
            "concurrencyPolicy": {"type": "string", "enum": ["Forbid", "Replace", "Allow"]},
            "startingDeadlineSeconds": OPT_INT,
            "successfulJobsHistoryLimit": NONNEG,
            "failedJobsHistoryLimit": NONNEG,
            "backoffLimit": NONNEG,
            "activeDeadlineSeconds": OPT_INT,
            "ttlSecondsAfterFinished": OPT_INT,
            "failFastOnConfigError": B,
            "jobAnnotations": STRMAP,
            "jobLabels": STRMAP,
        }),
        "deployment": obj({
            # One poller: more replicas multiply GitHub API calls.
            "replicas": {"type": "integer", "minimum": 0, "maximum": 1},
            "strategy": obj({"type": {"type": "string", "enum": ["Recreate", "RollingUpdate"]},
                             "rollingUpdate": MAP}),
            "livenessProbe": MAP,
            "readinessProbe": MAP,
            "annotations": STRMAP,
        }),
        "service": obj({
            "type": {"type": "string", "enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "annotations": STRMAP,
        }),
        "serviceMonitor": obj({
            "enabled": B, "namespace": S, "additionalLabels": STRMAP,
            "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
            "scrapeTimeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
            "honorLabels": B, "relabelings": ARR, "metricRelabelings": ARR,
        }),
        "prometheusRule": obj({
            "enabled": B, "namespace": S, "additionalLabels": STRMAP,
            "intervalSeconds": {"anyOf": [{"type": "integer", "minimum": 60}, {"const": ""}]},
            "extraLabels": STRMAP,
            "runbookUrl": URL,
            "disabledAlerts": {"type": "array", "items": S},
            # Per alert: every key optional; unknown alert names are allowed
            # (ignored) so values survive alerts being renamed.
            "alerts": {"type": "object", "additionalProperties": obj({
                "enabled": B,
                "for": {"type": "string", "pattern": "^([0-9]+(ms|s|m|h|d|w|y))*$"},
                "severity": {"type": "string", "minLength": 1},
                "threshold": {"anyOf": [{"type": "integer", "minimum": 1}, {"const": ""}]},
                "labels": STRMAP,
            })},
        }),
        "grafanaDashboard": obj({
            "enabled": B, "namespace": S,
            "labels": STRMAP, "annotations": STRMAP,
            "folder": S, "folderAnnotation": {"type": "string", "minLength": 1},
        }),
        "helmTest": obj({"enabled": B}),
        "listenAddress": {"type": "string", "pattern": "^(\\[[0-9a-fA-F:.]*\\]|[0-9.]+|[-a-zA-Z0-9.]+):[0-9]+$"},
        "serviceAccount": obj({"create": B, "name": S, "annotations": STRMAP}),
        "automountServiceAccountToken": B,
        "podSecurityContext": MAP,
        "securityContext": MAP,
        "resources": MAP,
        "nodeSelector": STRMAP,
        "tolerations": ARR,
        "affinity": MAP,
        "topologySpreadConstraints": ARR,
        "priorityClassName": S,
        "podAnnotations": STRMAP,
        "podLabels": STRMAP,
        "extraArgs": {"type": "array", "items": S},
        "extraEnv": ARR,
        "extraEnvFrom": ARR,
        "extraVolumes": ARR,
        "extraVolumeMounts": ARR,
        "extraContainers": ARR,
        "extraInitContainers": ARR,
        "extraManifests": ARR,
        "networkPolicy": obj({
            "enabled": B,
            "extraEgressPorts": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 65535}},
            "extraEgress": ARR,
            "ingressFrom": ARR,
        }),
    },
    # Rules per mode and per sink that properties alone cannot express.
    "allOf": [
        {   # A CronJob needs a schedule. (That it needs a sink is checked by
            # the templates, with a message naming the values to set: the
            # default values must lint clean.)
            "if": {"properties": {"mode": {"const": "cronjob"}}},
            "then": {
                "properties": {"cronjob": {"required": ["schedule"],
                                           "properties": {"schedule": {"minLength": 1}}}},
            },
        },
        {   # Deployment mode serves /metrics through the Service.
            "if": {"properties": {"mode": {"const": "deployment"}}},
            "then": {"required": ["service"]},
        },
        {
            "if": {"properties": {"pushgateway": {"properties": {"enabled": {"const": True}},
                                                  "required": ["enabled"]}},
                   "required": ["pushgateway"]},
            "then": {"properties": {"pushgateway": {"required": ["url", "job"],
                                                    "properties": {"url": URL}}}},
        },
        {
            "if": {"properties": {"remoteWrite": {"properties": {"enabled": {"const": True}},
                                                  "required": ["enabled"]}},
                   "required": ["remoteWrite"]},
            "then": {"properties": {"remoteWrite": {"required": ["url", "timestamps"],
                                                    "properties": {"url": URL}}}},
        },
        {
            "if": {"properties": {"github": {"properties": {"auth": {"const": "app"}}}}},
            # No installationId: the exporter discovers the installation of
            # each organization / enterprise.
            "then": {"properties": {"github": {"properties": {"app": {
                "required": ["id"]}}}}},
        },
    ],
}


def main():
    text = json.dumps(schema, indent=2) + "\n"
    out = CHART / "values.schema.json"
    if sys.argv[1:] == ["--check"]:
        if not out.exists() or out.read_text() != text:
            sys.exit(f"{out} is out of date: run scripts/gen-values-schema.py")
        return
    out.write_text(text)


if __name__ == "__main__":
    main()
