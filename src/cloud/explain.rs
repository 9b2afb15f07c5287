//! AWS-side failures in words, the way the AWS CLI reports them: one or two
//! lines naming the call and what to do, never the SDK's Debug dump (that is
//! logged at debug level: `-v` shows it).
//!
//! * No credentials: aws-config's default chain tried every source and none
//!   gave credentials ("Specify your credentials using the default credential
//!   provider chain", AWS SDK for Rust Developer Guide). The message names the
//!   sources and how to choose a profile.
//! * An endpoint that cannot be reached: a DNS lookup that failed, or a
//!   refused TCP connection. Neither request left this machine, so neither
//!   could have taken effect, and retrying them does not help within the
//!   seconds a retry waits: [`FailFast`] forbids the SDK's retry for both
//!   (the standard retry mode otherwise retries such transient I/O errors up
//!   to `--max-attempts` times with backoff, about 35 s). Timeouts and dropped
//!   connections are still retried: those may succeed on the next attempt.
//! * `UnauthorizedOperation` / `AccessDenied`: the IAM action and the
//!   README's list of permissions ("Error codes for the Amazon EC2 API":
//!   UnauthorizedOperation, "You are not authorized to perform this
//!   operation"). EC2 appends an encoded authorization message; it is kept
//!   only with `-v` (decode it with `aws sts decode-authorization-message`).
//! * `ExpiredToken` / `RequestExpired` (same reference: "The security token
//!   included in the request is expired"; "The request reached the service
//!   more than 15 minutes after the date stamp"): how to refresh.
//! * `AuthFailure`: the credentials were not accepted (same reference).

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};

/// Why no connection was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectFailure {
    /// The host name did not resolve.
    Dns,
    /// The host answered the TCP connect with a reset (nothing listens).
    Refused,
}

/// Looks through an error and its sources for a failed DNS lookup or a
/// refused connection (hyper-util's connector: `ConnectError("dns error")`
/// over the resolver's I/O error; `ConnectError("tcp connect error")` over
/// an I/O error of kind `ConnectionRefused`).
pub fn connect_failure(err: &(dyn StdError + 'static)) -> Option<ConnectFailure> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return Some(ConnectFailure::Refused);
            }
        }
        let text = e.to_string();
        if text == "dns error" || text.contains("failed to lookup address") {
            return Some(ConnectFailure::Dns);
        }
        cur = e.source();
    }
    None
}

/// Whether an error or one of its sources is the credentials chain failing.
pub fn is_credentials_failure(err: &(dyn StdError + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if e.downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
            .is_some()
        {
            return true;
        }
        cur = e.source();
    }
    false
}

/// The message for a request that found no credentials.
pub fn no_credentials(profile: Option<&str>) -> String {
    let profile = match profile {
        Some(p) => format!("profile {p:?}"),
        None => match std::env::var("AWS_PROFILE") {
            Ok(p) if !p.is_empty() => format!("profile {p:?} (AWS_PROFILE)"),
            _ => "the default profile".to_string(),
        },
    };
    format!(
        "no AWS credentials found (tried: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, {profile} in the shared config and credentials files, SSO, web identity, the container and the instance role).\n  Choose a profile with --profile NAME or AWS_PROFILE=NAME, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)"
    )
}

/// The message for an endpoint that could not be reached.
pub fn unreachable(url: &str, why: ConnectFailure) -> String {
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or(url)
        .split(['/', ':'])
        .next()
        .unwrap_or(url);
    match why {
        ConnectFailure::Dns => format!(
            "could not connect to the endpoint URL {url}: the host name {host} does not resolve (DNS lookup failed; check --endpoint-url or AWS_ENDPOINT_URL and the network)"
        ),
        ConnectFailure::Refused => format!(
            "could not connect to the endpoint URL {url}: connection refused (nothing listens there; check --endpoint-url or AWS_ENDPOINT_URL)"
        ),
    }
}

