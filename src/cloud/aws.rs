//! The real cloud: [`Cloud`] implemented with `aws-sdk-ec2`. This is the only
//! module of s3ep that imports the SDK, with its recording layer
//! ([`super::record`], an SDK interceptor used by tests).
//!
//! * One `aws_sdk_ec2::Client` per region, all built from one load of
//!   aws-config's default chain. A region that was not passed to
//!   [`AwsCloud::new`] gets its client built lazily on first use.
//! * Retries of throttling and 5xx errors are left to the SDK's standard
//!   retry mode ([`AwsSettings::max_attempts`]); this module adds no retry
//!   layer of its own. The creates
//!   EC2 cannot make idempotent (CreateVpc, CreateSubnet,
//!   CreateSecurityGroup, CreateVpcPeeringConnection: no client token) are
//!   sent once: the executor retries them after looking for the resource by
//!   its tags (`exec::create`).
//! * Every call first takes a token from its region's rate bucket
//!   ([`RateLimits`]: endpoint, mutating, describe), so a large run paces
//!   itself instead of being throttled.
//! * Paginated reads go through one helper, [`AwsCloud::collect_pages`],
//!   which charges the rate bucket once per page.
//! * With [`AwsSettings::recorder`] set, every request body sent (action and
//!   form parameters, never headers, credentials or signatures) is recorded.
//! * Every API call (every page of a paginated read) is logged with
//!   `tracing::debug!` as `ec2 call` with its operation, region and duration.
//! * Errors keep the AWS error code; a response lacking a field s3ep needs is
//!   a [`CloudError::missing`] error, never a panic.
//! * Describe calls with `Filter::Ids(vec![])` or `Filter::Vpcs(vec![])`
//!   return an empty list without calling EC2. A describe by ids that names a
//!   missing resource returns EC2's `*.NotFound` error unchanged.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types as ec2;
use aws_sdk_ec2::Client;
use aws_smithy_async::future::pagination_stream::PaginationStream;
use aws_types::region::Region;
use aws_types::SdkConfig;
use ipnet::{Ipv4Net, Ipv6Net};
use serde_json::Value;

use super::explain;
use super::rate::{RateLimiter, RateLimits};
use super::record::{Recorder, RecordingInterceptor};
use super::{Cloud, CloudError, CloudResult, EndpointCreate, EndpointModify, Filter};
use crate::model::{
    prefix_list_names, DnsRecordIpType, EndpointType, IpAddressType, LAclEntry, LAssociation, LDnsEntry,
    LEgressRule, LEndpoint, LNetworkAcl, LPeering, LRoute, LRouteTable, LRule, LSecurityGroup, LSubnet, LVpc,
    LVpcDns, RouteDest, RulePeer, Tags, TAG_PLAN,
};
use crate::stop::Stop;

/// Description put on every inbound rule s3ep creates.
const RULE_DESCRIPTION: &str = "s3ep: HTTPS to the S3 endpoint";

/// How to reach AWS.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    /// Named profile from the shared config files; `None` uses the default
    /// chain (environment, `AWS_PROFILE`, SSO, IMDS, …).
    pub profile: Option<String>,
    /// Endpoint override (e.g. a moto server). `None` lets the SDK honour
    /// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_EC2` itself.
    pub endpoint_url: Option<String>,
    /// Attempts per call in the SDK's standard retry mode, the first one
    /// included (0 is treated as 1).
    pub max_attempts: u32,
    /// Client-side request-rate buckets per region (see [`RateLimits`]).
    pub rates: RateLimits,
    /// Each attempt of a call may take this long before it counts as a
    /// call without an answer (and is retried, or looked up by tags).
    pub attempt_timeout: Duration,
    /// Once fired (Ctrl-C), calls waiting for a rate token are not sent.
    pub stop: Stop,
    /// Tests: record every request body sent (see [`Recorder`]). Off
    /// (`None`) by default. Only the Query body's parameters are kept, never
    /// headers, so no credentials or signatures.
    pub recorder: Option<Recorder>,
}

impl Default for AwsSettings {
    fn default() -> Self {
        AwsSettings {
            profile: None,
            endpoint_url: None,
            max_attempts: 3,
            rates: RateLimits::default(),
            attempt_timeout: Duration::from_secs(30),
            stop: Stop::default(),
            recorder: None,
        }
    }
}

/// [`Cloud`] backed by EC2 through `aws-sdk-ec2`.
pub struct AwsCloud {
    /// The shared configuration every regional client is built from.
    sdk_config: SdkConfig,
    /// Region → client. Built eagerly for the regions given to `new`,
    /// lazily for any other region.
    clients: Mutex<HashMap<String, Client>>,
    /// Paces every call (every page of a read) per region and group.
    limiter: RateLimiter,
    /// Ctrl-C: a call still waiting for its rate token is not sent.
    stop: Stop,
    /// Given to every regional client's recording interceptor.
    recorder: Option<Recorder>,
    /// The endpoint override and profile, to name them in errors.
    endpoint_url: Option<String>,
    profile: Option<String>,
}

impl std::fmt::Debug for AwsCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let regions: Vec<String> = match self.clients.lock() {
            Ok(m) => {
                let mut r: Vec<String> = m.keys().cloned().collect();
                r.sort();
                r
            }
            Err(_) => Vec::new(),
        };
        f.debug_struct("AwsCloud").field("regions", &regions).finish()
    }
}

impl AwsCloud {
    /// Loads aws-config's default chain once (with `settings`' profile,
    /// endpoint and retry settings) and builds one EC2 client per region in
    /// `regions`. Credentials are resolved lazily, on the first call.
    ///
    /// The first of `regions` becomes the configuration's default region so
    /// loading never has to probe for one; each client still gets its own
    /// region.
    pub async fn new(settings: &AwsSettings, regions: &[String]) -> AwsCloud {
        let retry = RetryConfig::standard().with_max_attempts(settings.max_attempts.max(1));
        let timeouts = TimeoutConfig::builder()
            .operation_attempt_timeout(settings.attempt_timeout)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(retry)
            .timeout_config(timeouts);
        if let Some(profile) = settings.profile.as_deref().filter(|p| !p.is_empty()) {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = settings.endpoint_url.as_deref().filter(|u| !u.is_empty()) {
            loader = loader.endpoint_url(url);
        }
        if let Some(first) = regions.first() {
            loader = loader.region(Region::new(first.clone()));
        }
        let sdk_config = loader.load().await;
        let clients = regions
            .iter()
            .map(|r| {
                (
                    r.clone(),
                    build_client(&sdk_config, r, settings.recorder.as_ref()),
                )
            })
            .collect();
        let endpoint_url = settings
            .endpoint_url
            .clone()
            .filter(|u| !u.is_empty())
            .or_else(|| sdk_config.endpoint_url().map(str::to_string));
        AwsCloud {
            clients: Mutex::new(clients),
            limiter: RateLimiter::new(settings.rates),
            stop: settings.stop.clone(),
            recorder: settings.recorder.clone(),
            endpoint_url,
            sdk_config,
            profile: settings.profile.clone().filter(|p| !p.is_empty()),
        }
    }

    /// The client for `region`, built on first use if needed.
    fn client(&self, region: &str) -> Client {
        // A poisoned lock only means another thread panicked while inserting
        // a client; the map itself is still usable.
        let mut map = match self.clients.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(region.to_string())
            .or_insert_with(|| build_client(&self.sdk_config, region, self.recorder.as_ref()))
            .clone()
    }
}

impl AwsCloud {
    /// CreateVpc; with `ipv6`, AmazonProvidedIpv6CidrBlock=true (EC2 API
    /// reference, CreateVpc: "Requests an Amazon-provided IPv6 CIDR block
    /// with a /56 prefix length for the VPC").
    async fn create_vpc_with(
        &self,
        region: &str,
        cidr: Ipv4Net,
        ipv6: bool,
        tags: &Tags,
    ) -> CloudResult<String> {
        const OP: &str = "CreateVpc";
        let client = self.client(region);
        let out = self
            .call(
                OP,
                region,
                client
                    .create_vpc()
                    .cidr_block(cidr.to_string())
                    .set_amazon_provided_ipv6_cidr_block(ipv6.then_some(true))
                    .set_tag_specifications(tag_specs(ec2::ResourceType::Vpc, tags))
                    .customize()
                    .config_override(send_once())
                    .send(),
            )
            .await?;
        Ok(out
            .vpc()
            .and_then(|v| v.vpc_id())
            .ok_or_else(|| CloudError::missing(OP, region, "VpcId"))?
            .to_string())
    }

