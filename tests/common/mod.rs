//! End-to-end test harness: one private moto server (EC2 emulator; plain moto or
//! the strict EC2 mode of scripts/strict_ec2.py) per test,
//! the built `s3ep` binary run against it, and boto3 for out-of-band actions and
//! checks.
//!
//! `scripts/test.sh` installs moto into `<repo>/.venv` and exports
//! `S3EP_MOTO_SERVER` and `S3EP_PYTHON`; without them the harness falls back to
//! `<repo>/.venv/bin/{moto_server,python}`. `Moto::start_default()` runs the
//! emulator named by `S3EP_TEST_EMULATOR` (`strict`, the default, or
//! `moto`); `Moto::start()` is always plain moto.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// How long one `s3ep` or python run may take before the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a moto server may take to accept TCP connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);

fn tool_path(var: &str, default_rel: &str) -> PathBuf {
    let path = match std::env::var_os(var) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => repo_root().join(default_rel),
    };
    if !path.exists() {
        panic!(
            "{} not found ({var} unset or wrong): run scripts/test.sh (it installs moto)",
            path.display()
        );
    }
    path
}

pub fn moto_server_path() -> PathBuf {
    tool_path("S3EP_MOTO_SERVER", ".venv/bin/moto_server")
}

pub fn python_path() -> PathBuf {
    tool_path("S3EP_PYTHON", ".venv/bin/python")
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

/// Which EC2 emulator a `Moto` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emulator {
    /// Plain moto (`moto_server`, S3EP_MOTO_SERVER).
    Moto,
    /// moto with `scripts/strict_ec2.py`'s patches (run by S3EP_PYTHON): EC2's
    /// client tokens, lags, error codes, dependencies… (see that file and
    /// docs/ec2-and-moto.md, "Strict EC2 mode").
    Strict,
}

impl Emulator {
    /// `S3EP_TEST_EMULATOR` = `strict` (the default) or `moto`.
    pub fn from_env() -> Emulator {
        match std::env::var("S3EP_TEST_EMULATOR").unwrap_or_default().trim() {
            "moto" => Emulator::Moto,
            "" | "strict" => Emulator::Strict,
            other => panic!("S3EP_TEST_EMULATOR={other:?}: expected moto or strict"),
        }
    }
}

pub fn strict_script_path() -> PathBuf {
    repo_root().join("scripts").join("strict_ec2.py")
}

/// A moto server (plain or strict) on a free loopback port, killed on drop.
pub struct Moto {
    child: Child,
    port: u16,
    emulator: Emulator,
    _log_dir: tempfile::TempDir,
    log_path: PathBuf,
}

impl Moto {
    /// Starts a fresh plain moto server, waits until it accepts connections, and
    /// warms it up with one EC2 call. Panics (with moto's log) if that fails.
    pub fn start() -> Moto {
        Moto::start_with(Emulator::Moto, &[])
    }

    /// Like `start`, but the strict EC2 mode (scripts/strict_ec2.py) with its
    /// default knobs.
    pub fn start_strict() -> Moto {
        Moto::start_with(Emulator::Strict, &[])
    }

    /// The emulator chosen by `S3EP_TEST_EMULATOR` (`strict` unless set).
    pub fn start_default() -> Moto {
        Moto::start_with(Emulator::from_env(), &[])
    }

    /// Starts EMULATOR with extra environment variables ENV (the strict mode's
    /// knobs, e.g. `("S3EP_STRICT_LAG", "0")`).
    pub fn start_with(emulator: Emulator, env: &[(&str, &str)]) -> Moto {
        let (program, pre_args): (PathBuf, Vec<String>) = match emulator {
            Emulator::Moto => (moto_server_path(), vec![]),
            Emulator::Strict => (
                python_path(),
                vec![strict_script_path().to_string_lossy().into_owned()],
            ),
        };
        let mut last_err = String::new();
        // A port picked by bind(0) can be taken by someone else before moto binds
        // it; retry a few times with a new port.
        for _attempt in 0..3 {
            let port = free_port();
            let log_dir = tempfile::tempdir().expect("tempdir for moto log");
            let log_path = log_dir.path().join("moto.log");
            let log = std::fs::File::create(&log_path).expect("create moto log");
            let log2 = log.try_clone().expect("clone moto log");
            let child = Command::new(&program)
                .args(&pre_args)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .stdout(Stdio::from(log))
                .stderr(Stdio::from(log2))
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
            let mut moto = Moto {
                child,
                port,
                emulator,
                _log_dir: log_dir,
                log_path,
            };
            match moto.wait_ready() {
                Ok(()) => {
                    moto.warm_up();
                    return moto;
                }
                Err(e) => last_err = e, // moto dropped (killed) here
            }
        }
        panic!("{emulator:?} emulator did not start: {last_err}");
    }

