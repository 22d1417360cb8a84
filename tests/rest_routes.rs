//! Every REST route and every error status the table gives it, in both
//! dialects, over raw HTTP through a real broker: SDK agents for the ordinary
//! paths, a raw MQTT agent for the answers an SDK agent never gives (garbage,
//! silence, a refused request, an extended card), an offline card, and the
//! broker stopped last. Each answer is checked for its status, its body shape
//! (google.rpc.Status with the ErrorInfo reason for v1.0; the flat v0.3 body
//! for v0.3) and its Content-Type.

mod common;

use std::time::{Duration, Instant};

use a2a_mqtt_gateway::agent::samples::{self, Inspection};
use a2a_mqtt_gateway::config::Config;
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const ECHO: &str = "acme/plant1/echo";
const INSPECT: &str = "acme/plant1/inspect";
const FAKE: &str = "acme/plant1/fake";
const SLEEPY: &str = "acme/plant1/sleepy";
const GHOST: &str = "acme/plant1/ghost";
const MAX_BODY: usize = 16 * 1024;

/// Which REST dialect a case speaks: the path prefix, and what its answers are.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Dialect {
    V1,
    V03,
}

impl Dialect {
    fn prefix(self) -> &'static str {
        match self {
            Dialect::V1 => "",
            Dialect::V03 => "v1/",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Dialect::V1 => "application/a2a+json",
            Dialect::V03 => "application/json",
        }
    }
}

/// What a case expects back.
#[derive(Debug, Clone)]
enum Expect {
    /// 200 with a JSON body passing the check.
    Ok(fn(Dialect, &Value) -> Result<(), String>),
    /// 200 with an SSE stream whose first event passes the check.
    Stream(fn(Dialect, &Value) -> Result<(), String>),
    /// An error: HTTP status, ErrorInfo reason, v0.3 code and v0.3 `type`.
    Error(u16, &'static str, i64, Option<&'static str>),
}

/// One request.
struct Case {
    method: Method,
    /// Agent address, and the path below its URL without the dialect prefix.
    agent: &'static str,
    path: String,
    body: Option<String>,
    expect: Expect,
}

fn case(method: Method, agent: &'static str, path: impl Into<String>, expect: Expect) -> Case {
    Case {
        method,
        agent,
        path: path.into(),
        body: None,
        expect,
    }
}

impl Case {
    fn body(mut self, body: impl Into<String>) -> Case {
        self.body = Some(body.into());
        self
    }
}

/// An answer, read as far as needed.
struct Answer {
    status: u16,
    content_type: String,
    allow: Option<String>,
    /// The JSON body, or the first SSE event's data.
    json: Value,
}

