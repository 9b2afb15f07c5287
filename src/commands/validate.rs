//! `s3ep validate PLAN`: every check that needs no AWS call.

use std::path::Path;

pub fn run(path: &Path) -> anyhow::Result<u8> {
    let desired = super::load(path)?;
    super::out(&format!(
        "{}: plan {} is valid ({} VPCs, {} endpoints, {} peerings in {})\n",
        path.display(),
        desired.name,
        desired.vpcs.len(),
        desired.endpoints.len(),
        desired.peerings.len(),
        desired.regions().join(", ")
    ))?;
    Ok(0)
}
