//! `a2a-bench`: what the gateway adds to the MQTT hop, and how it scales.
//!
//! In one run, on one broker and one agent (each its own process): direct MQTT
//! request/reply (the limit), SendMessage and SendStreamingMessage through the
//! gateway at several concurrencies; then discovery at scale, many open SSE
//! streams and idle memory. Prints tables with the ratios to the limit and the
//! targets of docs/PERFORMANCE.md.
//!
//! ```sh
//! cargo build --release --bins && target/release/a2a-bench          # full run
//! target/release/a2a-bench --quick                                    # smoke run (CI)
//! ```

mod http;
mod load;
mod procs;
mod reference;

use std::sync::Arc;
use std::time::{Duration, Instant};

use a2a_mqtt_gateway::a2a::types::TaskState;
use a2a_mqtt_gateway::mqtt::{
    Exchange, Inbound, MqttSession, OutboundRequest, OutgoingMessage, Publish, PublishProperties,
    QoS, ReplyRouter, Requester, RetryPolicy, SessionOptions,
};
use bytes::Bytes;
use clap::Parser;
use load::{Extra, Stats};
use serde_json::{Value, json};

#[derive(Parser, Debug, Clone)]
#[command(
    name = "a2a-bench",
    about = "Benchmarks the gateway against direct MQTT request/reply"
)]
struct Args {
    /// A short smoke run (tiny windows and sizes), for CI.
    #[arg(long)]
    quick: bool,
    /// Concurrencies of the latency/throughput runs.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// Seconds of warm-up before each window.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Seconds of each measurement window.
    #[arg(long, default_value_t = 5.0)]
    window: f64,
    /// Direct and gateway windows alternate this many times per concurrency;
    /// the median round of each is reported (this machine's noise is shared).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Retained cards for the discovery-at-scale runs.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    cards: Vec<usize>,
    /// Concurrent SSE streams held open.
    #[arg(long, default_value_t = 10_000)]
    streams: usize,
    /// Also run the latency runs on the embedded broker (in this process).
    #[arg(long)]
    embedded: bool,
    /// Skip parts: any of `latency`, `discovery`, `streams`.
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// Runs each gateway under this command, split on spaces (a profiler:
    /// `--gateway-wrapper "heaptrack -o /tmp/gw"`). RSS figures then describe
    /// the wrapper's process, not the gateway alone.
    #[arg(long)]
    gateway_wrapper: Option<String>,
    /// The gateway's `runtime.worker_threads` (default: the gateway's own
    /// choice, one thread on up to two CPUs, else one per CPU).
    #[arg(long)]
    gateway_threads: Option<usize>,
    /// Internal: serve the reference composition on this address.
    #[arg(long, hide = true, requires = "reference_broker")]
    serve_reference: Option<std::net::SocketAddr>,
    /// Internal: the broker of `--serve-reference`.
    #[arg(long, hide = true)]
    reference_broker: Option<String>,
}

const AGENT: &str = "bench/lab/echo";
const LONG_AGENT: &str = "bench/lab/slow";

fn main() {
    let mut args = Args::parse();
    if let (Some(listen), Some(broker)) = (args.serve_reference, args.reference_broker.clone()) {
        serve_reference(listen, &broker);
    }
    if args.quick {
        args.concurrency = vec![1, 4];
        args.warmup = 0.2;
        args.window = 0.5;
        args.rounds = 1;
        args.cards = vec![500];
        args.streams = 50;
    }
    if let Some(wrapper) = &args.gateway_wrapper {
        procs::wrap_gateway(wrapper.split_whitespace().map(str::to_owned).collect());
    }
    if let Some(threads) = args.gateway_threads {
        procs::gateway_settings(vec![(
            "A2A_GATEWAY__RUNTIME__WORKER_THREADS",
            threads.to_string(),
        )]);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(args)) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// The reference composition's process: serves until killed.
fn serve_reference(listen: std::net::SocketAddr, broker: &str) -> ! {
    let served = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(reference::serve(listen, broker)));
    if let Err(e) = served {
        eprintln!("error: reference gateway: {e}");
    }
    std::process::exit(1);
}

