//! `send` and `tasks get|cancel|subscribe`: A2A v1.0 JSON-RPC calls through a
//! running gateway, with streams printed as they arrive.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

use super::client::GatewayClient;
use super::output::{line, note, progress};
use super::{
    CliError, GatewayArgs, Output, SendArgs, TasksCommand, check_agent, print_json, render,
};

/// The SendMessage params of `send`.
fn send_params(args: &SendArgs) -> Value {
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
    params
}

/// Runs `send ...`.
pub async fn send(args: SendArgs, opts: &GatewayArgs) -> Result<(), CliError> {
    let addr = check_agent(&args.agent)?.to_string();
    let client = GatewayClient::new(&opts.gateway)?;
    let params = send_params(&args);
    if args.stream {
        let events = client
            .rpc_stream(&addr, "SendStreamingMessage", params)
            .await?;
        return follow(events, opts.output).await;
    }
    let result = client.rpc(&addr, "SendMessage", params).await?;
    if opts.output == Output::Json {
        print_json(&result)?;
    }
    match (result.get("task"), result.get("message")) {
        (Some(task), _) if args.no_wait => started(task, &addr, opts.output),
        (Some(task), _) => finished(task, opts.output),
        (None, Some(m)) if opts.output == Output::Text => line(render::parts_text(m.get("parts"))),
        _ => Ok(()),
    }
}

/// `send --no-wait`: the task id on stdout (for `TASK=$(a2a-gateway send ...)`),
/// how to follow it on stderr.
fn started(task: &Value, agent: &str, output: Output) -> Result<(), CliError> {
    if output == Output::Text {
        let id = task.get("id").and_then(Value::as_str).unwrap_or("?");
        line(id)?;
        note(format!(
            "follow it with: a2a-gateway tasks subscribe {agent} {id}"
        ));
    }
    task_outcome(task)
}

/// A task a blocking `send` got back: its text, then its outcome.
fn finished(task: &Value, output: Output) -> Result<(), CliError> {
    if output == Output::Text {
        let text = render::task_text(task);
        if !text.is_empty() {
            line(text)?;
        }
    }
    task_outcome(task)
}

/// What a stream has told so far: the last task state it reported (artifact
/// events and messages carry none, so they leave it as it was) for the spinner,
/// and the last item, which decides the outcome.
#[derive(Debug, Default)]
struct Progress {
    state: Option<String>,
    last: Option<Value>,
}

impl Progress {
    fn observe(&mut self, item: Value) {
        if let Some(state) = latest_state(&item) {
            self.state = Some(state);
        }
        self.last = Some(item);
    }

    /// The state the spinner shows: "waiting" until the first one arrives.
    fn label(&self) -> &str {
        self.state.as_deref().unwrap_or("waiting")
    }

    /// The exit status: the final task or status update's state.
    fn outcome(&self) -> Result<(), CliError> {
        match self
            .last
            .as_ref()
            .and_then(|i| i.get("task").or_else(|| i.get("statusUpdate")))
        {
            Some(t) => task_outcome(t),
            None => Ok(()),
        }
    }
}

fn latest_state(item: &Value) -> Option<String> {
    let holder = item.get("task").or_else(|| item.get("statusUpdate"))?;
    render::state_of(holder).map(render::state_label)
}

/// One stream item on stdout.
fn print_item(item: &Value, output: Output) -> Result<(), CliError> {
    match output {
        Output::Json => line(item),
        Output::Text => match render::event_line(item) {
            Some(text) => line(text),
            None => Ok(()),
        },
    }
}

