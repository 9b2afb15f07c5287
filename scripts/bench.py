#!/usr/bin/env python3
"""Benchmark of s3ep against a local moto (EC2 emulator) behind
scripts/faultproxy.py, which adds a fixed latency to every EC2 call and counts
the calls. Run by hand; not a test. Loopback only: no AWS account is used.

    scripts/moto.sh install
    .venv/bin/python scripts/bench.py --markdown-out /tmp/bench.md

For each N in --sizes and each value of --parallelism, with a fresh moto and a
fresh proxy, on a generated plan with N spoke VPCs and one hub (see
plan_yaml()):

    apply --yes -q          (everything created)
    plan --detailed-exitcode (must exit 0: no changes)
    destroy --yes -q        (everything deleted)

Each phase is timed (wall clock) and its EC2 calls are counted by the proxy
(counters reset before the phase and read after it). Prints Markdown tables:
per phase N x parallelism -> seconds, calls, mutating calls; per phase the
calls per operation; the speedup of each parallelism over `1`; and the
no-change plan call count per N (it should not grow with N).

`--bounds` runs something else: `apply --yes -q` of plans/cross-region-lab.yaml
and of the generated plan with --bounds-n spokes (default 32), --repeat times
each (fresh moto and proxy every time), with s3ep's DEFAULT parallelism and
rate buckets (no flags) and S3EP_EMULATOR=moto. It derives each plan's
critical-path bound from the plan and s3ep's dependency rules (see
fresh_apply_steps()): (longest chain of dependent calls + 1 read round) x
latency, and for the spoke plan also the CreateVpcEndpoint bucket's bound
per region. It prints measured (median, min) against the bound, and splits
the wall clock along the calls the proxy logged (GET /__proxy/calls): start-up,
latency, moto's own time, gaps between dependent calls, rate-token waits.
`--diag` adds one untimed run per plan with `s3ep -v`.
`--bounds --in-process` measures the same two plans against the same bounds
without moto, the proxy or the CLI process: it runs examples/critical_path.rs
(--example-binary; `cargo build --example critical_path`), the apply's library
path against the in-memory EC2 with --latency-ms per call and s3ep's default
rate buckets, --repeat runs per plan.

`--parallelism default` means the flag is not passed. The binary's `--help`
decides which flags are passed: `--parallelism` and the rate-limit flags
(`--rate-endpoint/--rate-mutating/--rate-describe`, raised out of the way to
`--rate`) are passed only if listed, otherwise a warning is printed and the
runs go without them (so an older binary can be benchmarked too).

moto limits: moto 5.2.5 refuses more than 60 inbound rules in a VPC security
group (RulesPerSecurityGroupLimitExceeded, hard-coded, no setting; AWS's
default quota is also 60 and can be raised). The hub's endpoint group has one
rule per VPC (N + 1), so for N >= 60 this script starts moto through --python
with that check patched out (see MOTO_NO_SG_RULE_LIMIT); it says so in the
output. No other moto limit is hit up to N = 200 (moto does not enforce VPC,
peering or route-per-table quotas).
"""

import argparse
import datetime
import json
import os
import platform
import re
import selectors
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv")
FAULTPROXY = os.path.join(ROOT, "scripts", "faultproxy.py")

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-2"]
HUB_REGION = "us-east-1"
MAX_N = 200
# moto's (and AWS's default) limit of inbound rules per VPC security group.
SG_RULE_LIMIT = 60

PHASES = ["apply", "plan", "destroy"]
PHASE_TITLES = {
    "apply": "apply (create everything)",
    "plan": "plan after apply (no changes)",
    "destroy": "destroy (delete everything)",
}
RATE_FLAGS = ["--rate-endpoint", "--rate-mutating", "--rate-describe"]

# Starts moto's server with the 60-inbound-rules-per-security-group check
# turned off (only used when the plan needs more rules than that).
MOTO_NO_SG_RULE_LIMIT = r"""
import sys
from moto.ec2.models import security_groups
security_groups.SecurityGroupBackend._verify_group_will_respect_rule_count_limit = (
    lambda self, *args, **kwargs: None)
from moto.server import main
main(sys.argv[1:])
"""

WARM_UP = r"""
import sys, boto3
url, regions = sys.argv[1], sys.argv[2:]
for region in regions:
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=url,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    ec2.describe_vpcs()
    # moto builds its per-region list of endpoint services on the first
    # DescribeVpcEndpointServices (4-6 s of its CPU under load; cached after:
    # moto/ec2/models/vpcs.py DEFAULT_VPC_ENDPOINT_SERVICES). s3ep's read
    # round makes that call, so without this the first one is timed.
    ec2.describe_vpc_endpoint_services(ServiceNames=["com.amazonaws.%s.s3" % region])
"""


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


def die(msg):
    log("FAILED: " + msg)
    raise SystemExit(1)


# --------------------------------------------------------------------------
# The plan


def spoke_name(i):
    return "spoke-%03d" % (i + 1)


def plan_yaml(n):
    """A plan with one hub VPC (us-east-1: 2 subnets, 1 route table, an
    interface S3 endpoint whose group allows 443 from every VPC of the plan)
    and N spokes round-robin over REGIONS (2 subnets in AZs a and b, 3 route
    tables -- the third with no subnet --, a gateway S3 endpoint on the 3
    tables, a peering to the hub with routes in the 3 tables and the hub's)."""
    if not 1 <= n <= MAX_N:
        raise ValueError("N must be between 1 and %d (CIDRs 10.1-10.%d.0.0/16)" % (MAX_N, MAX_N))
    spokes = [spoke_name(i) for i in range(n)]
    out = [
        "# Generated by scripts/bench.py: 1 hub + %d spokes." % n,
        "version: 1",
        "name: bench-n%d" % n,
        "tags: { bench: s3ep }",
        "",
        "vpcs:",
        "  hub:",
        "    region: %s" % HUB_REGION,
        "    cidr: 10.0.0.0/16",
        "    subnets:",
        "      a: { az: %sa, cidr: 10.0.1.0/24 }" % HUB_REGION,
        "      b: { az: %sb, cidr: 10.0.2.0/24 }" % HUB_REGION,
        "    route_tables:",
        "      main: { subnets: [a, b] }",
    ]
    for i, name in enumerate(spokes):
        region = REGIONS[i % len(REGIONS)]
        octet = i + 1
        out += [
            "  %s:" % name,
            "    region: %s" % region,
            "    cidr: 10.%d.0.0/16" % octet,
            "    subnets:",
            "      a: { az: %sa, cidr: 10.%d.1.0/24 }" % (region, octet),
            "      b: { az: %sb, cidr: 10.%d.2.0/24 }" % (region, octet),
            "    route_tables:",
            "      rt-a: { subnets: [a] }",
            "      rt-b: { subnets: [b] }",
            "      rt-c: { subnets: [] }",
        ]
    out += [
        "",
        "endpoints:",
        "  hub-s3:",
        "    vpc: hub",
        "    type: interface",
        "    subnets: [a, b]",
        "    private_dns: false",
        "    security_group:",
        "      allow_https_from: [%s]" % ", ".join(["hub"] + spokes),
        "    policy:",
        "      allow_buckets: [s3ep-bench]",
    ]
    for name in spokes:
        out += [
            "  %s-s3:" % name,
            "    vpc: %s" % name,
            "    type: gateway",
            "    route_tables: [rt-a, rt-b, rt-c]",
            "    policy:",
            "      allow_buckets: [s3ep-bench]",
        ]
    out += ["", "peerings:"]
    for name in spokes:
        out += [
            "  %s-hub:" % name,
            "    requester: %s" % name,
            "    accepter: hub",
            "    routes:",
            "      %s: [rt-a, rt-b, rt-c]" % name,
            "      hub: [main]",
        ]
    return "\n".join(out) + "\n"


def needs_sg_patch(n):
    return n + 1 > SG_RULE_LIMIT


