//! `a2a-gateway`: the command-line entry point.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use a2a_mqtt_gateway::cli::{self, output};
use a2a_mqtt_gateway::config::{Config, Overrides};
use a2a_mqtt_gateway::demo;
use a2a_mqtt_gateway::embedded_broker::EmbeddedBroker;
use a2a_mqtt_gateway::gateway::{ClientIdForm, Gateway};
use a2a_mqtt_gateway::telemetry;
use clap::{Parser, Subcommand};

/// Exit code for a configuration the gateway refuses.
const EXIT_CONFIG: u8 = 2;
/// Exit code for a failure while running.
const EXIT_RUNTIME: u8 = 1;

#[derive(Parser)]
#[command(
    name = "a2a-gateway",
    version,
    about = "HTTP gateway serving A2A agents that live on an MQTT 5 broker",
    long_about = "Serves every agent registered on an MQTT 5 broker (A2A over MQTT profile 0.1) \
                  as an ordinary A2A agent over HTTP: Agent Card, JSON-RPC, REST and SSE, A2A v1.0 and v0.3.",
    after_help = "Examples:\n  \
                  a2a-gateway demo                                  # try it: broker, sample agents, gateway\n  \
                  a2a-gateway serve --config gateway.yaml           # run the gateway\n  \
                  a2a-gateway agents list --status online           # what is registered\n  \
                  a2a-gateway send demo/factory/echo \"hello\"        # talk to an agent\n  \
                  a2a-gateway check-config gateway.yaml             # validate a configuration\n\n\
                  Client commands (agents, send, tasks) talk to --gateway URL (default http://127.0.0.1:8080, \
                  or A2A_GATEWAY_URL).\n\n\
                  Exit codes: 0 success; 1 remote failure (gateway or broker unreachable, A2A error, \
                  task failed/canceled/rejected); 2 usage or configuration error; 3 the gateway says the \
                  agent or task does not exist."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    #[command(
        after_help = "Examples:\n  a2a-gateway serve --config gateway.yaml\n  \
                            a2a-gateway serve --broker mqtt://broker:1883 --listen 0.0.0.0:8080\n  \
                            A2A_GATEWAY__MQTT__USERNAME=gw a2a-gateway serve"
    )]
    Serve {
        /// YAML configuration file (see gateway.yaml for every option).
        #[arg(long, short, env = "A2A_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
        /// HTTP listen address, overriding http.listen.
        #[arg(long)]
        listen: Option<String>,
        /// Broker URL (mqtt://host:port or mqtts://host:port), overriding mqtt.url.
        #[arg(long, conflicts_with = "embedded_broker")]
        broker: Option<String>,
        /// Run an MQTT 5 broker inside the gateway, listening on ADDR, and use it
        /// (single-machine setups; retained cards live in memory only).
        #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:1883")]
        embedded_broker: Option<String>,
    },
    /// Run a self-contained demo: an embedded MQTT broker, two sample agents
    /// (echo, and a long-running inspection that streams progress) and the
    /// gateway. Prints URLs and curl lines to try; Ctrl-C stops it.
    #[command(
        after_help = "Examples:\n  a2a-gateway demo\n  a2a-gateway demo --listen 127.0.0.1:9090"
    )]
    Demo {
        /// HTTP listen address.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Run one of the sample agents (echo, inspection) on a broker, as its own
    /// process: for trying things out, benchmarks and fault tests.
    #[command(
        after_help = "Examples:\n  a2a-gateway sample-agent echo acme/plant1/echo --broker mqtt://127.0.0.1:1883\n  \
                            a2a-gateway sample-agent inspection acme/plant1/inspect --steps 10 --step-ms 3000"
    )]
    SampleAgent {
        /// Which sample.
        #[arg(value_enum)]
        kind: SampleKind,
        /// The agent's address, ORG/UNIT/AGENT.
        agent: String,
        /// The broker to connect to (mqtt:// or mqtts://).
        #[arg(long, value_name = "URL", default_value = "mqtt://127.0.0.1:1883")]
        broker: String,
        /// Inspection: number of stations.
        #[arg(long, default_value_t = 10)]
        steps: u32,
        /// Inspection: milliseconds per station.
        #[arg(long, default_value_t = 3000)]
        step_ms: u64,
        /// MQTT keep-alive in seconds, 5 to 65535 (the broker declares the agent
        /// dead after 1.5x).
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(5..=65535))]
        keep_alive: u64,
        /// Tasks running at once before the agent answers "busy".
        #[arg(long, default_value_t = 64)]
        max_tasks: usize,
        /// Open streams (and waiting blocking sends) before the agent answers "busy".
        #[arg(long, default_value_t = 1024)]
        max_streams: usize,
    },
    /// Query and change the registry of a running gateway.
    #[command(
        after_help = "Examples:\n  a2a-gateway agents list --status online\n  \
                            a2a-gateway agents get demo/factory/echo\n  \
                            a2a-gateway agents register --card card.json acme/plant1/robot\n  \
                            a2a-gateway agents unregister acme/plant1/robot"
    )]
    Agents {
        #[command(subcommand)]
        command: cli::AgentsCommand,
        #[command(flatten)]
        opts: cli::GatewayArgs,
    },
    /// Send a message to an agent through a running gateway and print the reply.
    Send {
        #[command(flatten)]
        args: cli::SendArgs,
        #[command(flatten)]
        opts: cli::GatewayArgs,
    },
    /// Look at, cancel or follow a task through a running gateway.
    #[command(
        after_help = "Examples:\n  TASK=$(a2a-gateway send demo/factory/inspect \"line 4\" --no-wait)\n  \
                            a2a-gateway tasks subscribe demo/factory/inspect \"$TASK\"\n  \
                            a2a-gateway tasks get demo/factory/inspect \"$TASK\"\n  \
                            a2a-gateway tasks cancel demo/factory/inspect \"$TASK\""
    )]
    Tasks {
        #[command(subcommand)]
        command: cli::TasksCommand,
        #[command(flatten)]
        opts: cli::GatewayArgs,
    },
    /// Probe a gateway's /healthz (for container health checks). Exit 0 when it
    /// answers 200.
    #[command(
        after_help = "Examples:\n  a2a-gateway healthcheck\n  a2a-gateway healthcheck --url http://10.0.0.5:8080"
    )]
    Healthcheck {
        /// The gateway; default: this machine at the configured http.listen port.
        #[arg(long)]
        url: Option<String>,
        /// Configuration whose http.listen gives the port (and A2A_GATEWAY__* variables).
        #[arg(long, short, env = "A2A_GATEWAY_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Validate a configuration file (with the environment applied) and print
    /// the effective settings, secrets redacted.
    #[command(after_help = "Examples:\n  a2a-gateway check-config gateway.yaml\n  \
                            A2A_GATEWAY__MQTT__URL=mqtt://broker:1883 a2a-gateway check-config gateway.yaml")]
    CheckConfig {
        /// The file to check.
        file: PathBuf,
    },
}

