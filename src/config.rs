//! Configuration: `gateway.yaml`, then `A2A_GATEWAY__SECTION__KEY` environment
//! variables, then command-line overrides; validated before anything starts.
//!
//! Every option has a default (see `gateway.yaml` at the repository root, which
//! documents them all). Unknown keys are refused, so a typo does not silently
//! leave a default in place.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Serialized, Yaml};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::mqtt::topics::{self, check_discovery_filter, check_id};
use crate::mqtt::{BrokerUrl, RetryPolicy, SessionOptions, TlsFiles, tls};

mod env;

/// Prefix of environment overrides; `__` separates sections.
pub const ENV_PREFIX: &str = "A2A_GATEWAY__";

/// A value that must never be printed.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub mqtt: MqttConfig,
    pub gateway: IdentityConfig,
    pub discovery: DiscoveryConfig,
    pub requests: RequestsConfig,
    pub runtime: RuntimeConfig,
    pub log: LogConfig,
}

/// The HTTP listener and what it serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on.
    pub listen: String,
    /// Base URL clients use to reach this gateway (e.g. behind a load balancer).
    /// Unset: taken from `X-Forwarded-Proto`/`X-Forwarded-Host`, else `Host`.
    pub public_url: Option<String>,
    /// Whether to believe `X-Forwarded-Proto` and `X-Forwarded-Host`.
    pub trust_forwarded_headers: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Longest silence on a long answer, in seconds: SSE streams get a comment,
    /// blocking SendMessage answers still pending get a leading space (valid
    /// JSON), so clients and proxies with short read timeouts do not cut them.
    pub keepalive_secs: u64,
    /// On shutdown, how long in-flight requests may take to finish, in seconds;
    /// calls still waiting for an agent then are answered with
    /// GATEWAY_SHUTTING_DOWN.
    pub shutdown_grace_secs: u64,
    /// Longest time a client may take to send a request's headers, in seconds;
    /// slower connections are closed (slow-header clients would otherwise hold
    /// a connection and its buffers for as long as they like).
    pub header_read_timeout_secs: u64,
    /// Largest request head (request line and headers), in bytes; larger ones
    /// get HTTP 431. It is also each HTTP/1 connection's read buffer, held as
    /// long as the connection (an SSE stream) is open. At least 8192.
    pub max_header_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            trust_forwarded_headers: true,
            max_body_bytes: 4 * 1024 * 1024,
            keepalive_secs: 3,
            shutdown_grace_secs: 10,
            header_read_timeout_secs: 30,
            max_header_bytes: 8192,
        }
    }
}

/// TLS files for `mqtts://`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttTlsConfig {
    pub ca_file: Option<PathBuf>,
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
}

/// The broker connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttConfig {
    /// `mqtt://host:port` or `mqtts://host:port`.
    pub url: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub tls: MqttTlsConfig,
    pub keep_alive_secs: u64,
    pub connect_timeout_secs: u64,
    /// Largest MQTT packet sent or accepted, in bytes.
    pub max_packet_size: u32,
    /// Messages that may wait to be written to the broker; beyond, requests fail
    /// at once with "gateway overloaded".
    pub outgoing_queue: usize,
    /// QoS 1 publishes awaiting PUBACK at once (memory is reserved per slot).
    pub max_inflight: u16,
    pub reconnect_initial_ms: u64,
    pub reconnect_max_ms: u64,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            url: "mqtt://127.0.0.1:1883".into(),
            username: None,
            password: None,
            tls: MqttTlsConfig::default(),
            keep_alive_secs: 30,
            connect_timeout_secs: 5,
            max_packet_size: 1024 * 1024,
            outgoing_queue: 4096,
            max_inflight: 256,
            reconnect_initial_ms: 100,
            reconnect_max_ms: 1000,
        }
    }
}

/// Who this gateway is on the broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    pub org: String,
    pub unit: String,
    /// Unique per process; unset means a random id at each start.
    pub instance: Option<String>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            org: "a2a-gateway".into(),
            unit: "default".into(),
            instance: None,
        }
    }
}