/// The default EC2 endpoint of a region ("Amazon EC2 endpoints and quotas",
/// AWS General Reference): `https://ec2.<region>.amazonaws.com`, `.com.cn` in
/// the China regions.
pub fn default_endpoint(region: &str) -> String {
    if region.starts_with("cn-") {
        format!("https://ec2.{region}.amazonaws.com.cn")
    } else {
        format!("https://ec2.{region}.amazonaws.com")
    }
}

/// EC2's own message, with advice for the codes people meet first.
/// `verbose`: keep EC2's encoded authorization message.
pub fn service_message(op: &str, code: &str, message: &str, verbose: bool) -> String {
    match code {
        "UnauthorizedOperation" | "AccessDenied" | "AccessDeniedException" => {
            let message = match message.find("Encoded authorization failure message:") {
                Some(at) if !verbose => format!(
                    "{} (-v shows EC2's encoded authorization message)",
                    message[..at].trim_end()
                ),
                _ => message.to_string(),
            };
            format!(
                "{message}\n  s3ep needs the IAM permission ec2:{op}; the README lists every permission s3ep needs (\"Permissions needed\")"
            )
        }
        "ExpiredToken" | "RequestExpired" | "ExpiredTokenException" => format!(
            "{message}\n  The credentials have expired (or this machine's clock is off by more than 5 minutes): refresh them (`aws sso login --profile NAME`, or new temporary credentials) and run again"
        ),
        "AuthFailure" | "InvalidClientTokenId" | "SignatureDoesNotMatch" => format!(
            "{message}\n  AWS did not accept these credentials: check the access key, secret key and session token of the profile in use (--profile, AWS_PROFILE)"
        ),
        _ => message.to_string(),
    }
}

/// Forbids the SDK's retry after a failed DNS lookup or a refused
/// connection (see the module documentation).
#[derive(Debug, Default)]
pub struct FailFast;

impl ClassifyRetry for FailFast {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.output_or_error() {
            Some(Err(e)) => match e.as_connector_error() {
                Some(c) if connect_failure(c).is_some() => RetryAction::RetryForbidden,
                _ => RetryAction::NoActionIndicated,
            },
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "s3ep: no retry after a failed DNS lookup or a refused connection"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrap(&'static str, Box<dyn StdError + Send + Sync>);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl StdError for Wrap {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(self.1.as_ref())
        }
    }

    #[test]
    fn connect_failures_are_found_in_the_chain() {
        let refused = Wrap(
            "client error (Connect)",
            Box::new(Wrap(
                "tcp connect error",
                Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
            )),
        );
        assert_eq!(connect_failure(&refused), Some(ConnectFailure::Refused));
        let dns = Wrap(
            "client error (Connect)",
            Box::new(Wrap(
                "dns error",
                Box::new(std::io::Error::other("failed to lookup address information")),
            )),
        );
        assert_eq!(connect_failure(&dns), Some(ConnectFailure::Dns));
        let timeout = Wrap(
            "timeout",
            Box::new(std::io::Error::from(std::io::ErrorKind::TimedOut)),
        );
        assert_eq!(connect_failure(&timeout), None);
    }

    #[test]
    fn messages() {
        let m = unreachable("http://nonexistent.invalid:1", ConnectFailure::Dns);
        assert!(
            m.contains("http://nonexistent.invalid:1") && m.contains("host name nonexistent.invalid"),
            "{m}"
        );
        let m = service_message(
            "CreateVpc",
            "UnauthorizedOperation",
            "You are not authorized to perform this operation. Encoded authorization failure message: abc",
            false,
        );
        assert!(
            !m.contains("abc") && m.contains("ec2:CreateVpc") && m.contains("README"),
            "{m}"
        );
        assert_eq!(m.lines().count(), 2);
        assert!(service_message(
            "CreateVpc",
            "UnauthorizedOperation",
            "x. Encoded authorization failure message: abc",
            true
        )
        .contains("abc"));
        assert!(
            service_message("DescribeVpcs", "RequestExpired", "Request has expired.", false)
                .contains("refresh")
        );
        assert_eq!(
            default_endpoint("cn-north-1"),
            "https://ec2.cn-north-1.amazonaws.com.cn"
        );
    }
}