    /// CreateSubnet; with `ipv6`, also `Ipv6CidrBlock` (a /64 of the VPC's
    /// block, EC2 API reference, CreateSubnet).
    async fn create_subnet_with(
        &self,
        region: &str,
        vpc_id: &str,
        az: &str,
        cidr: Ipv4Net,
        ipv6: Option<Ipv6Net>,
        tags: &Tags,
    ) -> CloudResult<String> {
        const OP: &str = "CreateSubnet";
        let out = self
            .call(
                OP,
                region,
                self.client(region)
                    .create_subnet()
                    .vpc_id(vpc_id)
                    .availability_zone(az)
                    .cidr_block(cidr.to_string())
                    .set_ipv6_cidr_block(ipv6.map(|n| n.to_string()))
                    .set_tag_specifications(tag_specs(ec2::ResourceType::Subnet, tags))
                    .customize()
                    .config_override(send_once())
                    .send(),
            )
            .await?;
        Ok(out
            .subnet()
            .and_then(|s| s.subnet_id())
            .ok_or_else(|| CloudError::missing(OP, region, "SubnetId"))?
            .to_string())
    }

    /// Waits for the rate bucket, then runs one API call through [`timed`].
    async fn call<T, E, F>(&self, op: &'static str, region: &str, fut: F) -> CloudResult<T>
    where
        F: Future<Output = Result<T, SdkError<E>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if !self.limiter.acquire(region, op, &self.stop).await {
            return Err(CloudError::interrupted(op, region));
        }
        timed(op, region, fut).await.map_err(|e| self.explain(e))
    }

    /// Waits for the rate bucket, then fetches one page through [`timed_page`].
    async fn page<T, E, F>(&self, op: &'static str, region: &str, fut: F) -> CloudResult<Option<T>>
    where
        F: Future<Output = Option<Result<T, SdkError<E>>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if !self.limiter.acquire(region, op, &self.stop).await {
            return Err(CloudError::interrupted(op, region));
        }
        timed_page(op, region, fut).await.map_err(|e| self.explain(e))
    }

    /// Fills in what [`sdk_error`] cannot know: the endpoint URL of a
    /// connection that failed, the profile of a missing credential.
    fn explain(&self, mut e: CloudError) -> CloudError {
        if let Some(why) = e.message.strip_prefix(UNREACHABLE) {
            let why = match why {
                "dns" => explain::ConnectFailure::Dns,
                _ => explain::ConnectFailure::Refused,
            };
            let url = self
                .endpoint_url
                .clone()
                .unwrap_or_else(|| explain::default_endpoint(&e.region));
            e.message = explain::unreachable(&url, why);
        } else if e.message == NO_CREDENTIALS {
            e.message = explain::no_credentials(self.profile.as_deref());
        }
        e
    }

    /// Reads every page of a paginated Describe (`…into_paginator().send()`),
    /// one [`page`](Self::page) at a time (a rate token, timing and logging
    /// per page), and concatenates what `convert` makes of each page.
    async fn collect_pages<P, E, T>(
        &self,
        op: &'static str,
        region: &str,
        mut pages: PaginationStream<Result<P, SdkError<E>>>,
        convert: impl Fn(&P) -> CloudResult<Vec<T>>,
    ) -> CloudResult<Vec<T>>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let mut out = Vec::new();
        while let Some(p) = self.page(op, region, pages.next()).await? {
            out.extend(convert(&p)?);
        }
        Ok(out)
    }
}

/// Per-call override for creates that EC2 cannot make idempotent (no client
/// token): the SDK must not send them again by itself after a lost answer;
/// the executor looks for the resource by its tags first.
fn send_once() -> aws_sdk_ec2::config::Builder {
    aws_sdk_ec2::config::Builder::default().retry_config(RetryConfig::disabled())
}

fn build_client(sdk_config: &SdkConfig, region: &str, recorder: Option<&Recorder>) -> Client {
    let mut conf = aws_sdk_ec2::config::Builder::from(sdk_config)
        .region(Region::new(region.to_string()))
        .retry_classifier(explain::FailFast);
    if let Some(r) = recorder {
        conf = conf.interceptor(RecordingInterceptor::new(region, r.clone()));
    }
    Client::from_conf(conf.build())
}

// ---------------------------------------------------------------------------
// Call helpers: timing, logging, error mapping
// ---------------------------------------------------------------------------

/// Markers [`sdk_error`] leaves for [`AwsCloud::explain`].
const UNREACHABLE: &str = "s3ep:unreachable:";
const NO_CREDENTIALS: &str = "s3ep:no-credentials";

/// Maps an SDK error to a [`CloudError`], keeping EC2's error code. The
/// message is short (see [`explain`]); the SDK's full error is logged at
/// debug level (`-v`).
fn sdk_error<E>(op: &'static str, region: &str, err: &SdkError<E>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    tracing::debug!(op, region, "ec2 call failed: {}", DisplayErrorContext(err));
    match err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let status = ctx.raw().status().as_u16();
            let verbose = tracing::enabled!(tracing::Level::DEBUG);
            let mut ce = match (e.code(), e.message()) {
                (Some(code), Some(msg)) => CloudError::new(
                    op,
                    region,
                    Some(code),
                    explain::service_message(op, code, msg, verbose),
                ),
                (code, _) => CloudError::new(
                    op,
                    region,
                    code,
                    format!("HTTP {status}: {}", DisplayErrorContext(err)),
                ),
            };
            ce.status = Some(status);
            ce
        }
        // Never sent.
        SdkError::ConstructionFailure(_) => {
            CloudError::new(op, region, None, DisplayErrorContext(err).to_string())
        }
        SdkError::DispatchFailure(f) if f.as_connector_error().is_some() => {
            let Some(d) = f.as_connector_error() else {
                return CloudError::no_response(op, region, DisplayErrorContext(err).to_string());
            };
            let d: &(dyn std::error::Error + 'static) = d;
            if explain::is_credentials_failure(d) {
                // Never sent: the request could not be signed.
                CloudError::new(op, region, None, NO_CREDENTIALS)
            } else if let Some(why) = explain::connect_failure(d) {
                // Never sent: no connection was made.
                let why = match why {
                    explain::ConnectFailure::Dns => "dns",
                    explain::ConnectFailure::Refused => "refused",
                };
                CloudError::new(op, region, None, format!("{UNREACHABLE}{why}"))
            } else {
                CloudError::no_response(op, region, DisplayErrorContext(err).to_string())
            }
        }
        // Sent, or possibly sent, without a usable answer.
        other => CloudError::no_response(op, region, DisplayErrorContext(other).to_string()),
    }
}

fn elapsed_ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn log_call(op: &'static str, region: &str, ms: u64, err: Option<&CloudError>) {
    match err {
        None => tracing::debug!(op, region, ms, "ec2 call"),
        Some(e) => tracing::debug!(
            op,
            region,
            ms,
            code = e.code.as_deref().unwrap_or(""),
            error = %e.message,
            "ec2 call failed"
        ),
    }
}

/// Runs one API call: times it, logs it and maps its error.
async fn timed<T, E, F>(op: &'static str, region: &str, fut: F) -> CloudResult<T>
where
    F: Future<Output = Result<T, SdkError<E>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let start = Instant::now();
    let res = fut.await;
    let ms = elapsed_ms(start);
    match res {
        Ok(v) => {
            log_call(op, region, ms, None);
            Ok(v)
        }
        Err(e) => {
            let ce = sdk_error(op, region, &e);
            log_call(op, region, ms, Some(&ce));
            Err(ce)
        }
    }
}

/// Fetches one page of a paginator stream (one API call): times, logs and
/// maps it like [`call`]. `Ok(None)` when there are no more pages.
async fn timed_page<T, E, F>(op: &'static str, region: &str, fut: F) -> CloudResult<Option<T>>
where
    F: Future<Output = Option<Result<T, SdkError<E>>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let start = Instant::now();
    match fut.await {
        None => Ok(None),
        Some(res) => {
            let ms = elapsed_ms(start);
            match res {
                Ok(v) => {
                    log_call(op, region, ms, None);
                    Ok(Some(v))
                }
                Err(e) => {
                    let ce = sdk_error(op, region, &e);
                    log_call(op, region, ms, Some(&ce));
                    Err(ce)
                }
            }
        }
    }
}