async fn run(args: Args) -> Result<(), String> {
    a2a_mqtt_gateway::install_crypto_provider();
    let dir = TempDir::new()?;
    println!(
        "a2a-bench: {} cores, warm-up {:.1} s, window {:.1} s per point\n",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        args.warmup,
        args.window
    );
    let (mosquitto, port) = procs::mosquitto(dir.path())?;
    let broker = format!("mqtt://127.0.0.1:{port}");
    let mut report = Report::default();

    if !args.skip.iter().any(|s| s == "latency") {
        latency_suite(
            &args,
            "mosquitto",
            &broker,
            Some(mosquitto.pid()),
            &mut report,
        )
        .await?;
        if args.embedded {
            let embedded = a2a_mqtt_gateway::embedded_broker::EmbeddedBroker::start(
                ([127, 0, 0, 1], 0).into(),
            )
            .await
            .map_err(|e| e.to_string())?;
            latency_suite(&args, "embedded", &embedded.url(), None, &mut report).await?;
            embedded.stop().await;
        }
    }
    if !args.skip.iter().any(|s| s == "streams") {
        streams_suite(&args, &broker, &mut report).await?;
    }
    drop(mosquitto);
    if !args.skip.iter().any(|s| s == "discovery") {
        for &n in &args.cards {
            discovery_suite(dir.path(), n, &mut report).await?;
        }
    }
    report.print_targets();
    if report.failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} measured series had failed calls or none at all:\n{}",
            report.failures.len(),
            report.failures.join("\n")
        ))
    }
}

/// A scratch directory removed at the end.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        let p = std::env::temp_dir().join(format!("a2a-bench-{}", std::process::id()));
        std::fs::create_dir_all(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        // Started as root, Mosquitto drops to its own user: let it write here.
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777));
        Ok(TempDir(p))
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A plain MQTT 5 requester: the library's session, correlation router and
/// requester, nothing else.
struct DirectClient {
    _session: MqttSession,
    requester: Requester,
}

struct ToRouter(Arc<ReplyRouter>);

impl Inbound for ToRouter {
    fn on_publish(&self, publish: &Publish) {
        self.0.route(publish);
    }
}

impl DirectClient {
    async fn connect(broker: &str, id: &str) -> Result<DirectClient, String> {
        let router = ReplyRouter::new(64);
        let reply = format!("$a2a/v1/reply/bench/direct/{id}");
        let mut options = SessionOptions::for_profile_id(
            "bench",
            "direct",
            id,
            broker.parse().map_err(|e| format!("{e}"))?,
        );
        options.subscriptions = vec![(format!("{reply}/#"), QoS::AtLeastOnce)];
        let session = MqttSession::start(options, Arc::new(ToRouter(router.clone())))
            .map_err(|e| e.to_string())?;
        if !session.handle().wait_up(Duration::from_secs(10)).await {
            return Err("direct client could not connect".into());
        }
        let policy = RetryPolicy {
            max_attempts: 1,
            max_in_flight: 1_000_000,
            ..RetryPolicy::default()
        };
        let requester = Requester::new(session.handle(), router, format!("{reply}/rpc"), policy);
        Ok(DirectClient {
            _session: session,
            requester,
        })
    }
}

fn send_message_body(task_id: Option<String>) -> Value {
    let mut message = json!({
        "messageId": uuid::Uuid::new_v4().to_string(),
        "role": "ROLE_USER",
        "parts": [{"text": "ping"}],
    });
    if let Some(t) = task_id {
        message["taskId"] = json!(t);
        message["contextId"] = json!(uuid::Uuid::new_v4().to_string());
    }
    json!({"message": message})
}

fn rpc(method: &str, params: Value) -> Bytes {
    Bytes::from(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string())
}

struct DirectWorker {
    requester: Requester,
    topic: String,
}

/// What a load worker's call returns.
type CallFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Extra, String>> + Send + 'a>>;

impl DirectWorker {
    /// Publishes `method` with a new message, as the gateway would: over MQTT
    /// the requester mints Task.id.
    async fn start(&self, method: &str) -> Result<Exchange, String> {
        let body = rpc(
            method,
            send_message_body(Some(uuid::Uuid::new_v4().to_string())),
        );
        let request = OutboundRequest::new(self.topic.clone(), body);
        self.requester
            .start(&request, &|_| false)
            .await
            .map_err(|e| e.to_string())
    }
}