// The request path allocates and frees many small buffers across threads;
// glibc malloc spent ~17 % of the gateway's CPU under load (docs/PERFORMANCE.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            config,
            listen,
            broker,
            embedded_broker,
        } => {
            let embedded = match embedded_broker.map(|a| a.parse::<SocketAddr>()) {
                None => None,
                Some(Ok(addr)) => Some(addr),
                Some(Err(_)) => {
                    return fail(
                        EXIT_CONFIG,
                        "--embedded-broker takes an address like 127.0.0.1:1883",
                    );
                }
            };
            // The embedded broker's URL is known once it listens; validate the rest now.
            let broker = broker.or_else(|| embedded.map(|a| format!("mqtt://{a}")));
            let overrides = Overrides { listen, broker };
            let config = match Config::load(config.as_deref(), &overrides) {
                Ok(c) => c,
                Err(e) => return fail(EXIT_CONFIG, e),
            };
            telemetry::init_logging(&config.log);
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            let threads = config.runtime.threads_for(cpus);
            run_async_on(threads, serve(config, embedded))
        }
        Command::Demo { listen } => {
            let Ok(listen) = listen.parse::<SocketAddr>() else {
                return fail(EXIT_CONFIG, "--listen takes an address like 127.0.0.1:8080");
            };
            telemetry::init_logging(&a2a_mqtt_gateway::config::LogConfig {
                level: "warn,mqtt5=error,a2a_mqtt_gateway=info".into(),
                ..Default::default()
            });
            run_async(demo::run(listen, shutdown_signal()))
        }
        Command::SampleAgent {
            kind,
            agent,
            broker,
            steps,
            step_ms,
            keep_alive,
            max_tasks,
            max_streams,
        } => {
            telemetry::init_logging(&a2a_mqtt_gateway::config::LogConfig::default());
            let limits = (max_tasks, max_streams);
            run_async(sample_agent(
                kind, agent, broker, steps, step_ms, keep_alive, limits,
            ))
        }
        Command::Agents { command, opts } => run_client(cli::agents(command, &opts)),
        Command::Send { args, opts } => run_client(cli::send(args, &opts)),
        Command::Tasks { command, opts } => run_client(cli::tasks(command, &opts)),
        Command::Healthcheck { url, config } => match healthcheck_url(url, config) {
            Ok(url) => run_client(cli::healthcheck(url)),
            Err(e) => finish(Err(e)),
        },
        Command::CheckConfig { file } => finish(check_config(&file)),
    }
}

