#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod client_addr;
mod layer;
mod refuse;
mod service;

pub use client_addr::{ClientAddr, SocketAddrExtension};
pub use keygate;
pub use layer::{KeygateLayer, RouteOf, uri_path};
pub use refuse::{GrpcRefusal, JsonRefusal, Refuse};
pub use service::{KeygateService, ResponseFuture};