/// Which cards to index and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscoveryConfig {
    pub filters: Vec<String>,
    pub max_card_bytes: usize,
    /// The retained burst is over after this long without a discovery message.
    pub sync_quiet_ms: u64,
    /// How long to wait for the sync marker to come back.
    pub sync_marker_timeout_ms: u64,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            filters: vec![topics::ALL_DISCOVERY.into()],
            max_card_bytes: 64 * 1024,
            sync_quiet_ms: 200,
            sync_marker_timeout_ms: 5000,
        }
    }
}

/// Retry and timeout rules for requests to agents (profile defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RequestsConfig {
    pub reply_first_timeout_ms: u64,
    pub stream_idle_timeout_ms: u64,
    pub max_attempts: u32,
    /// First retry delay; doubles on each retry.
    pub retry_backoff_ms: u64,
    /// Spread of each retry delay, as a fraction (0.2 = ±20 %).
    pub retry_jitter: f64,
    /// Message Expiry Interval on requests; unset = reply_first_timeout + 1 s.
    pub message_expiry_ms: Option<u64>,
    /// Requests waiting for replies beyond which new ones are refused.
    pub max_in_flight: usize,
    /// Replies buffered per request before a slow client's stream is cut.
    pub stream_buffer: usize,
}

impl Default for RequestsConfig {
    fn default() -> Self {
        RequestsConfig {
            reply_first_timeout_ms: 15_000,
            stream_idle_timeout_ms: 30_000,
            max_attempts: 3,
            retry_backoff_ms: 1000,
            retry_jitter: 0.2,
            message_expiry_ms: None,
            max_in_flight: 10_000,
            stream_buffer: 64,
        }
    }
}

/// The async runtime.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Threads running requests; 0 chooses from the CPUs the process may use
    /// ([`RuntimeConfig::threads_for`]).
    pub worker_threads: usize,
}

impl RuntimeConfig {
    /// The worker threads to run on a process allowed `cpus` CPUs: the
    /// configured number, or for 0 one per CPU — except on one or two CPUs,
    /// where one thread does more work: a second one costs the gateway ~40 %
    /// more CPU per call in cross-thread wake-ups (futexes, work stealing), and
    /// on so small a machine its broker and agents need the other CPU
    /// (docs/PERFORMANCE.md). Scale out there with instances, not threads.
    pub fn threads_for(&self, cpus: usize) -> usize {
        match self.worker_threads {
            0 if cpus <= 2 => 1,
            0 => cpus,
            n => n,
        }
    }
}

/// Most worker threads accepted: far beyond any core count, a typo guard.
pub const MAX_WORKER_THREADS: usize = 1024;

/// Log output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `a2a_mqtt_gateway=debug,info`;
    /// `RUST_LOG` wins when set.
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

/// A configuration that cannot be used; the message names the key.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Parse(String),
    #[error("invalid configuration: {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.into(),
    }
}

/// Command-line values that take precedence over file and environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub broker: Option<String>,
}