fn direct_call(w: &mut DirectWorker) -> CallFuture<'_> {
    Box::pin(async move {
        let mut exchange = w.start("SendMessage").await?;
        let reply = exchange.next().await.map_err(|e| e.to_string())?;
        check_completed(&reply.payload).map(|()| Extra::default())
    })
}

/// SendStreamingMessage straight over MQTT: the replies of one correlation,
/// read until the stream's end (a terminal or interrupted state, or a Message).
fn direct_stream(w: &mut DirectWorker) -> CallFuture<'_> {
    Box::pin(async move {
        let start = Instant::now();
        let mut exchange = w.start("SendStreamingMessage").await?;
        let mut extra = Extra::default();
        loop {
            let reply = exchange.next().await.map_err(|e| e.to_string())?;
            extra.first_event.get_or_insert_with(|| start.elapsed());
            extra.events += 1;
            if stream_ends(&reply.payload)? {
                return Ok(extra);
            }
        }
    })
}

/// Whether a streamed reply ends the stream, as the gateway decides it.
fn stream_ends(payload: &[u8]) -> Result<bool, String> {
    let v: Value = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    if v.get("error").is_some() {
        return Err(format!("stream error: {v}"));
    }
    let result = &v["result"];
    if result.get("message").is_some() {
        return Ok(true);
    }
    let state = result
        .pointer("/statusUpdate/status/state")
        .or_else(|| result.pointer("/task/status/state"))
        .and_then(Value::as_str)
        .and_then(TaskState::parse);
    Ok(state.is_some_and(TaskState::ends_stream))
}

fn check_completed(payload: &[u8]) -> Result<(), String> {
    let v: Value = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    match v
        .pointer("/result/task/status/state")
        .and_then(Value::as_str)
    {
        Some("TASK_STATE_COMPLETED") => Ok(()),
        _ => Err(format!(
            "unexpected reply: {}",
            String::from_utf8_lossy(payload)
        )),
    }
}

struct HttpWorker {
    conn: http::Conn,
    path: String,
}

fn http_send(w: &mut HttpWorker) -> CallFuture<'_> {
    Box::pin(async move {
        let (status, body) = w
            .conn
            .call("POST", &w.path, rpc("SendMessage", send_message_body(None)))
            .await?;
        if status != 200 {
            return Err(format!("HTTP {status}"));
        }
        check_completed(&body).map(|()| Extra::default())
    })
}

fn http_stream(w: &mut HttpWorker) -> CallFuture<'_> {
    Box::pin(async move {
        let (first, events) = w
            .conn
            .stream(
                &w.path,
                rpc("SendStreamingMessage", send_message_body(None)),
            )
            .await?;
        Ok(Extra {
            first_event: Some(first),
            events: events as u64,
        })
    })
}