# --------------------------------------------------------------------------
# Processes


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc, name):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        log("%s (pid %d) did not stop on SIGTERM; killing it" % (name, proc.pid))
        proc.kill()
        proc.wait()


def tail(text, n=40):
    lines = text.splitlines()
    return "\n".join(lines[-n:])


def read_file(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def s3ep_env():
    env = dict(os.environ)
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2", "S3EP_LOG"):
        env.pop(var, None)
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "NO_COLOR": "1",
        }
    )
    return env


class Moto:
    """A fresh moto server on a free loopback port, warmed up in every region."""

    def __init__(self, args, workdir, patch_sg_limit):
        self.proc = None
        self.log_path = os.path.join(workdir, "moto.log")
        last = ""
        for _attempt in range(3):
            self.port = free_port()
            if patch_sg_limit:
                cmd = [args.python, "-c", MOTO_NO_SG_RULE_LIMIT, "-H", "127.0.0.1", "-p", str(self.port)]
            else:
                cmd = [args.moto_server, "-H", "127.0.0.1", "-p", str(self.port)]
            with open(self.log_path, "ab") as logf:
                self.proc = subprocess.Popen(
                    cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True
                )
            last = self._wait_ready()
            if not last:
                break
            stop_process(self.proc, "moto")
        else:
            die("moto_server did not start: %s\n%s" % (last, tail(read_file(self.log_path))))
        warm = subprocess.run(
            [args.python, "-c", WARM_UP, self.url] + REGIONS,
            env=s3ep_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if warm.returncode != 0:
            self.stop()
            die("moto warm-up failed:\n%s\n%s" % (tail(warm.stderr), tail(read_file(self.log_path))))

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def _wait_ready(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return "exited early (%s)" % self.proc.returncode
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return ""
            except OSError:
                time.sleep(0.1)
        return "not listening on port %d after 30 s" % self.port

    def stop(self):
        stop_process(self.proc, "moto")


class Proxy:
    """scripts/faultproxy.py in front of moto; reads `listening on PORT`."""

    def __init__(self, args, workdir, upstream):
        self.err_path = os.path.join(workdir, "proxy.err")
        cmd = [
            args.python,
            FAULTPROXY,
            "--upstream",
            upstream,
            "--port",
            "0",
            "--latency-ms",
            str(args.latency_ms),
            "--throttle-rate",
            str(args.throttle_rate),
            "--error-rate",
            str(args.error_rate),
            "--faults-on",
            args.faults_on,
            "--seed",
            str(args.seed),
        ]
        self.errf = open(self.err_path, "wb")
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.errf,
            start_new_session=True,
        )
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        line = b""
        if sel.select(timeout=20):
            line = self.proc.stdout.readline()
        sel.close()
        m = re.fullmatch(rb"listening on (\d+)\s*", line)
        if not m:
            self.stop()
            die("faultproxy did not start (first line %r):\n%s" % (line, tail(read_file(self.err_path))))
        self.port = int(m.group(1))

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def _call(self, method, path):
        req = urllib.request.Request(self.url + path, method=method, data=b"{}" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)

    def reset(self):
        self._call("POST", "/__proxy/reset")

    def stats(self):
        return self._call("GET", "/__proxy/stats")

    def stop(self):
        stop_process(self.proc, "faultproxy")
        if self.proc.stdout:
            self.proc.stdout.close()
        self.errf.close()


# --------------------------------------------------------------------------
# The binary


def default_binary():
    candidates = []
    if os.environ.get("CARGO_TARGET_DIR"):
        candidates.append(os.path.join(os.environ["CARGO_TARGET_DIR"], "debug", "s3ep"))
    candidates += [os.path.join(ROOT, "target", "debug", "s3ep"), "/var/tmp/s3ep-target/debug/s3ep"]
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return candidates[0]


def help_text(binary, *sub):
    out = subprocess.run([binary] + list(sub) + ["--help"], capture_output=True, text=True, timeout=30, env=s3ep_env())
    if out.returncode != 0:
        die("%s %s --help exited %d:\n%s" % (binary, " ".join(sub), out.returncode, tail(out.stderr)))
    return out.stdout


def lists_flag(help_out, flag):
    return re.search(r"(^|[\s,])%s\b" % re.escape(flag), help_out, re.M) is not None


class Flags:
    """Where each optional flag goes for each subcommand: 'global' (before the
    subcommand), 'sub' (after it) or None (not supported: skipped)."""

    def __init__(self, binary):
        top = help_text(binary)
        subs = {phase: help_text(binary, phase) for phase in PHASES}
        self.place = {}
        for flag in ["--parallelism"] + RATE_FLAGS:
            for phase in PHASES:
                if lists_flag(top, flag):
                    where = "global"
                elif lists_flag(subs[phase], flag):
                    where = "sub"
                else:
                    where = None
                self.place[(flag, phase)] = where
        self.parallelism = all(self.place[("--parallelism", p)] for p in PHASES)
        self.rates = all(self.place[(f, p)] for f in RATE_FLAGS for p in PHASES)

    def argv(self, phase, parallelism, rate):
        """(global flags, subcommand flags) for PHASE."""
        before, after = [], []

        def put(flag, value):
            where = self.place[(flag, phase)]
            if where == "global":
                before.extend([flag, value])
            elif where == "sub":
                after.extend([flag, value])

        if parallelism != "default":
            put("--parallelism", parallelism)
        for flag in RATE_FLAGS:
            put(flag, rate)
        return before, after


def run_s3ep(args, flags, proxy, moto, phase, plan_path, parallelism):
    before, after = flags.argv(phase, parallelism, args.rate)
    sub = {
        "apply": ["apply", "--yes", "-q"],
        "plan": ["plan", "--detailed-exitcode", "-q"],
        "destroy": ["destroy", "--yes", "-q"],
    }[phase]
    cmd = [args.binary, "--endpoint-url", proxy.url] + before + sub + after + [plan_path]
    proxy.reset()
    t0 = time.monotonic()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.run_timeout, env=s3ep_env())
        rc, stdout, stderr = out.returncode, out.stdout, out.stderr
    except subprocess.TimeoutExpired as e:
        rc = "timeout after %ss" % args.run_timeout
        stdout = e.stdout.decode("utf-8", "replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        stderr = e.stderr.decode("utf-8", "replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
    wall = time.monotonic() - t0
    if rc != 0:
        try:
            stats = json.dumps(proxy.stats())
        except OSError as e:
            stats = "(proxy stats unavailable: %s)" % e
        what = "plan after apply shows changes (exit 2)" if (phase == "plan" and rc == 2) else "exit %s" % rc
        die(
            "%s: %s\n$ %s\n--- stderr (tail) ---\n%s\n--- stdout (tail) ---\n%s\n"
            "--- proxy stats ---\n%s\n--- moto log (tail) ---\n%s"
            % (
                phase,
                what,
                shlex.join(cmd),
                tail(stderr),
                tail(stdout),
                stats,
                tail(read_file(moto.log_path), 20),
            )
        )
    return wall, proxy.stats()


# --------------------------------------------------------------------------
# One (N, parallelism) run


def bench_one(args, flags, n, parallelism, workroot):
    workdir = tempfile.mkdtemp(prefix="n%d-p%s-" % (n, parallelism), dir=workroot)
    plan_path = os.path.join(workdir, "bench-n%d.yaml" % n)
    with open(plan_path, "w") as f:
        f.write(plan_yaml(n))
    moto = proxy = None
    results = []
    try:
        moto = Moto(args, workdir, needs_sg_patch(n))
        proxy = Proxy(args, workdir, moto.url)
        for phase in PHASES:
            wall, stats = run_s3ep(args, flags, proxy, moto, phase, plan_path, parallelism)
            log(
                "N=%d parallelism=%s %-7s %7.2f s  %5d calls (%d mutating)"
                % (n, parallelism, phase, wall, stats["total_forwarded"], stats["mutating_forwarded"])
            )
            results.append({"n": n, "parallelism": parallelism, "phase": phase, "wall": wall, "stats": stats})
    finally:
        if proxy:
            proxy.stop()
        if moto:
            moto.stop()
    if not args.keep_logs:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


# --------------------------------------------------------------------------
# Report


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(lines)


def par_label(p):
    return "default" if p == "default" else p


def report(args, results, facts):
    by = {(r["n"], r["parallelism"], r["phase"]): r for r in results}
    sizes = args.sizes
    pars = args.parallelism
    faults = args.throttle_rate > 0 or args.error_rate > 0
    out = []
    for phase in PHASES:
        out.append("## %s\n" % PHASE_TITLES[phase])
        header = ["N", "parallelism", "wall s", "calls", "mutating calls"]
        if faults:
            header += ["calls seen (with retries)", "injected throttle/error"]
        rows = []
        for n in sizes:
            for p in pars:
                r = by[(n, p, phase)]
                s = r["stats"]
                row = [n, par_label(p), "%.2f" % r["wall"], s["total_forwarded"], s["mutating_forwarded"]]
                if faults:
                    row += [s["total_received"], "%d/%d" % (s["injected"]["throttle"], s["injected"]["error"])]
                rows.append(row)
        out.append(md_table(header, rows) + "\n")
        ops = sorted({op for n in sizes for p in pars for op in by[(n, p, phase)]["stats"]["forwarded"]})
        cols = [(n, p) for n in sizes for p in pars]
        op_rows = []
        for op in ops:
            op_rows.append([op] + [by[(n, p, phase)]["stats"]["forwarded"].get(op, 0) for (n, p) in cols])
        op_rows.append(["**total**"] + [by[(n, p, phase)]["stats"]["total_forwarded"] for (n, p) in cols])
        out.append("### %s: calls per operation\n" % phase)
        out.append(md_table(["operation"] + ["N=%d p=%s" % (n, par_label(p)) for (n, p) in cols], op_rows) + "\n")

    if "1" in pars and len(pars) > 1:
        out.append("## Speedup over --parallelism 1 (wall time of p=1 / wall time of p)\n")
        rows = []
        for n in sizes:
            for p in pars:
                if p == "1":
                    continue
                row = [n, par_label(p)]
                for phase in PHASES:
                    base, other = by[(n, "1", phase)]["wall"], by[(n, p, phase)]["wall"]
                    row.append("%.2f s / %.2f s = %.1fx" % (base, other, base / other if other > 0 else float("inf")))
                rows.append(row)
        out.append(md_table(["N", "parallelism"] + PHASES, rows) + "\n")
        apply_parts = []
        for n in sizes:
            base = by[(n, "1", "apply")]["wall"]
            for p in pars:
                if p != "1":
                    other = by[(n, p, "apply")]["wall"]
                    apply_parts.append("N=%d: %.1fx (%s)" % (n, base / other if other > 0 else float("inf"), par_label(p)))
        out.append("apply speedup over --parallelism 1: " + ", ".join(apply_parts) + "\n")

    parts = []
    for n in sizes:
        counts = [by[(n, p, "plan")]["stats"]["total_forwarded"] for p in pars]
        if len(set(counts)) == 1:
            parts.append("N=%d: %d" % (n, counts[0]))
        else:
            parts.append("N=%d: %s" % (n, " / ".join("%d (p=%s)" % (c, par_label(p)) for c, p in zip(counts, pars))))
    out.append("no-change plan calls: " + ", ".join(parts) + "\n")

    body = "\n".join(out)
    head = ["# s3ep benchmark run\n"]
    for k, v in facts:
        head.append("- %s: %s" % (k, v))
    return "\n".join(head) + "\n\n" + body


def machine_desc():
    """nproc, CPU model, memory and platform of this machine."""
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        nproc = str(len(os.sched_getaffinity(0)))
    cpu = ""
    for line in read_file("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = ""
    m = re.search(r"MemTotal:\s+(\d+) kB", read_file("/proc/meminfo"))
    if m:
        mem = "%.1f GiB" % (int(m.group(1)) / 1024 / 1024)
    return "nproc=%s; %s; %s; %s" % (nproc, cpu or "cpu unknown", mem or "memory unknown", platform.platform())


def machine_facts(args, flags):
    facts = []
    facts.append(("command", "`%s`" % shlex.join([sys.executable] + sys.argv)))
    facts.append(("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")))
    facts.append(("machine", machine_desc()))
    moto_v = subprocess.run(
        [args.python, "-c", "import moto; print(moto.__version__)"], capture_output=True, text=True
    ).stdout.strip()
    facts.append(("moto", moto_v or "unknown"))
    version = subprocess.run([args.binary, "--version"], capture_output=True, text=True, env=s3ep_env()).stdout.strip()
    facts.append(("s3ep", "`%s` (%s)" % (args.binary, version or "no --version")))
    facts.append(("proxy", "scripts/faultproxy.py, %s ms added to every EC2 call" % args.latency_ms))
    if args.throttle_rate > 0 or args.error_rate > 0:
        facts.append(
            (
                "faults",
                "throttle %.3f, error %.3f, on %s calls (seed %d)"
                % (args.throttle_rate, args.error_rate, args.faults_on, args.seed),
            )
        )
    facts.append(
        (
            "flags",
            "--parallelism %s; rate flags (%s) %s"
            % (
                "passed" if flags.parallelism else "NOT supported by this binary: not passed",
                " ".join("%s %s" % (f, args.rate) for f in RATE_FLAGS),
                "passed" if flags.rates else "NOT supported by this binary: not passed",
            ),
        )
    )
    patched = [n for n in args.sizes if needs_sg_patch(n)]
    if patched:
        facts.append(
            (
                "moto patched",
                "for N=%s, moto's limit of %d inbound rules per security group was switched off"
                % (",".join(map(str, patched)), SG_RULE_LIMIT),
            )
        )
    facts.append(
        (
            "plan",
            "hub (us-east-1: 2 subnets, 1 route table, interface endpoint with a 443 rule per VPC) + N spokes "
            "round-robin over %s (2 subnets, 3 route tables, gateway endpoint on all 3, peering to the hub "
            "with routes in all 3 and in the hub's table)" % ", ".join(REGIONS),
        )
    )
    return facts


# --------------------------------------------------------------------------
# --bounds: apply against its critical-path bound
#
# The bound of an apply is what its calls' dependencies and EC2's rate
# buckets allow at a fixed latency L per call, with nothing else costing
# time. It is derived here from the plan and s3ep's dependency rules
# (src/exec/graph.rs), for an apply that creates everything:
#
#   change          steps (in order) and the EC2 calls of each step
#   vpc.V           CreateVpc | ModifyVpcAttribute, CreateTags (DNS hostnames)
#   subnet.V.S      CreateSubnet
#   route_table.V.T CreateRouteTable | AssociateRouteTable (one step per subnet)
#   security_group.E CreateSecurityGroup          (interface endpoint's group)
#   ingress.E.SRC   AuthorizeSecurityGroupIngress
#   endpoint.E      CreateVpcEndpoint, DescribeVpcEndpoints (wait: available)
#   peering.P       CreateVpcPeeringConnection, DescribeVpcPeeringConnections
#                   in the accepter's region (pending-acceptance),
#                   AcceptVpcPeeringConnection, DescribeVpcPeeringConnections
#                   in the requester's region (active)
#   route.V.T.P     CreateRoute
#
# A step waits for the earlier steps of its change, for the Create* step
# that makes an id it uses, and inside one VPC: an endpoint for the DNS
# hostnames step and for the endpoints before it (they take turns). On
# moto every wait is answered by its first Describe (moto has no pending
# states), so each wait is one call.

LAB_PLAN = os.path.join(ROOT, "plans", "cross-region-lab.yaml")
# s3ep's default client-side buckets per region and action
# (src/cloud/rate.rs, EC2's published sizes): burst, refill per second.
BUCKETS = {"endpoint": (4.0, 0.3), "mutating": (50.0, 5.0), "describe": (100.0, 20.0)}
ENDPOINT_ACTIONS = ("CreateVpcEndpoint", "ModifyVpcEndpoint", "DeleteVpcEndpoints")
S3EP_DEFAULT_PARALLELISM = 16  # src/exec/mod.rs DEFAULT_PARALLELISM
TARGETS = {"lab": 1.3, "n": 1.15}


def bucket_of(action):
    if action in ENDPOINT_ACTIONS:
        return "endpoint"
    return "describe" if action.startswith("Describe") else "mutating"


class PStep:
    """One step of a fresh apply: its change's address, rank, place in the
    change, EC2 calls [(action, region)], the addresses whose ids it uses."""

    def __init__(self, address, rank, index, calls, refs=(), makes_id=False, scope=(), kind=""):
        self.address, self.rank, self.index = address, rank, index
        self.calls, self.refs, self.makes_id = list(calls), set(refs), makes_id
        self.scope, self.kind = set(scope), kind
        self.deps = []

    def label(self):
        return "%s#%d" % (self.address, self.index) if self.index else self.address


def fresh_apply_steps(plan):
    """The steps of an apply of PLAN (a parsed plan) into an empty account,
    in s3ep's schedule order (rank, address, step), with their deps."""
    vpcs = plan.get("vpcs") or {}
    region = lambda v: vpcs[v]["region"]  # noqa: E731
    steps = []
    for v, spec in vpcs.items():
        r, a = region(v), "vpc." + v
        steps.append(PStep(a, 0, 0, [("CreateVpc", r)], makes_id=True, scope=[v]))
        steps.append(PStep(a, 0, 1, [("ModifyVpcAttribute", r), ("CreateTags", r)], [a], scope=[v], kind="dns"))
        for s in spec.get("subnets") or {}:
            steps.append(PStep("subnet.%s.%s" % (v, s), 1, 0, [("CreateSubnet", r)], [a], True, [v]))
        for t, ts in (spec.get("route_tables") or {}).items():
            ta = "route_table.%s.%s" % (v, t)
            steps.append(PStep(ta, 2, 0, [("CreateRouteTable", r)], [a], True, [v]))
            for i, s in enumerate(ts.get("subnets") or []):
                steps.append(PStep(ta, 2, i + 1, [("AssociateRouteTable", r)], [ta, "subnet.%s.%s" % (v, s)], scope=[v]))
    for e, es in (plan.get("endpoints") or {}).items():
        v = es["vpc"]
        r = region(v)
        refs = ["vpc." + v]
        refs += ["route_table.%s.%s" % (v, t) for t in es.get("route_tables") or []]
        refs += ["subnet.%s.%s" % (v, s) for s in es.get("subnets") or []]
        sg = es.get("security_group")
        if sg is not None:
            ga = "security_group." + e
            steps.append(PStep(ga, 3, 0, [("CreateSecurityGroup", r)], ["vpc." + v], True, [v]))
            for src in sg.get("allow_https_from") or []:
                steps.append(PStep("ingress.%s.%s" % (e, src), 4, 0, [("AuthorizeSecurityGroupIngress", r)], [ga],
                                   scope=[v]))
            refs.append(ga)
        steps.append(PStep("endpoint." + e, 5, 0, [("CreateVpcEndpoint", r), ("DescribeVpcEndpoints", r)], refs, True,
                           [v], kind="endpoint"))
    for p, ps in (plan.get("peerings") or {}).items():
        rq, ac = ps["requester"], ps["accepter"]
        pa = "peering." + p
        calls = [
            ("CreateVpcPeeringConnection", region(rq)),
            ("DescribeVpcPeeringConnections", region(ac)),
            ("AcceptVpcPeeringConnection", region(ac)),
            ("DescribeVpcPeeringConnections", region(rq)),
        ]
        steps.append(PStep(pa, 6, 0, calls, ["vpc." + rq, "vpc." + ac], True, [rq, ac]))
        for v, tables in (ps.get("routes") or {}).items():
            for t in tables:
                steps.append(PStep("route.%s.%s.%s" % (v, t, p), 7, 0, [("CreateRoute", region(v))],
                                   ["route_table.%s.%s" % (v, t), pa], scope=[v]))
    order = sorted(steps, key=lambda s: (s.rank, s.address, s.index))
    for bi, b in enumerate(order):
        for a in order[:bi]:
            if (
                a.address == b.address
                or (a.makes_id and a.address in b.refs)
                or (a.scope & b.scope and b.kind == "endpoint" and a.kind in ("endpoint", "dns"))
            ):
                b.deps.append(a)
    return order


def longest_chains(order):
    """For every step: the most calls on a chain of dependent steps ending
    with it, and the dep it comes through. Returns (length, chain of steps
    ending at one of the longest), and the lengths dict."""
    best = {}
    for s in order:
        prev = max(s.deps, key=lambda d: best[d][0], default=None)
        best[s] = ((best[prev][0] if prev else 0) + len(s.calls), prev)
    end = max(order, key=lambda s: best[s][0])
    chain, s = [], end
    while s is not None:
        chain.append(s)
        s = best[s][1]
    return best[end][0], chain[::-1], {s: v[0] for s, v in best.items()}


def chain_calls(chain):
    return [(act, reg, s.label()) for s in chain for (act, reg) in s.calls]


def chain_text(calls):
    return " → ".join("%s (%s)" % (a, r) for a, r, _ in calls)


def endpoint_bucket_bounds(order, lengths, latency):
    """Per region: k endpoint creates, the calls on the longest chain before
    the first of them can be sent (pre), and the bound
    (1 read round + pre + the last CreateVpcEndpoint + its wait Describe) × L
    + max(0, k − burst) / refill."""
    burst, refill = BUCKETS["endpoint"]
    regions = {}
    for s in order:
        if s.kind == "endpoint":
            regions.setdefault(s.calls[0][1], []).append(s)
    rows = []
    for r, eps in sorted(regions.items()):
        k = len(eps)
        pre = min(lengths[s] - len(s.calls) for s in eps)
        wait = max(0.0, k - burst) / refill
        rows.append({"region": r, "k": k, "pre": pre, "token_wait": wait, "bound": (1 + pre + 2) * latency + wait})
    return rows


def simulate(order, latency, parallelism=None, read_rounds=1, settle_rounds=0, buckets=BUCKETS,
             settle_overlap=False):
    """Times a fresh apply: every call takes LATENCY and first waits for a
    token of its (region, action) bucket (reserved on arrival, as
    src/cloud/rate.rs does); a step starts when its deps are done and one
    of PARALLELISM slots is free (None: unlimited), lowest schedule index
    first. READ_ROUNDS before, SETTLE_ROUNDS after. With SETTLE_OVERLAP, one
    settle Describe per (region, kind) of the creates starts when that
    group's last create has ended (src/exec/mod.rs, ExecOptions::settle),
    and the run ends when the last of them does. Returns seconds."""
    import heapq

    def group(s):
        return (s.calls[0][1], s.address.split(".")[0]) if s.makes_id else None

    open_groups = {}
    for s in order:
        if group(s):
            open_groups[group(s)] = open_groups.get(group(s), 0) + 1

    idx = {s: i for i, s in enumerate(order)}
    dependents = {s: [] for s in order}
    waiting = {}
    for s in order:
        waiting[s] = len(s.deps)
        for d in s.deps:
            dependents[d].append(s)
    state = {}

    def reserve(region, action, t):
        burst, refill = buckets[bucket_of(action)]
        tok, last = state.get((region, action), (burst, t))
        tok = min(burst, tok + (t - last) * refill) - 1.0
        state[(region, action)] = (tok, t)
        return 0.0 if tok >= 0 else -tok / refill

    t0 = read_rounds * latency
    ready = [idx[s] for s in order if not s.deps]
    heapq.heapify(ready)
    events, seq, running, end = [], 0, 0, t0

    def start_ready(t):
        nonlocal seq, running
        while ready and (parallelism is None or running < parallelism):
            s = order[heapq.heappop(ready)]
            running += 1
            act, reg = s.calls[0]
            heapq.heappush(events, (t + reserve(reg, act, t) + latency, seq, s, 1))
            seq += 1

    start_ready(t0)
    while events:
        t, _, s, k = heapq.heappop(events)
        end = max(end, t)
        if k < len(s.calls):
            reg = s.calls[k][1]
            heapq.heappush(events, (t + reserve(reg, s.calls[k][0], t) + latency, seq, s, k + 1))
            seq += 1
            continue
        running -= 1
        g = group(s)
        if settle_overlap and g:
            open_groups[g] -= 1
            if open_groups[g] == 0:
                end = max(end, t + latency)
        for d in dependents[s]:
            waiting[d] -= 1
            if waiting[d] == 0:
                heapq.heappush(ready, idx[d])
        start_ready(t)
    return end + settle_rounds * latency


def analyze_timeline(calls, t_launch, t_exit, latency):
    """Splits one run's wall clock along the chain of calls walked back from
    the last one to end (each call's predecessor: the call that ended last
    before it started): start-up, per chain call its latency, moto's time,
    the proxy's own time and the gap before it (s3ep's own time, a rate-token
    wait or a poll pause), and the tail after the last call."""
    calls = sorted((c for c in calls if c.get("end") is not None), key=lambda c: c["start"])
    if not calls:
        return None
    by_end = sorted(calls, key=lambda c: c["end"])
    ends = [c["end"] for c in by_end]
    import bisect

    chain = [by_end[-1]]
    while True:
        i = bisect.bisect_right(ends, chain[-1]["start"]) - 1
        if i < 0:
            break
        chain.append(by_end[i])
    chain.reverse()
    rows = []
    prev_end = t_launch
    for c in chain:
        moto = (c["upstream_done"] - c["forward"]) if c.get("forward") and c.get("upstream_done") else 0.0
        dur = c["end"] - c["start"]
        rows.append({
            "action": c["action"], "region": c["region"], "at": c["start"] - t_launch,
            "gap": c["start"] - prev_end, "dur": dur, "moto": moto, "proxy": max(0.0, dur - latency - moto),
        })
        prev_end = c["end"]
    # Time with nothing in flight between the first call and the last end.
    idle, covered_to = 0.0, calls[0]["start"]
    for c in calls:
        if c["start"] > covered_to:
            idle += c["start"] - covered_to
        covered_to = max(covered_to, c["end"])
    motos = sorted((c["upstream_done"] - c["forward"]) for c in calls if c.get("forward") and c.get("upstream_done"))
    first_mut = min((c["start"] for c in calls if not c["action"].startswith("Describe")), default=None)
    return {
        "startup": rows[0]["gap"] if rows else 0.0,
        "chain": rows,
        "tail": t_exit - chain[-1]["end"],
        "idle": idle,
        "calls": len(calls),
        "moto_median": motos[len(motos) // 2] if motos else 0.0,
        "moto_max": motos[-1] if motos else 0.0,
        "moto_sum": sum(motos),
        "first_call": calls[0]["start"] - t_launch,
        "first_mutating": (first_mut - t_launch) if first_mut else None,
        "last_end": max(ends) - t_launch,
    }


def match_chain(calls, ccalls, t_launch, t_exit):
    """Finds the calls of the model's longest chain CCALLS in one run's call
    log: for each link, the first call of that action and region that
    starts after the previous link ended. Returns rows (action, region,
    start, gap before it, duration, moto) and the time after the last link
    (None when a link is missing)."""
    calls = sorted((c for c in calls if c.get("end") is not None), key=lambda c: c["start"])
    rows, prev_end = [], t_launch
    for act, reg, _label in ccalls:
        hit = next((c for c in calls if c["action"] == act and c["region"] == reg and c["start"] >= prev_end), None)
        if hit is None:
            return None, None
        moto = (hit["upstream_done"] - hit["forward"]) if hit.get("forward") and hit.get("upstream_done") else 0.0
        rows.append({"action": act, "region": reg, "at": hit["start"] - t_launch, "gap": hit["start"] - prev_end,
                     "dur": hit["end"] - hit["start"], "moto": moto})
        prev_end = hit["end"]
    return rows, t_exit - prev_end


def endpoint_token_lateness(calls, t_launch):
    """Per region: when its CreateVpcEndpoint calls started (s after launch),
    and how late the last one was against the bucket's own schedule counted
    from the region's first one (first + (k − burst) / refill)."""
    burst, refill = BUCKETS["endpoint"]
    out = {}
    for c in calls:
        if c["action"] == "CreateVpcEndpoint":
            out.setdefault(c["region"], []).append(c["start"] - t_launch)
    rows = []
    for r, ts in sorted(out.items()):
        ts.sort()
        ideal_last = ts[0] + max(0, len(ts) - burst) / refill
        rows.append({"region": r, "k": len(ts), "first": ts[0], "last": ts[-1], "late": ts[-1] - ideal_last})
    return rows


def plan_bounds(key, text, L):
    """The bounds of a fresh apply of plan TEXT at latency L (seconds): the
    model's steps, the longest chain, the graph bound, the CreateVpcEndpoint
    bucket's bound per region (counted for KEY "n" only) and the two
    zero-overhead simulations."""
    import yaml

    order = fresh_apply_steps(yaml.safe_load(text))
    length, chain, lengths = longest_chains(order)
    graph_bound = (length + 1) * L
    ep_rows = endpoint_bucket_bounds(order, lengths, L)
    bound = graph_bound
    if key == "n":
        bound = max([graph_bound] + [r["bound"] for r in ep_rows])
    return {"order": order, "length": length, "ccalls": chain_calls(chain), "graph_bound": graph_bound,
            "ep_rows": ep_rows, "bound": bound, "sim_free": simulate(order, L, None, 1, 0),
            "sim_s3ep": simulate(order, L, S3EP_DEFAULT_PARALLELISM, 1, 0, settle_overlap=True)}


def bound_lines(key, b, L):
    """Markdown lines: the longest chain and how the bound is computed."""
    out = []
    out.append("Longest chain of dependent calls (%d calls):\n" % b["length"])
    out.append("    " + chain_text(b["ccalls"]))
    out.append("")
    out.append("Graph bound = (%d chain calls + 1 read round) × %s = **%.3f s**." % (b["length"], ms(L),
                                                                                 b["graph_bound"]))
    if key == "n":
        out.append("")
        out.append("CreateVpcEndpoint bucket (burst %g, %g/s per region): bound_r = (1 read round + pre_r + "
                   "the last CreateVpcEndpoint + its wait Describe) × L + max(0, k_r − %g) / %g s, where pre_r "
                   "is the longest chain before the region's first CreateVpcEndpoint can be sent:\n"
                   % (BUCKETS["endpoint"] + (BUCKETS["endpoint"][0], BUCKETS["endpoint"][1])))
        out.append(md_table(["region", "k_r endpoints", "pre_r calls", "token wait", "bound_r"],
                            [[e["region"], e["k"], e["pre"], "%.3f s" % e["token_wait"], "%.3f s" % e["bound"]]
                             for e in b["ep_rows"]]))
        out.append("")
        out.append("Bound = max(graph bound, max_r bound_r) = **%.3f s**." % b["bound"])
    out.append("")
    out.append("Model, no overhead at all: unlimited parallelism and 1 read round → %.3f s; s3ep's shape "
               "(parallelism %d, 1 read round, each kind's settle Describe once its creates in a region have "
               "ended) → %.3f s." % (b["sim_free"], S3EP_DEFAULT_PARALLELISM, b["sim_s3ep"]))
    out.append("")
    return out


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def bounds_run(args, name, plan_text, workroot, verbose=False):
    """One fresh moto + proxy, one `apply --yes -q` with s3ep's defaults.
    Returns wall seconds, the proxy's stats and call log, launch/exit times,
    and (VERBOSE) s3ep's -v log."""
    workdir = tempfile.mkdtemp(prefix="bounds-%s-" % name, dir=workroot)
    plan_path = os.path.join(workdir, "%s.yaml" % name)
    with open(plan_path, "w") as f:
        f.write(plan_text)
    env = s3ep_env()
    env["S3EP_EMULATOR"] = "moto"
    moto = proxy = None
    try:
        moto = Moto(args, workdir, False)
        proxy = Proxy(args, workdir, moto.url)
        cmd = [args.binary, "--endpoint-url", proxy.url] + (["-v"] if verbose else []) + [
            "apply", "--yes", "-q", plan_path]
        proxy.reset()
        t_launch = time.time()
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.run_timeout, env=env)
        t_exit = time.time()
        if out.returncode != 0:
            die("%s: apply exited %d\n$ %s\n%s\n%s" % (name, out.returncode, shlex.join(cmd), tail(out.stderr),
                                                      tail(read_file(moto.log_path), 20)))
        stats = proxy.stats()
        log_ = proxy._call("GET", "/__proxy/calls")["calls"]
        if verbose:
            with open(os.path.join(workdir, "s3ep-v.log"), "w") as f:
                f.write(out.stderr)
    finally:
        if proxy:
            proxy.stop()
        if moto:
            moto.stop()
    if not args.keep_logs:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"wall": t_exit - t_launch, "stats": stats, "calls": log_, "t_launch": t_launch, "t_exit": t_exit,
            "stderr": out.stderr if verbose else "", "workdir": workdir if args.keep_logs else None}


