//! The one switch for EC2 emulators.
//!
//! Real EC2 manages a gateway endpoint's prefix-list routes itself: it adds
//! and removes them when ModifyVpcEndpoint adds or removes route tables, and
//! such routes cannot be created or deleted by hand (Amazon VPC User Guide,
//! "Gateway endpoints": "You cannot add, modify, or delete the routes" … of
//! an endpoint; they are managed through the endpoint's route tables).
//! moto 5.2.x does not: ModifyVpcEndpoint changes only the endpoint's list,
//! and DeleteVpcEndpoints fails with `InvalidRoute.NotFound` when a route it
//! expects is gone. Everything s3ep does only to converge on such an
//! emulator runs when this switch says so, never on the path real AWS
//! takes. It is set explicitly (`--emulator moto` or `S3EP_EMULATOR=moto`);
//! an endpoint URL alone does not turn it on, so that tests against a strict
//! emulator exercise the real path.

use std::fmt;
use std::str::FromStr;

/// Which emulator workarounds are on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Emulator {
    /// Real EC2 (or an emulator that behaves like it): no workarounds.
    #[default]
    Off,
    /// moto: gateway prefix-list routes are fixed up by s3ep after
    /// ModifyVpcEndpoint, restored by CreateRoute when missing, and a
    /// gateway endpoint's tables are detached before a delete moto refuses.
    Moto,
}

impl Emulator {
    /// Whether the moto workarounds are on.
    pub fn is_moto(self) -> bool {
        self == Emulator::Moto
    }
}

impl FromStr for Emulator {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" | "none" | "aws" => Ok(Emulator::Off),
            "moto" => Ok(Emulator::Moto),
            other => Err(format!("unknown emulator '{other}' (expected off or moto)")),
        }
    }
}

impl fmt::Display for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Emulator::Off => "off",
            Emulator::Moto => "moto",
        })
    }
}
