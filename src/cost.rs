//! The monthly cost of a plan's interface endpoints, before and after a
//! change, from a price table kept in the code (no pricing API call).
//!
//! What AWS bills for an interface endpoint (AWS PrivateLink pricing,
//! <https://aws.amazon.com/privatelink/pricing/>): each hour the endpoint is
//! provisioned in each Availability Zone (one subnet per AZ), and each GB it
//! processes, at tiers that apply to the total of all interface endpoints of
//! the account in one region. Gateway endpoints are free (Amazon VPC user
//! guide, "Gateway endpoints": "There is no additional charge for using
//! gateway endpoints").
//!
//! s3ep estimates: AZ-hours = subnets × 730 h × the region's hourly price,
//! plus `--gb-per-month` GB for each interface endpoint, summed per region
//! and priced at that region's tiers. Amounts are exact integers in
//! micro-dollars until they are printed. A region missing from [`PRICES`], or
//! data beyond the tiers the table has a source for, is "price unknown":
//! never a guessed number.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::diff::Mode;
use crate::model::{owned_by, Address, Desired, EndpointKind, EndpointType, Live, TAG_KEY};

/// Hours in the month AWS's own calculators use (8,760 h / 12).
pub const HOURS_PER_MONTH: u64 = 730;
/// Micro-dollars in a dollar.
const MICRO: u64 = 1_000_000;
/// 1 PB in GB at the tier boundaries. The price page does not say whether its
/// "1 PB" is decimal or binary; s3ep assumes binary (1,048,576 GB). Only
/// plans processing about a petabyte a month see the difference.
const PB_GB: u64 = 1_048_576;

/// One region's prices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionPrice {
    pub region: &'static str,
    /// Per interface endpoint per AZ per hour, in micro-dollars.
    pub hourly_micro: u64,
    /// Data tiers: (GB in this tier, or `None` for "everything above",
    /// micro-dollars per GB). Data beyond the last bounded tier, when there
    /// is no unbounded one, has no source: its price is unknown.
    pub tiers: &'static [(Option<u64>, u64)],
    /// When the price was read (YYYY-MM-DD).
    pub date: &'static str,
    /// Where it was read.
    pub source: &'static str,
}

/// The price table. Add a region only with a source and a date.
pub const PRICES: &[RegionPrice] = &[
    RegionPrice {
        region: "us-east-1",
        hourly_micro: 10_000,
        tiers: &[(Some(PB_GB), 10_000), (Some(4 * PB_GB), 6_000), (None, 4_000)],
        date: "2026-12-02",
        source: "https://aws.amazon.com/privatelink/pricing/ (interface endpoint: $0.01 per VPC endpoint per AZ-hour; data processed in a region: first 1 PB $0.01/GB, next 4 PB $0.006/GB, over 5 PB $0.004/GB), as recorded in the project's EC2-NOTES",
    },
    RegionPrice {
        region: "us-west-2",
        hourly_micro: 10_000,
        // Only "$0.01 per GB processed" is sourced: the first tier.
        tiers: &[(Some(PB_GB), 10_000)],
        date: "2026-10-06",
        source: "AWS Pricing API, usage type USW2-VpcEndpoint-Hours ($0.01/h per endpoint-AZ) and $0.01 per GB processed, as read on 2026-10-06 in a public cost table citing https://aws.amazon.com/privatelink/pricing/",
    },
    RegionPrice {
        region: "ap-northeast-2",
        hourly_micro: 13_000,
        // Only the first 1 PB ($0.01/GB) is sourced.
        tiers: &[(Some(PB_GB), 10_000)],
        date: "2026-10-01",
        source: "AWS Price List offer file AmazonVPC/current/ap-northeast-2 (usage types APN2-VpcEndpoint-Hours $0.013 per endpoint-AZ-hour, APN2-VpcEndpoint-Bytes $0.01/GB up to 1 PB), as read on 2026-10-01 in a public cost catalogue",
    },
];

/// The price of `region`, if the table has one.
pub fn price(region: &str) -> Option<&'static RegionPrice> {
    PRICES.iter().find(|p| p.region == region)
}

/// The data charge for `gb` GB processed in a month in one region, or
/// `None` when part of it falls beyond the tiers the table knows.
pub fn data_micro(p: &RegionPrice, gb: u64) -> Option<u64> {
    let mut left = gb;
    let mut total: u64 = 0;
    for (size, per_gb) in p.tiers {
        if left == 0 {
            break;
        }
        let here = match size {
            Some(s) => left.min(*s),
            None => left,
        };
        total = total.checked_add(here.checked_mul(*per_gb)?)?;
        left -= here;
    }
    (left == 0).then_some(total)
}

