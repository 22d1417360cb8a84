//! Where the gateway's MQTT session delivers what it receives.

use std::sync::Arc;

use crate::mqtt::topics::DISCOVERY_PREFIX;
use crate::mqtt::{Inbound, Publish, ReplyRouter};
use crate::registry::Index;

/// Replies go to the correlation router, discovery cards to the index.
pub struct GatewayInbound {
    router: Arc<ReplyRouter>,
    index: Arc<Index>,
    reply_prefix: String,
}

impl GatewayInbound {
    pub fn new(
        router: Arc<ReplyRouter>,
        index: Arc<Index>,
        reply_prefix: String,
    ) -> GatewayInbound {
        GatewayInbound {
            router,
            index,
            reply_prefix,
        }
    }
}

impl Inbound for GatewayInbound {
    fn on_publish(&self, publish: &Publish) {
        let Ok(topic) = std::str::from_utf8(&publish.topic) else {
            tracing::debug!("message with a non-UTF-8 topic ignored");
            return;
        };
        if topic.starts_with(&self.reply_prefix) {
            self.router.route(publish);
        } else if topic.starts_with(DISCOVERY_PREFIX) {
            self.index
                .apply(topic, &publish.payload, publish.properties.as_ref());
        } else {
            tracing::debug!(%topic, "message on an unexpected topic ignored");
        }
    }

    fn on_connected(&self, generation: u64) {
        self.index.begin_sync(generation);
    }

    fn on_connection_lost(&self) {
        self.router.connection_lost();
    }
}
