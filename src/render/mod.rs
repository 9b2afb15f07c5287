//! Output people and programs read: the plan preview (`human`), the plan as
//! JSON (`json`), endpoint outputs, progress bars (`progress`), and the
//! preview's colours (`color`).

pub mod color;
pub mod human;
pub mod json;
pub mod outputs;
pub mod progress;
