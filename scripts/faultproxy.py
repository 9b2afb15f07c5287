#!/usr/bin/env python3
"""A fault-injecting HTTP proxy for the EC2 query API, meant to sit in front of
a local moto server (loopback only). Used by s3ep's end-to-end tests and by
scripts/bench.py.

    python scripts/faultproxy.py --upstream http://127.0.0.1:MOTOPORT \
        [--host 127.0.0.1] [--port 0] [--latency-ms 0] [--throttle-rate 0] \
        [--error-rate 0] [--drop-rate 0] [--seed 1] [--faults-on all|mutating] \
        [--upstream-timeout 120] [--log-requests]

On start it prints exactly one line, `listening on PORT`, to stdout and
flushes (with `--port 0` the OS picks the port); nothing else is ever written
to stdout. It runs until SIGTERM or SIGINT, then exits with status 0.

Every request (other than the control endpoints below) goes through, in order:

1. `latency_ms` of sleep in the request's own thread (concurrent requests
   overlap their delays);
2. if the request is eligible for faults (`faults_on`: `all`, or `mutating` =
   an Action not starting with `Describe`), three draws from one seeded
   random.Random (under a lock):
   - with probability `throttle_rate`: HTTP 503 with EC2's XML error
     `RequestLimitExceeded`; the request is NOT forwarded;
   - else with probability `error_rate`: HTTP 500 `InternalError`; NOT
     forwarded;
   - else with probability `drop_rate`: the request IS forwarded to moto and
     its whole response read, then the client connection is shut down without
     a single byte written (a response lost after the request took effect);
3. otherwise the request is forwarded and moto's status, headers (minus
   hop-by-hop ones; Content-Length recomputed) and body are relayed. If moto
   cannot be reached the answer is 502.

The EC2 query protocol sends `POST /` with a form-encoded body
(`Action=CreateVpc&...`); the Action is read from the body, else from the
query string, else it is "Unknown".

Control endpoints (never delayed, never faulted, never counted):

    GET  /__proxy/stats   -> {"forwarded": {"CreateVpc": 3, ...},
                              "received": {...},
                              "injected": {"throttle": n, "error": n, "drop": n},
                              "total_forwarded": n, "mutating_forwarded": n,
                              "total_received": n, "mutating_received": n}
    GET  /__proxy/calls   -> {"clock": "time.time", "calls": [...]}: one record
                             per EC2 call seen since the last reset, in the
                             order they ended: {"action", "region" (from the
                             SigV4 credential scope, else null), "start" (request
                             read), "forward" (latency slept; null if not
                             forwarded), "upstream_done" (moto's answer read;
                             null if not forwarded), "end" (answer written or
                             connection dropped), "status" (HTTP status sent,
                             null when dropped), "fault" (null or the injected
                             fault)}. Times are seconds since the epoch
                             (time.time(), so other processes can line them
                             up). Used by scripts/bench.py --bounds.
    POST /__proxy/reset   -> zeroes every counter and empties the call log;
                             answers the (zeroed) stats
    POST /__proxy/config  -> body: JSON object with any subset of
                              latency_ms, throttle_rate, error_rate, drop_rate,
                              faults_on ("all" | "mutating"), seed (re-seeds the
                              random generator), drop_next ({"CreateVpc": 1, ...}:
                              the next N requests of each Action are forwarded
                              and their answers dropped, whatever the rates and
                              faults_on; merged into the pending counts, 0
                              cancels; no random draw); answers the full current config
                              (without seed). Unknown keys or bad values: 400,
                              nothing changed.
    GET  /__proxy/config  -> the full current config

"forwarded" counts calls that reached moto (dropped ones included), "received"
every call seen (including the throttled and failed ones that were answered by
the proxy itself).

Standard library only.
"""

import argparse
import http.client
import http.server
import json
import random
import signal
import socket
import sys
import threading
import time
import urllib.parse
import uuid

CONTROL_PREFIX = "/__proxy/"

# Hop-by-hop headers (RFC 7230 section 6.1) plus the ones the proxy recomputes.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
}

FAULTS_ON = ("all", "mutating")