/// One interface endpoint's share of the bill, before or after.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointCost {
    pub address: String,
    pub region: String,
    /// AZs (subnets) before and after; `None`: absent on that side.
    pub azs_before: Option<u64>,
    pub azs_after: Option<u64>,
}

/// The estimate for one preview.
#[derive(Debug, Clone, PartialEq)]
pub struct CostReport {
    pub gb_per_month: u64,
    /// Interface endpoints by address.
    pub interface: Vec<EndpointCost>,
    /// Addresses of the plan's gateway endpoints (free).
    pub gateway: Vec<String>,
}

/// A side of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Before,
    After,
}

/// An amount, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum Amount {
    Micro(u64),
    /// Regions (or data volumes) without a sourced price.
    Unknown(Vec<String>),
}

impl Amount {
    fn add(self, other: Amount) -> Amount {
        match (self, other) {
            (Amount::Micro(a), Amount::Micro(b)) => Amount::Micro(a.saturating_add(b)),
            (Amount::Unknown(mut a), Amount::Unknown(b)) => {
                for r in b {
                    if !a.contains(&r) {
                        a.push(r);
                    }
                }
                Amount::Unknown(a)
            }
            (u @ Amount::Unknown(_), _) | (_, u @ Amount::Unknown(_)) => u,
        }
    }

    /// `$14.60`, or `price unknown`.
    pub fn show(&self) -> String {
        match self {
            Amount::Micro(m) => dollars(*m),
            Amount::Unknown(_) => "price unknown".to_string(),
        }
    }

    /// Dollars as a JSON number rounded to cents, or null.
    pub fn json(&self) -> Value {
        match self {
            Amount::Micro(m) => {
                let cents = (m + 5_000) / 10_000;
                // Two decimals exactly: format, then parse as a JSON number.
                serde_json::from_str(&format!("{}.{:02}", cents / 100, cents % 100)).unwrap_or(Value::Null)
            }
            Amount::Unknown(_) => Value::Null,
        }
    }
}

/// `$1,234.56` style (no thousands separator): cents rounded half up.
pub fn dollars(micro: u64) -> String {
    let cents = (micro + 5_000) / 10_000;
    format!("${}.{:02}", cents / 100, cents % 100)
}

/// The signed difference `after - before`, e.g. `+$14.60`, `-$14.60`, `$0.00`.
fn difference(before: &Amount, after: &Amount) -> String {
    match (before, after) {
        (Amount::Micro(b), Amount::Micro(a)) if a >= b => {
            if a == b {
                "$0.00".into()
            } else {
                format!("+{}", dollars(a - b))
            }
        }
        (Amount::Micro(b), Amount::Micro(a)) => format!("-{}", dollars(b - a)),
        _ => "price unknown".into(),
    }
}

/// Estimates from the diff's own inputs: before is every live interface
/// endpoint this plan owns (duplicates and endpoints about to be deleted are
/// billed too); after is the plan's interface endpoints (`Mode::Apply`) or
/// nothing (`Mode::Destroy`). No AWS call.
pub fn estimate(desired: &Desired, live: &Live, mode: Mode, gb_per_month: u64) -> CostReport {
    let mut by_addr: BTreeMap<(String, usize), EndpointCost> = BTreeMap::new();
    // Live, owned, not gone. A key seen twice (a duplicate) keeps both.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut live_eps: Vec<_> = live
        .endpoints
        .iter()
        .filter(|e| owned_by(&e.tags, &desired.name) && !e.is_gone())
        .filter(|e| e.endpoint_type == EndpointType::Interface)
        .collect();
    live_eps.sort_by(|a, b| a.id.cmp(&b.id));
    for e in live_eps {
        let address = e.tags.get(TAG_KEY).cloned().unwrap_or_else(|| e.id.clone());
        let n = seen.entry(address.clone()).or_insert(0);
        by_addr.insert(
            (address.clone(), *n),
            EndpointCost {
                address: address.clone(),
                region: e.region.clone(),
                azs_before: Some(e.subnet_ids.len() as u64),
                azs_after: None,
            },
        );
        *n += 1;
    }
    let mut gateway = Vec::new();
    for (name, ep) in &desired.endpoints {
        let address = Address::endpoint(name).to_string();
        match &ep.kind {
            EndpointKind::Gateway { .. } => gateway.push(address),
            EndpointKind::Interface { subnets, .. } if mode == Mode::Apply => {
                let region = desired
                    .vpcs
                    .get(&ep.vpc)
                    .map(|v| v.region.clone())
                    .unwrap_or_default();
                let entry = by_addr
                    .entry((address.clone(), 0))
                    .or_insert_with(|| EndpointCost {
                        address: address.clone(),
                        region: region.clone(),
                        azs_before: None,
                        azs_after: None,
                    });
                // A replaced endpoint may move regions: it is billed where
                // the plan puts it.
                entry.region = region;
                entry.azs_after = Some(subnets.len() as u64);
            }
            EndpointKind::Interface { .. } => {}
        }
    }
    CostReport {
        gb_per_month,
        interface: by_addr.into_values().collect(),
        gateway,
    }
}