/// What `healthcheck` probes: `--url`, else this machine at the configured
/// `http.listen` port (what the container's HEALTHCHECK runs: the image sets
/// `A2A_GATEWAY_CONFIG` and `A2A_GATEWAY__HTTP__LISTEN=0.0.0.0:8080`).
fn healthcheck_url(url: Option<String>, config: Option<PathBuf>) -> Result<String, cli::CliError> {
    if let Some(url) = url {
        return Ok(url);
    }
    let addr = Config::load(config.as_deref(), &Overrides::default())
        .and_then(|c| c.listen_addr())
        .map_err(|e| cli::CliError::usage(e.to_string()))?;
    // A wildcard listen address is reached on loopback.
    let ip = if addr.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        addr.ip()
    };
    Ok(format!("http://{}", SocketAddr::new(ip, addr.port())))
}

/// `check-config FILE`: the effective configuration, secrets redacted.
fn check_config(file: &std::path::Path) -> Result<(), cli::CliError> {
    let config = Config::load(Some(file), &Overrides::default())
        .map_err(|e| cli::CliError::usage(e.to_string()))?;
    let effective = serde_json::to_string_pretty(&redacted(&config))
        .map_err(|e| cli::CliError::remote(format!("cannot print the configuration: {e}")))?;
    output::line(format!(
        "{} is valid; effective configuration:",
        file.display()
    ))?;
    output::line(effective)
}

/// Reports `message` as an error on stderr and exits with `code`.
fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    output::note(format!("error: {message}"));
    ExitCode::from(code)
}

/// The exit of a client command (see `cli`): a closed stdout is a quiet success.
fn finish(result: Result<(), cli::CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_output_closed() => ExitCode::SUCCESS,
        Err(e) => fail(e.exit as u8, e),
    }
}

/// The configuration as JSON with secrets replaced.
fn redacted(config: &Config) -> serde_json::Value {
    let mut v = serde_json::to_value(config).unwrap_or_default();
    if let Some(p) = v.pointer_mut("/mqtt/password")
        && !p.is_null()
    {
        *p = serde_json::Value::String("<redacted>".into());
    }
    v
}

/// Runs a client command; its error decides the exit code (see `cli`).
fn run_client(fut: impl std::future::Future<Output = Result<(), cli::CliError>>) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => finish(runtime.block_on(fut)),
        Err(e) => fail(EXIT_RUNTIME, format!("cannot start the async runtime: {e}")),
    }
}

fn run_async(fut: impl std::future::Future<Output = Result<(), String>>) -> ExitCode {
    run_async_on(0, fut)
}

/// Runs `fut` on a multi-threaded runtime of `worker_threads` threads (0: one
/// per CPU core).
fn run_async_on(
    worker_threads: usize,
    fut: impl std::future::Future<Output = Result<(), String>>,
) -> ExitCode {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if worker_threads > 0 {
        builder.worker_threads(worker_threads);
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(EXIT_RUNTIME, format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(EXIT_RUNTIME, e),
    }
}

async fn serve(mut config: Config, embedded: Option<SocketAddr>) -> Result<(), String> {
    let broker = match embedded {
        Some(addr) => {
            let b = EmbeddedBroker::start(addr)
                .await
                .map_err(|e| e.to_string())?;
            config.mqtt.url = b.url();
            Some(b)
        }
        None => None,
    };
    // Our own embedded broker refuses `/` in client ids: no need to be told so.
    let client_ids = if broker.is_some() {
        ClientIdForm::Fallback
    } else {
        ClientIdForm::Profile
    };
    let addr = config.listen_addr().map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let gateway = Gateway::start_with_client_ids(config, client_ids).map_err(|e| e.to_string())?;
    tracing::info!(%addr, "listening for A2A clients");
    gateway.serve(listener, shutdown_signal()).await;
    if let Some(b) = broker {
        b.stop().await;
    }
    Ok(())
}

/// The sample agents `sample-agent` runs.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum SampleKind {
    Echo,
    Inspection,
}

async fn sample_agent(
    kind: SampleKind,
    agent: String,
    broker: String,
    steps: u32,
    step_ms: u64,
    keep_alive: u64,
    (max_tasks, max_streams): (usize, usize),
) -> Result<(), String> {
    use a2a_mqtt_gateway::agent::{Agent, samples};
    let addr =
        a2a_mqtt_gateway::mqtt::AgentAddr::parse(&agent).map_err(|e| format!("{agent:?}: {e}"))?;
    let builder = Agent::builder(addr.org(), addr.unit(), addr.agent())
        .map_err(|e| e.to_string())?
        .broker(&broker)
        .map_err(|e| e.to_string())?
        .keep_alive(std::time::Duration::from_secs(keep_alive))
        .max_concurrent_tasks(max_tasks)
        .max_open_streams(max_streams)
        .task_capacity(max_tasks.max(10_000));
    let running = match kind {
        SampleKind::Echo => {
            builder
                .card_from(samples::echo_card())
                .start(samples::echo)
                .await
        }
        SampleKind::Inspection => {
            let handler = samples::Inspection {
                steps,
                step_delay: std::time::Duration::from_millis(step_ms),
            };
            builder
                .card_from(samples::inspection_card())
                .start(handler)
                .await
        }
    }
    .map_err(|e| e.to_string())?;
    shutdown_signal().await;
    running.shutdown().await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