/// Sends one case in `dialect`, with the dialect's A2A-Version, and reads the
/// body (or only the first SSE event, so long streams need not end).
async fn send(base: &str, case: &Case, dialect: Dialect) -> Answer {
    let url = format!(
        "{base}/agents/{}/{}{}",
        case.agent,
        dialect.prefix(),
        case.path
    );
    let version = match dialect {
        Dialect::V1 => "1.0",
        Dialect::V03 => "0.3",
    };
    let mut req = http()
        .request(case.method.clone(), &url)
        .header("A2A-Version", version)
        .header("Content-Type", dialect.content_type());
    if let Some(b) = &case.body {
        req = req.body(b.clone());
    }
    let mut r = req.send().await.expect("request");
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let status = r.status().as_u16();
    let content_type = header(&r, "content-type").unwrap_or_default();
    let allow = header(&r, "allow");
    let json = if content_type.starts_with("text/event-stream") {
        let mut text = String::new();
        while !text.contains("\n\n") {
            match tokio::time::timeout(Duration::from_secs(10), r.chunk()).await {
                Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
                _ => break,
            }
        }
        parse_sse(&text).into_iter().next().unwrap_or(Value::Null)
    } else {
        let text = r.text().await.expect("body");
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Answer {
        status,
        content_type,
        allow,
        json,
    }
}

/// Checks an error body: the v1.0 google.rpc.Status with its ErrorInfo, or the
/// v0.3 flat body (JSON-RPC error object, `type`, the Status as `error`).
fn check_error(
    dialect: Dialect,
    body: &Value,
    status: u16,
    reason: &str,
    v03_code: i64,
    v03_type: Option<&str>,
) -> Result<(), String> {
    let Some(obj) = body.as_object() else {
        return Err("not an object".into());
    };
    let status_error = &body["error"];
    let expect = |ok: bool, what: &str| if ok { Ok(()) } else { Err(what.to_owned()) };
    expect(
        status_error["code"] == status,
        "error.code is the HTTP status",
    )?;
    expect(
        status_error["status"].is_string(),
        "error.status names the google.rpc.Code",
    )?;
    expect(
        status_error["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "error.message",
    )?;
    let info = &status_error["details"][0];
    expect(
        info["@type"] == "type.googleapis.com/google.rpc.ErrorInfo",
        "the first detail is an ErrorInfo",
    )?;
    expect(info["reason"] == reason, "ErrorInfo.reason")?;
    expect(info["domain"].is_string(), "ErrorInfo.domain")?;
    match dialect {
        Dialect::V1 => expect(obj.len() == 1, "only `error`"),
        Dialect::V03 => {
            let known = ["type", "code", "message", "data", "error"];
            expect(
                obj.keys().all(|k| known.contains(&k.as_str())),
                "v0.3 keys only",
            )?;
            expect(body["code"] == v03_code, "code is the v0.3 JSON-RPC code")?;
            expect(
                body["message"].as_str().is_some_and(|m| !m.is_empty()),
                "message",
            )?;
            expect(body["type"].as_str() == v03_type, "type is the error class")?;
            // The gateway's own errors carry their ErrorInfo in `data`; an
            // agent's relayed error keeps its own data (here: none).
            expect(
                body.get("data")
                    .is_none_or(|d| d[0]["reason"] == reason || d[0].get("reason").is_none()),
                "data",
            )
        }
    }
}

fn task_state(dialect: Dialect, task: &Value) -> Result<(), String> {
    let state = task["status"]["state"].as_str().unwrap_or_default();
    let ok = task["id"].is_string() && state.starts_with("TASK_STATE_");
    let shape = match dialect {
        // v0.3 proto JSON: no `kind`, parts are `content`.
        Dialect::V03 => task.get("kind").is_none(),
        Dialect::V1 => true,
    };
    if ok && shape {
        Ok(())
    } else {
        Err(format!("not a {dialect:?} task"))
    }
}

fn sent_task(dialect: Dialect, v: &Value) -> Result<(), String> {
    task_state(dialect, &v["task"])?;
    // An artifact's parts are `parts` in both (a message's are `content` in v0.3).
    if v["task"]["artifacts"][0]["parts"][0]["text"] == "routes" {
        Ok(())
    } else {
        Err("the echo artifact".into())
    }
}

fn a_task(dialect: Dialect, v: &Value) -> Result<(), String> {
    task_state(dialect, v)
}

fn a_stream_item(dialect: Dialect, v: &Value) -> Result<(), String> {
    task_state(dialect, &v["task"])
}

fn a_canceled_task(dialect: Dialect, v: &Value) -> Result<(), String> {
    task_state(dialect, v)?;
    let canceled = match dialect {
        Dialect::V1 => "TASK_STATE_CANCELED",
        Dialect::V03 => "TASK_STATE_CANCELLED",
    };
    if v["status"]["state"] == canceled {
        Ok(())
    } else {
        Err(format!("state {canceled}"))
    }
}

fn a_task_list(dialect: Dialect, v: &Value) -> Result<(), String> {
    // v1.0: a ListTasksResponse; v0.3 §7.3: a bare `[Task]`.
    let tasks = match dialect {
        Dialect::V1 if v["nextPageToken"].is_string() => &v["tasks"],
        Dialect::V1 => return Err("ListTasksResponse".into()),
        Dialect::V03 => v,
    };
    let tasks = tasks.as_array().ok_or("an array of tasks")?;
    if tasks.is_empty() {
        return Err("the task sent earlier".into());
    }
    tasks.iter().try_for_each(|t| task_state(dialect, t))
}

fn a_card(dialect: Dialect, v: &Value) -> Result<(), String> {
    if v["name"] != "Fake (extended)" {
        return Err("the agent's extended card".into());
    }
    // The interfaces name this gateway; v0.3 gets the merged card.
    let first = v["supportedInterfaces"][0]["url"]
        .as_str()
        .unwrap_or_default();
    let merged = v["url"].is_string() && v["protocolVersion"] == "0.3.0";
    match (dialect, first.ends_with(FAKE), merged) {
        (Dialect::V1, true, false) | (Dialect::V03, true, true) => Ok(()),
        _ => Err("a card in the dialect, pointing at the gateway".into()),
    }
}

/// A raw MQTT agent: an extended card, tasks for ListTasks, and for GetTask of
/// `garbage` a reply that is not JSON, of `silent` none, of `refused` the
/// profile's transport protocol error.
async fn serve_fake(mut agent: RawClient) {
    while let Some(req) = agent.next(Duration::from_secs(120)).await {
        let body = payload_json(&req);
        let id = body["id"].clone();
        let result = |r: Value| json!({"jsonrpc": "2.0", "id": id, "result": r});
        match (body["method"].as_str(), body["params"]["id"].as_str()) {
            (Some("GetExtendedAgentCard"), _) => {
                let mut card = card_json("Fake (extended)", false);
                card["capabilities"]["extendedAgentCard"] = json!(true);
                agent.reply(&req, &result(card)).await;
            }
            (Some("ListTasks"), _) => {
                let task = json!({"id": "t-1", "contextId": "c-1",
                    "status": {"state": "TASK_STATE_COMPLETED"}});
                let page =
                    json!({"tasks": [task], "nextPageToken": "", "pageSize": 1, "totalSize": 1});
                agent.reply(&req, &result(page)).await;
            }
            (Some("GetTask"), Some("garbage")) => agent.reply_bytes(&req, "{not json").await,
            (Some("GetTask"), Some("silent")) => {}
            (Some("GetTask"), Some("refused")) => {
                let e = json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32005,
                    "message": "bad metadata", "data": {"a2a_error": "transport_protocol_error"}}});
                agent.reply(&req, &e).await;
            }
            _ => {
                let e = json!({"jsonrpc": "2.0", "id": id,
                    "error": {"code": -32004, "message": "not here"}});
                agent.reply(&req, &e).await;
            }
        }
    }
}