impl CostReport {
    fn azs(e: &EndpointCost, side: Side) -> Option<u64> {
        match side {
            Side::Before => e.azs_before,
            Side::After => e.azs_after,
        }
    }

    /// The AZ-hour charge of one endpoint on one side.
    pub fn endpoint_hours(e: &EndpointCost, side: Side) -> Amount {
        let Some(azs) = Self::azs(e, side) else {
            return Amount::Micro(0);
        };
        match price(&e.region) {
            Some(p) => Amount::Micro(azs.saturating_mul(HOURS_PER_MONTH).saturating_mul(p.hourly_micro)),
            None => Amount::Unknown(vec![e.region.clone()]),
        }
    }

    /// Endpoints present on `side`, per region.
    fn count_by_region(&self, side: Side) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for e in &self.interface {
            if Self::azs(e, side).is_some() {
                *m.entry(e.region.clone()).or_insert(0) += 1;
            }
        }
        m
    }

    /// The data charge per region on `side`.
    pub fn data(&self, side: Side) -> BTreeMap<String, Amount> {
        self.count_by_region(side)
            .into_iter()
            .map(|(region, n)| {
                let gb = n.saturating_mul(self.gb_per_month);
                let amount = match price(&region).map(|p| data_micro(p, gb)) {
                    Some(Some(m)) => Amount::Micro(m),
                    _ => Amount::Unknown(vec![region.clone()]),
                };
                (region, amount)
            })
            .collect()
    }

    /// The whole monthly charge on `side`.
    pub fn total(&self, side: Side) -> Amount {
        let mut t = Amount::Micro(0);
        for e in &self.interface {
            t = t.add(Self::endpoint_hours(e, side));
        }
        if self.gb_per_month > 0 {
            for (_, a) in self.data(side) {
                t = t.add(a);
            }
        }
        t
    }

    /// The date of the prices used: the oldest among the regions involved,
    /// or `None` when no region involved has a price.
    pub fn price_date(&self) -> Option<&'static str> {
        self.interface
            .iter()
            .filter_map(|e| price(&e.region).map(|p| p.date))
            .min()
    }

    /// Regions involved without a price.
    pub fn unknown_regions(&self) -> Vec<String> {
        let mut r: Vec<String> = self
            .interface
            .iter()
            .filter(|e| price(&e.region).is_none())
            .map(|e| e.region.clone())
            .collect();
        r.sort();
        r.dedup();
        r
    }

    /// The `cost` object of `plan --json`.
    pub fn json(&self) -> Value {
        json!({
            "monthly_usd_before": self.total(Side::Before).json(),
            "monthly_usd_after": self.total(Side::After).json(),
            "currency": "USD",
            "price_date": self.price_date(),
            "gb_per_month": self.gb_per_month,
            "unknown_regions": self.unknown_regions(),
        })
    }

    /// The cost block of the preview.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let date = self
            .price_date()
            .map(|d| format!("list prices of {d}"))
            .unwrap_or_else(|| "price table of s3ep".into());
        let _ = writeln!(
            s,
            "Monthly cost of interface endpoints (USD, {date}; {HOURS_PER_MONTH} h/month, {} GB/month per endpoint):",
            self.gb_per_month
        );
        for e in &self.interface {
            let (b, a) = (
                Self::endpoint_hours(e, Side::Before),
                Self::endpoint_hours(e, Side::After),
            );
            let azs = |n: Option<u64>| n.map(|n| format!("{n} AZ")).unwrap_or_else(|| "none".into());
            let rate = price(&e.region)
                .map(|p| format!("{} per AZ-hour", dollars_precise(p.hourly_micro)))
                .unwrap_or_else(|| "price unknown".into());
            let _ = writeln!(
                s,
                "  {}  [{}]  {} -> {}: {} -> {} ({}; {rate})",
                e.address,
                e.region,
                azs(e.azs_before),
                azs(e.azs_after),
                b.show(),
                a.show(),
                difference(&b, &a),
            );
        }
        if self.gb_per_month > 0 {
            let (before, after) = (self.data(Side::Before), self.data(Side::After));
            let mut regions: Vec<&String> = before.keys().chain(after.keys()).collect();
            regions.sort();
            regions.dedup();
            for r in regions {
                let zero = Amount::Micro(0);
                let b = before.get(r).unwrap_or(&zero);
                let a = after.get(r).unwrap_or(&zero);
                let _ = writeln!(
                    s,
                    "  data processed  [{r}]: {} -> {} ({}; tiered per region)",
                    b.show(),
                    a.show(),
                    difference(b, a)
                );
            }
        }
        for g in &self.gateway {
            let _ = writeln!(s, "  {g}: gateway endpoint, free (no hourly or per-GB charge)");
        }
        let (b, a) = (self.total(Side::Before), self.total(Side::After));
        let _ = writeln!(
            s,
            "  Total: {} -> {} ({})",
            b.show(),
            a.show(),
            difference(&b, &a)
        );
        for r in self.unknown_regions() {
            let _ = writeln!(
                s,
                "  price unknown for {r}: s3ep's price table has no sourced price for it"
            );
        }
        s
    }
}