def ms(x):
    return "%.0f ms" % (x * 1000)


def bounds_main(args):
    import yaml

    L = args.latency_ms / 1000.0
    flags = Flags(args.binary)
    facts = machine_facts(args, flags)
    facts = [f for f in facts if f[0] not in ("flags", "plan", "moto patched")]
    facts.append(("load average at start", "%.2f %.2f %.2f (1/5/15 min)" % os.getloadavg()))
    facts.append(("s3ep settings", "defaults: no --parallelism (%d), no --rate-* flags (endpoint 4/0.3, other "
                  "mutating 50/5, Describe 100/20 per region and action); env S3EP_EMULATOR=moto"
                  % S3EP_DEFAULT_PARALLELISM))
    with open(args.lab_plan) as f:
        lab_text = f.read()
    n = args.bounds_n
    runs = [("lab", "plans/" + os.path.basename(args.lab_plan), lab_text), ("n", "N=%d hub and spokes" % n, plan_yaml(n))]
    workroot = tempfile.mkdtemp(prefix="s3ep-bounds-")
    out = ["# s3ep apply against its critical-path bounds\n"]
    out += ["- %s: %s" % kv for kv in facts]
    out.append("")
    table, raw = [], {}
    for key, title, text in runs:
        b = plan_bounds(key, text, L)
        order, length, ccalls, graph_bound = b["order"], b["length"], b["ccalls"], b["graph_bound"]
        ep_rows, bound, sim_free, sim_s3ep = b["ep_rows"], b["bound"], b["sim_free"], b["sim_s3ep"]
        results = []
        for i in range(args.repeat):
            r = bounds_run(args, "%s-%d" % (key, i), text, workroot)
            r["analysis"] = analyze_timeline(r["calls"], r["t_launch"], r["t_exit"], L)
            log("%s run %d/%d: %.3f s, %d calls" % (key, i + 1, args.repeat, r["wall"], r["stats"]["total_forwarded"]))
            results.append(r)
        verbose = bounds_run(args, "%s-v" % key, text, workroot, verbose=True) if args.diag else None
        walls = [r["wall"] for r in results]
        med, mn = median(walls), min(walls)
        table.append([title, "%.3f s" % med, "%.3f s" % mn, "%.3f s" % bound, "%.2f×" % (med / bound),
                      "%.2f×" % (mn / bound), "%.2f×" % TARGETS[key],
                      "yes" if med / bound <= TARGETS[key] else "**no**"])
        raw[key] = {"walls": walls, "bound": bound, "graph_bound": graph_bound, "chain": ccalls,
                    "endpoint_rows": ep_rows, "sim_unlimited": sim_free, "sim_s3ep_shape": sim_s3ep,
                    "runs": [{k: v for k, v in r.items() if k not in ("calls", "stderr")} for r in results]}
        # -- the section for this run
        out.append("## %s\n" % title)
        steps_n = len(order)
        calls_n = sum(len(s.calls) for s in order)
        out.append("Fresh apply: %d steps, %d EC2 calls besides the reads (model of src/exec/graph.rs; "
                   "measured: %d calls in all)." % (steps_n, calls_n, results[0]["stats"]["total_forwarded"]))
        out.append("")
        out += bound_lines(key, b, L)
        out.append(md_table(["run", "wall", "start-up", "first mutating call", "last call ends", "exit after it",
                             "calls", "idle (none in flight)", "moto per call median / max"],
                            [[i + 1, "%.3f s" % r["wall"], ms(r["analysis"]["startup"]),
                              "%.3f s" % r["analysis"]["first_mutating"], "%.3f s" % r["analysis"]["last_end"],
                              ms(r["analysis"]["tail"]), r["analysis"]["calls"], ms(r["analysis"]["idle"]),
                              "%s / %s" % (ms(r["analysis"]["moto_median"]), ms(r["analysis"]["moto_max"]))]
                             for i, r in enumerate(results)]))
        out.append("")
        # The measured critical chain of the median run.
        mid = sorted(results, key=lambda r: r["wall"])[len(results) // 2]
        a = mid["analysis"]
        if key == "lab":
            links, after = match_chain(mid["calls"], ccalls, mid["t_launch"], mid["t_exit"])
            if links:
                out.append("The bound's chain found in the median run's call log (%.3f s): per link its start, the "
                           "gap since the previous link ended (s3ep's own time), its duration (%s latency + moto "
                           "+ proxy) and moto's share:\n" % (mid["wall"], ms(L)))
                rows = [["launch → first link (start-up, read rounds)", "", ms(links[0]["gap"]), "", ""]]
                for c in links:
                    rows.append(["%s (%s)" % (c["action"], c["region"]), "%.3f s" % c["at"],
                                 ms(c["gap"]) if c is not links[0] else "", ms(c["dur"]), ms(c["moto"])])
                rows.append(["last link → exit (settle round, exit)", "", ms(after), "", ""])
                out.append(md_table(["link", "starts at", "gap", "duration", "moto"], rows))
                out.append("")
        out.append("Measured chain of the median run (%.3f s), walked back from the last call to end; each call's "
                   "predecessor is the call that ended last before it started (%d calls). Where calls queue for "
                   "moto's CPU rather than wait for each other, this follows the queue, not the dependencies.\n"
                   % (mid["wall"], len(a["chain"])))
        chain_rows = a["chain"]
        shown = chain_rows if len(chain_rows) <= 40 else sorted(chain_rows, key=lambda c: -c["gap"])[:12]
        if shown is not chain_rows:
            out.append("(%d calls; the 12 with the longest gaps before them, in time order:)\n" % len(chain_rows))
            shown = sorted(shown, key=lambda c: c["at"])
        rows = [["start-up (launch → first chain call)", "", "", "", "", ms(a["startup"])]]
        for c in shown:
            first = c is chain_rows[0]
            rows.append(["%s (%s)" % (c["action"], c["region"]), "%.3f s" % c["at"], "" if first else ms(c["gap"]),
                         ms(c["moto"]), ms(c["proxy"]), ms(c["dur"] + (0 if first else c["gap"]))])
        rows.append(["exit (last call → process end)", "", "", "", "", ms(a["tail"])])
        out.append(md_table(["call", "starts at", "gap before", "moto", "proxy", "time on the path"], rows))
        tot_gap = sum(c["gap"] for c in a["chain"][1:])
        tot_moto = sum(c["moto"] for c in a["chain"])
        tot_proxy = sum(c["proxy"] for c in a["chain"])
        out.append("")
        out.append("Wall %.3f s = start-up %s + %d × %s latency + moto %s + proxy %s + gaps %s + exit %s."
                   % (mid["wall"], ms(a["startup"]), len(a["chain"]), ms(L), ms(tot_moto), ms(tot_proxy),
                      ms(tot_gap), ms(a["tail"])))
        if key == "n":
            out.append("")
            out.append("CreateVpcEndpoint calls of the median run, per region (s after launch); `late` = the last "
                       "one's start minus (the region's first + (k − 4) / 0.3 s):\n")
            out.append(md_table(["region", "k", "first", "last", "late"],
                                [[e["region"], e["k"], "%.3f s" % e["first"], "%.3f s" % e["last"], ms(e["late"])]
                                 for e in endpoint_token_lateness(mid["calls"], mid["t_launch"])]))
            others = [c for c in mid["calls"] if c.get("end") and not c["action"].startswith("Describe")
                      and c["action"] != "CreateVpcEndpoint"]
            eps = [c for c in mid["calls"] if c.get("end") and c["action"] == "CreateVpcEndpoint"]
            if others and eps:
                last_other = max(others, key=lambda c: c["end"])
                out.append("")
                out.append("The last mutating call other than CreateVpcEndpoint (%s, %s) ended at %.3f s; the last "
                           "CreateVpcEndpoint ended at %.3f s; the run exited at %.3f s."
                           % (last_other["action"], last_other["region"], last_other["end"] - mid["t_launch"],
                              max(c["end"] for c in eps) - mid["t_launch"], mid["wall"]))
        if verbose is not None:
            paced = [ln for ln in verbose["stderr"].splitlines() if "pacing" in ln]
            out.append("")
            out.append("`-v` run (not counted): %.3f s, %d calls; %d calls waited for a rate token (s3ep's "
                       "`pacing for the EC2 rate bucket` lines)." % (verbose["wall"], verbose["stats"]["total_forwarded"],
                                                                 len(paced)))
            raw[key]["verbose_stderr"] = verbose["stderr"]
        out.append("")
    facts.append(("load average at end", "%.2f %.2f %.2f (1/5/15 min)" % os.getloadavg()))
    out.insert(len(facts), "- %s: %s" % facts[-1])
    head = ["## Results\n",
            md_table(["run", "measured median", "min", "bound", "ratio (median)", "ratio (min)", "target", "met"], table),
            "", "Runs per plan: %d, each with a fresh moto and proxy (%s per call)." % (args.repeat, ms(L)), ""]
    text = "\n".join(out[:1] + out[1:len(facts) + 2] + head + out[len(facts) + 2:]) + "\n"
    if not args.keep_logs:
        shutil.rmtree(workroot, ignore_errors=True)
    else:
        log("per-run directories kept in %s" % workroot)
    sys.stdout.write(text)
    if args.markdown_out:
        with open(args.markdown_out, "w") as f:
            f.write(text)
        log("report written to %s" % args.markdown_out)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"facts": dict(facts), "bounds": raw}, f, indent=1)
        log("raw results written to %s" % args.json_out)
    return 0