fn config(broker: &Broker) -> Config {
    let mut c = test_config(broker);
    c.requests.reply_first_timeout_ms = 400;
    c.requests.max_attempts = 2;
    c.requests.retry_backoff_ms = 50;
    c.http.max_body_bytes = MAX_BODY;
    c
}

/// A v1.0 or v0.3 SendMessage body with one text part.
fn send_body(dialect: Dialect, text: &str) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    match dialect {
        Dialect::V1 => {
            json!({"message": {"messageId": id, "role": "ROLE_USER", "parts": [{"text": text}]}})
        }
        Dialect::V03 => {
            json!({"request": {"messageId": id, "role": "ROLE_USER", "content": [{"text": text}]}})
        }
    }
    .to_string()
}

/// Starts a long task on the inspection agent; its id.
async fn long_task(gw: &TestGateway) -> String {
    let mut p = send_params("line 7");
    p["configuration"] = json!({"returnImmediately": true});
    let r = http()
        .post(format!("{}/message:send", gw.agent_url(INSPECT)))
        .header("A2A-Version", "1.0")
        .json(&p)
        .send()
        .await
        .expect("send");
    let v: Value = r.json().await.expect("json");
    v["task"]["id"].as_str().expect("task id").to_owned()
}

/// The cases of one dialect; `done` is a completed task of the echo agent,
/// `long` a running one of the inspection agent (cancelled by this dialect).
fn cases(dialect: Dialect, done: &str, long: &str) -> Vec<Case> {
    use Expect::*;
    let card_path = match dialect {
        Dialect::V1 => "extendedAgentCard",
        Dialect::V03 => "card",
    };
    let push = "tasks/t-1/pushNotificationConfigs";
    let push_err = Error(
        400,
        "PUSH_NOTIFICATION_NOT_SUPPORTED",
        -32003,
        Some("PushNotificationNotSupportedError"),
    );
    let not_allowed = Error(
        405,
        "HTTP_METHOD_NOT_ALLOWED",
        -32601,
        Some("MethodNotFoundError"),
    );
    let invalid_params = Error(400, "INVALID_PARAMS", -32602, Some("InvalidParamsError"));
    let big = "x".repeat(MAX_BODY + 1);
    vec![
        // Every route.
        case(Method::POST, ECHO, "message:send", Ok(sent_task)).body(send_body(dialect, "routes")),
        case(Method::POST, ECHO, "message:stream", Stream(a_stream_item))
            .body(send_body(dialect, "s")),
        case(Method::GET, ECHO, format!("tasks/{done}"), Ok(a_task)),
        case(
            Method::GET,
            ECHO,
            format!("tasks/{done}?historyLength=1"),
            Ok(a_task),
        ),
        case(Method::GET, ECHO, "tasks", Ok(a_task_list)),
        case(Method::GET, FAKE, "tasks?pageSize=1", Ok(a_task_list)),
        case(
            Method::GET,
            INSPECT,
            format!("tasks/{long}:subscribe"),
            Stream(a_stream_item),
        ),
        case(
            Method::POST,
            INSPECT,
            format!("tasks/{long}:subscribe"),
            Stream(a_stream_item),
        ),
        case(
            Method::POST,
            INSPECT,
            format!("tasks/{long}:cancel"),
            Ok(a_canceled_task),
        )
        .body("{}"),
        case(Method::GET, FAKE, card_path, Ok(a_card)),
        case(Method::POST, ECHO, push, push_err.clone())
            .body(r#"{"url": "https://example.com/hook"}"#),
        case(Method::GET, ECHO, push, push_err.clone()),
        case(Method::GET, ECHO, format!("{push}/c-1"), push_err.clone()),
        case(Method::DELETE, ECHO, format!("{push}/c-1"), push_err),
        // Every error status the table gives these routes.
        case(
            Method::POST,
            ECHO,
            "message:send",
            Error(413, "BODY_TOO_LARGE", -32600, Some("InvalidRequestError")),
        )
        .body(send_body(dialect, &big)),
        case(
            Method::POST,
            ECHO,
            format!("tasks/{done}:cancel"),
            Error(
                400,
                "TASK_NOT_CANCELABLE",
                -32002,
                Some("TaskNotCancelableError"),
            ),
        ),
        case(Method::POST, ECHO, "message:send", invalid_params.clone()).body(r#"{"nothing": 1}"#),
        case(
            Method::POST,
            ECHO,
            "message:send",
            Error(400, "PARSE_ERROR", -32700, Some("JSONParseError")),
        )
        .body("{broken"),
        case(Method::GET, ECHO, "tasks?pageSize=ten", invalid_params),
        case(
            Method::GET,
            ECHO,
            "tasks/nope",
            Error(404, "TASK_NOT_FOUND", -32001, Some("TaskNotFoundError")),
        ),
        case(
            Method::GET,
            GHOST,
            "tasks/t-1",
            Error(404, "AGENT_NOT_FOUND", -31001, None),
        ),
        case(
            Method::GET,
            ECHO,
            "no/such/route",
            Error(404, "METHOD_NOT_FOUND", -32601, Some("MethodNotFoundError")),
        ),
        case(Method::PUT, ECHO, "message:send", not_allowed.clone()),
        case(Method::PATCH, ECHO, format!("tasks/{done}"), not_allowed),
        case(
            Method::GET,
            FAKE,
            "tasks/garbage",
            Error(
                500,
                "INVALID_AGENT_RESPONSE",
                -32006,
                Some("InvalidAgentResponseError"),
            ),
        ),
        case(
            Method::GET,
            FAKE,
            "tasks/refused",
            Error(502, "AGENT_TRANSPORT_PROTOCOL_ERROR", -31012, None),
        ),
        case(
            Method::GET,
            SLEEPY,
            "tasks/t-1",
            Error(503, "AGENT_OFFLINE", -31002, None),
        ),
        case(
            Method::GET,
            FAKE,
            "tasks/silent",
            Error(504, "AGENT_TIMEOUT", -31003, None),
        ),
    ]
}

/// Runs `case` in `dialect` and returns what is wrong with the answer.
async fn check(base: &str, case: &Case, dialect: Dialect) -> Result<(), String> {
    let a = send(base, case, dialect).await;
    let (status, content_type, result) = match &case.expect {
        Expect::Ok(f) => (200, dialect.content_type(), f(dialect, &a.json)),
        Expect::Stream(f) => (200, "text/event-stream", f(dialect, &a.json)),
        Expect::Error(status, reason, code, class) => (
            *status,
            dialect.content_type(),
            check_error(dialect, &a.json, *status, reason, *code, *class),
        ),
    };
    let mut wrong = Vec::new();
    if a.status != status {
        wrong.push(format!("status {} (expected {status})", a.status));
    }
    if !a.content_type.starts_with(content_type) {
        wrong.push(format!(
            "Content-Type {:?} (expected {content_type})",
            a.content_type
        ));
    }
    if a.status == 405 && a.allow.is_none() {
        wrong.push("no Allow header".into());
    }
    if let Err(e) = result {
        wrong.push(e);
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{dialect:?} {} {}{}: {}\n    {}",
            case.method,
            dialect.prefix(),
            case.path,
            wrong.join("; "),
            a.json
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rest_route_and_error_status_in_both_dialects() {
    let mut broker = Broker::start();
    let _echo = start_agent(&broker, ECHO, samples::echo_card(), samples::echo).await;
    let _inspect = start_agent(
        &broker,
        INSPECT,
        samples::inspection_card(),
        Inspection {
            steps: 200,
            step_delay: Duration::from_millis(100),
        },
    )
    .await;
    let fake = RawClient::connect(&broker, FAKE, &["$a2a/v1/request/acme/plant1/fake"]).await;
    fake.publish_retained(
        "$a2a/v1/discovery/acme/plant1/fake",
        card_json("Fake", false).to_string(),
        &[("a2a-status", "online"), ("a2a-status-source", "agent")],
    )
    .await;
    fake.publish_retained(
        "$a2a/v1/discovery/acme/plant1/sleepy",
        card_json("Sleepy", false).to_string(),
        &[("a2a-status", "offline"), ("a2a-status-source", "lwt")],
    )
    .await;
    tokio::spawn(serve_fake(fake));
    let gw = TestGateway::start_with(config(&broker)).await;
    for (agent, status) in [
        (ECHO, "online"),
        (INSPECT, "online"),
        (FAKE, "online"),
        (SLEEPY, "offline"),
    ] {
        gw.wait_agent(agent, status).await;
    }

    let mut failures = Vec::new();
    let mut count = 0;
    for dialect in [Dialect::V1, Dialect::V03] {
        let done = {
            let r = http()
                .post(format!("{}/message:send", gw.agent_url(ECHO)))
                .header("A2A-Version", "1.0")
                .json(&send_params("done"))
                .send()
                .await
                .expect("send");
            let v: Value = r.json().await.expect("json");
            v["task"]["id"].as_str().expect("task id").to_owned()
        };
        let long = long_task(&gw).await;
        for case in cases(dialect, &done, &long) {
            count += 1;
            if let Err(e) = check(&gw.base, &case, dialect).await {
                failures.push(e);
            }
        }
    }

    // Last: without the broker, a call is BROKER_UNAVAILABLE (once the gateway
    // has noticed the connection is gone). To the raw agent: a stopping
    // Mosquitto sends the SDK agents' Last Wills, and offline agents fail first.
    broker.stop();
    let unavailable = case(
        Method::GET,
        FAKE,
        "tasks/t-1",
        Expect::Error(503, "BROKER_UNAVAILABLE", -31005, None),
    );
    for dialect in [Dialect::V1, Dialect::V03] {
        count += 1;
        let deadline = Instant::now() + Duration::from_secs(15);
        let outcome = loop {
            let outcome = check(&gw.base, &unavailable, dialect).await;
            if outcome.is_ok() || Instant::now() > deadline {
                break outcome;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        if let Err(e) = outcome {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} REST cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    gw.shutdown().await;
}

/// Outside the REST binding, a method a route does not serve gets the same
/// §11.6-shaped 405 (HTTP_METHOD_NOT_ALLOWED, `Allow`), not an empty body.
#[tokio::test]
async fn other_routes_refuse_other_methods_with_a_status_body() {
    let broker = Broker::start();
    let gw = TestGateway::start(&broker).await;
    for (method, path, allow) in [
        (Method::GET, "/agents/acme/plant1/echo", "POST"),
        (Method::DELETE, "/agents/acme/plant1/echo/", "POST"),
        (
            Method::POST,
            "/agents/acme/plant1/echo/.well-known/agent-card.json",
            "GET",
        ),
        (Method::PUT, "/healthz", "GET"),
        (Method::POST, "/api/v1/agents", "GET"),
    ] {
        let r = http()
            .request(method.clone(), format!("{}{path}", gw.base))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 405, "{method} {path}");
        let allowed = r.headers()["allow"].to_str().unwrap_or_default().to_owned();
        assert!(allowed.contains(allow), "{method} {path}: Allow {allowed}");
        assert_eq!(r.headers()["content-type"], "application/json");
        let body: Value = r.json().await.expect("a JSON body");
        let check = check_error(
            Dialect::V1,
            &body,
            405,
            "HTTP_METHOD_NOT_ALLOWED",
            -32601,
            None,
        );
        assert_eq!(check, Ok(()), "{method} {path}: {body}");
    }
    gw.shutdown().await;
}