/// Prints stream items as they arrive until the stream ends; on a terminal, a
/// spinner on stderr shows the task's state and the time so far meanwhile.
async fn follow(
    events: impl futures::Stream<Item = Result<Value, CliError>>,
    output: Output,
) -> Result<(), CliError> {
    let mut events = std::pin::pin!(events);
    let spinner = std::io::stderr().is_terminal() && output == Output::Text;
    let started = Instant::now();
    let frames = ['|', '/', '-', '\\'];
    let mut frame = 0usize;
    let mut seen = Progress::default();
    let mut tick = tokio::time::interval(Duration::from_millis(120));
    loop {
        let next = tokio::select! {
            item = events.next() => item,
            _ = tick.tick(), if spinner => {
                frame += 1;
                let elapsed = started.elapsed().as_secs();
                progress(format!("\r{} {} {elapsed:>4}s ", frames[frame % frames.len()], seen.label()));
                continue;
            }
        };
        let Some(item) = next else { break };
        let item = item?;
        if spinner {
            progress("\r\x1b[2K");
        }
        print_item(&item, output)?;
        seen.observe(item);
    }
    if spinner {
        progress("\r\x1b[2K");
    }
    seen.outcome()
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
            note(format!(
                "task {id} is {}; answer with: --task-id {id} --context-id {ctx}",
                render::state_label(state)
            ));
            Ok(())
        }
        "" => Ok(()),
        other => {
            note(format!("task {id} {}", render::state_label(other)));
            Ok(())
        }
    }
}

/// `tasks get|cancel` for people: the state, and a finished task's text.
fn print_task(task_id: &str, task: &Value, with_text: bool) -> Result<(), CliError> {
    let state = render::state_of(task)
        .map(render::state_label)
        .unwrap_or_default();
    line(format!("task {task_id} {state}"))?;
    let text = render::task_text(task);
    if with_text && !text.is_empty() {
        line(text)?;
    }
    Ok(())
}

/// Runs `tasks ...`.
pub async fn run(cmd: TasksCommand, opts: &GatewayArgs) -> Result<(), CliError> {
    let client = GatewayClient::new(&opts.gateway)?;
    let (method, task, with_text) = match &cmd {
        TasksCommand::Get(t) => ("GetTask", t, true),
        TasksCommand::Cancel(t) => ("CancelTask", t, false),
        TasksCommand::Subscribe(t) => ("SubscribeToTask", t, false),
    };
    let addr = check_agent(&task.agent)?.to_string();
    let params = json!({"id": task.task_id});
    if let TasksCommand::Subscribe(_) = cmd {
        let events = client.rpc_stream(&addr, method, params).await?;
        return follow(events, opts.output).await;
    }
    let result = client.rpc(&addr, method, params).await?;
    match opts.output {
        Output::Json => print_json(&result),
        Output::Text => print_task(&task.task_id, &result, with_text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: &str) -> Value {
        json!({"statusUpdate": {"taskId": "t", "status": {"state": state}}})
    }

    fn artifact() -> Value {
        json!({"artifactUpdate": {"taskId": "t", "artifact": {"artifactId": "a", "parts": [{"text": "x"}]}}})
    }

    #[test]
    fn the_spinner_keeps_the_last_state_through_artifacts() {
        let mut p = Progress::default();
        assert_eq!(p.label(), "waiting");
        p.observe(json!({"task": {"id": "t", "status": {"state": "TASK_STATE_SUBMITTED"}}}));
        assert_eq!(p.label(), "submitted");
        p.observe(status("TASK_STATE_WORKING"));
        assert_eq!(p.label(), "working");
        // Artifact events and messages carry no state: the task is still working.
        p.observe(artifact());
        assert_eq!(p.label(), "working");
        p.observe(json!({"message": {"role": "ROLE_AGENT", "parts": [{"text": "hi"}]}}));
        assert_eq!(p.label(), "working");
        p.observe(status("TASK_STATE_COMPLETED"));
        assert_eq!(p.label(), "completed");
        assert!(p.outcome().is_ok());
    }

    #[test]
    fn the_last_item_decides_the_outcome() {
        let mut p = Progress::default();
        p.observe(status("TASK_STATE_WORKING"));
        p.observe(status("TASK_STATE_FAILED"));
        assert_eq!(
            p.outcome().map_err(|e| e.exit),
            Err(super::super::Exit::Remote)
        );
        // A stream that ends on an artifact has no final state to judge.
        p.observe(artifact());
        assert!(p.outcome().is_ok());
    }
}