# --------------------------------------------------------------------------
# --bounds --in-process: the same bounds, measured inside one process
#
# examples/critical_path.rs runs the CLI apply's library path (plan load,
# state read, diff, exec::execute with the default ExecOptions, settle)
# against the in-memory EC2 (src/cloud/memory) with --latency-ms per call
# and s3ep's default rate buckets. No moto, no proxy, no process start-up,
# no HTTP/SDK: what is left over the bound is s3ep's own schedule.


def default_example_binary():
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    return os.path.join(target, "debug", "examples", "critical_path")


def inprocess_main(args):
    L = args.latency_ms / 1000.0
    facts = [
        ("command", "`%s`" % shlex.join([sys.executable] + sys.argv)),
        ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("machine", machine_desc()),
        ("example", "`%s` (cargo run --example critical_path)" % args.example_binary),
        ("cloud", "in-memory EC2 (src/cloud/memory), %s ms per call, s3ep's default rate buckets (endpoint "
                  "4/0.3, other mutating 50/5, Describe 100/20 per region and action), default parallelism "
                  "(%d), emulator workarounds off" % (args.latency_ms, S3EP_DEFAULT_PARALLELISM)),
        ("load average at start", "%.2f %.2f %.2f (1/5/15 min)" % os.getloadavg()),
    ]
    workroot = tempfile.mkdtemp(prefix="s3ep-inproc-")
    n = args.bounds_n
    with open(args.lab_plan) as f:
        lab_text = f.read()
    n_path = os.path.join(workroot, "bench-n%d.yaml" % n)
    with open(n_path, "w") as f:
        f.write(plan_yaml(n))
    runs = [("lab", "plans/" + os.path.basename(args.lab_plan), lab_text, args.lab_plan),
            ("n", "N=%d hub and spokes" % n, plan_yaml(n), n_path)]
    table, raw, sections = [], {}, []
    try:
        for key, title, text, path in runs:
            b = plan_bounds(key, text, L)
            cmd = [args.example_binary, "--json", "--repeat", str(args.repeat), "--latency-ms",
                   repr(args.latency_ms), path]
            log("$ " + shlex.join(cmd))
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.run_timeout * args.repeat)
            if out.returncode != 0:
                die("%s: critical_path exited %d\n%s" % (title, out.returncode, tail(out.stderr)))
            doc = json.loads(out.stdout)
            rs = doc["runs"]
            walls = [r["wall_s"] for r in rs]
            for i, w in enumerate(walls):
                log("%s run %d/%d: %.3f s, %d calls" % (key, i + 1, len(walls), w, rs[i]["calls"]))
            med, mn, bound = median(walls), min(walls), b["bound"]
            table.append([title, "%.3f s" % med, "%.3f s" % mn, "%.3f s" % bound, "%.2f×" % (med / bound),
                          "%.2f×" % (mn / bound), "%.2f×" % TARGETS[key],
                          "yes" if med / bound <= TARGETS[key] else "**no**"])
            raw[key] = {"walls": walls, "bound": bound, "graph_bound": b["graph_bound"], "chain": b["ccalls"],
                        "endpoint_rows": b["ep_rows"], "sim_unlimited": b["sim_free"],
                        "sim_s3ep_shape": b["sim_s3ep"], "runs": rs}
            sec = ["## %s\n" % title]
            model_calls = sum(len(s.calls) for s in b["order"])
            sec.append("Fresh apply: %d steps, %d EC2 calls besides the reads (model of src/exec/graph.rs; "
                       "measured: %d calls in the execute phase, %d in all)."
                       % (len(b["order"]), model_calls, rs[0]["calls_execute"], rs[0]["calls"]))
            sec.append("")
            sec += bound_lines(key, b, L)
            sec.append(md_table(["run", "wall", "read", "diff", "execute (with its settle)",
                                 "calls (read / execute and settle)",
                                 "most in flight (read / execute + settle)"],
                                [[i + 1, "%.3f s" % r["wall_s"], ms(r["read_s"]), ms(r["diff_s"]),
                                  "%.3f s" % r["execute_s"],
                                  "%d (%d / %d)" % (r["calls"], r["calls_read"], r["calls_execute"]),
                                  "%d / %d" % (r["max_in_flight_read"], r["max_in_flight_execute_settle"])]
                                 for i, r in enumerate(rs)]))
            sec.append("")
            mid = sorted(rs, key=lambda r: r["wall_s"])[len(rs) // 2]
            if mid.get("first_mutating_sent_s") is not None:
                sec.append("Median run (%.3f s): the diff took %s; the first mutating call was sent %s after the "
                           "start of the read." % (mid["wall_s"], ms(mid["diff_s"]), ms(mid["first_mutating_sent_s"])))
                sec.append("")
            eps = mid.get("endpoint_creates_sent_s") or {}
            if key == "n" and eps:
                burst, refill = BUCKETS["endpoint"]
                sec.append("CreateVpcEndpoint calls of the median run, per region (sent, s after the start of the "
                           "read); `late` = the last one minus (the region's first + (k − %g) / %g s):\n"
                           % (burst, refill))
                sec.append(md_table(["region", "k", "first", "last", "late"],
                                    [[r, len(ts), "%.3f s" % ts[0], "%.3f s" % ts[-1],
                                      ms(ts[-1] - ts[0] - max(0, len(ts) - burst) / refill)]
                                     for r, ts in sorted(eps.items())]))
                sec.append("")
            sec.append(md_table(["operation", "calls (run 1)"],
                                [[op, c] for op, c in sorted(rs[0]["calls_by_op"].items())]))
            sec.append("")
            sections += sec
    finally:
        shutil.rmtree(workroot, ignore_errors=True)
    facts.append(("load average at end", "%.2f %.2f %.2f (1/5/15 min)" % os.getloadavg()))
    out = ["# s3ep apply in process (in-memory EC2) against its critical-path bounds\n"]
    out += ["- %s: %s" % kv for kv in facts]
    out += ["", "## Results\n",
            md_table(["run", "measured median", "min", "bound", "ratio (median)", "ratio (min)", "target", "met"],
                     table),
            "", "Runs per plan: %d, each with a fresh in-memory cloud (%s per call). Wall time: from the start "
            "of the state read to the end of the settle." % (args.repeat, ms(L)), ""]
    text = "\n".join(out + sections) + "\n"
    sys.stdout.write(text)
    if args.markdown_out:
        with open(args.markdown_out, "w") as f:
            f.write(text)
        log("report written to %s" % args.markdown_out)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"facts": dict(facts), "bounds": raw}, f, indent=1)
        log("raw results written to %s" % args.json_out)
    return 0