    /// Which emulator this is.
    pub fn emulator(&self) -> Emulator {
        self.emulator
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let addr: SocketAddr = ([127, 0, 0, 1], self.port).into();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "moto_server exited early ({status}) on port {}:\n{}",
                    self.port,
                    self.log()
                ));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "moto_server not listening on port {} after {:?}:\n{}",
                    self.port,
                    START_TIMEOUT,
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn warm_up(&self) {
        // The first EC2 call of a moto server takes ~1.5 s.
        self.py(r#"ec2("us-east-1").describe_vpcs()"#);
    }

    /// moto's output so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs `s3ep --endpoint-url <this moto> ARGS…` (no terminal: stdin is null).
    /// Against plain moto, s3ep's moto workarounds are on (`--emulator moto`);
    /// against strict mode, s3ep runs exactly as against EC2.
    pub fn s3ep(&self, args: &[&str]) -> Output {
        let url = self.url();
        s3ep(&endpoint_args(&url, self.emulator(), args))
    }

    /// Runs python with a boto3 prelude and SCRIPT (dedented); returns stdout.
    /// The prelude defines `URL`, `json`, `boto3`, `ec2(region)` and the ownership
    /// helpers `owned(plan, region)` / `owned_all(plan, regions)` (see PRELUDE).
    pub fn py(&self, script: &str) -> String {
        let program = format!("URL = {:?}\n{}\n{}\n", self.url(), PRELUDE, dedent(script));
        let mut cmd = Command::new(python_path());
        cmd.arg("-")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_ENDPOINT_URL_EC2");
        let out = run(cmd, Some(program.as_bytes()));
        if !out.status.success() {
            panic!(
                "python failed ({}):\n--- script ---\n{}\n--- stderr ---\n{}\n--- stdout ---\n{}\n--- moto log (tail) ---\n{}",
                out.status,
                dedent(script),
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout),
                tail(&self.log(), 40),
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a python script that prints one JSON value, and parses it.
    pub fn py_json(&self, script: &str) -> Value {
        let out = self.py(script);
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("python output is not JSON ({e}):\n{out}"))
    }

    /// Everything in REGIONS whose own tags say `s3ep:plan = PLAN` (vpcs, subnets,
    /// route tables, security groups, endpoints not `deleted`, peerings not in a
    /// terminal state), as `[{"kind","id","key","tags":{..},"region"}]`.
    pub fn owned(&self, plan: &str, regions: &[&str]) -> Vec<Value> {
        let v = self.py_json(&format!(
            "print(json.dumps(owned_all({plan:?}, {regions:?})))",
            regions = regions.to_vec()
        ));
        v.as_array().cloned().unwrap_or_default()
    }

    /// The `s3ep:key` tags of `owned(plan, regions)`, sorted.
    pub fn owned_keys(&self, plan: &str, regions: &[&str]) -> Vec<String> {
        let mut keys: Vec<String> = self
            .owned(plan, regions)
            .iter()
            .map(|r| r["key"].as_str().unwrap_or("").to_string())
            .collect();
        keys.sort();
        keys
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Python run before every `Moto::py` script (URL is defined just before it).
const PRELUDE: &str = r#"
import json
import boto3

_clients = {}
def ec2(region="us-east-1"):
    if region not in _clients:
        _clients[region] = boto3.client(
            "ec2", region_name=region, endpoint_url=URL,
            aws_access_key_id="testing", aws_secret_access_key="testing")
    return _clients[region]

def tags(obj):
    return {t["Key"]: t["Value"] for t in (obj.get("Tags") or [])}

def find(kind, region, key, plan=None):
    """The one live resource of KIND in REGION whose s3ep:key tag is KEY."""
    hits = [r for r in owned_in(region, plan) if r["kind"] == kind and r["key"] == key]
    assert len(hits) == 1, "expected one %s %s in %s, found %r" % (kind, key, region, hits)
    return hits[0]

_DEAD_PEERING = ("deleted", "rejected", "failed", "expired")

def owned_in(region, plan=None):
    """Resources in REGION carrying an s3ep:plan tag (= PLAN if given)."""
    c = ec2(region)
    out = []
    def add(kind, rid, obj, state=None):
        t = tags(obj)
        if "s3ep:plan" not in t or (plan is not None and t["s3ep:plan"] != plan):
            return
        out.append({"kind": kind, "id": rid, "key": t.get("s3ep:key"), "tags": t,
                    "region": region, "state": state})
    for v in c.describe_vpcs()["Vpcs"]:
        add("vpc", v["VpcId"], v, v.get("State"))
    for s in c.describe_subnets()["Subnets"]:
        add("subnet", s["SubnetId"], s, s.get("State"))
    for r in c.describe_route_tables()["RouteTables"]:
        add("route_table", r["RouteTableId"], r)
    for g in c.describe_security_groups()["SecurityGroups"]:
        add("security_group", g["GroupId"], g)
    for e in c.describe_vpc_endpoints()["VpcEndpoints"]:
        if str(e.get("State", "")).lower() != "deleted":
            add("endpoint", e["VpcEndpointId"], e, e.get("State"))
    for p in c.describe_vpc_peering_connections()["VpcPeeringConnections"]:
        code = p.get("Status", {}).get("Code", "")
        if code.lower() not in _DEAD_PEERING:
            add("peering", p["VpcPeeringConnectionId"], p, code)
    return out

def owned_all(plan, regions):
    """owned_in over REGIONS, deduplicated by id (moto lists a cross-region
    peering in both regions)."""
    seen, out = set(), []
    for region in regions:
        for r in owned_in(region, plan):
            if r["id"] not in seen:
                seen.add(r["id"])
                out.append(r)
    return out
"#;

/// Removes the common leading whitespace of the non-blank lines of S.
pub fn dedent(s: &str) -> String {
    let indent = s
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    s.lines()
        .map(|l| {
            if l.len() >= indent {
                &l[indent..]
            } else {
                l.trim_start()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs CMD with STDIN (or a null stdin), collecting stdout and stderr; kills it
/// and panics after RUN_TIMEOUT.
fn run(mut cmd: Command, stdin: Option<&[u8]>) -> Output {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let desc = format!("{cmd:?}");
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    if let Some(input) = stdin {
        let mut w = child.stdin.take().expect("stdin");
        w.write_all(input).expect("write stdin");
        drop(w);
    }
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status: ExitStatus = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stdout = t_out.join().unwrap_or_default();
            let stderr = t_err.join().unwrap_or_default();
            panic!(
                "timed out after {RUN_TIMEOUT:?}: {desc}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

/// Runs the built `s3ep ARGS…` with test credentials, no AWS config files, no
/// terminal (stdin null). `Moto::s3ep` adds `--endpoint-url`.
pub fn s3ep(args: &[&str]) -> Output {
    let cmd = s3ep_command(args);
    let mut out = run(cmd, None);
    // Keep the command line for failure messages.
    let line = format!("$ s3ep {}\n", args.join(" "));
    out.stderr.splice(0..0, line.into_bytes());
    out
}

/// A human-readable dump of a command's result, for assertion messages.
pub fn show(out: &Output) -> String {
    format!(
        "exit: {:?}\n--- stdout ---\n{}\n--- stderr (first line: the command) ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr without the `$ s3ep …` line the harness puts first.
pub fn stderr(out: &Output) -> String {
    let s = String::from_utf8_lossy(&out.stderr).into_owned();
    match s.split_once('\n') {
        Some((first, rest)) if first.starts_with("$ s3ep") => rest.to_string(),
        _ => s,
    }
}

/// Asserts the exit code is CODE; the message shows stdout and stderr.
#[track_caller]
pub fn assert_exit(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: expected exit {code}\n{}",
        show(out)
    );
}

/// Asserts success and parses stdout as one JSON value.
#[track_caller]
pub fn json_ok(out: &Output, what: &str) -> Value {
    assert_exit(out, 0, what);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: stdout is not one JSON value ({e})\n{}", show(out)))
}

/// A temporary directory holding plan files.
pub struct Plans {
    pub dir: tempfile::TempDir,
}

impl Plans {
    pub fn new() -> Plans {
        Plans {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Writes FILE_NAME with CONTENT (dedented) and returns its path as a String.
    pub fn write(&self, file_name: &str, content: &str) -> String {
        let path = self.dir.path().join(file_name);
        // Leading blank lines (from a raw string starting with a newline) are
        // dropped so that line numbers in errors match the text as written.
        let text = dedent(content).trim_start_matches('\n').to_string() + "\n";
        std::fs::write(&path, text).expect("write plan");
        path.to_str().expect("utf-8 temp path").to_string()
    }

    /// Copies `<repo>/plans/REL` to the temp dir with its `name:` set to NAME.
    pub fn shipped(&self, rel: &str, name: &str) -> String {
        let src = repo_root().join("plans").join(rel);
        let text = std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("read {}: {e}", src.display()));
        let text = set_plan_name(&text, name);
        let path = self.dir.path().join(rel);
        std::fs::write(&path, text).expect("write plan");
        path.to_str().expect("utf-8 temp path").to_string()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Replaces the top-level `name:` line of a plan.
pub fn set_plan_name(text: &str, name: &str) -> String {
    let mut found = false;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            if !found && l.starts_with("name:") {
                found = true;
                format!("name: {name}")
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(found, "plan has no top-level name: line");
    out.join("\n") + "\n"
}

/// The `changes` array of a `plan --json` document.
pub fn changes(plan_json: &Value) -> Vec<Value> {
    plan_json["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("plan --json has no changes array:\n{plan_json:#}"))
        .clone()
}

/// Action of ADDRESS in a `plan --json` document, if it has a change.
pub fn action_of(plan_json: &Value, address: &str) -> Option<String> {
    changes(plan_json)
        .iter()
        .find(|c| c["address"] == address)
        .map(|c| c["action"].as_str().unwrap_or("").to_string())
}

// ---------------------------------------------------------------------------
// Fault injection: scripts/faultproxy.py in front of a moto server, and s3ep
// runs in the background (to be interrupted or killed).

/// `--endpoint-url URL [--emulator moto] ARGS…`: the moto workarounds only
/// for plain moto.
pub fn endpoint_args<'a>(url: &'a str, emulator: Emulator, args: &[&'a str]) -> Vec<&'a str> {
    let mut full: Vec<&str> = vec!["--endpoint-url", url];
    if emulator == Emulator::Moto {
        full.extend_from_slice(&["--emulator", "moto"]);
    }
    full.extend_from_slice(args);
    full
}

/// `s3ep ARGS…` as a Command with the same environment as `s3ep()` (test
/// credentials, no AWS config files, no endpoint from the environment), not
/// yet spawned.
pub fn s3ep_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3ep"));
    cmd.args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_EC2");
    cmd
}

/// A process running in the background with stdout and stderr going to files;
/// killed (SIGKILL) on drop if still running.
pub struct Running {
    child: Child,
    desc: String,
    _dir: tempfile::TempDir,
    out_path: PathBuf,
    err_path: PathBuf,
    status: Option<ExitStatus>,
}

impl Running {
    /// Spawns CMD with a null stdin.
    pub fn spawn(mut cmd: Command) -> Running {
        let dir = tempfile::tempdir().expect("tempdir for process output");
        let out_path = dir.path().join("stdout");
        let err_path = dir.path().join("stderr");
        let out = std::fs::File::create(&out_path).expect("create stdout file");
        let err = std::fs::File::create(&err_path).expect("create stderr file");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let desc = format!("{cmd:?}");
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
        Running {
            child,
            desc,
            _dir: dir,
            out_path,
            err_path,
            status: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the process has ended (reaps it).
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status
    }

    /// Waits up to TIMEOUT for the process to end.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.try_wait() {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGNAL (a name such as "INT", or "9") with the `kill` command,
    /// unless the process has already ended. False if it had ended.
    pub fn signal(&mut self, signal: &str) -> bool {
        if self.try_wait().is_some() {
            return false;
        }
        let st = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(st.success(), "kill -{signal} {} failed: {st}", self.pid());
        true
    }

    /// SIGKILL and reap. False if the process had already ended by itself.
    pub fn kill9(&mut self) -> bool {
        if self.try_wait().is_some() {
            return false;
        }
        let _ = self.child.kill();
        self.status = Some(self.child.wait().expect("wait after kill"));
        true
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out_path).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err_path).unwrap_or_default()
    }

    /// For assertion messages: the command, its status, stdout and stderr.
    pub fn show(&self) -> String {
        format!(
            "{}\nstatus: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.desc,
            self.status,
            self.stdout(),
            self.stderr()
        )
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// scripts/faultproxy.py in front of a moto server, on a free loopback port;
/// killed on drop.
pub struct Proxy {
    child: Child,
    port: u16,
    /// The emulator behind it (for s3ep's `--emulator`).
    emulator: Emulator,
    // Kept open: the proxy's stdout (nothing more is written to it).
    _stdout: std::process::ChildStdout,
    _log_dir: tempfile::TempDir,
    log_path: PathBuf,
}

impl Proxy {
    /// Starts the proxy with `--upstream <moto> --port 0` and EXTRA arguments
    /// (`--latency-ms 150`, `--seed 7`, …), and waits for its `listening on PORT`.
    pub fn start(moto: &Moto, extra: &[&str]) -> Proxy {
        use std::io::BufRead;
        let script = repo_root().join("scripts").join("faultproxy.py");
        let log_dir = tempfile::tempdir().expect("tempdir for proxy log");
        let log_path = log_dir.path().join("proxy.log");
        let log = std::fs::File::create(&log_path).expect("create proxy log");
        let upstream = moto.url();
        let mut child = Command::new(python_path())
            .arg(&script)
            .args(["--upstream", &upstream, "--port", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", script.display()));
        let stdout = child.stdout.take().expect("proxy stdout");
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let read = reader.read_line(&mut line);
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse::<u16>().ok());
        let port = match (read, port) {
            (Ok(_), Some(port)) => port,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "faultproxy did not start (first stdout line {line:?}):\n{}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
        };
        Proxy {
            child,
            port,
            emulator: moto.emulator(),
            _stdout: reader.into_inner(),
            _log_dir: log_dir,
            log_path,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The proxy's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// One control request; panics unless the answer is 200 with JSON.
    fn control(&self, method: &str, path: &str, body: &str) -> Value {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))
            .unwrap_or_else(|e| panic!("connect to faultproxy on {}: {e}", self.port));
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        s.write_all(req.as_bytes()).expect("write to faultproxy");
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("read from faultproxy");
        let (head, payload) = resp
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("faultproxy answer without a header end: {resp:?}"));
        let status = head.split_whitespace().nth(1).unwrap_or("");
        assert_eq!(
            status, "200",
            "{method} {path} {body}: faultproxy answered:\n{resp}"
        );
        serde_json::from_str(payload)
            .unwrap_or_else(|e| panic!("faultproxy answer is not JSON ({e}): {payload:?}"))
    }

    /// POST /__proxy/config with CHANGES (a JSON object); returns the new config.
    pub fn config(&self, changes: Value) -> Value {
        self.control("POST", "/__proxy/config", &changes.to_string())
    }

    /// GET /__proxy/stats.
    pub fn stats(&self) -> Value {
        self.control("GET", "/__proxy/stats", "")
    }

    /// POST /__proxy/reset (zeroes the counters).
    pub fn reset(&self) {
        self.control("POST", "/__proxy/reset", "");
    }

    /// Requests received and neither answered with a fault nor forwarded yet
    /// (sleeping in the latency, or waiting for moto).
    pub fn in_flight(stats: &Value) -> i64 {
        let n = |v: &Value| v.as_i64().unwrap_or(0);
        n(&stats["total_received"])
            - n(&stats["total_forwarded"])
            - n(&stats["injected"]["throttle"])
            - n(&stats["injected"]["error"])
    }

    /// Waits until no request is in flight through the proxy (for instance
    /// after the client was killed: requests it sent still reach moto).
    pub fn wait_idle(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let st = self.stats();
            if Proxy::in_flight(&st) <= 0 {
                return;
            }
            if Instant::now() > deadline {
                panic!("faultproxy still has requests in flight after {timeout:?}:\n{st:#}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Polls the stats until PRED holds (returns those stats) or TIMEOUT passes
    /// (returns None).
    pub fn wait_stats(&self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let st = self.stats();
            if pred(&st) {
                return Some(st);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Runs `s3ep --endpoint-url <this proxy> ARGS…` to completion.
    pub fn s3ep(&self, args: &[&str]) -> Output {
        let url = self.url();
        s3ep(&endpoint_args(&url, self.emulator, args))
    }

    /// Starts `s3ep --endpoint-url <this proxy> ARGS…` in the background.
    pub fn spawn_s3ep(&self, args: &[&str]) -> Running {
        let url = self.url();
        Running::spawn(s3ep_command(&endpoint_args(&url, self.emulator, args)))
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
