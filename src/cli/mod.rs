//! The operator commands of the `a2a-gateway` binary: `agents`, `send`, `tasks`.
//! They talk to a running gateway (`--gateway URL`); `agents register` and
//! `agents unregister` can also go straight to a broker (`--broker URL`).
//!
//! Exit codes: 0 success; 1 a remote failure (gateway unreachable, an A2A error,
//! a task that failed or was canceled or rejected); 2 a usage error (bad
//! arguments, unreadable or invalid card file); 3 not found: the gateway says
//! the agent or task does not exist (`AGENT_NOT_FOUND`, `TASK_NOT_FOUND`; any
//! other 404, e.g. from a wrong `--gateway`, is a remote failure with a hint).

pub mod client;
pub mod render;
pub mod sse;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::a2a::card;
use crate::mqtt::confirm::{ConfirmError, ConfirmedPublisher};
use crate::mqtt::{AgentAddr, OutgoingMessage, PublishProperties, SessionOptions};
use client::GatewayClient;

/// How a command ended, as a process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Remote = 1,
    Usage = 2,
    NotFound = 3,
}

/// A failed command: what to tell the user and how to exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            exit: Exit::Usage,
            message: message.into(),
        }
    }

    pub fn remote(message: impl Into<String>) -> CliError {
        CliError {
            exit: Exit::Remote,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> CliError {
        CliError {
            exit: Exit::NotFound,
            message: message.into(),
        }
    }

    /// A non-2xx HTTP answer from `base` with a `google.rpc.Status` body (or
    /// `None` when the body was not JSON). Only an agent or task the gateway
    /// says does not exist is "not found" (exit 3): any other 404 means the URL
    /// reached something that is not this API, usually a wrong `--gateway`.
    fn from_http_error(status: u16, body: Option<&Value>, base: &str) -> CliError {
        let message = body
            .and_then(|b| b.pointer("/error/message"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| match body {
                Some(_) => format!("the gateway answered HTTP {status}"),
                None => format!("{base} answered HTTP {status} with something that is not JSON"),
            });
        let reason = body
            .and_then(|b| b.pointer("/error/details"))
            .and_then(error_reason);
        match (status, reason) {
            (_, Some(r)) if NOT_FOUND_REASONS.contains(&r) => CliError::not_found(message),
            (404, _) => CliError::remote(format!(
                "{message}\nhint: is {base} the gateway's base URL (--gateway, or A2A_GATEWAY_URL)?"
            )),
            (400, _) => CliError::usage(message),
            _ => CliError::remote(message),
        }
    }

    /// A JSON-RPC error object. Task and agent not found exit with 3.
    fn from_rpc_error(error: &Value) -> CliError {
        let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("error")
            .to_owned();
        let message = format!("{message} (code {code})");
        let reason = error.get("data").and_then(error_reason);
        let not_found = match reason {
            Some(r) => NOT_FOUND_REASONS.contains(&r),
            None => matches!(code, -32001 | -31001),
        };
        if not_found {
            CliError::not_found(message)
        } else {
            CliError::remote(message)
        }
    }
}

/// The `ErrorInfo` reasons that mean the agent or task does not exist.
const NOT_FOUND_REASONS: [&str; 2] = ["AGENT_NOT_FOUND", "TASK_NOT_FOUND"];

/// The `reason` of the first `google.rpc.ErrorInfo` in `details` (an array of
/// details, or one detail object).
fn error_reason(details: &Value) -> Option<&str> {
    fn reason_of(d: &Value) -> Option<&str> {
        d.get("reason").and_then(Value::as_str)
    }
    match details {
        Value::Array(items) => items.iter().find_map(reason_of),
        other => reason_of(other),
    }
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    /// For people.
    #[default]
    Text,
    /// The gateway's JSON, for scripts.
    Json,
}

/// Options shared by the client commands.
#[derive(Debug, Clone, Args)]
pub struct GatewayArgs {
    /// The gateway to talk to.
    #[arg(
        long,
        global = true,
        env = "A2A_GATEWAY_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub gateway: String,
    /// Output format.
    #[arg(long, short, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// `agents ...`
#[derive(Debug, Clone, Subcommand)]
pub enum AgentsCommand {
    /// List registered agents (a table; `--output json` for the API's JSON).
    #[command(
        after_help = "Examples:\n  a2a-gateway agents list\n  a2a-gateway agents list --org acme --status online\n  \
                            a2a-gateway agents list --skill welding -q spot --output json"
    )]
    List {
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        unit: Option<String>,
        /// A skill id or tag.
        #[arg(long)]
        skill: Option<String>,
        /// online, offline or unknown.
        #[arg(long)]
        status: Option<String>,
        /// Free text over name, description, skill names and tags.
        #[arg(long, short)]
        q: Option<String>,
        /// At most this many agents (all pages are fetched up to it).
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Show one agent: card, status, first/last seen, validation verdict.
    #[command(after_help = "Example:\n  a2a-gateway agents get acme/plant1/echo")]
    Get {
        /// ORG/UNIT/AGENT
        agent: String,
    },
    /// Register a card: published retained on the agent's discovery topic.
    #[command(
        after_help = "Examples:\n  a2a-gateway agents register --card card.json acme/plant1/robot\n  \
                            a2a-gateway agents register --card card.json --broker mqtt://broker:1883 acme/plant1/robot"
    )]
    Register {
        /// The Agent Card (JSON file).
        #[arg(long)]
        card: PathBuf,
        /// ORG/UNIT/AGENT
        agent: String,
        /// Publish straight to this broker instead of through the gateway.
        #[arg(long)]
        broker: Option<String>,
    },
    /// Unregister: clears the retained card. Through the gateway, an address
    /// with nothing registered (no card, valid or refused) is not found (exit 3).
    #[command(
        after_help = "Examples:\n  a2a-gateway agents unregister acme/plant1/robot\n  \
                            a2a-gateway agents unregister --broker mqtt://broker:1883 acme/plant1/robot"
    )]
    Unregister {
        /// ORG/UNIT/AGENT
        agent: String,
        /// Publish the removal straight to this broker instead of through the
        /// gateway. The broker does not say whether a card was there, so this
        /// succeeds (exit 0) either way.
        #[arg(long)]
        broker: Option<String>,
    },
}