# --------------------------------------------------------------------------


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Benchmark s3ep (apply, no-change plan, destroy) against moto behind a latency proxy.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--sizes", default="4,16,32", help="comma-separated numbers of spoke VPCs (1..%d)" % MAX_N)
    p.add_argument(
        "--parallelism", default="1,default", help="comma-separated --parallelism values; 'default' = flag not passed"
    )
    p.add_argument("--latency-ms", type=float, default=50.0, help="latency the proxy adds to every EC2 call")
    p.add_argument("--binary", default=None, help="s3ep binary (default: first of $CARGO_TARGET_DIR/debug/s3ep, "
                   "target/debug/s3ep, /var/tmp/s3ep-target/debug/s3ep that exists)")
    p.add_argument("--moto-server", default=os.path.join(VENV, "bin", "moto_server"))
    p.add_argument("--python", default=os.path.join(VENV, "bin", "python"), help="python with moto and boto3")
    p.add_argument("--rate", default="1000/1000", help="value given to --rate-endpoint/--rate-mutating/--rate-describe")
    p.add_argument("--throttle-rate", type=float, default=0.0, help="proxy: probability of RequestLimitExceeded")
    p.add_argument("--error-rate", type=float, default=0.0, help="proxy: probability of a 500 InternalError")
    p.add_argument("--faults-on", choices=["all", "mutating"], default="all", help="proxy: calls faults apply to")
    p.add_argument("--seed", type=int, default=1, help="proxy: seed of the fault draws")
    p.add_argument("--run-timeout", type=float, default=1800.0, help="seconds one s3ep run may take")
    p.add_argument("--markdown-out", default=None, help="also write the report to this file")
    p.add_argument("--json-out", default=None, help="also write the raw results (JSON) to this file")
    p.add_argument("--keep-logs", action="store_true", help="keep the per-run directories (plan, moto and proxy logs)")
    p.add_argument("--bounds", action="store_true",
                   help="instead of the phase tables: time `apply` of the lab plan and of the N-spoke plan with "
                   "s3ep's default parallelism and rate buckets, against their critical-path bounds")
    p.add_argument("--repeat", type=int, default=5, help="--bounds: runs per plan (fresh moto each)")
    p.add_argument("--bounds-n", type=int, default=32, help="--bounds: spokes of the generated plan")
    p.add_argument("--lab-plan", default=LAB_PLAN, help="--bounds: the lab plan")
    p.add_argument("--diag", action="store_true", help="--bounds: one more run per plan with s3ep -v (not timed)")
    p.add_argument("--in-process", action="store_true",
                   help="--bounds: run examples/critical_path.rs (the apply's library path against the in-memory "
                   "EC2, --latency-ms per call, default rate buckets) instead of the CLI against moto")
    p.add_argument("--example-binary", default=default_example_binary(),
                   help="--in-process: the built example (cargo build --example critical_path)")
    p.add_argument("--write-plan", type=int, metavar="N", default=None,
                   help="only print the generated plan for N spokes to stdout and exit")
    args = p.parse_args(argv)

    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        p.error("--sizes: comma-separated integers, got %r" % args.sizes)
    if not args.sizes or any(not 1 <= n <= MAX_N for n in args.sizes):
        p.error("--sizes: each N must be between 1 and %d" % MAX_N)
    pars = [s.strip() for s in args.parallelism.split(",") if s.strip()]
    for v in pars:
        if v != "default" and not (v.isdigit() and int(v) >= 1):
            p.error("--parallelism: positive integers or 'default', got %r" % v)
    if not pars or len(set(pars)) != len(pars):
        p.error("--parallelism: a non-empty list without repeats")
    args.parallelism = pars
    for name in ("throttle_rate", "error_rate"):
        if not 0 <= getattr(args, name) <= 1:
            p.error("--%s must be between 0 and 1" % name.replace("_", "-"))
    if args.bounds and (args.repeat < 1 or not 1 <= args.bounds_n <= MAX_N or needs_sg_patch(args.bounds_n)):
        p.error("--bounds: --repeat >= 1 and --bounds-n 1..%d (plain moto only)" % (SG_RULE_LIMIT - 1))
    if args.write_plan is not None:
        return args
    if args.in_process:
        if not args.bounds:
            p.error("--in-process goes with --bounds")
        if not (os.path.isfile(args.example_binary) and os.access(args.example_binary, os.X_OK)):
            p.error("--example-binary: %s is not an executable file (cargo build --example critical_path)"
                    % args.example_binary)
        return args
    args.binary = args.binary or default_binary()
    for what, path in (("--binary", args.binary), ("--moto-server", args.moto_server), ("--python", args.python)):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            p.error("%s: %s is not an executable file (scripts/moto.sh install; cargo build)" % (what, path))
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.write_plan is not None:
        sys.stdout.write(plan_yaml(args.write_plan))
        return 0

    # SIGTERM unwinds like Ctrl-C, so that every moto and proxy is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    if args.bounds:
        return inprocess_main(args) if args.in_process else bounds_main(args)

    flags = Flags(args.binary)
    if not flags.parallelism:
        log("WARNING: %s --help does not list --parallelism: not passing it; every parallelism "
            "setting runs the binary's only mode" % args.binary)
    if not flags.rates:
        log("WARNING: %s --help does not list %s: not passing them" % (args.binary, "/".join(RATE_FLAGS)))
    for n in args.sizes:
        if needs_sg_patch(n):
            log("N=%d needs %d inbound rules in the hub's security group; moto allows %d: starting moto with "
                "that limit switched off" % (n, n + 1, SG_RULE_LIMIT))

    facts = machine_facts(args, flags)
    workroot = tempfile.mkdtemp(prefix="s3ep-bench-")
    results = []
    ok = False
    try:
        for n in args.sizes:
            for par in args.parallelism:
                results += bench_one(args, flags, n, par, workroot)
        ok = True
    finally:
        if args.keep_logs or not ok:
            log("per-run directories (plans, moto and proxy logs) kept in %s" % workroot)
        else:
            shutil.rmtree(workroot, ignore_errors=True)

    text = report(args, results, facts)
    sys.stdout.write(text)
    sys.stdout.flush()
    if args.markdown_out:
        with open(args.markdown_out, "w") as f:
            f.write(text)
        log("report written to %s" % args.markdown_out)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"facts": dict(facts), "results": results}, f, indent=1)
        log("raw results written to %s" % args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