async fn latency_suite(
    args: &Args,
    broker_name: &str,
    broker: &str,
    broker_pid: Option<u32>,
    report: &mut Report,
) -> Result<(), String> {
    let agent = procs::spawn_gateway_binary(
        "agent",
        &[
            "sample-agent",
            "echo",
            AGENT,
            "--broker",
            broker,
            // The task store fills during warm-up and then evicts one finished
            // task per new one: a steady state, as in a long-running agent.
            "--max-tasks",
            "1000",
            "--max-streams",
            "1000",
        ],
        &[],
    )?;
    let (gateway, base) = procs::gateway(broker, &[])?;
    wait_ready(&base, 1).await?;
    let (reference, reference_base) = procs::reference_gateway(broker)?;
    wait_ready(&reference_base, 1).await?;
    let idle = gateway.rss_kib();
    if broker_name == "mosquitto" {
        report.idle_rss_kib = idle;
    }
    let warmup = Duration::from_secs_f64(args.warmup);
    let window = Duration::from_secs_f64(args.window);
    let topic = format!("$a2a/v1/request/{AGENT}");
    println!("== request/reply, broker: {broker_name} ==");
    println!(
        "direct: MQTT requester; send: SendMessage through the gateway; ref: the same call through \
         a bare axum+rumqttc composition (src/bin/a2a-bench/reference.rs)"
    );
    println!(
        "{:>4} | {:>9} {:>7} {:>7} | {:>9} {:>7} {:>7} | {:>9} {:>7} | {:>6} {:>7} {:>6}",
        "c",
        "direct/s",
        "p50 µs",
        "p99 µs",
        "send/s",
        "p50 µs",
        "p99 µs",
        "ref/s",
        "p50 µs",
        "ratio",
        "Δp50 µs",
        "gw/ref",
    );
    let mut stream_rows = Vec::new();
    for &c in &args.concurrency {
        let client = Arc::new(
            DirectClient::connect(broker, &format!("d{}", uuid::Uuid::new_v4().simple())).await?,
        );
        let mut pids = vec![
            ("gateway", gateway.pid()),
            ("reference", reference.pid()),
            ("agent", agent.pid()),
        ];
        pids.extend(broker_pid.map(|p| ("broker", p)));
        // The embedded broker runs inside this process: "client" then includes it.
        pids.push(("client", 0));
        let probe = procs::CpuProbe::new(&pids);
        let path = format!("/agents/{AGENT}");
        let over_http = |base: &String| {
            let base = base.clone();
            let path = path.clone();
            move |_| {
                let base = base.clone();
                let path = path.clone();
                async move {
                    Ok(HttpWorker {
                        conn: http::Conn::open(&base).await?,
                        path,
                    })
                }
            }
        };
        let over_mqtt = |_| {
            let requester = client.requester.clone();
            let topic = topic.clone();
            async move { Ok(DirectWorker { requester, topic }) }
        };
        let mut directs = Vec::new();
        let mut sends = Vec::new();
        let mut refs = Vec::new();
        for _ in 0..args.rounds.max(1) {
            directs
                .push(load::run(c, warmup, window, probe.clone(), over_mqtt, direct_call).await?);
            sends.push(
                load::run(
                    c,
                    warmup,
                    window,
                    probe.clone(),
                    over_http(&base),
                    http_send,
                )
                .await?,
            );
            refs.push(
                load::run(
                    c,
                    warmup,
                    window,
                    probe.clone(),
                    over_http(&reference_base),
                    http_send,
                )
                .await?,
            );
        }
        let (direct, direct_cpu) = median_round(directs);
        let (send, send_cpu) = median_round(sends);
        let (refd, ref_cpu) = median_round(refs);
        let (direct_streams, direct_streams_cpu) =
            load::run(c, warmup, window, probe.clone(), over_mqtt, direct_stream).await?;
        let (streams, streams_cpu) = load::run(
            c,
            warmup,
            window,
            probe.clone(),
            over_http(&base),
            http_stream,
        )
        .await?;
        let ratio = send.per_sec() / direct.per_sec();
        let dp50 = send.quantile_us(0.5) - direct.quantile_us(0.5);
        let vs_ref = send.per_sec() / refd.per_sec();
        println!(
            "{:>4} | {:>9.0} {:>7.0} {:>7.0} | {:>9.0} {:>7.0} {:>7.0} | {:>9.0} {:>7.0} | {:>5.2}x {:>+7.0} {:>5.2}x",
            c,
            direct.per_sec(),
            direct.quantile_us(0.5),
            direct.quantile_us(0.99),
            send.per_sec(),
            send.quantile_us(0.5),
            send.quantile_us(0.99),
            refd.per_sec(),
            refd.quantile_us(0.5),
            ratio,
            dp50,
            vs_ref,
        );
        println!(
            "     CPU µs per call: direct [{}] | send [{}] | ref [{}]",
            direct_cpu.per_call(direct.count()),
            send_cpu.per_call(send.count()),
            ref_cpu.per_call(refd.count())
        );
        for (name, s) in [
            ("direct", &direct),
            ("send", &send),
            ("ref", &refd),
            ("direct stream", &direct_streams),
            ("stream", &streams),
        ] {
            report.check_series(&format!("{broker_name} c={c} {name}"), s);
        }
        stream_rows.push(StreamRow {
            c,
            direct: direct_streams,
            direct_cpu: direct_streams_cpu,
            gateway: streams,
            gateway_cpu: streams_cpu,
        });
        if broker_name == "mosquitto" {
            report.points.push(Point {
                c,
                ratio,
                dp50,
                ref_ratio: refd.per_sec() / direct.per_sec(),
                ref_dp50: refd.quantile_us(0.5) - direct.quantile_us(0.5),
            });
        }
    }
    print_stream_rows(broker_name, &stream_rows);
    println!(
        "gateway RSS idle: {} KiB; agent RSS after the runs (task store full): {} KiB\n",
        idle.unwrap_or(0),
        agent.rss_kib().unwrap_or(0)
    );
    gateway.stop(Duration::from_secs(5));
    reference.stop(Duration::from_secs(1));
    agent.stop(Duration::from_secs(5));
    Ok(())
}

