//! Logging set-up.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogConfig;

/// Installs the global subscriber: `RUST_LOG` if set, else `log.level`; text or
/// JSON lines on stderr. Safe to call more than once (later calls do nothing).
///
/// Colours only when stderr is a terminal: a file, a pipe or a log collector
/// (journald, `docker logs`, Kubernetes) would otherwise get ANSI escape codes
/// in every line.
pub fn init_logging(config: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let _ = if config.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

pub mod metrics;

pub use metrics::Metrics;
