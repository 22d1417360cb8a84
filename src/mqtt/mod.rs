//! The MQTT side: topic and id rules, the supervised session, correlation
//! routing and the requester with the profile's retry and timeout rules.

pub mod backoff;
pub mod broker_url;
pub mod confirm;
pub mod requester;
pub mod router;
pub mod session;
pub mod tls;
pub mod topics;

pub use broker_url::BrokerUrl;
pub use requester::{Exchange, OutboundRequest, RequestError, Requester, RetryPolicy};
pub use router::{Delivery, Reply, ReplyRouter, ReplyWaiter};
pub use session::{
    Inbound, MqttSession, OutgoingMessage, Publish, PublishError, SessionHandle, SessionOptions,
    SessionState, TlsFiles, Will,
};
pub use topics::AgentAddr;

/// MQTT QoS levels.
pub use rumqttc::v5::mqttbytes::QoS;
/// MQTT 5 PUBLISH properties.
pub use rumqttc::v5::mqttbytes::v5::PublishProperties;

/// User property carrying an agent's liveness on its discovery card.
pub const STATUS_PROPERTY: &str = "a2a-status";
/// User property telling who set `a2a-status` (agent, lwt or broker).
pub const STATUS_SOURCE_PROPERTY: &str = "a2a-status-source";

/// Looks up a user property by key.
pub fn user_property<'a>(props: Option<&'a PublishProperties>, key: &str) -> Option<&'a str> {
    props?
        .user_properties
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}
