//! The operator commands of the `a2a-gateway` binary: `agents`, `send`, `tasks`.
//! They talk to a running gateway (`--gateway URL`); `agents register` and
//! `agents unregister` can also go straight to a broker (`--broker URL`).
//!
//! Exit codes: 0 success; 1 a remote failure (gateway unreachable, an A2A error,
//! a task that failed or was canceled or rejected); 2 a usage error (bad
//! arguments, unreadable or invalid card file); 3 not found: the gateway says
//! the agent or task does not exist (`AGENT_NOT_FOUND`, `TASK_NOT_FOUND`; any
//! other 404, e.g. from a wrong `--gateway`, is a remote failure with a hint).

mod agents;
pub mod client;
pub mod output;
pub mod render;
pub mod sse;
mod tasks;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use crate::mqtt::AgentAddr;

/// How a command ended, as a process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Whoever read stdout stopped reading (`| head`): a normal end, exit 0
    /// without a message.
    OutputClosed = 0,
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

    /// stdout's reader has gone: see [`output`].
    pub fn output_closed() -> CliError {
        CliError {
            exit: Exit::OutputClosed,
            message: "stdout was closed".into(),
        }
    }

    pub fn is_output_closed(&self) -> bool {
        self.exit == Exit::OutputClosed
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
    /// The gateway to talk to: its base URL, without /agents or /api.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "A2A_GATEWAY_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub gateway: String,
    /// Output format: text for people, json (the gateway's JSON) for scripts.
    #[arg(long, short, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// `agents list` filters; together they narrow the list (all must match).
#[derive(Debug, Clone, Default, Args)]
pub struct ListFilters {
    /// Only agents of this organisation (the ORG of ORG/UNIT/AGENT).
    #[arg(long)]
    pub org: Option<String>,
    /// Only agents of this unit (the UNIT of ORG/UNIT/AGENT), in every
    /// organisation unless --org is given too.
    #[arg(long)]
    pub unit: Option<String>,
    /// Only agents with this skill id or skill tag.
    #[arg(long)]
    pub skill: Option<String>,
    /// Only agents with this status: online, offline or unknown.
    #[arg(long)]
    pub status: Option<String>,
    /// Free text: each word must start a word of the name, description, a
    /// skill name or a tag (a one-letter word must match a whole word).
    #[arg(long = "query", short = 'q', alias = "q", value_name = "TEXT")]
    pub query: Option<String>,
}

/// `--limit`: at least 1 (0 would list nothing, silently).
fn positive(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// `agents ...`
#[derive(Debug, Clone, Subcommand)]
pub enum AgentsCommand {
    /// List registered agents (a table; `--output json` for the API's JSON).
    #[command(
        after_help = "Examples:\n  a2a-gateway agents list\n  a2a-gateway agents list --org acme --status online\n  \
                            a2a-gateway agents list --unit plant1 --limit 20\n  \
                            a2a-gateway agents list --skill welding --query spot --output json"
    )]
    List {
        #[command(flatten)]
        filters: ListFilters,
        /// At most this many agents (pages are fetched until it is reached).
        #[arg(long, default_value_t = 1000, value_parser = positive, value_name = "N")]
        limit: usize,
    },
    /// Show one agent: card, status, first/last seen, validation verdict.
    #[command(
        after_help = "Examples:\n  a2a-gateway agents get acme/plant1/echo\n  \
                            a2a-gateway agents get acme/plant1/echo --output json"
    )]
    Get {
        /// The agent, ORG/UNIT/AGENT.
        agent: String,
    },
    /// Register a card: published retained on the agent's discovery topic.
    #[command(
        after_help = "Examples:\n  a2a-gateway agents register --card card.json acme/plant1/robot\n  \
                            a2a-gateway agents register --card card.json --broker mqtt://broker:1883 acme/plant1/robot"
    )]
    Register {
        /// The Agent Card (JSON file), checked before it is sent.
        #[arg(long, value_name = "FILE")]
        card: PathBuf,
        /// The agent to register, ORG/UNIT/AGENT.
        agent: String,
        /// Publish straight to this broker (mqtt:// or mqtts://) instead of
        /// through the gateway; credentials from A2A_GATEWAY__MQTT__USERNAME and
        /// A2A_GATEWAY__MQTT__PASSWORD.
        #[arg(long, value_name = "URL")]
        broker: Option<String>,
    },
    /// Unregister: clears the retained card. Through the gateway, an address
    /// with nothing registered (no card, valid or refused) is not found (exit 3).
    #[command(
        after_help = "Examples:\n  a2a-gateway agents unregister acme/plant1/robot\n  \
                            a2a-gateway agents unregister --broker mqtt://broker:1883 acme/plant1/robot"
    )]
    Unregister {
        /// The agent to unregister, ORG/UNIT/AGENT.
        agent: String,
        /// Publish the removal straight to this broker instead of through the
        /// gateway. The broker does not say whether a card was there, so this
        /// succeeds (exit 0) either way.
        #[arg(long, value_name = "URL")]
        broker: Option<String>,
    },
}

