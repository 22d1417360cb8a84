//! Prometheus metrics, served at `GET /metrics` in the text exposition format.
//!
//! Calls are counted per binding, method and outcome (the error table's reason,
//! a closed set) with a latency histogram per method; gauges and counters that
//! other parts already keep (the index, the reply router, the session) are read
//! at scrape time rather than duplicated.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::mqtt::{ReplyRouter, SessionHandle};
use crate::registry::{Index, Liveness};

/// Labels of a counted call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// `jsonrpc`, `rest`.
    pub binding: &'static str,
    /// The A2A method (v1.0 name).
    pub method: &'static str,
    /// `ok`, or the error's reason (e.g. `AGENT_TIMEOUT`).
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: &'static str,
}

/// The gateway's metrics.
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    latency: Family<MethodLabels, Histogram>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Reads the live state at scrape time.
#[derive(Debug)]
struct LiveState {
    index: Arc<Index>,
    router: Arc<ReplyRouter>,
    session: SessionHandle,
}

impl Collector for LiveState {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let up = ConstGauge::new(i64::from(self.session.is_up()));
        up.encode(encoder.encode_descriptor(
            "a2a_gateway_broker_connected",
            "1 when the MQTT session is up with its subscriptions in place",
            None,
            up.metric_type(),
        )?)?;
        let synced = ConstGauge::new(i64::from(self.index.is_synced()));
        synced.encode(encoder.encode_descriptor(
            "a2a_gateway_discovery_synced",
            "1 once the retained discovery burst of the current session is consumed",
            None,
            synced.metric_type(),
        )?)?;
        let mut by_status = [
            (Liveness::Online, 0i64),
            (Liveness::Offline, 0),
            (Liveness::Unknown, 0),
        ];
        for e in self.index.list() {
            if let Some(slot) = by_status.iter_mut().find(|(s, _)| *s == e.status) {
                slot.1 += 1;
            }
        }
        {
            let mut agents = encoder.encode_descriptor(
                "a2a_gateway_agents",
                "Agents in the discovery index, by a2a-status",
                None,
                prometheus_client::metrics::MetricType::Gauge,
            )?;
            for (status, n) in by_status {
                let labels = [("status", status.as_str())];
                ConstGauge::new(n).encode(agents.encode_family(&labels)?)?;
            }
        }
        let in_flight = ConstGauge::new(self.router.in_flight() as i64);
        in_flight.encode(encoder.encode_descriptor(
            "a2a_gateway_requests_in_flight",
            "MQTT requests waiting for replies",
            None,
            in_flight.metric_type(),
        )?)?;
        let stats = self.router.stats();
        use std::sync::atomic::Ordering::Relaxed;
        for (name, help, value) in [
            (
                "a2a_gateway_replies_delivered",
                "Replies routed to a waiting request",
                stats.delivered.load(Relaxed),
            ),
            (
                "a2a_gateway_replies_unmatched",
                "Replies with unknown or missing correlation data (ignored)",
                stats.unmatched.load(Relaxed),
            ),
            (
                "a2a_gateway_reply_overflows",
                "Streams cut because the client read slower than the agent wrote",
                stats.overflows.load(Relaxed),
            ),
            (
                "a2a_gateway_invalid_cards",
                "Agent cards refused as invalid (not indexed), once per distinct card on a topic; the log names the topic and the reason",
                self.index.invalid_cards(),
            ),
        ] {
            let c = ConstCounter::new(value);
            c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)?;
        }
        Ok(())
    }
}

impl Metrics {
    /// Metrics reading `index`, `router` and `session` at scrape time.
    pub fn new(index: Arc<Index>, router: Arc<ReplyRouter>, session: SessionHandle) -> Metrics {
        let mut registry = Registry::default();
        let calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "a2a_gateway_calls",
            "A2A calls answered, by binding, method and outcome",
            calls.clone(),
        );
        let latency = Family::<MethodLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0, 30.0,
            ])
        });
        registry.register(
            "a2a_gateway_call_duration_seconds",
            "Time to answer an A2A call (streams: to their first event)",
            latency.clone(),
        );
        registry.register_collector(Box::new(LiveState {
            index,
            router,
            session,
        }));
        Metrics {
            registry,
            calls,
            latency,
        }
    }

    /// Counts one call.
    pub fn record(&self, labels: CallLabels, took: Duration) {
        self.latency
            .get_or_create(&MethodLabels {
                method: labels.method,
            })
            .observe(took.as_secs_f64());
        self.calls.get_or_create(&labels).inc();
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