/// The round with the median throughput.
fn median_round(mut rounds: Vec<(Stats, procs::CpuUse)>) -> (Stats, procs::CpuUse) {
    rounds.sort_by(|a, b| a.0.per_sec().total_cmp(&b.0.per_sec()));
    let mid = rounds.len() / 2;
    rounds.swap_remove(mid)
}

/// SendStreamingMessage at one concurrency, straight over MQTT and through the gateway.
struct StreamRow {
    c: usize,
    direct: Stats,
    direct_cpu: procs::CpuUse,
    gateway: Stats,
    gateway_cpu: procs::CpuUse,
}

fn print_stream_rows(broker_name: &str, rows: &[StreamRow]) {
    println!("\n== SendStreamingMessage, broker: {broker_name} ==");
    println!(
        "direct: the MQTT requester reads the replies until the stream ends; gateway: SSE through \
         the gateway. ttfe: time to the first event"
    );
    println!(
        "{:>4} | {:>9} {:>7} {:>7} {:>8} | {:>9} {:>7} {:>7} {:>8} {:>8} {:>9} | {:>6} {:>9}",
        "c",
        "direct/s",
        "p50 µs",
        "p99 µs",
        "ttfe p50",
        "gw/s",
        "p50 µs",
        "p99 µs",
        "ttfe p50",
        "ttfe p99",
        "events/s",
        "ratio",
        "Δttfe p50"
    );
    for r in rows {
        let (d, g) = (&r.direct, &r.gateway);
        println!(
            "{:>4} | {:>9.0} {:>7.0} {:>7.0} {:>8.0} | {:>9.0} {:>7.0} {:>7.0} {:>8.0} {:>8.0} {:>9.0} | {:>5.2}x {:>+9.0}",
            r.c,
            d.per_sec(),
            d.quantile_us(0.5),
            d.quantile_us(0.99),
            d.first_event_quantile_us(0.5),
            g.per_sec(),
            g.quantile_us(0.5),
            g.quantile_us(0.99),
            g.first_event_quantile_us(0.5),
            g.first_event_quantile_us(0.99),
            g.events_per_sec(),
            g.per_sec() / d.per_sec(),
            g.first_event_quantile_us(0.5) - d.first_event_quantile_us(0.5),
        );
        println!(
            "     CPU µs per stream: direct [{}] | gateway [{}]",
            r.direct_cpu.per_call(d.count()),
            r.gateway_cpu.per_call(g.count())
        );
    }
}