/// `send ...`
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  a2a-gateway send demo/factory/echo \"hello\"\n  \
                        a2a-gateway send demo/factory/inspect \"line 4\" --stream\n  \
                        a2a-gateway send demo/factory/inspect \"line 4\" --no-wait --output json"
)]
pub struct SendArgs {
    /// ORG/UNIT/AGENT
    pub agent: String,
    /// The text to send.
    pub text: String,
    /// Print status and artifact events live as they arrive.
    #[arg(long)]
    pub stream: bool,
    /// Return as soon as the task exists (returnImmediately).
    #[arg(long, conflicts_with = "stream")]
    pub no_wait: bool,
    /// Continue this task (after it asked for input).
    #[arg(long)]
    pub task_id: Option<String>,
    /// Conversation to continue.
    #[arg(long)]
    pub context_id: Option<String>,
}

/// `tasks ...`
#[derive(Debug, Clone, Subcommand)]
pub enum TasksCommand {
    /// Show a task.
    #[command(after_help = "Example:\n  a2a-gateway tasks get demo/factory/inspect 0b4e...")]
    Get { agent: String, task_id: String },
    /// Cancel a task.
    #[command(after_help = "Example:\n  a2a-gateway tasks cancel demo/factory/inspect 0b4e...")]
    Cancel { agent: String, task_id: String },
    /// Follow a task's updates until it ends.
    #[command(after_help = "Example:\n  a2a-gateway tasks subscribe demo/factory/inspect 0b4e...")]
    Subscribe { agent: String, task_id: String },
}

fn check_agent(agent: &str) -> Result<AgentAddr, CliError> {
    AgentAddr::parse(agent)
        .map_err(|e| CliError::usage(format!("{agent:?} is not ORG/UNIT/AGENT: {e}")))
}

fn print_json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

