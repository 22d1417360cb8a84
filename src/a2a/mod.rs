//! The A2A protocol (v1.0) as it appears on the wire: data types, the JSON-RPC 2.0
//! envelope, method names, error codes and Agent Card rules.
//!
//! Everything here is pure: no I/O, no clocks beyond timestamp formatting, so it is
//! unit- and property-tested apart from the network.

pub mod card;
pub mod error;
pub mod jsonrpc;
pub mod method;
pub mod types;
pub mod v03;
pub mod v03_rest;

pub use error::{JsonRpcError, codes};
pub use method::Method;
pub use types::*;
