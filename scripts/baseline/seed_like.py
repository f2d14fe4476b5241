#!/usr/bin/env python3
"""A ~30-line stand-in for the Python seed exporter (naren4b/gcp-metrics-exporter,
src/app.py, described in docs/prior-art): Flask + prometheus_client + requests,
one legacy API call inside the /metrics handler, cached for CACHE_TTL_SECONDS.
Written for the footprint comparison in BENCHMARKS.md (the seed's code is not
vendored here); it is not the seed itself. Needs: pip install flask prometheus_client requests
"""
import os
import time

import requests
from flask import Flask, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest

app = Flask(__name__)
API = os.environ.get("GITHUB_API_URL", "https://api.github.com")
TTL = int(os.environ.get("CACHE_TTL_SECONDS", "14400"))
calls = Counter("copilot_exporter_api_requests", "GitHub API calls")
failures = Counter("copilot_exporter_api_failures", "Failed GitHub API calls", ["status_code"])
hits = Counter("copilot_exporter_cache_hits", "Scrapes served from the cache")
active = Gauge("copilot_total_active_users", "Active users on the last day", ["org"])
engaged = Gauge("copilot_total_engaged_users", "Engaged users on the last day", ["org"])
cache = {"t": 0.0, "data": None}


@app.route("/metrics")
def metrics():
    org = os.environ.get("ORG", "changeme")
    if cache["data"] is not None and time.time() - cache["t"] < TTL:
        hits.inc()
    else:
        calls.inc()
        data = {}
        try:
            r = requests.get(f"{API}/enterprises/{org}/copilot/metrics", timeout=10,
                             headers={"Authorization": f"Bearer {os.environ.get('GHC_TOKEN', '')}"})
            if r.ok and r.json():
                data = r.json()[-1]
            else:
                failures.labels(str(r.status_code)).inc()
        except requests.RequestException:
            failures.labels("request_exception").inc()
        cache.update(t=time.time(), data=data)
    if cache["data"]:
        active.labels(org).set(cache["data"].get("total_active_users", 0))
        engaged.labels(org).set(cache["data"].get("total_engaged_users", 0))
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
