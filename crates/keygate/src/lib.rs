#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod adapter;
pub mod caller;
pub mod clock;
pub mod credential;
mod decoy;
pub mod error;
pub mod event;
pub mod format;
mod forwarded;
mod gate;
pub mod hash;
pub mod limit;
pub mod manage;
pub mod management;
mod map;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
pub mod plan;
pub mod preset;
pub mod response;
pub mod scope;
pub mod secret;
pub mod store;
mod usage;
pub mod verify;

pub use error::AuthError;
pub use forwarded::ForwardedHeader;
pub use gate::{
    BuildError, DEFAULT_FAILURE_BUDGET, DEFAULT_MAX_KEYS, HttpsPolicy, Keygate, KeygateBuilder,
    LimiterFailure,
};
pub use secret::Secret;
pub use verify::{DEFAULT_COST, Peer, Principal};