def rate(value):
    """argparse/config type: a probability in [0, 1]."""
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise ValueError("must be between 0 and 1, got %r" % value)
    return v


def non_negative(value):
    v = float(value)
    if v < 0:
        raise ValueError("must be >= 0, got %r" % value)
    return v


def ec2_error_body(code, message):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        "<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors>"
        "<RequestID>%s</RequestID></Response>" % (code, message, uuid.uuid4())
    ).encode("utf-8")


def is_mutating(action):
    return not action.startswith("Describe")


class State:
    """Configuration, counters and the random generator, shared by all handler
    threads; every access goes through one lock."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.config = {
            "latency_ms": float(args.latency_ms),
            "throttle_rate": float(args.throttle_rate),
            "error_rate": float(args.error_rate),
            "drop_rate": float(args.drop_rate),
            "faults_on": args.faults_on,
            "drop_next": {},
        }
        self.rng = random.Random(args.seed)
        self._zero()

    def _zero(self):
        self.forwarded = {}
        self.received = {}
        self.injected = {"throttle": 0, "error": 0, "drop": 0}
        self.calls = []

    # -- per-call timeline -------------------------------------------------
    def record_call(self, rec):
        with self.lock:
            self.calls.append(rec)

    def call_log(self):
        with self.lock:
            return {"clock": "time.time", "calls": list(self.calls)}

    # -- counters --------------------------------------------------------
    def count_received(self, action):
        with self.lock:
            self.received[action] = self.received.get(action, 0) + 1

    def count_forwarded(self, action):
        with self.lock:
            self.forwarded[action] = self.forwarded.get(action, 0) + 1

    def count_injected(self, kind):
        with self.lock:
            self.injected[kind] += 1

    def reset(self):
        with self.lock:
            self._zero()

    def stats(self):
        with self.lock:
            return {
                "forwarded": dict(sorted(self.forwarded.items())),
                "received": dict(sorted(self.received.items())),
                "injected": dict(self.injected),
                "total_forwarded": sum(self.forwarded.values()),
                "mutating_forwarded": sum(n for a, n in self.forwarded.items() if is_mutating(a)),
                "total_received": sum(self.received.values()),
                "mutating_received": sum(n for a, n in self.received.items() if is_mutating(a)),
            }

    # -- config ----------------------------------------------------------
    def get_config(self):
        with self.lock:
            return dict(self.config, drop_next=dict(self.config["drop_next"]))

    def update_config(self, changes):
        """Validates CHANGES entirely before applying any of it; raises ValueError."""
        if not isinstance(changes, dict):
            raise ValueError("config must be a JSON object")
        new = {}
        seed = None
        for key, value in changes.items():
            if key == "latency_ms":
                new[key] = non_negative(value)
            elif key in ("throttle_rate", "error_rate", "drop_rate"):
                new[key] = rate(value)
            elif key == "faults_on":
                if value not in FAULTS_ON:
                    raise ValueError("faults_on must be one of %s, got %r" % (", ".join(FAULTS_ON), value))
                new[key] = value
            elif key == "drop_next":
                if not isinstance(value, dict) or not all(
                    isinstance(k, str) and isinstance(n, int) and not isinstance(n, bool) and n >= 0
                    for k, n in value.items()
                ):
                    raise ValueError("drop_next must map Action names to counts >= 0, got %r" % (value,))
                new[key] = value
            elif key == "seed":
                seed = value
            else:
                raise ValueError("unknown config key %r" % key)
        with self.lock:
            if "drop_next" in new:
                merged = dict(self.config["drop_next"])
                merged.update(new.pop("drop_next"))
                self.config["drop_next"] = {a: n for a, n in merged.items() if n > 0}
            self.config.update(new)
            if seed is not None:
                self.rng.seed(seed)
            return dict(self.config)

    # -- faults ----------------------------------------------------------
    def decide(self, action):
        """Returns (latency seconds, fault) where fault is None, "throttle",
        "error" or "drop"."""
        with self.lock:
            cfg = self.config
            latency = cfg["latency_ms"] / 1000.0
            # Targeted drops first (no random draw: the seeded sequence of
            # the rates is unchanged for the other requests).
            left = cfg["drop_next"].get(action, 0)
            if left > 0:
                if left == 1:
                    del cfg["drop_next"][action]
                else:
                    cfg["drop_next"][action] = left - 1
                return latency, "drop"
            eligible = cfg["faults_on"] == "all" or is_mutating(action)
            if not eligible:
                return latency, None
            # Always three draws per eligible request, so that one seed gives
            # one sequence whatever the rates are.
            r_throttle, r_error, r_drop = self.rng.random(), self.rng.random(), self.rng.random()
            if r_throttle < cfg["throttle_rate"]:
                return latency, "throttle"
            if r_error < cfg["error_rate"]:
                return latency, "error"
            if r_drop < cfg["drop_rate"]:
                return latency, "drop"
            return latency, None


def action_of(body, path):
    """The EC2 Action of a request: from a form-encoded body, else from the
    query string, else "Unknown"."""
    if body:
        try:
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        except ValueError:
            form = {}
        if form.get("Action"):
            return form["Action"][0] or "Unknown"
    query = urllib.parse.urlsplit(path).query
    if query:
        q = urllib.parse.parse_qs(query, keep_blank_values=True)
        if q.get("Action"):
            return q["Action"][0] or "Unknown"
    return "Unknown"


def region_of(headers):
    """The region of a SigV4-signed request, from the credential scope of its
    Authorization header (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`);
    None when absent."""
    auth = headers.get("Authorization") or ""
    i = auth.find("Credential=")
    if i < 0:
        return None
    parts = auth[i + len("Credential="):].split(",", 1)[0].split("/")
    return parts[2] if len(parts) >= 5 else None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Header and body are separate writes: without this, Nagle's algorithm and
    # the client's delayed ACK can add ~40 ms to a response.
    disable_nagle_algorithm = True
    server_version = "faultproxy"

    def version_string(self):
        return self.server_version

    # Set on the class by main().
    state = None
    upstream = None  # urllib.parse.SplitResult
    upstream_timeout = 120.0
    log_requests = False

    # -- plumbing --------------------------------------------------------
    def log_message(self, fmt, *args):
        if self.log_requests:
            sys.stderr.write("faultproxy: %s - %s\n" % (self.address_string(), fmt % args))

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # Trailers, up to the empty line.
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)  # CRLF after the chunk
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def reply(self, status, body, content_type, extra_headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in extra_headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reply_json(self, status, obj):
        self.reply(status, (json.dumps(obj, indent=1) + "\n").encode("utf-8"), "application/json")

    def reply_ec2_error(self, status, code, message):
        body = ec2_error_body(code, message)
        self.reply(status, body, "text/xml", [("x-amzn-RequestId", str(uuid.uuid4()))])

    def drop_connection(self):
        """Closes the client connection without writing a byte."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- upstream --------------------------------------------------------
    def forward(self, body):
        """Sends the request to moto; returns (status, reason, headers, body)
        or raises OSError / http.client.HTTPException."""
        up = self.upstream
        conn = http.client.HTTPConnection(up.hostname, up.port or 80, timeout=self.upstream_timeout)
        try:
            path = self.path
            if up.path and up.path != "/":
                path = up.path.rstrip("/") + (path if path.startswith("/") else "/" + path)
            headers = {}
            for name, value in self.headers.items():
                if name.lower() in HOP_BY_HOP or name.lower() in ("host", "expect"):
                    continue
                headers[name] = value
            headers["Host"] = up.netloc
            headers["Content-Length"] = str(len(body))
            conn.request(self.command, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.reason, resp.getheaders(), data
        finally:
            conn.close()

    def relay(self, status, reason, headers, data):
        self.send_response(status, reason)
        for name, value in headers:
            if name.lower() in HOP_BY_HOP or name.lower() in ("server", "date"):
                continue
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    # -- dispatch --------------------------------------------------------
    def handle_any(self):
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if self.path.startswith(CONTROL_PREFIX):
            self.control(body)
            return

        action = action_of(body, self.path)
        rec = {
            "action": action,
            "region": region_of(self.headers),
            "start": time.time(),
            "forward": None,
            "upstream_done": None,
            "end": None,
            "status": None,
            "fault": None,
        }
        try:
            self.proxy_call(action, body, rec)
        finally:
            rec["end"] = time.time()
            self.state.record_call(rec)

    def proxy_call(self, action, body, rec):
        self.state.count_received(action)
        latency, fault = self.state.decide(action)
        rec["fault"] = fault
        if latency > 0:
            time.sleep(latency)

        if fault == "throttle":
            self.state.count_injected("throttle")
            rec["status"] = 503
            self.reply_ec2_error(503, "RequestLimitExceeded", "Request limit exceeded.")
            return
        if fault == "error":
            self.state.count_injected("error")
            rec["status"] = 500
            self.reply_ec2_error(500, "InternalError", "An internal error has occurred")
            return

        rec["forward"] = time.time()
        try:
            result = self.forward(body)
        except (OSError, http.client.HTTPException) as e:
            msg = ("faultproxy: upstream %s unreachable: %s\n" % (self.upstream.geturl(), e)).encode("utf-8")
            rec["status"] = 502
            self.reply(502, msg, "text/plain; charset=utf-8")
            return
        rec["upstream_done"] = time.time()
        self.state.count_forwarded(action)
        if fault == "drop":
            self.state.count_injected("drop")
            self.drop_connection()
            return
        rec["status"] = result[0]
        self.relay(*result)

    def control(self, body):
        route = (self.command, urllib.parse.urlsplit(self.path).path)
        if route == ("GET", "/__proxy/stats"):
            self.reply_json(200, self.state.stats())
        elif route == ("GET", "/__proxy/calls"):
            self.reply_json(200, self.state.call_log())
        elif route == ("POST", "/__proxy/reset"):
            self.state.reset()
            self.reply_json(200, self.state.stats())
        elif route == ("GET", "/__proxy/config"):
            self.reply_json(200, self.state.get_config())
        elif route == ("POST", "/__proxy/config"):
            try:
                changes = json.loads(body.decode("utf-8") or "{}")
                cfg = self.state.update_config(changes)
            except (ValueError, TypeError) as e:
                self.reply_json(400, {"error": str(e)})
                return
            self.reply_json(200, cfg)
        else:
            self.reply_json(404, {"error": "unknown control endpoint %s %s" % route})

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The SDK may open many connections at once; the default backlog (5) would
    # make some of them wait for a SYN retransmission (1 s).
    request_queue_size = 256

    def handle_error(self, request, client_address):
        # A client that went away mid-request is not worth a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, BrokenPipeError, socket.timeout)):
            return
        super().handle_error(request, client_address)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Fault-injecting HTTP proxy for the EC2 query API (in front of moto).",
    )
    p.add_argument("--upstream", required=True, help="upstream base URL, e.g. http://127.0.0.1:5000")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to listen on; 0 = any free port (default)")
    p.add_argument("--latency-ms", type=non_negative, default=0.0, help="delay added to every request")
    p.add_argument("--throttle-rate", type=rate, default=0.0, help="probability of a 503 RequestLimitExceeded")
    p.add_argument("--error-rate", type=rate, default=0.0, help="probability of a 500 InternalError")
    p.add_argument("--drop-rate", type=rate, default=0.0, help="probability of forwarding, then dropping the response")
    p.add_argument("--seed", type=int, default=1, help="seed of the fault draws (default 1)")
    p.add_argument("--faults-on", choices=FAULTS_ON, default="all", help="which requests faults apply to")
    p.add_argument("--upstream-timeout", type=non_negative, default=120.0, help="seconds to wait for moto")
    p.add_argument("--log-requests", action="store_true", help="log every request to stderr")
    args = p.parse_args(argv)
    up = urllib.parse.urlsplit(args.upstream)
    if up.scheme != "http" or not up.hostname:
        p.error("--upstream must be an http:// URL with a host, got %r" % args.upstream)
    args.upstream_split = up
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    Handler.state = State(args)
    Handler.upstream = args.upstream_split
    Handler.upstream_timeout = args.upstream_timeout or None
    Handler.log_requests = args.log_requests

    server = Server((args.host, args.port), Handler)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    sys.stdout.write("listening on %d\n" % server.server_address[1])
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