/// `send ...`
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  a2a-gateway send demo/factory/echo \"hello\"\n  \
                        a2a-gateway send demo/factory/inspect \"line 4\" --stream\n  \
                        TASK=$(a2a-gateway send demo/factory/inspect \"line 4\" --no-wait)\n  \
                        a2a-gateway send demo/factory/echo \"again\" --task-id \"$TASK\" --context-id CTX"
)]
pub struct SendArgs {
    /// The agent, ORG/UNIT/AGENT.
    pub agent: String,
    /// The text to send.
    pub text: String,
    /// Print status and artifact events live as they arrive.
    #[arg(long)]
    pub stream: bool,
    /// Return as soon as the task exists (returnImmediately); in text mode the
    /// task id is printed on stdout.
    #[arg(long, conflicts_with = "stream")]
    pub no_wait: bool,
    /// Continue this task (after it asked for input).
    #[arg(long, value_name = "ID")]
    pub task_id: Option<String>,
    /// The conversation to continue.
    #[arg(long, value_name = "ID")]
    pub context_id: Option<String>,
}

/// The task a `tasks` command is about.
#[derive(Debug, Clone, Args)]
pub struct TaskRef {
    /// The agent that runs the task, ORG/UNIT/AGENT.
    pub agent: String,
    /// The task's id (as `send --no-wait` prints it).
    pub task_id: String,
}

/// `tasks ...`
#[derive(Debug, Clone, Subcommand)]
pub enum TasksCommand {
    /// Show a task: its state, and its text once it is done.
    #[command(
        after_help = "Examples:\n  a2a-gateway tasks get demo/factory/inspect \"$TASK\"\n  \
                            a2a-gateway tasks get demo/factory/inspect \"$TASK\" --output json"
    )]
    Get(TaskRef),
    /// Cancel a task.
    #[command(after_help = "Examples:\n  a2a-gateway tasks cancel demo/factory/inspect \"$TASK\"")]
    Cancel(TaskRef),
    /// Follow a task's updates until it ends (from any gateway instance).
    #[command(
        after_help = "Examples:\n  a2a-gateway tasks subscribe demo/factory/inspect \"$TASK\"\n  \
                            a2a-gateway tasks subscribe demo/factory/inspect \"$TASK\" --output json"
    )]
    Subscribe(TaskRef),
}

fn check_agent(agent: &str) -> Result<AgentAddr, CliError> {
    AgentAddr::parse(agent)
        .map_err(|e| CliError::usage(format!("{agent:?} is not ORG/UNIT/AGENT: {e}")))
}

/// `v` pretty-printed on stdout.
fn print_json(v: &Value) -> Result<(), CliError> {
    output::line(serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()))
}

/// Runs `agents ...`.
pub async fn agents(cmd: AgentsCommand, opts: &GatewayArgs) -> Result<(), CliError> {
    agents::run(cmd, opts).await
}

/// Runs `send ...`.
pub async fn send(args: SendArgs, opts: &GatewayArgs) -> Result<(), CliError> {
    tasks::send(args, opts).await
}

/// Runs `tasks ...`.
pub async fn tasks(cmd: TasksCommand, opts: &GatewayArgs) -> Result<(), CliError> {
    tasks::run(cmd, opts).await
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
        Ok(r) if r.status().is_success() => output::line(format!("ok {target}")),
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
    use serde_json::json;

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