/// Runs `agents ...`.
pub async fn agents(cmd: AgentsCommand, opts: &GatewayArgs) -> Result<(), CliError> {
    match cmd {
        AgentsCommand::List {
            org,
            unit,
            skill,
            status,
            q,
            limit,
        } => {
            let client = GatewayClient::new(&opts.gateway)?;
            let mut agents = Vec::new();
            let mut token = String::new();
            while agents.len() < limit {
                let page_size = (limit - agents.len()).min(1000);
                let mut query: Vec<(&str, String)> = vec![("limit", page_size.to_string())];
                for (k, v) in [
                    ("org", &org),
                    ("unit", &unit),
                    ("skill", &skill),
                    ("status", &status),
                    ("q", &q),
                ] {
                    if let Some(v) = v {
                        query.push((k, v.clone()));
                    }
                }
                if !token.is_empty() {
                    query.push(("pageToken", token.clone()));
                }
                let qs = serde_urlencoded::to_string(&query).unwrap_or_default();
                let (_, page) = client
                    .api(reqwest::Method::GET, &format!("/api/v1/agents?{qs}"), None)
                    .await?;
                agents.extend(page["agents"].as_array().cloned().unwrap_or_default());
                token = page["nextPageToken"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                if token.is_empty() {
                    break;
                }
            }
            if opts.output == Output::Json {
                print_json(&json!({"agents": agents}));
                return Ok(());
            }
            let rows: Vec<Vec<String>> = agents
                .iter()
                .map(|a| {
                    let skills: Vec<&str> = a["skills"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s["id"].as_str())
                        .collect();
                    vec![
                        a["agent"].as_str().unwrap_or_default().to_owned(),
                        a["status"].as_str().unwrap_or_default().to_owned(),
                        a["name"].as_str().unwrap_or_default().to_owned(),
                        skills.join(","),
                    ]
                })
                .collect();
            println!(
                "{}",
                render::table(&["AGENT", "STATUS", "NAME", "SKILLS"], &rows)
            );
            eprintln!("{} agent(s)", rows.len());
            Ok(())
        }
        AgentsCommand::Get { agent } => {
            let addr = check_agent(&agent)?;
            let client = GatewayClient::new(&opts.gateway)?;
            let (_, d) = client
                .api(
                    reqwest::Method::GET,
                    &format!("/api/v1/agents/{addr}"),
                    None,
                )
                .await?;
            if opts.output == Output::Json {
                print_json(&d);
                return Ok(());
            }
            let field = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("-").to_owned();
            println!("agent        {}", field("agent"));
            if d["indexed"] == false {
                println!("indexed      no");
                println!(
                    "validation   invalid: {}",
                    d.pointer("/validation/reason")
                        .and_then(Value::as_str)
                        .unwrap_or("-")
                );
                return Ok(());
            }
            println!("name         {}", field("name"));
            println!("description  {}", field("description"));
            println!(
                "status       {} (source: {})",
                field("status"),
                field("statusSource")
            );
            println!("first seen   {}", field("firstSeen"));
            println!("last seen    {}", field("lastSeen"));
            println!("url          {}", field("url"));
            println!("validation   valid");
            for s in d["skills"].as_array().into_iter().flatten() {
                let tags: Vec<&str> = s["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                println!(
                    "skill        {} ({})",
                    s["id"].as_str().unwrap_or("-"),
                    tags.join(", ")
                );
            }
            Ok(())
        }
        AgentsCommand::Register {
            card,
            agent,
            broker,
        } => {
            let addr = check_agent(&agent)?;
            let bytes = std::fs::read(&card)
                .map_err(|e| CliError::usage(format!("cannot read {}: {e}", card.display())))?;
            card::validate(&bytes, 1024 * 1024).map_err(|e| {
                CliError::usage(format!("{} is not a valid agent card: {e}", card.display()))
            })?;
            match broker {
                Some(url) => publish_direct(&url, &addr, bytes).await?,
                None => {
                    let body: Value = serde_json::from_slice(&bytes)
                        .map_err(|e| CliError::usage(format!("{}: {e}", card.display())))?;
                    let client = GatewayClient::new(&opts.gateway)?;
                    client
                        .api(
                            reqwest::Method::PUT,
                            &format!("/api/v1/agents/{addr}"),
                            Some(&body),
                        )
                        .await?;
                }
            }
            println!("registered {addr}");
            Ok(())
        }
        AgentsCommand::Unregister { agent, broker } => {
            let addr = check_agent(&agent)?;
            match broker {
                Some(url) => publish_direct(&url, &addr, Vec::new()).await?,
                None => {
                    let client = GatewayClient::new(&opts.gateway)?;
                    client
                        .api(
                            reqwest::Method::DELETE,
                            &format!("/api/v1/agents/{addr}"),
                            None,
                        )
                        .await?;
                }
            }
            println!("unregistered {addr}");
            Ok(())
        }
    }
}

/// Publishes a retained card (or its removal) straight to a broker and waits
/// for the acknowledgement. Credentials come from `A2A_GATEWAY__MQTT__USERNAME`
/// and `A2A_GATEWAY__MQTT__PASSWORD`, as for the gateway.
async fn publish_direct(url: &str, addr: &AgentAddr, payload: Vec<u8>) -> Result<(), CliError> {
    let broker = url
        .parse()
        .map_err(|e| CliError::usage(format!("--broker: {e}")))?;
    let instance = format!("cli-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut options = SessionOptions::for_profile_id("a2a-gateway", "cli", &instance, broker);
    options.username = std::env::var("A2A_GATEWAY__MQTT__USERNAME").ok();
    options.password = std::env::var("A2A_GATEWAY__MQTT__PASSWORD").ok();
    let publisher = ConfirmedPublisher::start(options, Duration::from_secs(10))
        .map_err(|e| CliError::remote(format!("cannot connect to {url}: {e}")))?;
    let msg = OutgoingMessage {
        retain: true,
        properties: PublishProperties {
            content_type: Some("application/json".into()),
            ..PublishProperties::default()
        },
        ..OutgoingMessage::new(addr.discovery_topic(), payload)
    };
    let result = publisher.publish(msg).await;
    publisher.shutdown().await;
    result.map_err(|e| match e {
        ConfirmError::Unreachable => CliError::remote(format!("cannot reach the broker at {url}")),
        other => CliError::remote(format!(
            "the broker at {url} did not store the card: {other}"
        )),
    })
}

/// Runs `send ...`.
pub async fn send(args: SendArgs, opts: &GatewayArgs) -> Result<(), CliError> {
    let addr = check_agent(&args.agent)?;
    let client = GatewayClient::new(&opts.gateway)?;
    let mut message = json!({
        "messageId": uuid::Uuid::new_v4().to_string(),
        "role": "ROLE_USER",
        "parts": [{"text": args.text}],
    });
    if let Some(t) = &args.task_id {
        message["taskId"] = json!(t);
    }
    if let Some(c) = &args.context_id {
        message["contextId"] = json!(c);
    }
    let mut params = json!({"message": message});
    if args.no_wait {
        params["configuration"] = json!({"returnImmediately": true});
    }
    if args.stream {
        let events = client
            .rpc_stream(&addr.to_string(), "SendStreamingMessage", params)
            .await?;
        return follow(events, opts.output).await;
    }
    let result = client.rpc(&addr.to_string(), "SendMessage", params).await?;
    if opts.output == Output::Json {
        print_json(&result);
    }
    if let Some(task) = result.get("task") {
        if opts.output == Output::Text {
            let text = render::task_text(task);
            if !text.is_empty() {
                println!("{text}");
            }
        }
        return task_outcome(task);
    }
    if let Some(m) = result.get("message")
        && opts.output == Output::Text
    {
        println!("{}", render::parts_text(m.get("parts")));
    }
    Ok(())
}

/// Prints stream items until the stream ends; a spinner on a terminal.
async fn follow(
    events: impl futures::Stream<Item = Result<Value, CliError>>,
    output: Output,
) -> Result<(), CliError> {
    let mut events = std::pin::pin!(events);
    let spinner = std::io::stderr().is_terminal() && output == Output::Text;
    let started = Instant::now();
    let frames = ['|', '/', '-', '\\'];
    let mut frame = 0usize;
    let mut last: Option<Value> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(120));
    loop {
        let next = tokio::select! {
            item = events.next() => item,
            _ = tick.tick(), if spinner => {
                frame += 1;
                let state = last.as_ref().and_then(latest_state).unwrap_or_else(|| "waiting".into());
                eprint!("\r{} {state} {:>4}s ", frames[frame % frames.len()], started.elapsed().as_secs());
                let _ = std::io::stderr().flush();
                continue;
            }
        };
        let Some(item) = next else { break };
        let item = item?;
        if spinner {
            eprint!("\r\x1b[2K");
        }
        match output {
            Output::Json => println!("{item}"),
            Output::Text => {
                if let Some(line) = render::event_line(&item) {
                    println!("{line}");
                }
            }
        }
        let _ = std::io::stdout().flush();
        last = Some(item);
    }
    if spinner {
        eprint!("\r\x1b[2K");
    }
    match last
        .as_ref()
        .and_then(|i| i.get("task").or_else(|| i.get("statusUpdate")))
    {
        Some(t) => task_outcome(t),
        None => Ok(()),
    }
}

fn latest_state(item: &Value) -> Option<String> {
    let holder = item.get("task").or_else(|| item.get("statusUpdate"))?;
    render::state_of(holder).map(render::state_label)
}

/// Exit status for a task's final state, and the hint for continuing one.
fn task_outcome(task: &Value) -> Result<(), CliError> {
    let state = render::state_of(task).unwrap_or("");
    let id = task
        .get("id")
        .or_else(|| task.get("taskId"))
        .and_then(Value::as_str)
        .unwrap_or("?");
    match state {
        "TASK_STATE_FAILED" | "TASK_STATE_REJECTED" | "TASK_STATE_CANCELED" => Err(
            CliError::remote(format!("task {id} {}", render::state_label(state))),
        ),
        "TASK_STATE_INPUT_REQUIRED" | "TASK_STATE_AUTH_REQUIRED" => {
            let ctx = task.get("contextId").and_then(Value::as_str).unwrap_or("?");
            eprintln!(
                "task {id} is {}; answer with: --task-id {id} --context-id {ctx}",
                render::state_label(state)
            );
            Ok(())
        }
        "" => Ok(()),
        other => {
            eprintln!("task {id} {}", render::state_label(other));
            Ok(())
        }
    }
}

/// Runs `tasks ...`.
pub async fn tasks(cmd: TasksCommand, opts: &GatewayArgs) -> Result<(), CliError> {
    let client = GatewayClient::new(&opts.gateway)?;
    match cmd {
        TasksCommand::Get { agent, task_id } => {
            let addr = check_agent(&agent)?;
            let task = client
                .rpc(&addr.to_string(), "GetTask", json!({"id": task_id}))
                .await?;
            if opts.output == Output::Json {
                print_json(&task);
            } else {
                let state = render::state_of(&task)
                    .map(render::state_label)
                    .unwrap_or_default();
                println!("task {task_id} {state}");
                let text = render::task_text(&task);
                if !text.is_empty() {
                    println!("{text}");
                }
            }
            Ok(())
        }
        TasksCommand::Cancel { agent, task_id } => {
            let addr = check_agent(&agent)?;
            let task = client
                .rpc(&addr.to_string(), "CancelTask", json!({"id": task_id}))
                .await?;
            if opts.output == Output::Json {
                print_json(&task);
            } else {
                let state = render::state_of(&task)
                    .map(render::state_label)
                    .unwrap_or_default();
                println!("task {task_id} {state}");
            }
            Ok(())
        }
        TasksCommand::Subscribe { agent, task_id } => {
            let addr = check_agent(&agent)?;
            let events = client
                .rpc_stream(&addr.to_string(), "SubscribeToTask", json!({"id": task_id}))
                .await?;
            follow(events, opts.output).await
        }
    }
}

/// `healthcheck`: 0 when `{url}/healthz` answers 200 within 3 s.
pub async fn healthcheck(url: String) -> Result<(), CliError> {
    crate::install_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .map_err(|e| CliError::remote(e.to_string()))?;
    let target = format!("{}/healthz", url.trim_end_matches('/'));
    match client.get(&target).send().await {
        Ok(r) if r.status().is_success() => {
            println!("ok {target}");
            Ok(())
        }
        Ok(r) => Err(CliError::remote(format!(
            "{target} answered {}",
            r.status()
        ))),
        Err(e) => Err(CliError::remote(format!("{target}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_body(code: u16, reason: &str) -> Value {
        json!({"error": {"code": code, "status": "NOT_FOUND", "message": "m",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason}]}})
    }

    #[test]
    fn only_missing_agents_and_tasks_are_not_found() {
        let base = "http://gw";
        for reason in NOT_FOUND_REASONS {
            let e = CliError::from_http_error(404, Some(&status_body(404, reason)), base);
            assert_eq!(e.exit, Exit::NotFound, "{reason}");
        }
        // The gateway's "no route" 404, and a 404 from something else entirely.
        let no_route = status_body(404, "METHOD_NOT_FOUND");
        for body in [Some(&no_route), None] {
            let e = CliError::from_http_error(404, body, base);
            assert_eq!(e.exit, Exit::Remote, "{body:?}");
            assert!(
                e.message.contains("hint:") && e.message.contains(base),
                "{e}"
            );
        }
        let bad = status_body(400, "INVALID_PARAMS");
        assert_eq!(
            CliError::from_http_error(400, Some(&bad), base).exit,
            Exit::Usage
        );
    }

    #[test]
    fn rpc_errors_are_not_found_by_reason_or_code() {
        let with_reason = |code: i64, reason: &str| json!({"code": code, "message": "m", "data": [{"reason": reason}]});
        assert_eq!(
            CliError::from_rpc_error(&with_reason(-31001, "AGENT_NOT_FOUND")).exit,
            Exit::NotFound
        );
        assert_eq!(
            CliError::from_rpc_error(&with_reason(-32001, "TASK_NOT_FOUND")).exit,
            Exit::NotFound
        );
        assert_eq!(
            CliError::from_rpc_error(&with_reason(-32601, "METHOD_NOT_FOUND")).exit,
            Exit::Remote
        );
        // Without ErrorInfo (an agent's own error), the code decides.
        assert_eq!(
            CliError::from_rpc_error(&json!({"code": -32001, "message": "gone"})).exit,
            Exit::NotFound
        );
    }
}