impl Config {
    /// Loads defaults, then `file` (if any), then the environment, then `overrides`,
    /// and validates the result.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            // Read it ourselves so a missing file is an error, not silently skipped.
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            figment = figment.merge(Yaml::string(&text));
        }
        let defaults = serde_json::to_value(Config::default()).unwrap_or_default();
        figment = figment.merge(env::EnvOverrides::new(ENV_PREFIX, defaults));
        if let Some(listen) = &overrides.listen {
            figment = figment.merge(("http.listen", listen.as_str()));
        }
        if let Some(broker) = &overrides.broker {
            figment = figment.merge(("mqtt.url", broker.as_str()));
        }
        // Lossy: environment values reach optional numbers as text (see `env`).
        let config: Config = figment.extract_lossy().map_err(|e| {
            let messages: Vec<String> = e.into_iter().map(|e| describe(&e)).collect();
            ConfigError::Parse(messages.join("; "))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Parses a YAML document (no environment), validated. For `check-config`
    /// and tests.
    pub fn from_yaml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Yaml::string(text))
            .extract_lossy()
            .map_err(|e| {
                let messages: Vec<String> = e.into_iter().map(|e| describe(&e)).collect();
                ConfigError::Parse(messages.join("; "))
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every value that has a rule beyond its type.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        if let Some(url) = &self.http.public_url {
            check_public_url(url).map_err(|r| invalid("http.public_url", r))?;
        }
        if self.http.max_body_bytes < 1024 {
            return Err(invalid("http.max_body_bytes", "must be at least 1024"));
        }
        if self.http.keepalive_secs == 0 {
            return Err(invalid("http.keepalive_secs", "must be at least 1"));
        }
        if self.http.header_read_timeout_secs == 0 {
            return Err(invalid(
                "http.header_read_timeout_secs",
                "must be at least 1",
            ));
        }
        if self.http.max_header_bytes < crate::gateway::server::MIN_HEADER_BYTES {
            return Err(invalid(
                "http.max_header_bytes",
                format!(
                    "must be at least {} (the HTTP library's minimum)",
                    crate::gateway::server::MIN_HEADER_BYTES
                ),
            ));
        }

        let broker = self.broker_url()?;
        if self.mqtt.password.is_some() && self.mqtt.username.is_none() {
            return Err(invalid("mqtt.password", "is set but mqtt.username is not"));
        }
        self.check_tls(&broker)?;
        if self.mqtt.keep_alive_secs == 0 || self.mqtt.keep_alive_secs > 65535 {
            return Err(invalid(
                "mqtt.keep_alive_secs",
                "must be between 1 and 65535",
            ));
        }
        if self.mqtt.connect_timeout_secs == 0 {
            return Err(invalid("mqtt.connect_timeout_secs", "must be at least 1"));
        }
        if self.mqtt.max_packet_size < 16 * 1024 {
            return Err(invalid(
                "mqtt.max_packet_size",
                "must be at least 16384 bytes",
            ));
        }
        if self.mqtt.max_inflight == 0 {
            return Err(invalid("mqtt.max_inflight", "must be at least 1"));
        }
        if self.mqtt.outgoing_queue == 0 {
            return Err(invalid("mqtt.outgoing_queue", "must be at least 1"));
        }
        if self.mqtt.reconnect_initial_ms == 0 {
            return Err(invalid("mqtt.reconnect_initial_ms", "must be at least 1"));
        }
        if self.mqtt.reconnect_max_ms < self.mqtt.reconnect_initial_ms {
            return Err(invalid(
                "mqtt.reconnect_max_ms",
                "must not be below mqtt.reconnect_initial_ms",
            ));
        }

        check_id("gateway.org", &self.gateway.org)
            .map_err(|e| invalid("gateway.org", e.to_string()))?;
        check_id("gateway.unit", &self.gateway.unit)
            .map_err(|e| invalid("gateway.unit", e.to_string()))?;
        if let Some(instance) = &self.gateway.instance {
            check_id("gateway.instance", instance)
                .map_err(|e| invalid("gateway.instance", e.to_string()))?;
        }

        if self.discovery.filters.is_empty() {
            return Err(invalid("discovery.filters", "needs at least one filter"));
        }
        for f in &self.discovery.filters {
            check_discovery_filter(f).map_err(|r| invalid("discovery.filters", r))?;
        }
        if self.discovery.max_card_bytes == 0 {
            return Err(invalid("discovery.max_card_bytes", "must be at least 1"));
        }
        if self.discovery.max_card_bytes > self.mqtt.max_packet_size as usize {
            return Err(invalid(
                "discovery.max_card_bytes",
                "must not exceed mqtt.max_packet_size (the broker would never deliver such a card)",
            ));
        }

        let r = &self.requests;
        if r.reply_first_timeout_ms == 0 {
            return Err(invalid(
                "requests.reply_first_timeout_ms",
                "must be at least 1",
            ));
        }
        if r.stream_idle_timeout_ms == 0 {
            return Err(invalid(
                "requests.stream_idle_timeout_ms",
                "must be at least 1",
            ));
        }
        if r.max_attempts == 0 {
            return Err(invalid("requests.max_attempts", "must be at least 1"));
        }
        if !(0.0..=1.0).contains(&r.retry_jitter) {
            return Err(invalid(
                "requests.retry_jitter",
                "must be between 0.0 and 1.0",
            ));
        }
        if r.max_in_flight == 0 {
            return Err(invalid("requests.max_in_flight", "must be at least 1"));
        }
        if r.stream_buffer == 0 {
            return Err(invalid("requests.stream_buffer", "must be at least 1"));
        }
        if let Some(ms) = r.message_expiry_ms
            && ms <= r.reply_first_timeout_ms
        {
            return Err(invalid(
                "requests.message_expiry_ms",
                "must exceed requests.reply_first_timeout_ms (the profile says so: a request must outlive its wait)",
            ));
        }

        if self.runtime.worker_threads > MAX_WORKER_THREADS {
            return Err(invalid(
                "runtime.worker_threads",
                format!("must be between 0 (one per CPU core) and {MAX_WORKER_THREADS}"),
            ));
        }

        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(invalid("log.format", "must be \"text\" or \"json\""));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| invalid("log.level", e.to_string()))?;
        Ok(())
    }

    /// The TLS files: only with an `mqtts://` broker, certificate and key as a
    /// pair, each readable and holding what it should. Checked here so that a
    /// wrong path is a configuration error naming the key, not a failure when
    /// the session starts.
    fn check_tls(&self, broker: &BrokerUrl) -> Result<(), ConfigError> {
        let tls = &self.mqtt.tls;
        let files = [
            ("mqtt.tls.ca_file", &tls.ca_file),
            ("mqtt.tls.client_cert_file", &tls.client_cert_file),
            ("mqtt.tls.client_key_file", &tls.client_key_file),
        ];
        if !broker.tls
            && let Some((key, _)) = files.iter().find(|(_, f)| f.is_some())
        {
            return Err(invalid(
                key,
                format!(
                    "is set but mqtt.url {:?} is not TLS: the TLS files are used only with an mqtts:// URL",
                    self.mqtt.url
                ),
            ));
        }
        if tls.client_cert_file.is_some() != tls.client_key_file.is_some() {
            let (missing, set) = if tls.client_cert_file.is_none() {
                ("mqtt.tls.client_cert_file", "mqtt.tls.client_key_file")
            } else {
                ("mqtt.tls.client_key_file", "mqtt.tls.client_cert_file")
            };
            return Err(invalid(
                missing,
                format!("is not set but {set} is: a client certificate and its key go together"),
            ));
        }
        if let Some(path) = &tls.ca_file {
            tls::read_certs(path).map_err(|e| invalid("mqtt.tls.ca_file", e.to_string()))?;
        }
        if let Some(path) = &tls.client_cert_file {
            tls::read_certs(path)
                .map_err(|e| invalid("mqtt.tls.client_cert_file", e.to_string()))?;
        }
        if let Some(path) = &tls.client_key_file {
            tls::read_key(path).map_err(|e| invalid("mqtt.tls.client_key_file", e.to_string()))?;
        }
        Ok(())
    }

    /// `http.listen` as a socket address.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.http.listen.parse().map_err(|_| {
            invalid(
                "http.listen",
                format!("{:?} is not an address like 0.0.0.0:8080", self.http.listen),
            )
        })
    }

    /// `mqtt.url` parsed.
    pub fn broker_url(&self) -> Result<BrokerUrl, ConfigError> {
        self.mqtt
            .url
            .parse::<BrokerUrl>()
            .map_err(|e| invalid("mqtt.url", e.to_string()))
    }

    /// The retry policy for requests to agents.
    pub fn retry_policy(&self) -> RetryPolicy {
        let r = &self.requests;
        let reply_first = Duration::from_millis(r.reply_first_timeout_ms);
        RetryPolicy {
            reply_first_timeout: reply_first,
            stream_idle_timeout: Duration::from_millis(r.stream_idle_timeout_ms),
            max_attempts: r.max_attempts,
            backoff_initial: Duration::from_millis(r.retry_backoff_ms),
            backoff_jitter: r.retry_jitter,
            message_expiry: Some(
                r.message_expiry_ms
                    .map(Duration::from_millis)
                    .unwrap_or(reply_first + Duration::from_secs(1)),
            ),
            max_in_flight: r.max_in_flight,
        }
    }

    /// Session options for client `{gateway.org}/{gateway.unit}/{instance}`
    /// (subscriptions and will left empty).
    pub fn session_options(&self, instance: &str) -> Result<SessionOptions, ConfigError> {
        let m = &self.mqtt;
        let id = &self.gateway;
        let mut o = SessionOptions::for_profile_id(&id.org, &id.unit, instance, self.broker_url()?);
        o.username = m.username.clone();
        o.password = m.password.as_ref().map(|p| p.expose().to_owned());
        o.tls = TlsFiles {
            ca_file: m.tls.ca_file.clone(),
            client_cert_file: m.tls.client_cert_file.clone(),
            client_key_file: m.tls.client_key_file.clone(),
        };
        o.keep_alive = Duration::from_secs(m.keep_alive_secs);
        o.connect_timeout = Duration::from_secs(m.connect_timeout_secs);
        o.max_packet_size = m.max_packet_size;
        o.request_queue = m.outgoing_queue;
        o.max_inflight = m.max_inflight;
        o.reconnect_initial = Duration::from_millis(m.reconnect_initial_ms);
        o.reconnect_max = Duration::from_millis(m.reconnect_max_ms);
        Ok(o)
    }
}