/// Turns `Return = false` into an error (EC2 uses it for "did nothing").
fn check_return(op: &'static str, region: &str, ret: Option<bool>) -> CloudResult<()> {
    if ret == Some(false) {
        Err(CloudError::new(op, region, None, "EC2 answered Return=false"))
    } else {
        Ok(())
    }
}

/// A RevokeSecurityGroupIngress/Egress answer: EC2 reports a rule it does
/// not know in UnknownIpPermissions rather than as an error (EC2 API
/// reference, RevokeSecurityGroupIngress); report it as the NotFound it is,
/// naming the rule (`missing`), else check the call's Return.
fn check_revoke(
    op: &'static str,
    region: &str,
    unknown: &[ec2::IpPermission],
    missing: impl FnOnce() -> String,
    ret: Option<bool>,
) -> CloudResult<()> {
    if !unknown.is_empty() {
        return Err(CloudError::new(
            op,
            region,
            Some("InvalidPermission.NotFound"),
            missing(),
        ));
    }
    check_return(op, region, ret)
}

// ---------------------------------------------------------------------------
// Request building
// ---------------------------------------------------------------------------

/// What a describe call selects, in SDK terms.
#[derive(Debug, Clone, PartialEq)]
enum Selection {
    /// Nothing can match: don't call EC2.
    Nothing,
    /// The operation's ids parameter.
    Ids(Vec<String>),
    /// Server-side filters.
    Filters(Vec<ec2::Filter>),
}

fn ec2_filter(name: &str, values: &[String]) -> ec2::Filter {
    ec2::Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

fn selection(filter: &Filter) -> Selection {
    match filter {
        Filter::Plan(name) => Selection::Filters(vec![ec2_filter(
            &format!("tag:{TAG_PLAN}"),
            std::slice::from_ref(name),
        )]),
        Filter::Ids(ids) if ids.is_empty() => Selection::Nothing,
        Filter::Ids(ids) => Selection::Ids(ids.clone()),
        Filter::Vpcs(ids) if ids.is_empty() => Selection::Nothing,
        Filter::Vpcs(ids) => Selection::Filters(vec![ec2_filter("vpc-id", ids)]),
        Filter::RoutesVia(ids) if ids.is_empty() => Selection::Nothing,
        Filter::RoutesVia(ids) => {
            Selection::Filters(vec![ec2_filter("route.vpc-peering-connection-id", ids)])
        }
    }
}

impl Selection {
    fn ids(&self) -> Option<Vec<String>> {
        match self {
            Selection::Ids(ids) => Some(ids.clone()),
            _ => None,
        }
    }
    fn filters(&self) -> Option<Vec<ec2::Filter>> {
        match self {
            Selection::Filters(f) => Some(f.clone()),
            _ => None,
        }
    }
}

fn to_ec2_tags(tags: &Tags) -> Vec<ec2::Tag> {
    tags.iter()
        .map(|(k, v)| ec2::Tag::builder().key(k).value(v).build())
        .collect()
}

/// `TagSpecifications` for a create call; `None` when there are no tags
/// (EC2 rejects an empty tag list).
fn tag_specs(resource: ec2::ResourceType, tags: &Tags) -> Option<Vec<ec2::TagSpecification>> {
    if tags.is_empty() {
        return None;
    }
    Some(vec![ec2::TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(to_ec2_tags(tags)))
        .build()])
}

/// The permission of an inbound HTTPS rule from `peer`.
fn https_permission(peer: &RulePeer) -> ec2::IpPermission {
    let b = ec2::IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443);
    match peer {
        RulePeer::Cidr(c) => b
            .ip_ranges(
                ec2::IpRange::builder()
                    .cidr_ip(c.to_string())
                    .description(RULE_DESCRIPTION)
                    .build(),
            )
            .build(),
        RulePeer::Group(g) => b
            .user_id_group_pairs(ec2::UserIdGroupPair::builder().group_id(g).build())
            .build(),
    }
}

fn endpoint_type_to_ec2(t: EndpointType) -> ec2::VpcEndpointType {
    match t {
        EndpointType::Gateway => ec2::VpcEndpointType::Gateway,
        EndpointType::Interface => ec2::VpcEndpointType::Interface,
    }
}

fn non_empty(v: &[String]) -> Option<Vec<String>> {
    if v.is_empty() {
        None
    } else {
        Some(v.to_vec())
    }
}

// ---------------------------------------------------------------------------
// Response conversion (pure)
// ---------------------------------------------------------------------------