/// `$0.013` style: enough decimals for an hourly rate.
fn dollars_precise(micro: u64) -> String {
    let whole = micro / MICRO;
    let frac = format!("{:06}", micro % MICRO);
    let frac = frac.trim_end_matches('0');
    let frac = if frac.len() < 2 {
        format!("{frac:0<2}")
    } else {
        frac.to_string()
    };
    format!("${whole}.{frac}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_east_1_tiers() {
        let p = price("us-east-1").unwrap();
        assert_eq!(data_micro(p, 0), Some(0));
        assert_eq!(data_micro(p, 100), Some(1_000_000)); // $1.00
                                                         // 2 PB: 1 PB at $0.01 + 1 PB at $0.006.
        assert_eq!(data_micro(p, 2 * PB_GB), Some(PB_GB * 10_000 + PB_GB * 6_000));
        // 6 PB: 1 + 4 + 1 (the last at $0.004).
        assert_eq!(
            data_micro(p, 6 * PB_GB),
            Some(PB_GB * 10_000 + 4 * PB_GB * 6_000 + PB_GB * 4_000)
        );
    }

    #[test]
    fn beyond_the_sourced_tiers_is_unknown() {
        let p = price("ap-northeast-2").unwrap();
        assert_eq!(data_micro(p, PB_GB), Some(PB_GB * 10_000));
        assert_eq!(data_micro(p, PB_GB + 1), None);
    }

    #[test]
    fn every_price_has_a_source_and_a_date() {
        for p in PRICES {
            assert!(!p.source.is_empty(), "{}", p.region);
            let d: Vec<&str> = p.date.split('-').collect();
            assert!(
                d.len() == 3 && d[0].len() == 4 && d[1].len() == 2 && d[2].len() == 2,
                "{}",
                p.date
            );
            assert!(!p.tiers.is_empty());
        }
        assert!(price("xx-nowhere-9").is_none());
    }

    #[test]
    fn amounts_print_in_cents() {
        assert_eq!(dollars(14_600_000), "$14.60");
        assert_eq!(dollars(9_490_000), "$9.49");
        assert_eq!(dollars(4_999), "$0.00");
        assert_eq!(dollars(5_000), "$0.01");
        assert_eq!(dollars_precise(13_000), "$0.013");
        assert_eq!(dollars_precise(10_000), "$0.01");
        assert_eq!(Amount::Micro(14_600_000).json(), json!(14.6));
        assert_eq!(
            difference(&Amount::Micro(14_600_000), &Amount::Micro(0)),
            "-$14.60"
        );
        assert_eq!(
            difference(&Amount::Micro(0), &Amount::Micro(14_600_000)),
            "+$14.60"
        );
    }
}
