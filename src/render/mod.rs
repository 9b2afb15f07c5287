//! Output people and programs read: the plan preview (`human`), the plan as
//! JSON (`json`), endpoint outputs, and progress bars (`progress`).

pub mod human;
pub mod json;
pub mod outputs;
pub mod progress;
