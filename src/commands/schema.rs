//! `s3ep schema`: the JSON Schema (draft 2020-12) of the plan format, made
//! from the loader's own key tables (see `plan::json_schema`).

pub fn run() -> anyhow::Result<u8> {
    super::out(&crate::plan::json_schema_text())?;
    Ok(0)
}
