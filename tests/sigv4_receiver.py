#!/usr/bin/env python3
"""A remote-write endpoint that checks AWS Signature Version 4 the way Amazon
Managed Service for Prometheus does, with botocore (the AWS SDK for Python)
recomputing each signature independently of the exporter's signer.

Credentials, region and service come from the environment:
SIGV4_ACCESS_KEY, SIGV4_SECRET_KEY, SIGV4_SESSION_TOKEN (optional),
SIGV4_REGION, SIGV4_SERVICE. It listens on 127.0.0.1 (a free port) and
prints `LISTENING <port>`, then one line per request: `ACCEPTED <bytes>` when
the signature matches (answer 204) or `REJECTED <reason>` (answer 403).
"""

import datetime
import hashlib
import hmac
import http.server
import os
import re
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY = os.environ["SIGV4_ACCESS_KEY"]
SECRET_KEY = os.environ["SIGV4_SECRET_KEY"]
SESSION_TOKEN = os.environ.get("SIGV4_SESSION_TOKEN") or None
REGION = os.environ["SIGV4_REGION"]
SERVICE = os.environ["SIGV4_SERVICE"]

AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})"
)
MAX_SKEW = datetime.timedelta(minutes=5)


def verify(method, path, headers, body):
    """None when the request is signed correctly, else the reason."""
    auth = headers.get("Authorization", "")
    m = AUTH_RE.fullmatch(auth)
    if not m:
        return "no AWS4-HMAC-SHA256 Authorization header"
    if m["key"] != ACCESS_KEY:
        return "unknown access key"
    if (m["region"], m["service"]) != (REGION, SERVICE):
        return f"scope {m['region']}/{m['service']} is not {REGION}/{SERVICE}"
    amz_date = headers.get("X-Amz-Date", "")
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc
        )
    except ValueError:
        return "no valid X-Amz-Date"
    if abs(datetime.datetime.now(datetime.timezone.utc) - when) > MAX_SKEW:
        return "X-Amz-Date is more than 5 minutes off"
    if m["date"] != amz_date[:8]:
        return "credential scope date differs from X-Amz-Date"
    signed = m["signed"].split(";")
    for required in ["host", "x-amz-date", "x-amz-content-sha256"]:
        if required not in signed:
            return f"{required} is not signed"
    claimed = headers.get("X-Amz-Content-SHA256")
    if claimed != hashlib.sha256(body).hexdigest():
        return "X-Amz-Content-SHA256 is not the SHA-256 of the body"
    if SESSION_TOKEN is not None:
        if "x-amz-security-token" not in signed:
            return "x-amz-security-token is not signed"
        if headers.get("X-Amz-Security-Token") != SESSION_TOKEN:
            return "wrong or missing X-Amz-Security-Token"
    for name in signed:
        if headers.get(name) is None:
            return f"signed header {name} is missing"

    # botocore recomputes the signature over exactly the signed headers.
    request = AWSRequest(
        method=method,
        url=f"http://{headers['Host']}{path}",
        data=body,
        headers={name: ",".join(headers.get_all(name)) for name in signed},
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN), SERVICE, REGION)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, m["signature"]):
        return "signature does not match"
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        reason = verify("POST", self.path, self.headers, body)
        if reason is None and not body:
            reason = "empty body"
        if reason is None:
            print(f"ACCEPTED {len(body)}", flush=True)
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            print(f"REJECTED {reason}", flush=True)
            text = f'{{"message":"{reason}"}}'.encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

    def log_message(self, *args):
        pass


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"LISTENING {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
