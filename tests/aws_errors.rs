//! AWS-side failures read like the AWS CLI's: one or two lines, never the
//! SDK's Debug dump. No credentials; an endpoint on a closed loopback port
//! (refused: no 35 s of retries); a host name that does not resolve; EC2's
//! `UnauthorizedOperation` and `RequestExpired` answers from a tiny local
//! HTTP responder. Nothing here leaves the loopback interface (`.invalid` is
//! reserved and never resolves, RFC 2606).

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::*;

/// Markers of the SDK's Debug output that must never reach the user.
const DUMP: &[&str] = &[
    "ProviderChainError",
    "DispatchFailure",
    "ConnectorError",
    "source: ",
    "{ ",
];

fn assert_short(out: &std::process::Output, what: &str) {
    let err = stderr(out);
    for m in DUMP {
        assert!(!err.contains(m), "{what}: Debug dump ({m:?}) in:\n{}", show(out));
    }
    assert!(
        err.trim().lines().count() <= 2,
        "{what}: more than two lines:\n{}",
        show(out)
    );
    assert!(err.starts_with("error: "), "{what}:\n{}", show(out));
}

/// A plan in one region (the gateway-only shipped plan).
fn plan(plans: &Plans) -> String {
    plans.shipped("gateway-only.yaml", "e2e-errors")
}

/// Answers every HTTP request on a loopback port with STATUS and BODY; the
/// listener lives as long as the process (one per test).
fn responder(status: &'static str, body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let body = body.clone();
            std::thread::spawn(move || {
                conn.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then Content-Length bytes of body.
                loop {
                    let Ok(n) = conn.read(&mut chunk) else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/xml;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(resp.as_bytes());
            });
        }
    });
    format!("http://127.0.0.1:{port}")
}

/// EC2's XML error body ("Error codes for the Amazon EC2 API": the Query
/// API answers `<Response><Errors><Error><Code>…`).
fn ec2_error(code: &str, message: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>5e8b7c52-0000-4000-8000-000000000000</RequestID></Response>"#
    )
}

#[test]
fn no_credentials_names_the_sources_and_how_to_set_a_profile() {
    let plans = Plans::new();
    let p = plan(&plans);
    let empty = plans.write("empty-aws-file", "");
    // Nothing may arrive here (the request cannot be signed), but it is ours.
    let url = responder(
        "500 Internal Server Error",
        ec2_error("InternalError", "unexpected"),
    );
    let mut cmd = s3ep_command(&["--endpoint-url", &url, "plan", &p]);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let out = cmd.output().expect("run s3ep");
    assert_exit(&out, 1, "plan without credentials");
    assert_short(&out, "no credentials");
    let err = stderr(&out);
    for want in [
        "no AWS credentials found",
        "AWS_ACCESS_KEY_ID",
        "--profile",
        "AWS_PROFILE",
        "default profile",
    ] {
        assert!(err.contains(want), "wants {want:?}:\n{}", show(&out));
    }

    // With --profile the message names that profile.
    let mut cmd = s3ep_command(&["--endpoint-url", &url, "--profile", "prod", "plan", &p]);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty);
    let out = cmd.output().expect("run s3ep");
    assert_exit(&out, 1, "plan --profile prod without credentials");
    assert!(stderr(&out).contains("profile \"prod\""), "{}", show(&out));
}

#[test]
fn a_closed_port_fails_at_once_naming_the_url() {
    // Bind, note the port, close: nothing listens there now.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let plans = Plans::new();
    let p = plan(&plans);
    let start = Instant::now();
    let out = s3ep(&["--endpoint-url", &url, "plan", &p]);
    let took = start.elapsed();
    assert_exit(&out, 1, "plan against a closed port");
    assert_short(&out, "closed port");
    let err = stderr(&out);
    assert!(
        err.contains(&url) && err.contains("connection refused"),
        "{}",
        show(&out)
    );
    // Without the fail-fast rule the SDK retries 8 times with backoff (~35 s);
    // one refused connect takes milliseconds. 20 s leaves room for a loaded machine.
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[test]
fn an_unresolvable_host_fails_with_a_dns_message() {
    let url = "http://nonexistent.invalid:1";
    let plans = Plans::new();
    let p = plan(&plans);
    let out = s3ep(&["--endpoint-url", url, "plan", &p]);
    assert_exit(&out, 1, "plan against an unresolvable host");
    assert_short(&out, "DNS failure");
    let err = stderr(&out);
    assert!(err.contains(url), "{}", show(&out));
    assert!(
        err.contains("nonexistent.invalid does not resolve"),
        "{}",
        show(&out)
    );
}

#[test]
fn unauthorized_names_the_action_and_the_permission_list() {
    let url = responder(
        "403 Forbidden",
        ec2_error(
            "UnauthorizedOperation",
            "You are not authorized to perform this operation. Encoded authorization failure message: SECRETBLOB123",
        ),
    );
    let plans = Plans::new();
    let p = plan(&plans);
    let out = s3ep(&["--endpoint-url", &url, "plan", &p]);
    assert_exit(&out, 1, "plan, unauthorized");
    assert_short(&out, "unauthorized");
    let err = stderr(&out);
    assert!(err.contains("UnauthorizedOperation"), "{}", show(&out));
    assert!(err.contains("IAM permission ec2:Describe"), "{}", show(&out));
    assert!(
        err.contains("README") && err.contains("Permissions needed"),
        "{}",
        show(&out)
    );
    assert!(
        !err.contains("SECRETBLOB123"),
        "encoded message only with -v:\n{}",
        show(&out)
    );
    // -v keeps the details.
    let out = s3ep(&["-v", "--endpoint-url", &url, "plan", &p]);
    assert_exit(&out, 1, "plan -v, unauthorized");
    assert!(stderr(&out).contains("SECRETBLOB123"), "{}", show(&out));
}

#[test]
fn expired_credentials_say_how_to_refresh() {
    for code in ["RequestExpired", "ExpiredToken"] {
        let url = responder(
            "400 Bad Request",
            ec2_error(code, "The security token included in the request is expired"),
        );
        let plans = Plans::new();
        let p = plan(&plans);
        let out = s3ep(&["--endpoint-url", &url, "plan", &p]);
        assert_exit(&out, 1, code);
        assert_short(&out, code);
        let err = stderr(&out);
        assert!(
            err.contains(code) && err.contains("expired") && err.contains("refresh"),
            "{}",
            show(&out)
        );
    }
}