/// Waits until /readyz says ready with at least `agents` agents; returns how long.
async fn wait_ready(base: &str, agents: usize) -> Result<Duration, String> {
    let started = Instant::now();
    let client = reqwest::Client::new();
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status() == 200
            && let Ok(v) = r.json::<Value>().await
            && v["agents"].as_u64().unwrap_or(0) as usize >= agents
        {
            return Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(300) {
            return Err(format!(
                "gateway not ready with {agents} agents after 300 s"
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn card(i: usize) -> Value {
    const WORDS: [&str; 8] = [
        "paint", "weld", "inspect", "press", "sort", "pack", "test", "move",
    ];
    let w = WORDS[i % WORDS.len()];
    json!({
        "name": format!("Robot {i}"),
        "description": format!("Station {i} on line {}: {w} parts", i % 97),
        "version": "1.0.0",
        "supportedInterfaces": [{"url": "mqtt://broker:1883", "protocolBinding": "MQTTv5+JSONRPCv2", "protocolVersion": "1.0"}],
        "capabilities": {"streaming": true},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [{"id": format!("{w}-{}", i % 50), "name": format!("{w} skill"), "description": "d", "tags": [w, format!("line{}", i % 97)]}]
    })
}

async fn discovery_suite(
    dir: &std::path::Path,
    n: usize,
    report: &mut Report,
) -> Result<(), String> {
    let sub = dir.join(format!("disc-{n}"));
    std::fs::create_dir_all(&sub).map_err(|e| e.to_string())?;
    let (mosquitto, port) = procs::mosquitto(&sub)?;
    let broker = format!("mqtt://127.0.0.1:{port}");
    // Baseline: a gateway with no cards.
    let (empty, empty_base) = procs::gateway(&broker, &[])?;
    wait_ready(&empty_base, 0).await?;
    let base_rss = empty.rss_kib().unwrap_or(0);
    empty.stop(Duration::from_secs(5));

    // Publish the cards retained, then a confirmed publish as a barrier: the
    // broker handles one connection's packets in order.
    let started = Instant::now();
    let mut options = SessionOptions::for_profile_id(
        "bench",
        "pub",
        &uuid::Uuid::new_v4().simple().to_string()[..12],
        broker.parse().map_err(|e| format!("{e}"))?,
    );
    options.request_queue = 65_536;
    let mut barrier_options = options.clone();
    barrier_options.client_id.push_str("-barrier");
    barrier_options.fallback_client_id = None;
    let publisher = a2a_mqtt_gateway::mqtt::confirm::ConfirmedPublisher::start(
        barrier_options,
        Duration::from_secs(120),
    )
    .map_err(|e| e.to_string())?;
    let bulk = MqttSession::start(options, Arc::new(ToRouter(ReplyRouter::new(1))))
        .map_err(|e| e.to_string())?;
    if !bulk.handle().wait_up(Duration::from_secs(10)).await {
        return Err("publisher could not connect".into());
    }
    for i in 0..n {
        let msg = OutgoingMessage {
            retain: true,
            properties: PublishProperties {
                user_properties: vec![
                    ("a2a-status".into(), "online".into()),
                    ("a2a-status-source".into(), "agent".into()),
                ],
                ..PublishProperties::default()
            },
            ..OutgoingMessage::new(
                format!("$a2a/v1/discovery/fleet/u{}/a{i}", i % 100),
                card(i).to_string(),
            )
        };
        bulk.handle()
            .publish(msg, Duration::from_secs(60))
            .await
            .map_err(|e| e.to_string())?;
    }
    bulk.shutdown(Duration::from_secs(60)).await;
    let barrier = OutgoingMessage {
        retain: true,
        ..OutgoingMessage::new("$a2a/v1/discovery/fleet/zz/barrier", card(n).to_string())
    };
    publisher
        .publish(barrier)
        .await
        .map_err(|e| e.to_string())?;
    publisher.shutdown().await;
    let published = started.elapsed();

    let spawn = Instant::now();
    let (gateway, base) = procs::gateway(&broker, &[])?;
    wait_ready(&base, n + 1).await?;
    let indexed = spawn.elapsed();
    let rss = gateway.rss_kib().unwrap_or(0);
    let per_card = (rss.saturating_sub(base_rss)) as f64 * 1024.0 / n as f64;

    // Registry search at that size.
    let queries = [
        "q=weld",
        "q=robot%2012",
        "skill=paint",
        "skill=line5&status=online",
        "org=fleet&unit=u7",
        "q=station%20line&limit=20",
        "status=online&limit=100",
        // A unit in every organisation; one character (whole words only); a
        // prefix of ~1 100 number words (more than a search merges).
        "unit=u7",
        "q=r",
        "q=12",
    ];
    let mut conn = http::Conn::open(&base).await?;
    let mut lat = Vec::new();
    for i in 0..2000 {
        let q = queries[i % queries.len()];
        let t = Instant::now();
        let (status, _) = conn
            .call("GET", &format!("/api/v1/agents?{q}"), Bytes::new())
            .await?;
        if status != 200 {
            return Err(format!("search {q}: HTTP {status}"));
        }
        lat.push(t.elapsed().as_micros() as u32);
    }
    lat.sort_unstable();
    let p50 = lat[lat.len() / 2];
    let p99 = lat[lat.len() * 99 / 100];
    println!("== discovery at scale: {n} cards ==");
    println!(
        "published in {:.1} s; gateway ready (all indexed, /readyz 200) {:.2} s after start; search p50 {} µs, p99 {} µs; RSS {} KiB (+{:.0} B per card)\n",
        published.as_secs_f64(),
        indexed.as_secs_f64(),
        p50,
        p99,
        rss,
        per_card
    );
    report.discovery.push(Discovery {
        n,
        indexed,
        p99_us: p99,
        per_card_bytes: per_card,
    });
    gateway.stop(Duration::from_secs(5));
    drop(mosquitto);
    Ok(())
}

async fn streams_suite(args: &Args, broker: &str, report: &mut Report) -> Result<(), String> {
    let n = args.streams;
    let agent = procs::spawn_gateway_binary(
        "slow-agent",
        &[
            "sample-agent",
            "inspection",
            LONG_AGENT,
            "--broker",
            broker,
            "--steps",
            "1",
            "--step-ms",
            "600000",
            "--max-tasks",
            &(n * 2).to_string(),
            "--max-streams",
            &(n * 2).to_string(),
        ],
        &[],
    )?;
    let path = format!("/agents/{LONG_AGENT}");
    let mut per_stream = Vec::new();
    for transport in [Transport::Http1, Transport::Http2] {
        // A fresh gateway each time: memory freed by the previous run would
        // otherwise be reused and hide the cost.
        let (gateway, base) = procs::gateway(broker, &[])?;
        wait_ready(&base, 1).await?;
        let before = gateway.rss_kib().unwrap_or(0);
        let held = hold_streams(&base, &path, n, transport).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = gateway.rss_kib().unwrap_or(0);
        let per = after.saturating_sub(before) as f64 * 1024.0 / held.ok.max(1) as f64;
        println!(
            "== {n} concurrent SSE streams, {} ==",
            transport.describe(n)
        );
        println!(
            "{} open in {:.1} s; gateway RSS {before} -> {after} KiB ({per:.0} B per stream){}\n",
            held.ok,
            held.opened.as_secs_f64(),
            held.first_error
                .as_ref()
                .map(|e| format!("; first error: {e}"))
                .unwrap_or_default()
        );
        per_stream.push((transport, held.ok, per));
        drop(held);
        gateway.stop(Duration::from_secs(5));
    }
    report.streams = per_stream;
    agent.stop(Duration::from_secs(5));
    Ok(())
}

/// How the SSE streams reach the gateway.
#[derive(Clone, Copy, PartialEq)]
enum Transport {
    /// One HTTP/1.1 connection per stream, as SSE clients usually do.
    Http1,
    /// Streams multiplexed over HTTP/2 connections.
    Http2,
}

/// HTTP/2 streams per connection (hyper's server allows 200 by default).
const H2_STREAMS_PER_CONN: usize = 100;

impl Transport {
    fn describe(self, n: usize) -> String {
        match self {
            Transport::Http1 => "HTTP/1.1, one connection each".into(),
            Transport::Http2 => format!("HTTP/2, {} connections", n.div_ceil(H2_STREAMS_PER_CONN)),
        }
    }
}

/// Streams held open until dropped.
struct HeldStreams {
    ok: usize,
    opened: Duration,
    first_error: Option<String>,
    holders: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for HeldStreams {
    fn drop(&mut self) {
        for h in &self.holders {
            h.abort();
        }
    }
}

/// Opens `n` SendStreamingMessage streams (256 at a time) and keeps them open.
async fn hold_streams(
    base: &str,
    path: &str,
    n: usize,
    transport: Transport,
) -> Result<HeldStreams, String> {
    let mut h2_conns = Vec::new();
    if transport == Transport::Http2 {
        for _ in 0..n.div_ceil(H2_STREAMS_PER_CONN) {
            h2_conns.push(http::H2Conn::open(base).await?);
        }
    }
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<(), String>>(n.max(1));
    let sem = Arc::new(tokio::sync::Semaphore::new(256));
    let mut holders = Vec::with_capacity(n);
    for i in 0..n {
        let permit = sem
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let base = base.to_owned();
        let path = path.to_owned();
        let tx = tx.clone();
        let h2 = h2_conns.get(i / H2_STREAMS_PER_CONN).cloned();
        holders.push(tokio::spawn(async move {
            let body = rpc("SendStreamingMessage", send_message_body(None));
            let opened = match h2 {
                Some(mut conn) => conn.open_stream(&path, body).await.map(|s| (None, s)),
                None => {
                    async {
                        let mut conn = http::Conn::open(&base).await?;
                        conn.open_stream(&path, body).await.map(|s| (Some(conn), s))
                    }
                    .await
                }
            };
            drop(permit);
            match opened {
                Ok(held) => {
                    let _ = tx.send(Ok(())).await;
                    // Keep the stream open until the benchmark ends.
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    drop(held);
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                }
            }
        }));
    }
    let mut ok = 0usize;
    let mut first_error = None;
    for _ in 0..n {
        match rx.recv().await {
            Some(Ok(())) => ok += 1,
            Some(Err(e)) => {
                first_error.get_or_insert(e);
            }
            None => break,
        }
    }
    Ok(HeldStreams {
        ok,
        opened: started.elapsed(),
        first_error,
        holders,
    })
}

#[derive(Default)]
struct Report {
    /// Series that failed calls or completed none: the run exits non-zero.
    failures: Vec<String>,
    points: Vec<Point>,
    discovery: Vec<Discovery>,
    streams: Vec<(Transport, usize, f64)>,
    idle_rss_kib: Option<u64>,
}

struct Point {
    c: usize,
    ratio: f64,
    dp50: f64,
    /// The same figures for the reference composition.
    ref_ratio: f64,
    ref_dp50: f64,
}

struct Discovery {
    n: usize,
    indexed: Duration,
    p99_us: u32,
    per_card_bytes: f64,
}

impl Report {
    /// Records a series whose calls failed, or that completed none, and says so.
    fn check_series(&mut self, name: &str, s: &Stats) {
        if s.errors == 0 && s.count() > 0 {
            return;
        }
        let failure = format!(
            "{name}: {} calls, {} errors, first: {}",
            s.count(),
            s.errors,
            s.first_error.as_deref().unwrap_or("-")
        );
        println!("     {failure}");
        self.failures.push(failure);
    }

    fn print_targets(&self) {
        println!("== targets ==");
        let line = |name: &str, got: String, target: &str, met: bool| {
            println!(
                "{:<44} {:>14}   target {:<12} {}",
                name,
                got,
                target,
                if met { "met" } else { "MISSED" }
            );
        };
        if let Some(p) = self.points.iter().find(|p| p.c == 64) {
            line(
                "SendMessage c=64 throughput / direct",
                format!("{:.2}x", p.ratio),
                ">= 0.90x",
                p.ratio >= 0.90,
            );
            println!(
                "{:<44} {:>14}",
                "  (reference composition, same run)",
                format!("{:.2}x", p.ref_ratio)
            );
        }
        if let Some(p) = self.points.iter().find(|p| p.c == 1) {
            line(
                "SendMessage c=1 p50 - direct p50",
                format!("{:+.0} µs", p.dp50),
                "<= +40 µs",
                p.dp50 <= 40.0,
            );
            println!(
                "{:<44} {:>14}",
                "  (reference composition, same run)",
                format!("{:+.0} µs", p.ref_dp50)
            );
        }
        for d in &self.discovery {
            line(
                &format!("{} cards indexed, /readyz 200", d.n),
                format!("{:.2} s", d.indexed.as_secs_f64()),
                "<= 10 s",
                d.indexed <= Duration::from_secs(10),
            );
            line(
                &format!("registry search p99 at {} cards", d.n),
                format!("{:.2} ms", f64::from(d.p99_us) / 1000.0),
                "<= 2 ms",
                d.p99_us <= 2000,
            );
            line(
                &format!("RSS per card at {} cards", d.n),
                format!("{:.0} B", d.per_card_bytes),
                "(reported)",
                true,
            );
        }
        for &(transport, n, per) in &self.streams {
            let over = match transport {
                Transport::Http1 => "HTTP/1.1",
                Transport::Http2 => "HTTP/2",
            };
            line(
                &format!("RSS per SSE stream ({n} open, {over})"),
                format!("{:.1} KiB", per / 1024.0),
                "<= 16 KiB",
                per <= 16.0 * 1024.0,
            );
        }
        if let Some(kib) = self.idle_rss_kib {
            line(
                "idle RSS",
                format!("{:.1} MiB", kib as f64 / 1024.0),
                "<= 25 MiB",
                kib <= 25 * 1024,
            );
        }
    }
}
