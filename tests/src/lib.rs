//! The conformance harness: the demo server started in-process on a free port, a raw HTTP/1.1
//! client that can send what real clients send (and what they should not), and helpers that
//! state the expected error bodies of each style.

#![forbid(unsafe_code)]
#![allow(missing_docs, clippy::unwrap_used)]

pub mod client;
pub mod expect;
pub mod server;

pub use client::{Reply, Request};
pub use server::{Server, ServerOptions};

/// Every framework the suite runs against.
pub const FRAMEWORKS: &[keygate_demo::Framework] =
    &[keygate_demo::Framework::Axum, keygate_demo::Framework::Actix, keygate_demo::Framework::Warp];

/// Every preset.
pub const PRESETS: &[&str] = &["productlane", "plane", "livetest", "workspace"];
