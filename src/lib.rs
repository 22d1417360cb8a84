//! # a2a-mqtt-gateway
//!
//! A stateless HTTP gateway that serves AI agents living on an MQTT 5 broker
//! (the *A2A over MQTT* profile 0.1) to any standard A2A client, plus a Rust
//! SDK to write such agents.
//!
//! ## Layout
//!
//! | module | one job |
//! |---|---|
//! | [`a2a`] | A2A v1.0 wire types, the JSON-RPC 2.0 envelope, method names, error codes, Agent Card validation |
//! | [`mqtt`] | the MQTT binding: topic/id rules, the supervised session around rumqttc, correlation routing, the requester with the profile's retry and timeout rules |
//! | [`registry`] | the discovery index: retained cards in, validated entries with liveness out |
//! | [`gateway`] | axum routes: per-agent card, JSON-RPC endpoint, SSE, health; the error table at the HTTP edge |
//! | [`agent`] | the agent SDK: one async handler becomes a compliant MQTT agent |
//! | [`config`] | `gateway.yaml` + `A2A_GATEWAY__*` environment, validated at start |
//!
//! ## How a request flows
//!
//! 1. `POST /agents/{org}/{unit}/{agent}` arrives; [`gateway::jsonrpc`] parses the
//!    envelope once ([`a2a::jsonrpc`]) and resolves the method ([`a2a::Method`]).
//! 2. The agent is looked up in the [`registry::Index`]; unknown or offline agents
//!    fail at once.
//! 3. [`mqtt::Requester`] publishes the JSON-RPC request to
//!    `$a2a/v1/request/{org}/{unit}/{agent}` with a Response Topic under this
//!    instance's reply prefix and fresh Correlation Data, then waits (bounded) for
//!    correlated replies routed by [`mqtt::ReplyRouter`], retrying per the profile.
//! 4. [`gateway::exchange`] turns the agent's reply items into what A2A promises the
//!    HTTP client: one aggregated Task/Message, or an SSE stream that starts with a
//!    Task and ends on a terminal or interrupted state.
//!
//! The MQTT connection is owned by one task ([`mqtt::MqttSession`]) that polls
//! rumqttc's event loop and never publishes; everything else holds a cheap
//! [`mqtt::SessionHandle`].

pub mod a2a;
pub mod agent;
pub mod cli;
pub mod config;
pub mod demo;
pub mod embedded_broker;
pub mod gateway;
pub mod mqtt;
pub mod registry;
pub mod telemetry;

/// Installs rustls' `ring` provider as the process default, once; HTTPS clients
/// (the CLI's) need one. Broker TLS names its provider explicitly.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
