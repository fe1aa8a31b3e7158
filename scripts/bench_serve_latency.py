#!/usr/bin/env python3
"""Line-to-alert latency of a running `secmo serve` (used by scripts/bench-serve).

Appends one SQL-injection request from a new IP address at a steady pace to a
log file the server follows, and listens on the server's event stream
(`GET /api/stream`, Server-Sent Events) for the `incident` naming that IP. The
latency of a sample is the time from the append (just before the write) to
the arrival of the incident event. Prints one JSON object with the figures.

Usage: bench_serve_latency.py --url http://127.0.0.1:18080 --token TOKEN \
           --file live/attacks.log [--samples 120] [--interval 0.25]
Standard library only.
"""

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse
import urllib.request


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


class Stream(threading.Thread):
    """Reads `event: incident` messages and notes when each source IP first shows."""

    def __init__(self, url, token):
        super().__init__(daemon=True)
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 80
        self.token = token
        self.seen = {}
        self.lagged = 0
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.error = None

    def run(self):
        try:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
            conn.request("GET", "/api/stream", headers={
                "Authorization": "Bearer " + self.token,
                "Accept": "text/event-stream",
            })
            resp = conn.getresponse()
            if resp.status != 200:
                raise RuntimeError("GET /api/stream: HTTP %d %s" % (resp.status, resp.read(300)))
            self.ready.set()
            event, data = None, []
            while True:
                raw = resp.fp.readline()
                if not raw:
                    raise RuntimeError("event stream closed by the server")
                now = time.monotonic()
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())
                elif line == "":
                    if event == "incident" and data:
                        try:
                            msg = json.loads("\n".join(data))
                            ip = (msg.get("data") or {}).get("source_ip")
                        except ValueError:
                            ip = None
                        if ip:
                            with self.lock:
                                self.seen.setdefault(ip, now)
                    elif event == "lagged":
                        self.lagged += 1
                    event, data = None, []
        except Exception as e:  # reported by the main thread
            self.error = e
            self.ready.set()


def incident_exists(url, token, ip):
    q = urllib.parse.urlencode({"ip": ip})
    req = urllib.request.Request(url + "/api/incidents?" + q,
                                 headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = json.load(r)
    items = body.get("items", body) if isinstance(body, dict) else body
    return bool(items)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--file", required=True, help="log file the server follows (appended to)")
    ap.add_argument("--samples", type=int, default=120)
    ap.add_argument("--interval", type=float, default=0.25, help="seconds between attack lines")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the last incidents")
    args = ap.parse_args()

    stream = Stream(args.url, args.token)
    stream.start()
    stream.ready.wait(10)
    if stream.error:
        sys.exit("latency: %s" % stream.error)
    time.sleep(0.5)

    # Addresses from the benchmarking range 198.18.0.0/15, new ones every run.
    base = random.randrange(0, (1 << 17) - 4096)
    sent = {}
    fd = os.open(args.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        next_at = time.monotonic()
        for i in range(args.samples):
            n = base + i
            ip = "198.%d.%d.%d" % (18 + (n >> 16 & 1), n >> 8 & 255, n & 255)
            stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
            line = ('%s - - [%s] "GET /products.php?id=1%%27%%20UNION%%20SELECT%%20username,password'
                    '%%20FROM%%20users--%%20 HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11; Linux x86_64)"\n'
                    % (ip, stamp))
            data = line.encode()
            sent[ip] = time.monotonic()  # before the write: never flatters the figure
            os.write(fd, data)
            next_at += args.interval
            time.sleep(max(0.0, next_at - time.monotonic()))
    finally:
        os.close(fd)

    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        with stream.lock:
            if all(ip in stream.seen for ip in sent):
                break
        time.sleep(0.1)
    with stream.lock:
        seen = dict(stream.seen)
    lat = sorted((seen[ip] - t) * 1000.0 for ip, t in sent.items() if ip in seen)
    missing = [ip for ip in sent if ip not in seen]
    # An incident the stream did not deliver (a lagging stream) may still exist: say so.
    stored_not_streamed = sum(1 for ip in missing[:20] if incident_exists(args.url, args.token, ip))
    out = {
        "samples": len(sent),
        "received": len(lat),
        "missing": len(missing),
        "missing_but_stored": stored_not_streamed,
        "stream_lagged": stream.lagged,
        "p50_ms": percentile(lat, 50),
        "p90_ms": percentile(lat, 90),
        "p99_ms": percentile(lat, 99),
        "max_ms": lat[-1] if lat else None,
        "min_ms": lat[0] if lat else None,
    }
    print(json.dumps(out))
    if stream.error and not lat:
        sys.exit("latency: %s" % stream.error)


if __name__ == "__main__":
    main()
