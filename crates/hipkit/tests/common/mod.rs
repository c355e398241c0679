//! What this crate's integration tests share beyond the test kit.

#![allow(dead_code, reason = "each test file uses part of it")]

pub mod shell;