/// `http(s)://host[:port][/path]` without query or fragment.
fn check_public_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("{url:?} must start with http:// or https://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("{url:?} has no host"));
    }
    if url.contains(['?', '#', ' ']) {
        return Err(format!(
            "{url:?} must not contain a query, fragment or spaces"
        ));
    }
    Ok(())
}

/// One figment error as "key: reason (from source)".
fn describe(e: &figment::Error) -> String {
    let key = if e.path.is_empty() {
        String::new()
    } else {
        format!("{}: ", e.path.join("."))
    };
    let source = e
        .metadata
        .as_ref()
        .map(|m| {
            let from = m
                .source
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_else(|| m.name.to_string());
            format!(" (from {from})")
        })
        .unwrap_or_default();
    format!("{key}{}{source}", e.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_threads_follow_the_cpus_unless_configured() {
        let auto = RuntimeConfig::default();
        let threads: Vec<usize> = [1, 2, 3, 8].map(|cpus| auto.threads_for(cpus)).to_vec();
        assert_eq!(threads, [1, 1, 3, 8]);
        let three = RuntimeConfig { worker_threads: 3 };
        assert_eq!(three.threads_for(2), 3);
        assert_eq!(three.threads_for(16), 3);
    }

    #[test]
    fn defaults_are_valid_and_match_the_profile() {
        let c = Config::default();
        c.validate().unwrap();
        let p = c.retry_policy();
        assert_eq!(p.reply_first_timeout, Duration::from_secs(15));
        assert_eq!(p.stream_idle_timeout, Duration::from_secs(30));
        assert_eq!(p.max_attempts, 3);
        assert_eq!(p.backoff_initial, Duration::from_secs(1));
        assert_eq!(p.message_expiry, Some(Duration::from_secs(16)));
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let err = Config::from_yaml("mqtt:\n  urll: mqtt://x\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("urll"), "{err}");
    }

    #[test]
    fn wrong_types_name_the_key() {
        let err = Config::from_yaml("requests:\n  max_attempts: many\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("requests.max_attempts"), "{err}");
    }

    #[test]
    fn semantic_errors_name_the_key_and_reason() {
        let cases = [
            ("mqtt:\n  url: http://x\n", "mqtt.url"),
            ("http:\n  listen: nowhere\n", "http.listen"),
            ("gateway:\n  org: \"a/b\"\n", "gateway.org"),
            ("discovery:\n  filters: [\"#\"]\n", "discovery.filters"),
            ("requests:\n  max_attempts: 0\n", "requests.max_attempts"),
            (
                "requests:\n  message_expiry_ms: 100\n",
                "requests.message_expiry_ms",
            ),
            ("http:\n  public_url: ftp://x\n", "http.public_url"),
            ("mqtt:\n  password: p\n", "mqtt.password"),
            ("log:\n  format: xml\n", "log.format"),
            (
                "http:\n  header_read_timeout_secs: 0\n",
                "http.header_read_timeout_secs",
            ),
            ("http:\n  max_header_bytes: 4096\n", "http.max_header_bytes"),
            (
                "runtime:\n  worker_threads: 100000\n",
                "runtime.worker_threads",
            ),
        ];
        for (yaml, key) in cases {
            let err = Config::from_yaml(yaml).unwrap_err().to_string();
            assert!(err.contains(key), "{yaml:?} -> {err}");
        }
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Config::from_yaml("mqtt:\n  username: u\n  password: hunter2\n").unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(c.mqtt.password.unwrap().expose(), "hunter2");
    }

    #[test]
    fn overrides_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.yaml");
        std::fs::write(
            &path,
            "http:\n  listen: 127.0.0.1:1\nmqtt:\n  url: mqtt://a:1\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&path),
            &Overrides {
                listen: Some("127.0.0.1:2".into()),
                broker: Some("mqtt://b:2".into()),
            },
        )
        .unwrap();
        assert_eq!(c.http.listen, "127.0.0.1:2");
        assert_eq!(c.mqtt.url, "mqtt://b:2");
    }

    #[test]
    fn gateway_yaml_documents_exactly_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("gateway.yaml");
        let text = std::fs::read_to_string(path).unwrap();
        let from_file = Config::from_yaml(&text).unwrap();
        assert_eq!(from_file, Config::default());
        // Every option appears in the file (serialised defaults as the key list).
        let defaults = serde_json::to_value(Config::default()).unwrap();
        for (section, keys) in defaults.as_object().unwrap() {
            assert!(
                text.contains(&format!("\n{section}:")),
                "section {section} missing"
            );
            for key in keys.as_object().unwrap().keys() {
                assert!(
                    text.contains(&format!(" {key}:")),
                    "{section}.{key} missing from gateway.yaml"
                );
            }
        }
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own error type
    fn environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("g.yaml", "mqtt:\n  url: mqtt://file:1\n")?;
            jail.set_env("A2A_GATEWAY__MQTT__URL", "mqtt://env:2");
            jail.set_env("A2A_GATEWAY__REQUESTS__MAX_ATTEMPTS", "5");
            let c = Config::load(Some(Path::new("g.yaml")), &Overrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(c.mqtt.url, "mqtt://env:2");
            assert_eq!(c.requests.max_attempts, 5);
            jail.set_env("A2A_GATEWAY__REQUESTS__MAX_ATTEMPTS", "lots");
            let err = Config::load(Some(Path::new("g.yaml")), &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("requests.max_attempts"), "{err}");
            Ok(())
        });
    }

    /// A self-signed certificate and its key, as PEM.
    fn cert_and_key() -> (String, String) {
        let c = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        (c.cert.pem(), c.signing_key.serialize_pem())
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own error type
    fn environment_values_that_look_like_numbers_stay_text() {
        let (cert, key) = cert_and_key();
        figment::Jail::expect_with(|jail| {
            // Paths that look like numbers too.
            jail.create_file("2024", &cert)?;
            jail.create_file("1", &key)?;
            jail.set_env("A2A_GATEWAY__MQTT__URL", "mqtts://broker:8883");
            jail.set_env("A2A_GATEWAY__MQTT__USERNAME", "007");
            jail.set_env("A2A_GATEWAY__MQTT__PASSWORD", "12345");
            jail.set_env("A2A_GATEWAY__MQTT__TLS__CA_FILE", "2024");
            jail.set_env("A2A_GATEWAY__MQTT__TLS__CLIENT_CERT_FILE", "2024");
            jail.set_env("A2A_GATEWAY__MQTT__TLS__CLIENT_KEY_FILE", "1");
            jail.set_env("A2A_GATEWAY__GATEWAY__ORG", "2024");
            jail.set_env("A2A_GATEWAY__GATEWAY__UNIT", "true");
            jail.set_env("A2A_GATEWAY__GATEWAY__INSTANCE", "0.5");
            let c = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(c.mqtt.username.as_deref(), Some("007"), "leading zero kept");
            assert_eq!(c.mqtt.password.as_ref().map(Secret::expose), Some("12345"));
            assert_eq!(c.mqtt.tls.ca_file, Some(PathBuf::from("2024")));
            assert_eq!(c.mqtt.tls.client_key_file, Some(PathBuf::from("1")));
            assert_eq!(c.gateway.org, "2024");
            assert_eq!(c.gateway.unit, "true");
            assert_eq!(c.gateway.instance.as_deref(), Some("0.5"));
            assert!(
                !format!("{c:?}").contains("12345"),
                "the secret stays hidden"
            );

            // Text is taken exactly as set: quotes and brackets are the password's.
            jail.set_env("A2A_GATEWAY__MQTT__PASSWORD", "\"[quoted]\"");
            let c = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(
                c.mqtt.password.as_ref().map(Secret::expose),
                Some("\"[quoted]\"")
            );
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own error type
    fn environment_values_of_other_types_are_still_parsed() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("A2A_GATEWAY__REQUESTS__RETRY_JITTER", "0.5");
            jail.set_env("A2A_GATEWAY__REQUESTS__MESSAGE_EXPIRY_MS", "20000");
            jail.set_env("A2A_GATEWAY__HTTP__TRUST_FORWARDED_HEADERS", "false");
            jail.set_env("A2A_GATEWAY__MQTT__MAX_INFLIGHT", "16");
            jail.set_env(
                "A2A_GATEWAY__DISCOVERY__FILTERS",
                "[\"$a2a/v1/discovery/acme/+/+\", \"$a2a/v1/discovery/beta/+/+\"]",
            );
            let c = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(c.requests.retry_jitter, 0.5);
            assert_eq!(c.requests.message_expiry_ms, Some(20_000));
            assert!(!c.http.trust_forwarded_headers);
            assert_eq!(c.mqtt.max_inflight, 16);
            assert_eq!(
                c.discovery.filters,
                ["$a2a/v1/discovery/acme/+/+", "$a2a/v1/discovery/beta/+/+"]
            );
            jail.set_env("A2A_GATEWAY__REQUESTS__MESSAGE_EXPIRY_MS", "soon");
            let err = Config::load(None, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("requests.message_expiry_ms"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn broken_tls_settings_are_refused_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = cert_and_key();
        let cert_path = dir.path().join("cert.pem");
        let key_path = dir.path().join("key.pem");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&cert_path, &cert).unwrap();
        std::fs::write(&key_path, &key).unwrap();
        std::fs::write(&junk, "not PEM").unwrap();
        let (cert_path, key_path, junk) = (
            cert_path.display().to_string(),
            key_path.display().to_string(),
            junk.display().to_string(),
        );
        let tls = |url: &str, tls: &str| format!("mqtt:\n  url: {url}\n  tls:\n{tls}");
        let cases = [
            (
                tls("mqtts://b:8883", "    ca_file: /nonexistent.pem\n"),
                "mqtt.tls.ca_file",
                "/nonexistent.pem",
            ),
            (
                tls("mqtt://b:1883", &format!("    ca_file: {cert_path}\n")),
                "mqtt.tls.ca_file",
                "mqtts://",
            ),
            (
                tls(
                    "mqtt://b:1883",
                    &format!(
                        "    client_cert_file: {cert_path}\n    client_key_file: {key_path}\n"
                    ),
                ),
                "mqtt.tls.client_cert_file",
                "mqtts://",
            ),
            (
                tls(
                    "mqtts://b:8883",
                    &format!("    client_cert_file: {cert_path}\n"),
                ),
                "mqtt.tls.client_key_file",
                "go together",
            ),
            (
                tls(
                    "mqtts://b:8883",
                    &format!("    client_key_file: {key_path}\n"),
                ),
                "mqtt.tls.client_cert_file",
                "go together",
            ),
            (
                tls("mqtts://b:8883", &format!("    ca_file: {junk}\n")),
                "mqtt.tls.ca_file",
                "no usable PEM certificate",
            ),
            (
                tls(
                    "mqtts://b:8883",
                    &format!(
                        "    client_cert_file: {cert_path}\n    client_key_file: {cert_path}\n"
                    ),
                ),
                "mqtt.tls.client_key_file",
                "no usable PEM private key",
            ),
        ];
        for (yaml, key, reason) in cases {
            let err = Config::from_yaml(&yaml).unwrap_err().to_string();
            assert!(
                err.contains(&format!("{key}: ")) && err.contains(reason),
                "{yaml}\n-> {err}"
            );
        }
        let good = tls(
            "mqtts://b:8883",
            &format!(
                "    ca_file: {cert_path}\n    client_cert_file: {cert_path}\n    client_key_file: {key_path}\n"
            ),
        );
        Config::from_yaml(&good).unwrap();
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let err = Config::load(
            Some(Path::new("/nonexistent/g.yaml")),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("/nonexistent/g.yaml"), "{err}");
    }
}