fn tags_of(tags: &[ec2::Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

fn parse_cidr(s: Option<&str>) -> Option<Ipv4Net> {
    s.and_then(|s| s.trim().parse().ok())
}

/// The first IPv6 block of an association set that is in use: not
/// `associating` (it cannot hold subnets yet), nor `disassociating`,
/// `disassociated`, `failing` or `failed` (VpcCidrBlockStateCode /
/// SubnetCidrBlockStateCode, EC2 API reference). Any other state counts as
/// `associated`: moto 5.2.5 answers a subnet's state as the text
/// `{'State': 'associated'}` (docs/ec2-and-moto.md).
fn first_ipv6<'a>(blocks: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>) -> Option<Ipv6Net> {
    const NOT_IN_USE: &[&str] = &[
        "associating",
        "disassociating",
        "disassociated",
        "failing",
        "failed",
    ];
    blocks
        .filter(|(_, state)| {
            !state.is_some_and(|s| NOT_IN_USE.iter().any(|n| n.eq_ignore_ascii_case(s.trim())))
        })
        .find_map(|(cidr, _)| cidr.and_then(|c| c.trim().parse().ok()))
}

fn ip_address_type_to_ec2(t: IpAddressType) -> ec2::IpAddressType {
    ec2::IpAddressType::from(t.as_str())
}

fn dns_record_ip_type_to_ec2(t: DnsRecordIpType) -> ec2::DnsRecordIpType {
    ec2::DnsRecordIpType::from(t.as_str())
}

/// EC2 spells states in several cases ("available", "Available",
/// "pendingAcceptance"); s3ep compares them lower-cased.
fn normalize_state(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

/// Lower-cased protocol; numeric spellings of tcp/udp/icmp become names.
fn normalize_protocol(p: &str) -> String {
    match p.trim() {
        "6" => "tcp".to_string(),
        "17" => "udp".to_string(),
        "1" => "icmp".to_string(),
        other => other.to_ascii_lowercase(),
    }
}

/// Decodes `%XX` escapes; `None` if an escape is malformed or the result is
/// not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses an endpoint policy document: JSON, else percent-encoded JSON.
fn parse_policy(doc: &str) -> Option<Value> {
    if doc.trim().is_empty() {
        return None;
    }
    if let Ok(v) = serde_json::from_str(doc) {
        return Some(v);
    }
    percent_decode(doc).and_then(|d| serde_json::from_str(&d).ok())
}

fn endpoint_type_from_ec2(t: &ec2::VpcEndpointType) -> Option<EndpointType> {
    match t.as_str().to_ascii_lowercase().as_str() {
        "gateway" => Some(EndpointType::Gateway),
        "interface" => Some(EndpointType::Interface),
        _ => None,
    }
}

fn conv_vpc(op: &'static str, region: &str, v: &ec2::Vpc) -> CloudResult<LVpc> {
    Ok(LVpc {
        id: v
            .vpc_id()
            .ok_or_else(|| CloudError::missing(op, region, "VpcId"))?
            .to_string(),
        region: region.to_string(),
        cidr: parse_cidr(v.cidr_block()),
        ipv6_cidr: first_ipv6(v.ipv6_cidr_block_association_set().iter().map(|a| {
            (
                a.ipv6_cidr_block(),
                a.ipv6_cidr_block_state()
                    .and_then(|s| s.state())
                    .map(|s| s.as_str()),
            )
        })),
        state: v.state().map(|s| normalize_state(s.as_str())).unwrap_or_default(),
        tags: tags_of(v.tags()),
    })
}

fn conv_subnet(op: &'static str, region: &str, s: &ec2::Subnet) -> CloudResult<LSubnet> {
    Ok(LSubnet {
        id: s
            .subnet_id()
            .ok_or_else(|| CloudError::missing(op, region, "SubnetId"))?
            .to_string(),
        region: region.to_string(),
        vpc_id: s
            .vpc_id()
            .ok_or_else(|| CloudError::missing(op, region, "VpcId"))?
            .to_string(),
        az: s
            .availability_zone()
            .ok_or_else(|| CloudError::missing(op, region, "AvailabilityZone"))?
            .to_string(),
        az_id: s.availability_zone_id().map(str::to_string),
        cidr: parse_cidr(s.cidr_block()),
        ipv6_cidr: first_ipv6(s.ipv6_cidr_block_association_set().iter().map(|a| {
            (
                a.ipv6_cidr_block(),
                a.ipv6_cidr_block_state()
                    .and_then(|s| s.state())
                    .map(|s| s.as_str()),
            )
        })),
        tags: tags_of(s.tags()),
    })
}

/// A route, or `None` for IPv6-only and unparseable destinations.
fn conv_route(r: &ec2::Route) -> Option<LRoute> {
    let dest = if let Some(pl) = r.destination_prefix_list_id() {
        RouteDest::PrefixList(pl.to_string())
    } else {
        RouteDest::Cidr(parse_cidr(r.destination_cidr_block())?)
    };
    Some(LRoute {
        dest,
        gateway_id: r.gateway_id().map(str::to_string),
        peering_id: r.vpc_peering_connection_id().map(str::to_string),
        state: r.state().map(|s| normalize_state(s.as_str())),
    })
}

fn conv_route_table(op: &'static str, region: &str, t: &ec2::RouteTable) -> CloudResult<LRouteTable> {
    let associations = t
        .associations()
        .iter()
        .map(|a| {
            Ok(LAssociation {
                id: a
                    .route_table_association_id()
                    .ok_or_else(|| CloudError::missing(op, region, "RouteTableAssociationId"))?
                    .to_string(),
                subnet_id: a.subnet_id().map(str::to_string),
                main: a.main().unwrap_or(false),
            })
        })
        .collect::<CloudResult<Vec<_>>>()?;
    Ok(LRouteTable {
        id: t
            .route_table_id()
            .ok_or_else(|| CloudError::missing(op, region, "RouteTableId"))?
            .to_string(),
        region: region.to_string(),
        vpc_id: t
            .vpc_id()
            .ok_or_else(|| CloudError::missing(op, region, "VpcId"))?
            .to_string(),
        associations,
        routes: t.routes().iter().filter_map(conv_route).collect(),
        tags: tags_of(t.tags()),
    })
}

/// One rule per IPv4 range and per group pair; IPv6 ranges and prefix lists
/// are not s3ep's and are skipped.
fn flatten_permissions(perms: &[ec2::IpPermission]) -> Vec<LRule> {
    let mut out = Vec::new();
    for p in perms {
        let protocol = normalize_protocol(p.ip_protocol().unwrap_or("-1"));
        let rule = |peer| LRule {
            protocol: protocol.clone(),
            from_port: p.from_port(),
            to_port: p.to_port(),
            peer,
        };
        for r in p.ip_ranges() {
            if let Some(c) = parse_cidr(r.cidr_ip()) {
                out.push(rule(RulePeer::Cidr(c)));
            }
        }
        for g in p.user_id_group_pairs() {
            if let Some(id) = g.group_id() {
                out.push(rule(RulePeer::Group(id.to_string())));
            }
        }
    }
    out
}

fn conv_security_group(
    op: &'static str,
    region: &str,
    g: &ec2::SecurityGroup,
) -> CloudResult<LSecurityGroup> {
    Ok(LSecurityGroup {
        id: g
            .group_id()
            .ok_or_else(|| CloudError::missing(op, region, "GroupId"))?
            .to_string(),
        region: region.to_string(),
        vpc_id: g
            .vpc_id()
            .ok_or_else(|| CloudError::missing(op, region, "VpcId"))?
            .to_string(),
        name: g.group_name().unwrap_or("").to_string(),
        ingress: flatten_permissions(g.ip_permissions()),
        egress: flatten_permissions(g.ip_permissions_egress()),
        tags: tags_of(g.tags()),
    })
}

/// Converts a network ACL (DescribeNetworkAcls, EC2 API reference:
/// `Entries` with `RuleNumber`, `Egress`, `Protocol` as a number or `-1`,
/// `RuleAction`, `CidrBlock` or `Ipv6CidrBlock`, `PortRange`; and
/// `Associations` with their `SubnetId`).
fn conv_network_acl(op: &'static str, region: &str, a: &ec2::NetworkAcl) -> CloudResult<LNetworkAcl> {
    let entries = a
        .entries()
        .iter()
        .filter_map(|e| {
            Some(LAclEntry {
                rule_number: e.rule_number()?,
                egress: e.egress().unwrap_or(false),
                protocol: normalize_protocol(e.protocol().unwrap_or("-1")),
                allow: e.rule_action() == Some(&ec2::RuleAction::Allow),
                cidr: parse_cidr(e.cidr_block()),
                ports: e.port_range().and_then(|p| Some((p.from()?, p.to()?))),
            })
        })
        .collect();
    Ok(LNetworkAcl {
        id: a
            .network_acl_id()
            .ok_or_else(|| CloudError::missing(op, region, "NetworkAclId"))?
            .to_string(),
        region: region.to_string(),
        vpc_id: a
            .vpc_id()
            .ok_or_else(|| CloudError::missing(op, region, "VpcId"))?
            .to_string(),
        is_default: a.is_default().unwrap_or(false),
        entries,
        subnet_ids: a
            .associations()
            .iter()
            .filter_map(|x| x.subnet_id().map(str::to_string))
            .collect(),
        tags: tags_of(a.tags()),
    })
}

/// An outbound rule from DescribeSecurityGroupRules; `None` for inbound
/// rules. IPv6 and prefix-list peers are kept with `peer: None` (they count
/// for nothing s3ep checks, but their ids and tags are still read).
fn conv_egress_rule(
    op: &'static str,
    region: &str,
    r: &ec2::SecurityGroupRule,
) -> CloudResult<Option<LEgressRule>> {
    if r.is_egress() != Some(true) {
        return Ok(None);
    }
    let peer = match (
        r.cidr_ipv4(),
        r.referenced_group_info().and_then(|g| g.group_id()),
    ) {
        (Some(c), _) => parse_cidr(Some(c)).map(RulePeer::Cidr),
        (None, Some(g)) => Some(RulePeer::Group(g.to_string())),
        (None, None) => None,
    };
    Ok(Some(LEgressRule {
        id: r
            .security_group_rule_id()
            .ok_or_else(|| CloudError::missing(op, region, "SecurityGroupRuleId"))?
            .to_string(),
        region: region.to_string(),
        group_id: r
            .group_id()
            .ok_or_else(|| CloudError::missing(op, region, "GroupId"))?
            .to_string(),
        protocol: normalize_protocol(r.ip_protocol().unwrap_or("-1")),
        // DescribeSecurityGroupRules says -1 for "all ports".
        from_port: r.from_port().filter(|p| *p >= 0),
        to_port: r.to_port().filter(|p| *p >= 0),
        peer,
        tags: tags_of(r.tags()),
    }))
}

fn last_error_text(e: &ec2::LastError) -> Option<String> {
    match (e.code(), e.message()) {
        (Some(c), Some(m)) => Some(format!("{c}: {m}")),
        (Some(c), None) => Some(c.to_string()),
        (None, Some(m)) => Some(m.to_string()),
        (None, None) => None,
    }
}

/// Converts an endpoint. `Ok(None)` for types s3ep doesn't manage
/// (GatewayLoadBalancer, Resource, ServiceNetwork, …). `fallback_type` is
/// used when the response carries no type at all.
fn conv_endpoint(
    op: &'static str,
    region: &str,
    e: &ec2::VpcEndpoint,
    fallback_type: Option<EndpointType>,
) -> CloudResult<Option<LEndpoint>> {
    let id = e
        .vpc_endpoint_id()
        .ok_or_else(|| CloudError::missing(op, region, "VpcEndpointId"))?;
    let endpoint_type = match e.vpc_endpoint_type() {
        Some(t) => match endpoint_type_from_ec2(t) {
            Some(t) => t,
            None => return Ok(None),
        },
        None => match fallback_type {
            Some(t) => t,
            None => return Err(CloudError::missing(op, region, "VpcEndpointType")),
        },
    };
    let policy = match e.policy_document() {
        None => None,
        Some(doc) => {
            let parsed = parse_policy(doc);
            if parsed.is_none() && !doc.trim().is_empty() {
                tracing::warn!(
                    endpoint = id,
                    region,
                    "endpoint policy document is not valid JSON; treating it as unknown"
                );
            }
            parsed
        }
    };
    Ok(Some(LEndpoint {
        id: id.to_string(),
        region: region.to_string(),
        vpc_id: e
            .vpc_id()
            .ok_or_else(|| CloudError::missing(op, region, "VpcId"))?
            .to_string(),
        endpoint_type,
        service: e
            .service_name()
            .ok_or_else(|| CloudError::missing(op, region, "ServiceName"))?
            .to_string(),
        state: e.state().map(|s| normalize_state(s.as_str())).unwrap_or_default(),
        route_table_ids: e.route_table_ids().to_vec(),
        subnet_ids: e.subnet_ids().to_vec(),
        security_group_ids: e
            .groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect(),
        private_dns: e.private_dns_enabled().unwrap_or(false),
        private_dns_inbound_only: e
            .dns_options()
            .and_then(|d| d.private_dns_only_for_inbound_resolver_endpoint()),
        service_region: e.service_region().map(str::to_string),
        ip_address_type: e.ip_address_type().map(|t| t.as_str().to_string()),
        dns_record_ip_type: e
            .dns_options()
            .and_then(|d| d.dns_record_ip_type())
            .map(|t| t.as_str().to_string()),
        policy,
        dns_entries: e
            .dns_entries()
            .iter()
            .filter_map(|d| {
                Some(LDnsEntry {
                    dns_name: d.dns_name()?.to_string(),
                    hosted_zone_id: d.hosted_zone_id().map(str::to_string),
                })
            })
            .collect(),
        last_error: e.last_error().and_then(last_error_text),
        tags: tags_of(e.tags()),
    }))
}

fn conv_peering(op: &'static str, region: &str, p: &ec2::VpcPeeringConnection) -> CloudResult<LPeering> {
    let req = p.requester_vpc_info();
    let acc = p.accepter_vpc_info();
    Ok(LPeering {
        id: p
            .vpc_peering_connection_id()
            .ok_or_else(|| CloudError::missing(op, region, "VpcPeeringConnectionId"))?
            .to_string(),
        region: region.to_string(),
        requester_vpc_id: req.and_then(|i| i.vpc_id()).map(str::to_string),
        requester_region: req.and_then(|i| i.region()).map(str::to_string),
        accepter_vpc_id: acc.and_then(|i| i.vpc_id()).map(str::to_string),
        accepter_region: acc.and_then(|i| i.region()).map(str::to_string),
        status: p
            .status()
            .and_then(|s| s.code())
            .map(|c| normalize_state(c.as_str()))
            .unwrap_or_default(),
        tags: tags_of(p.tags()),
    })
}

/// Client-side filtering of peerings (moto ignores every peering filter).
fn peering_matches(p: &LPeering, filter: &Filter) -> bool {
    match filter {
        Filter::Plan(name) => p.tags.get(TAG_PLAN) == Some(name),
        Filter::Ids(ids) => ids.contains(&p.id),
        Filter::Vpcs(vpcs) => [&p.requester_vpc_id, &p.accepter_vpc_id]
            .into_iter()
            .flatten()
            .any(|v| vpcs.contains(v)),
        Filter::RoutesVia(_) => false,
    }
}

/// The id of the first of `names` (best first) among `found` (name, id)
/// pairs; names not asked for are ignored.
fn pick_prefix_list(names: &[String], found: &[(String, String)]) -> Option<String> {
    names
        .iter()
        .find_map(|n| found.iter().find(|(name, _)| name == n).map(|(_, id)| id.clone()))
}

/// DeleteVpcEndpoints answers HTTP 200 and reports each endpoint it could not
/// delete as an `Unsuccessful` item (EC2 API reference, DeleteVpcEndpoints:
/// "Unsuccessful: Information about the VPC endpoints that were not
/// successfully deleted"); an endpoint that is already gone is one of them,
/// coded `InvalidVpcEndpoint.NotFound` (terraform-provider-aws treats that
/// code as "deleted"). The first item becomes an error carrying EC2's code
/// exactly as sent, so callers can match it.
fn unsuccessful_error(op: &'static str, region: &str, items: &[ec2::UnsuccessfulItem]) -> Option<CloudError> {
    let item = items.first()?;
    let err = item.error();
    let message = match (err.and_then(|e| e.message()), item.resource_id()) {
        (Some(m), _) => m.to_string(),
        (None, Some(id)) => format!("endpoint {id} was not deleted"),
        (None, None) => "endpoint was not deleted".to_string(),
    };
    Some(CloudError::new(op, region, err.and_then(|e| e.code()), message))
}

// ---------------------------------------------------------------------------
// The Cloud implementation
// ---------------------------------------------------------------------------

#[async_trait]
impl Cloud for AwsCloud {
    async fn describe_vpcs(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LVpc>> {
        const OP: &str = "DescribeVpcs";
        let sel = selection(filter);
        if sel == Selection::Nothing {
            return Ok(Vec::new());
        }
        let pages = self
            .client(region)
            .describe_vpcs()
            .set_vpc_ids(sel.ids())
            .set_filters(sel.filters())
            .into_paginator()
            .send();
        self.collect_pages(OP, region, pages, |p| {
            p.vpcs().iter().map(|v| conv_vpc(OP, region, v)).collect()
        })
        .await
    }

    async fn describe_subnets(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LSubnet>> {
        const OP: &str = "DescribeSubnets";
        let sel = selection(filter);
        if sel == Selection::Nothing {
            return Ok(Vec::new());
        }
        let pages = self
            .client(region)
            .describe_subnets()
            .set_subnet_ids(sel.ids())
            .set_filters(sel.filters())
            .into_paginator()
            .send();
        self.collect_pages(OP, region, pages, |p| {
            p.subnets().iter().map(|s| conv_subnet(OP, region, s)).collect()
        })
        .await
    }

    async fn describe_route_tables(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LRouteTable>> {
        const OP: &str = "DescribeRouteTables";
        let sel = selection(filter);
        if sel == Selection::Nothing {
            return Ok(Vec::new());
        }
        let pages = self
            .client(region)
            .describe_route_tables()
            .set_route_table_ids(sel.ids())
            .set_filters(sel.filters())
            .into_paginator()
            .send();
        self.collect_pages(OP, region, pages, |p| {
            p.route_tables()
                .iter()
                .map(|t| conv_route_table(OP, region, t))
                .collect()
        })
        .await
    }

    async fn describe_security_groups(
        &self,
        region: &str,
        filter: &Filter,
    ) -> CloudResult<Vec<LSecurityGroup>> {
        const OP: &str = "DescribeSecurityGroups";
        let sel = selection(filter);
        if sel == Selection::Nothing {
            return Ok(Vec::new());
        }
        let pages = self
            .client(region)
            .describe_security_groups()
            .set_group_ids(sel.ids())
            .set_filters(sel.filters())
            .into_paginator()
            .send();
        self.collect_pages(OP, region, pages, |p| {
            p.security_groups()
                .iter()
                .map(|g| conv_security_group(OP, region, g))
                .collect()
        })
        .await
    }

    async fn describe_endpoints(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LEndpoint>> {
        const OP: &str = "DescribeVpcEndpoints";
        let sel = selection(filter);
        if sel == Selection::Nothing {
            return Ok(Vec::new());
        }
        // Ids go in VpcEndpointIds: moto answers the `vpc-endpoint-id`
        // filter with an HTML 500.
        let pages = self
            .client(region)
            .describe_vpc_endpoints()
            .set_vpc_endpoint_ids(sel.ids())
            .set_filters(sel.filters())
            .into_paginator()
            .send();
        self.collect_pages(OP, region, pages, |p| {
            // `None`: an endpoint type s3ep does not manage.
            p.vpc_endpoints()
                .iter()
                .filter_map(|e| conv_endpoint(OP, region, e, None).transpose())
                .collect()
        })
        .await
    }

    async fn describe_peerings(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LPeering>> {
        const OP: &str = "DescribeVpcPeeringConnections";
        let sel = selection(filter);
        if sel == Selection::Nothing {
            return Ok(Vec::new());
        }
        // A peering matches by requester OR accepter VPC, which one EC2
        // filter can't express: `Vpcs` reads all peerings of the region.
        // Every result is filtered here too, because moto ignores filters.
        let server_filters = match filter {
            Filter::Plan(_) => sel.filters(),
            _ => None,
        };
        let pages = self
            .client(region)
            .describe_vpc_peering_connections()
            .set_vpc_peering_connection_ids(sel.ids())
            .set_filters(server_filters)
            .into_paginator()
            .send();
        let all = self
            .collect_pages(OP, region, pages, |p| {
                p.vpc_peering_connections()
                    .iter()
                    .map(|pc| conv_peering(OP, region, pc))
                    .collect()
            })
            .await?;
        Ok(all.into_iter().filter(|lp| peering_matches(lp, filter)).collect())
    }

    async fn endpoint_service_zones(
        &self,
        region: &str,
        service: &str,
        service_region: Option<&str>,
    ) -> CloudResult<Option<crate::model::ServiceZones>> {
        const OP: &str = "DescribeVpcEndpointServices";
        // One service by name: one page. With ServiceRegions, EC2 answers
        // for the remote service the consumer AZs that can reach it (EC2 API
        // reference, DescribeVpcEndpointServices).
        let out = self
            .call(
                OP,
                region,
                self.client(region)
                    .describe_vpc_endpoint_services()
                    .service_names(service)
                    .set_service_regions(service_region.map(|r| vec![r.to_string()]))
                    .send(),
            )
            .await?;
        Ok(out
            .service_details()
            .iter()
            .find(|d| d.service_name() == Some(service))
            // Both lists when EC2 sends them: AvailabilityZoneIds is the
            // newer field (ServiceDetail, EC2 API reference); an answer
            // without it leaves `ids` empty and the check compares names.
            .map(|d| crate::model::ServiceZones {
                names: d.availability_zones().to_vec(),
                ids: d.availability_zone_ids().to_vec(),
            }))
    }

    async fn prefix_list(&self, region: &str, service: &str) -> CloudResult<Option<String>> {
        const OP: &str = "DescribeManagedPrefixLists";
        // Selected by name on the server (`prefix-list-name` filter,
        // DescribeManagedPrefixLists in the EC2 API reference): a filtered
        // Describe draws from EC2's normal Describe bucket, not the smaller
        // unfiltered one, and reads one short page instead of every managed
        // list of the region. The names come from `prefix_list_names`
        // (both partition spellings in cn-* regions, as two values of the one
        // filter); S3 Express One Zone has its own list, named after its
        // gateway service (VPC user guide, "AWS-managed prefix lists"). moto 5.2.5 implements this filter
        // (moto/ec2/models/managed_prefixes.py). The names are matched here
        // again, in case a server ignores the filter.
        let names = prefix_list_names(service);
        let pages = self
            .client(region)
            .describe_managed_prefix_lists()
            .filters(ec2_filter("prefix-list-name", &names))
            .into_paginator()
            .send();
        let found = self
            .collect_pages(OP, region, pages, |p| {
                Ok(p.prefix_lists()
                    .iter()
                    .filter_map(|pl| {
                        Some((
                            pl.prefix_list_name()?.to_string(),
                            pl.prefix_list_id()?.to_string(),
                        ))
                    })
                    .collect())
            })
            .await?;
        Ok(pick_prefix_list(&names, &found))
    }

    async fn describe_network_acls(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LNetworkAcl>> {
        const OP: &str = "DescribeNetworkAcls";
        let sel = selection(filter);
        if sel == Selection::Nothing {
            return Ok(Vec::new());
        }
        let pages = self
            .client(region)
            .describe_network_acls()
            .set_network_acl_ids(sel.ids())
            .set_filters(sel.filters())
            .into_paginator()
            .send();
        self.collect_pages(OP, region, pages, |p| {
            p.network_acls()
                .iter()
                .map(|a| conv_network_acl(OP, region, a))
                .collect()
        })
        .await
    }

    async fn describe_vpc_dns(&self, region: &str, vpc_id: &str) -> CloudResult<LVpcDns> {
        const OP: &str = "DescribeVpcAttribute";
        // One attribute per call (DescribeVpcAttribute, EC2 API reference).
        let client = self.client(region);
        let ask = |attr: ec2::VpcAttributeName| {
            self.call(
                OP,
                region,
                client
                    .describe_vpc_attribute()
                    .vpc_id(vpc_id)
                    .attribute(attr)
                    .send(),
            )
        };
        let (support, hostnames) = tokio::try_join!(
            ask(ec2::VpcAttributeName::EnableDnsSupport),
            ask(ec2::VpcAttributeName::EnableDnsHostnames)
        )?;
        Ok(LVpcDns {
            vpc_id: vpc_id.to_string(),
            support: support
                .enable_dns_support()
                .and_then(|v| v.value())
                .ok_or_else(|| CloudError::missing(OP, region, "EnableDnsSupport"))?,
            hostnames: hostnames
                .enable_dns_hostnames()
                .and_then(|v| v.value())
                .ok_or_else(|| CloudError::missing(OP, region, "EnableDnsHostnames"))?,
        })
    }

    async fn prefix_list_cidrs(&self, region: &str, prefix_list_id: &str) -> CloudResult<Vec<Ipv4Net>> {
        const OP: &str = "GetManagedPrefixListEntries";
        // EC2 API reference, GetManagedPrefixListEntries: the entries of the
        // list's current version, paginated.
        let pages = self
            .client(region)
            .get_managed_prefix_list_entries()
            .prefix_list_id(prefix_list_id)
            .into_paginator()
            .send();
        self.collect_pages(OP, region, pages, |p| {
            Ok(p.entries().iter().filter_map(|e| parse_cidr(e.cidr())).collect())
        })
        .await
    }

    async fn create_vpc(&self, region: &str, cidr: Ipv4Net, tags: &Tags) -> CloudResult<String> {
        self.create_vpc_with(region, cidr, false, tags).await
    }

    async fn create_vpc_ipv6(&self, region: &str, cidr: Ipv4Net, tags: &Tags) -> CloudResult<String> {
        self.create_vpc_with(region, cidr, true, tags).await
    }

    async fn create_subnet_ipv6(
        &self,
        region: &str,
        vpc_id: &str,
        az: &str,
        cidr: Ipv4Net,
        ipv6: Ipv6Net,
        tags: &Tags,
    ) -> CloudResult<String> {
        self.create_subnet_with(region, vpc_id, az, cidr, Some(ipv6), tags)
            .await
    }

    async fn enable_dns_hostnames(&self, region: &str, vpc_id: &str) -> CloudResult<()> {
        self.call(
            "ModifyVpcAttribute",
            region,
            self.client(region)
                .modify_vpc_attribute()
                .vpc_id(vpc_id)
                .enable_dns_hostnames(ec2::AttributeBooleanValue::builder().value(true).build())
                .send(),
        )
        .await?;
        Ok(())
    }

    async fn delete_vpc(&self, region: &str, vpc_id: &str) -> CloudResult<()> {
        self.call(
            "DeleteVpc",
            region,
            self.client(region).delete_vpc().vpc_id(vpc_id).send(),
        )
        .await?;
        Ok(())
    }

    async fn create_subnet(
        &self,
        region: &str,
        vpc_id: &str,
        az: &str,
        cidr: Ipv4Net,
        tags: &Tags,
    ) -> CloudResult<String> {
        self.create_subnet_with(region, vpc_id, az, cidr, None, tags)
            .await
    }

    async fn delete_subnet(&self, region: &str, subnet_id: &str) -> CloudResult<()> {
        self.call(
            "DeleteSubnet",
            region,
            self.client(region).delete_subnet().subnet_id(subnet_id).send(),
        )
        .await?;
        Ok(())
    }

    async fn create_route_table(
        &self,
        region: &str,
        vpc_id: &str,
        tags: &Tags,
        client_token: Option<&str>,
    ) -> CloudResult<String> {
        const OP: &str = "CreateRouteTable";
        let out = self
            .call(
                OP,
                region,
                self.client(region)
                    .create_route_table()
                    .vpc_id(vpc_id)
                    .set_client_token(client_token.map(str::to_string))
                    .set_tag_specifications(tag_specs(ec2::ResourceType::RouteTable, tags))
                    .send(),
            )
            .await?;
        Ok(out
            .route_table()
            .and_then(|t| t.route_table_id())
            .ok_or_else(|| CloudError::missing(OP, region, "RouteTableId"))?
            .to_string())
    }

    async fn delete_route_table(&self, region: &str, rtb_id: &str) -> CloudResult<()> {
        self.call(
            "DeleteRouteTable",
            region,
            self.client(region)
                .delete_route_table()
                .route_table_id(rtb_id)
                .send(),
        )
        .await?;
        Ok(())
    }

    async fn associate_route_table(
        &self,
        region: &str,
        rtb_id: &str,
        subnet_id: &str,
    ) -> CloudResult<String> {
        const OP: &str = "AssociateRouteTable";
        let out = self
            .call(
                OP,
                region,
                self.client(region)
                    .associate_route_table()
                    .route_table_id(rtb_id)
                    .subnet_id(subnet_id)
                    .send(),
            )
            .await?;
        Ok(out
            .association_id()
            .ok_or_else(|| CloudError::missing(OP, region, "AssociationId"))?
            .to_string())
    }

    async fn disassociate_route_table(&self, region: &str, association_id: &str) -> CloudResult<()> {
        self.call(
            "DisassociateRouteTable",
            region,
            self.client(region)
                .disassociate_route_table()
                .association_id(association_id)
                .send(),
        )
        .await?;
        Ok(())
    }

    async fn create_peering_route(
        &self,
        region: &str,
        rtb_id: &str,
        dest: &RouteDest,
        peering_id: &str,
    ) -> CloudResult<()> {
        const OP: &str = "CreateRoute";
        let mut req = self
            .client(region)
            .create_route()
            .route_table_id(rtb_id)
            .vpc_peering_connection_id(peering_id);
        req = match dest {
            RouteDest::Cidr(c) => req.destination_cidr_block(c.to_string()),
            RouteDest::PrefixList(p) => req.destination_prefix_list_id(p),
        };
        let out = self.call(OP, region, req.send()).await?;
        check_return(OP, region, out.r#return())
    }

    async fn delete_route(&self, region: &str, rtb_id: &str, dest: &RouteDest) -> CloudResult<()> {
        let mut req = self.client(region).delete_route().route_table_id(rtb_id);
        req = match dest {
            RouteDest::Cidr(c) => req.destination_cidr_block(c.to_string()),
            RouteDest::PrefixList(p) => req.destination_prefix_list_id(p),
        };
        self.call("DeleteRoute", region, req.send()).await?;
        Ok(())
    }

    async fn create_endpoint_route(
        &self,
        region: &str,
        rtb_id: &str,
        dest: &RouteDest,
        endpoint_id: &str,
    ) -> CloudResult<()> {
        const OP: &str = "CreateRoute";
        let mut req = self
            .client(region)
            .create_route()
            .route_table_id(rtb_id)
            .gateway_id(endpoint_id);
        req = match dest {
            RouteDest::Cidr(c) => req.destination_cidr_block(c.to_string()),
            RouteDest::PrefixList(p) => req.destination_prefix_list_id(p),
        };
        let out = self.call(OP, region, req.send()).await?;
        check_return(OP, region, out.r#return())
    }

    async fn set_tags(&self, region: &str, resource_id: &str, tags: &Tags) -> CloudResult<()> {
        if tags.is_empty() {
            return Ok(());
        }
        self.call(
            "CreateTags",
            region,
            self.client(region)
                .create_tags()
                .resources(resource_id)
                .set_tags(Some(to_ec2_tags(tags)))
                .send(),
        )
        .await?;
        Ok(())
    }

    async fn create_security_group(
        &self,
        region: &str,
        vpc_id: &str,
        name: &str,
        description: &str,
        tags: &Tags,
    ) -> CloudResult<String> {
        const OP: &str = "CreateSecurityGroup";
        let out = self
            .call(
                OP,
                region,
                self.client(region)
                    .create_security_group()
                    .vpc_id(vpc_id)
                    .group_name(name)
                    .description(description)
                    .set_tag_specifications(tag_specs(ec2::ResourceType::SecurityGroup, tags))
                    .customize()
                    .config_override(send_once())
                    .send(),
            )
            .await?;
        Ok(out
            .group_id()
            .ok_or_else(|| CloudError::missing(OP, region, "GroupId"))?
            .to_string())
    }

    async fn delete_security_group(&self, region: &str, sg_id: &str) -> CloudResult<()> {
        const OP: &str = "DeleteSecurityGroup";
        let out = self
            .call(
                OP,
                region,
                self.client(region).delete_security_group().group_id(sg_id).send(),
            )
            .await?;
        check_return(OP, region, out.r#return())
    }

    async fn authorize_https_ingress(
        &self,
        region: &str,
        sg_id: &str,
        peer: &RulePeer,
        tags: &Tags,
    ) -> CloudResult<()> {
        const OP: &str = "AuthorizeSecurityGroupIngress";
        let out = self
            .call(
                OP,
                region,
                self.client(region)
                    .authorize_security_group_ingress()
                    .group_id(sg_id)
                    .ip_permissions(https_permission(peer))
                    .set_tag_specifications(tag_specs(ec2::ResourceType::SecurityGroupRule, tags))
                    .send(),
            )
            .await?;
        check_return(OP, region, out.r#return())
    }

    async fn revoke_https_ingress(&self, region: &str, sg_id: &str, peer: &RulePeer) -> CloudResult<()> {
        const OP: &str = "RevokeSecurityGroupIngress";
        let out = self
            .call(
                OP,
                region,
                self.client(region)
                    .revoke_security_group_ingress()
                    .group_id(sg_id)
                    .ip_permissions(https_permission(peer))
                    .send(),
            )
            .await?;
        check_revoke(
            OP,
            region,
            out.unknown_ip_permissions(),
            || format!("no inbound HTTPS rule from {peer} in {sg_id}"),
            out.r#return(),
        )
    }

    async fn describe_egress_rules(&self, region: &str, filter: &Filter) -> CloudResult<Vec<LEgressRule>> {
        // DescribeSecurityGroupRules is the call that gives each rule's id and
        // tags (EC2 API reference, DescribeSecurityGroupRules: filters
        // `group-id`, `security-group-rule-id`, `tag:<key>`).
        const OP: &str = "DescribeSecurityGroupRules";
        let filters = match filter {
            Filter::Plan(name) => vec![ec2_filter(&format!("tag:{TAG_PLAN}"), std::slice::from_ref(name))],
            Filter::Ids(ids) if !ids.is_empty() => vec![ec2_filter("group-id", ids)],
            _ => return Ok(Vec::new()),
        };
        let pages = self
            .client(region)
            .describe_security_group_rules()
            .set_filters(Some(filters))
            .into_paginator()
            .send();
        let rules = self
            .collect_pages(OP, region, pages, |p| {
                p.security_group_rules()
                    .iter()
                    .map(|r| conv_egress_rule(OP, region, r))
                    .collect::<CloudResult<Vec<_>>>()
            })
            .await?;
        Ok(rules.into_iter().flatten().collect())
    }

    async fn authorize_https_egress(
        &self,
        region: &str,
        sg_id: &str,
        peer_group: &str,
        tags: &Tags,
    ) -> CloudResult<Option<String>> {
        // AuthorizeSecurityGroupEgress (EC2 API reference): IpPermissions
        // with a UserIdGroupPair names the destination group; the rule takes
        // TagSpecifications of resource type `security-group-rule`, and the
        // answer lists the rules added (SecurityGroupRules, with their ids).
        const OP: &str = "AuthorizeSecurityGroupEgress";
        let out = self
            .call(
                OP,
                region,
                self.client(region)
                    .authorize_security_group_egress()
                    .group_id(sg_id)
                    .ip_permissions(https_permission(&RulePeer::Group(peer_group.to_string())))
                    .set_tag_specifications(tag_specs(ec2::ResourceType::SecurityGroupRule, tags))
                    .send(),
            )
            .await?;
        check_return(OP, region, out.r#return())?;
        Ok(out
            .security_group_rules()
            .iter()
            .find_map(|r| r.security_group_rule_id().map(str::to_string)))
    }

    async fn revoke_https_egress(&self, region: &str, sg_id: &str, rule_id: &str) -> CloudResult<()> {
        // RevokeSecurityGroupEgress with SecurityGroupRuleIds removes exactly
        // that rule (EC2 API reference); an id EC2 does not know is reported
        // in UnknownIpPermissions or as InvalidSecurityGroupRuleId.NotFound.
        const OP: &str = "RevokeSecurityGroupEgress";
        let out = self
            .call(
                OP,
                region,
                self.client(region)
                    .revoke_security_group_egress()
                    .group_id(sg_id)
                    .security_group_rule_ids(rule_id)
                    .send(),
            )
            .await?;
        check_revoke(
            OP,
            region,
            out.unknown_ip_permissions(),
            || format!("no outbound rule {rule_id} in {sg_id}"),
            out.r#return(),
        )
    }

    async fn create_endpoint(&self, region: &str, spec: &EndpointCreate) -> CloudResult<LEndpoint> {
        const OP: &str = "CreateVpcEndpoint";
        let policy = spec
            .policy
            .as_ref()
            .map(|p| {
                serde_json::to_string(p)
                    .map_err(|e| CloudError::new(OP, region, None, format!("cannot encode policy: {e}")))
            })
            .transpose()?;
        // DnsOptions go to interface endpoints only (EC2 answers
        // `InvalidParameter: DnsOptions PrivateDnsOnlyForInboundResolverEndpoint
        // is applicable only to Interface VPC Endpoints` for a gateway,
        // terraform-provider-aws #45846). Both private DNS values are always
        // sent: left out, EC2 takes PrivateDnsEnabled as true and
        // PrivateDnsOnlyForInboundResolverEndpoint as true when the VPC has
        // an S3 gateway endpoint, false otherwise (CreateVpcEndpoint and
        // DnsOptionsSpecification in the EC2 API reference;
        // terraform-provider-aws #32021, #42413), and s3ep never relies on it.
        let private_dns = match spec.endpoint_type {
            EndpointType::Gateway => None,
            EndpointType::Interface => Some(spec.private_dns.unwrap_or_default()),
        };
        // DnsRecordIpType: the plan's, by default the same as the endpoint's
        // IpAddressType (DnsOptionsSpecification in the EC2 API reference).
        let dns_options = private_dns.map(|p| {
            let dns_type = spec
                .dns_record_ip_type
                .unwrap_or_else(|| spec.ip_address_type.unwrap_or_default().default_dns());
            ec2::DnsOptionsSpecification::builder()
                .dns_record_ip_type(dns_record_ip_type_to_ec2(dns_type))
                .private_dns_only_for_inbound_resolver_endpoint(p.inbound_only())
                .build()
        });
        let out = self
            .call(
                OP,
                region,
                self.client(region)
                    .create_vpc_endpoint()
                    .vpc_endpoint_type(endpoint_type_to_ec2(spec.endpoint_type))
                    .vpc_id(&spec.vpc_id)
                    .service_name(&spec.service)
                    .set_service_region(match spec.endpoint_type {
                        // Native cross-region PrivateLink: a service of
                        // another region (CreateVpcEndpoint `ServiceRegion`;
                        // the caller needs vpce:AllowMultiRegion). From the
                        // plan's service_region, or the service name's region.
                        EndpointType::Interface => spec
                            .service_region
                            .as_deref()
                            .or_else(|| crate::model::service_region(&spec.service))
                            .filter(|r| *r != region)
                            .map(str::to_string),
                        EndpointType::Gateway => None,
                    })
                    .set_route_table_ids(non_empty(&spec.route_table_ids))
                    .set_subnet_ids(non_empty(&spec.subnet_ids))
                    .set_security_group_ids(non_empty(&spec.security_group_ids))
                    .set_policy_document(policy)
                    .set_private_dns_enabled(private_dns.map(|p| p.enabled()))
                    .set_ip_address_type(spec.ip_address_type.map(ip_address_type_to_ec2))
                    .set_dns_options(dns_options)
                    .set_client_token(spec.client_token.clone())
                    .set_tag_specifications(tag_specs(ec2::ResourceType::VpcEndpoint, &spec.tags))
                    .send(),
            )
            .await?;
        let e = out
            .vpc_endpoint()
            .ok_or_else(|| CloudError::missing(OP, region, "VpcEndpoint"))?;
        let mut ep = conv_endpoint(OP, region, e, Some(spec.endpoint_type))?.ok_or_else(|| {
            CloudError::new(
                OP,
                region,
                None,
                "response has an endpoint type s3ep does not manage",
            )
        })?;
        // The tags were applied at creation; some responses omit them.
        if ep.tags.is_empty() {
            ep.tags = spec.tags.clone();
        }
        Ok(ep)
    }

    async fn modify_endpoint(
        &self,
        region: &str,
        endpoint_id: &str,
        change: &EndpointModify,
    ) -> CloudResult<()> {
        const OP: &str = "ModifyVpcEndpoint";
        if change.is_empty() {
            return Ok(());
        }
        let mut req = self
            .client(region)
            .modify_vpc_endpoint()
            .vpc_endpoint_id(endpoint_id)
            .set_add_route_table_ids(non_empty(&change.add_route_table_ids))
            .set_remove_route_table_ids(non_empty(&change.remove_route_table_ids))
            .set_add_subnet_ids(non_empty(&change.add_subnet_ids))
            .set_remove_subnet_ids(non_empty(&change.remove_subnet_ids))
            .set_add_security_group_ids(non_empty(&change.add_security_group_ids))
            .set_remove_security_group_ids(non_empty(&change.remove_security_group_ids))
            .set_private_dns_enabled(change.private_dns.map(|p| p.enabled()))
            .set_ip_address_type(change.ip_address_type.map(ip_address_type_to_ec2));
        if change.private_dns.is_some() || change.dns_record_ip_type.is_some() {
            // As on create: both private DNS values sent explicitly, so EC2
            // never picks the inbound-resolver-only mode on its own
            // (terraform-provider-aws #42413; ModifyVpcEndpoint in the EC2
            // API reference takes PrivateDnsEnabled and DnsOptions), and the
            // DNS record type when it changes.
            let mut dns = ec2::DnsOptionsSpecification::builder()
                .set_dns_record_ip_type(change.dns_record_ip_type.map(dns_record_ip_type_to_ec2));
            if let Some(p) = change.private_dns {
                dns = dns.private_dns_only_for_inbound_resolver_endpoint(p.inbound_only());
            }
            req = req.dns_options(dns.build());
        }
        match &change.policy {
            None => {}
            Some(Some(doc)) => {
                let s = serde_json::to_string(doc)
                    .map_err(|e| CloudError::new(OP, region, None, format!("cannot encode policy: {e}")))?;
                req = req.policy_document(s);
            }
            Some(None) => req = req.reset_policy(true),
        }
        let out = self.call(OP, region, req.send()).await?;
        check_return(OP, region, out.r#return())
    }

    async fn delete_endpoint(&self, region: &str, endpoint_id: &str) -> CloudResult<()> {
        const OP: &str = "DeleteVpcEndpoints";
        let out = self
            .call(
                OP,
                region,
                self.client(region)
                    .delete_vpc_endpoints()
                    .vpc_endpoint_ids(endpoint_id)
                    .send(),
            )
            .await?;
        match unsuccessful_error(OP, region, out.unsuccessful()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn create_peering(
        &self,
        region: &str,
        vpc_id: &str,
        peer_vpc_id: &str,
        peer_region: &str,
        tags: &Tags,
    ) -> CloudResult<String> {
        const OP: &str = "CreateVpcPeeringConnection";
        let out = self
            .call(
                OP,
                region,
                self.client(region)
                    .create_vpc_peering_connection()
                    .vpc_id(vpc_id)
                    .peer_vpc_id(peer_vpc_id)
                    .peer_region(peer_region)
                    .set_tag_specifications(tag_specs(ec2::ResourceType::VpcPeeringConnection, tags))
                    .customize()
                    .config_override(send_once())
                    .send(),
            )
            .await?;
        Ok(out
            .vpc_peering_connection()
            .and_then(|p| p.vpc_peering_connection_id())
            .ok_or_else(|| CloudError::missing(OP, region, "VpcPeeringConnectionId"))?
            .to_string())
    }

    async fn accept_peering(&self, region: &str, peering_id: &str) -> CloudResult<()> {
        self.call(
            "AcceptVpcPeeringConnection",
            region,
            self.client(region)
                .accept_vpc_peering_connection()
                .vpc_peering_connection_id(peering_id)
                .send(),
        )
        .await?;
        Ok(())
    }

    async fn delete_peering(&self, region: &str, peering_id: &str) -> CloudResult<()> {
        const OP: &str = "DeleteVpcPeeringConnection";
        let out = self
            .call(
                OP,
                region,
                self.client(region)
                    .delete_vpc_peering_connection()
                    .vpc_peering_connection_id(peering_id)
                    .send(),
            )
            .await?;
        check_return(OP, region, out.r#return())
    }
}

#[cfg(test)]
#[path = "tests/aws.rs"]
mod tests;
