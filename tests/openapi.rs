//! The OpenAPI document (`openapi/openapi.json`, served at `/openapi.json`):
//! it lists exactly the routes of [`gateway::ROUTES`] and is valid OpenAPI 3.1
//! (the official 3.1 schema, through `openapi-spec-validator`); each route is
//! served, and nothing else is; and schemathesis, driven by the document
//! against a live gateway with SDK agents, finds no server error and no
//! response that departs from the document (status codes, content types,
//! bodies and SSE events), and every operation's valid requests reach its
//! happy path (seeded tasks in the states each operation needs, a raw agent
//! with an extended card, the stateful phase following the document's links).
//!
//! The Python tools live in a venv made once under `target/openapi-venv` (see
//! `common/python.rs`); `$A2A_OPENAPI_PYTHON` names an interpreter that
//! already has them instead.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use a2a_mqtt_gateway::agent::samples::{Inspection, echo, echo_card, inspection_card};
use a2a_mqtt_gateway::gateway::{self, ErrorKind};
use common::install::{manifest_dir, run_or_fail};
use common::interop::run_client;
use common::python;
use common::*;
use serde_json::{Value, json};

/// The pinned tools (both support Python 3.11).
const SCHEMATHESIS: &str = "schemathesis==4.32.5";
const SPEC_VALIDATOR: &str = "openapi-spec-validator==0.9.0";

/// The sample agents the document's examples point at.
const ECHO: &str = "demo/factory/echo";
const INSPECT: &str = "demo/factory/inspect";
/// A raw agent with an extended card.
const VAULT: &str = "demo/factory/vault";

/// The seed of the schemathesis run, so a failure can be reproduced.
const SEED: &str = "20261125";
/// Generated test cases per operation and phase.
const MAX_EXAMPLES: &str = "12";
/// Scenarios of the stateful phase of the main run (~3 s).
const STATEFUL_EXAMPLES: usize = 60;
/// How long schemathesis may take before the test counts it as hung.
const SCHEMATHESIS_TIMEOUT: Duration = Duration::from_secs(600);

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The interpreter with schemathesis and openapi-spec-validator.
fn openapi_python() -> PathBuf {
    if let Some(python) = std::env::var_os("A2A_OPENAPI_PYTHON") {
        return PathBuf::from(python);
    }
    python::venv(
        "openapi-venv",
        &[SCHEMATHESIS, SPEC_VALIDATOR],
        &format!(
            "or set A2A_OPENAPI_PYTHON to an interpreter that has {SCHEMATHESIS} and {SPEC_VALIDATOR}"
        ),
    )
}

async fn openapi_python_async() -> PathBuf {
    tokio::task::spawn_blocking(openapi_python)
        .await
        .expect("venv setup panicked")
}

fn document_path() -> PathBuf {
    manifest_dir().join("openapi/openapi.json")
}

fn document() -> Value {
    serde_json::from_str(gateway::OPENAPI).expect("openapi/openapi.json is JSON")
}

/// `(METHOD, path)` of every operation in the document.
fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("`paths` is an object");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let item = item.as_object().expect("a path item is an object");
            item.keys()
                .filter(|k| HTTP_METHODS.contains(&k.as_str()))
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

fn listed(routes: &BTreeSet<(String, String)>) -> String {
    routes.iter().map(|(m, p)| format!("  {m} {p}\n")).collect()
}

#[test]
fn the_document_lists_exactly_the_routes() {
    let doc = document();
    let documented = documented_routes(&doc);
    let routed: BTreeSet<(String, String)> = gateway::ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        routed.len(),
        gateway::ROUTES.len(),
        "gateway::ROUTES has duplicates"
    );
    let undocumented: BTreeSet<_> = routed.difference(&documented).cloned().collect();
    let unrouted: BTreeSet<_> = documented.difference(&routed).cloned().collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "openapi/openapi.json and gateway::ROUTES differ\n\
         in ROUTES but not in the document:\n{}\
         in the document but not in ROUTES:\n{}",
        listed(&undocumented),
        listed(&unrouted),
    );
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "the document must be OpenAPI 3.1, not {}",
        doc["openapi"]
    );

    // Valid against the official OpenAPI 3.1 schema (and the checks
    // openapi-spec-validator adds: $refs resolve, path parameters are
    // declared, operation ids are unique, schemas are valid JSON Schema).
    let python = openapi_python();
    let out = run_or_fail(
        Command::new(&python)
            .arg("-c")
            .arg(
                "import json, sys\n\
                 from openapi_spec_validator import OpenAPIV31SpecValidator, validate\n\
                 validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)\n\
                 print('valid OpenAPI 3.1')\n",
            )
            .arg(document_path())
            .env("PYTHONDONTWRITEBYTECODE", "1"),
        "openapi/openapi.json is not a valid OpenAPI 3.1 document",
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid OpenAPI 3.1"));
}

#[test]
fn the_document_lists_the_error_table() {
    let doc = document();
    let documented = doc["x-a2a-error-codes"]
        .as_array()
        .expect("`x-a2a-error-codes` is an array");
    let table: Vec<Value> = ErrorKind::ALL
        .iter()
        .map(|k| {
            let s = k.spec();
            json!({
                "reason": s.reason,
                "code": s.code,
                "httpStatus": s.status.as_u16(),
                "grpcStatus": s.grpc,
                "v03Code": s.v03_code,
                "v03RestType": s.v03_type,
                "definedBy": if s.a2a { "A2A" } else { "gateway" },
                "meaning": s.meaning,
            })
        })
        .collect();
    assert_eq!(
        documented,
        &table,
        "`x-a2a-error-codes` must equal the table of src/gateway/error.rs:\n{}",
        serde_json::to_string_pretty(&table).unwrap()
    );
    let description = doc["info"]["description"].as_str().unwrap_or_default();
    assert!(
        description.contains(&gateway::error::markdown_table()),
        "info.description must contain the error table as generated by markdown_table():\n{}",
        gateway::error::markdown_table()
    );
}

/// True for the gateway's fallback answer to a path it does not route.
fn is_no_route(status: u16, body: &str) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    status == 404
        && v["error"]["details"][0]["reason"] == "METHOD_NOT_FOUND"
        && v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("no route for "))
}

/// The request that probes one route: its concrete path and body.
fn probe(method: &str, template: &str) -> (String, Option<Value>) {
    let registry_write = template.starts_with("/api/") && matches!(method, "PUT" | "DELETE");
    let path = template
        .replace("{org}", "demo")
        .replace("{unit}", "factory")
        .replace("{agent}", if registry_write { "scratch" } else { "echo" })
        .replace("{id}", "3f1c2a9e-5b7d-4e2f-9a61-0c8d4b2e7f10")
        .replace("{configId}", "cfg-1");
    let message = json!({"messageId": "probe", "role": "ROLE_USER", "parts": [{"text": "probe"}]});
    let body = match (method, template) {
        ("PUT", _) => Some(card_json("Scratch", false)),
        ("POST", t) if t.ends_with("/{agent}") || t.ends_with("/{agent}/") => Some(request(
            json!(1),
            "GetTask",
            json!({"id": "3f1c2a9e-5b7d-4e2f-9a61-0c8d4b2e7f10"}),
        )),
        ("POST", t) if t.ends_with("/v1/message:send") || t.ends_with("/v1/message:stream") => {
            Some(
                json!({"request": {"messageId": "probe", "role": "ROLE_USER", "content": [{"text": "probe"}]}}),
            )
        }
        ("POST", t) if t.ends_with("message:send") || t.ends_with("message:stream") => {
            Some(json!({ "message": message }))
        }
        ("POST", _) => Some(json!({})),
        _ => None,
    };
    (path, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_served() {
    let broker = Broker::start();
    let _echo = start_agent(&broker, ECHO, echo_card(), echo).await;
    let gw = TestGateway::start(&broker).await;
    gw.wait_agent(ECHO, "online").await;
    let client = http();

    // The detector itself: an unrouted path is recognised as such.
    let r = client
        .get(format!("{}/agents/demo/factory/echo/nowhere", gw.base))
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    assert!(
        is_no_route(status, &text),
        "the fallback answer changed: {status} {text}"
    );

    let mut report = String::new();
    let mut failures = Vec::new();
    for (method, template) in gateway::ROUTES {
        let (path, body) = probe(method, template);
        let url = format!("{}{path}", gw.base);
        let verb = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
        let version = if template.contains("{agent}/v1/") {
            "0.3"
        } else {
            "1.0"
        };
        let mut req = client.request(verb, &url).header("A2A-Version", version);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        let text = r.text().await.expect("body");
        report.push_str(&format!("{status} {content_type:<40} {method} {path}\n"));
        if status == 405 || is_no_route(status, &text) {
            failures.push(format!("{method} {template}: {status} {text}"));
        }
    }
    println!("{report}");
    assert!(
        failures.is_empty(),
        "routes in gateway::ROUTES that the gateway does not serve:\n{}\n\nall probes:\n{report}",
        failures.join("\n")
    );
    gw.shutdown().await;
}

/// Method and path combinations outside [`gateway::ROUTES`] (with `echo`, a
/// registered agent, and `abc`, a task id): the gateway must answer each with
/// 404 or 405 and its JSON error body, never serve it.
const NOT_ROUTES: &[(&str, &str)] = &[
    // Operations and the registry.
    ("POST", "/healthz"),
    ("PUT", "/readyz"),
    ("DELETE", "/metrics"),
    ("POST", "/openapi.json"),
    ("POST", "/api/v1/agents"),
    ("PUT", "/api/v1/agents"),
    ("DELETE", "/api/v1/agents"),
    ("GET", "/api/v1/agents/"),
    ("GET", "/api/v1/agents/demo/factory"),
    ("POST", "/api/v1/agents/demo/factory/echo"),
    ("PATCH", "/api/v1/agents/demo/factory/echo"),
    ("GET", "/api/v1/agents/demo/factory/echo/card"),
    ("GET", "/api/v2/agents"),
    ("GET", "/agents"),
    ("GET", "/agents/demo/factory"),
    // The JSON-RPC endpoint and the cards.
    ("GET", "/agents/demo/factory/echo"),
    ("PUT", "/agents/demo/factory/echo"),
    ("PATCH", "/agents/demo/factory/echo/"),
    ("DELETE", "/agents/demo/factory/echo"),
    (
        "POST",
        "/agents/demo/factory/echo/.well-known/agent-card.json",
    ),
    ("PUT", "/agents/demo/factory/echo/.well-known/agent.json"),
    ("GET", "/agents/demo/factory/echo/.well-known/other.json"),
    // The REST binding, v1.0 paths.
    ("GET", "/agents/demo/factory/echo/message:send"),
    ("PUT", "/agents/demo/factory/echo/message:send"),
    ("PATCH", "/agents/demo/factory/echo/message:stream"),
    ("POST", "/agents/demo/factory/echo/tasks"),
    ("DELETE", "/agents/demo/factory/echo/tasks"),
    ("PUT", "/agents/demo/factory/echo/tasks/abc"),
    ("DELETE", "/agents/demo/factory/echo/tasks/abc"),
    ("DELETE", "/agents/demo/factory/echo/tasks/abc:subscribe"),
    ("GET", "/agents/demo/factory/echo/tasks/abc/other"),
    ("POST", "/agents/demo/factory/echo/extendedAgentCard"),
    ("GET", "/agents/demo/factory/echo/nowhere"),
    // The REST binding, v0.3 paths.
    ("GET", "/agents/demo/factory/echo/v1/message:send"),
    ("PUT", "/agents/demo/factory/echo/v1/tasks/abc"),
    ("POST", "/agents/demo/factory/echo/v1/card"),
    ("GET", "/agents/demo/factory/echo/v1/nowhere"),
    ("GET", "/agents/demo/factory/echo/v1/v1/card"),
    // Near misses of the REST binding: the other dialect's card path, wrong
    // methods and depths under pushNotificationConfigs, trailing slashes.
    ("GET", "/agents/demo/factory/echo/card"),
    ("GET", "/agents/demo/factory/echo/v1/extendedAgentCard"),
    (
        "DELETE",
        "/agents/demo/factory/echo/tasks/abc/pushNotificationConfigs",
    ),
    (
        "PUT",
        "/agents/demo/factory/echo/tasks/abc/pushNotificationConfigs",
    ),
    (
        "POST",
        "/agents/demo/factory/echo/tasks/abc/pushNotificationConfigs/x",
    ),
    (
        "PATCH",
        "/agents/demo/factory/echo/v1/tasks/abc/pushNotificationConfigs/x",
    ),
    (
        "GET",
        "/agents/demo/factory/echo/tasks/abc/pushNotificationConfigs/x/y/z",
    ),
    ("GET", "/agents/demo/factory/echo/tasks/"),
    ("POST", "/agents/demo/factory/echo/message:send/"),
    ("GET", "/agents/demo/factory/echo/v1/tasks/abc/"),
];

/// Whether one path segment matches a template segment (`{id}`, `{id}:cancel`,
/// `message:send`).
fn segment_matches(template: &str, segment: &str) -> bool {
    match (template.find('{'), template.find('}')) {
        (Some(open), Some(close)) => {
            let (prefix, suffix) = (&template[..open], &template[close + 1..]);
            segment.len() > prefix.len() + suffix.len()
                && segment.starts_with(prefix)
                && segment.ends_with(suffix)
        }
        _ => template == segment,
    }
}

/// Whether `(method, path)` is one of [`gateway::ROUTES`].
fn is_a_route(method: &str, path: &str) -> bool {
    gateway::ROUTES.iter().any(|(m, template)| {
        let (t, p): (Vec<&str>, Vec<&str>) =
            (template.split('/').collect(), path.split('/').collect());
        *m == method && t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| segment_matches(t, p))
    })
}

/// Sends `method path` (a JSON object body for the methods that take one) and
/// returns the status, the Allow header and the body.
async fn answer(
    client: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
) -> (u16, Option<String>, String) {
    let verb = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
    let mut req = client.request(verb, format!("{base}{path}"));
    if matches!(method, "POST" | "PUT" | "PATCH") {
        req = req.json(&json!({}));
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let allow = r
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, allow, r.text().await.expect("body"))
}

/// Why an answer is not the refusal of a path or method the gateway does not
/// serve: 404 "no route" (not an A2A 404 such as TASK_NOT_FOUND, which means
/// the route was served) or 405 with `Allow`, and a JSON error whose
/// `error.code` is the status (google.rpc.Status, or inside the v0.3 body).
fn not_a_refusal(status: u16, allow: Option<&str>, body: &str) -> Option<String> {
    if !matches!(status, 404 | 405) {
        return Some(format!("served with {status}"));
    }
    if status == 405 && allow.is_none_or(str::is_empty) {
        return Some("405 without Allow".into());
    }
    let v: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => return Some(format!("{status} without a JSON body: {body:?}")),
    };
    if v["error"]["code"] != status || !v["error"]["message"].is_string() {
        return Some(format!("{status} without the error body: {v}"));
    }
    let reason = &v["error"]["details"][0]["reason"];
    if status == 404 && reason != "METHOD_NOT_FOUND" {
        return Some(format!("served: 404 {reason}"));
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_outside_the_routes_is_served() {
    for (m, p) in NOT_ROUTES {
        assert!(!is_a_route(m, p), "{m} {p} is in gateway::ROUTES");
    }
    assert!(
        is_a_route("POST", "/agents/o/u/a/tasks/t-1:cancel"),
        "the matcher"
    );
    assert!(
        !is_a_route("POST", "/agents/o/u/a/tasks/:cancel"),
        "the matcher"
    );

    let broker = Broker::start();
    let _echo = start_agent(&broker, ECHO, echo_card(), echo).await;
    let gw = TestGateway::start(&broker).await;
    gw.wait_agent(ECHO, "online").await;
    let client = http();
    let mut served = Vec::new();
    for (method, path) in NOT_ROUTES {
        let (status, allow, body) = answer(&client, &gw.base, method, path).await;
        if let Some(why) = not_a_refusal(status, allow.as_deref(), &body) {
            served.push(format!("{method} {path}: {why}"));
        }
    }
    assert!(
        served.is_empty(),
        "answered outside gateway::ROUTES and the OpenAPI document:\n{}",
        served.join("\n")
    );
    gw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_json_is_served() {
    let broker = Broker::start();
    let gw = TestGateway::start(&broker).await;
    let r = http()
        .get(format!("{}/openapi.json", gw.base))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let served = r.bytes().await.expect("body");
    let file = std::fs::read(document_path()).expect("read openapi/openapi.json");
    assert!(
        served.as_ref() == file.as_slice(),
        "GET /openapi.json ({} bytes) differs from openapi/openapi.json ({} bytes): rebuild",
        served.len(),
        file.len()
    );
    gw.shutdown().await;
}

/// Tasks made before the run, so that generated requests reach tasks the
/// agents know, in states where the operations succeed. Separate pools,
/// because canceling consumes a task: one that serves CancelTask once.
struct SeededTasks {
    /// Finished, waiting for input and running ones: GetTask, ListTasks.
    any: Vec<String>,
    contexts: Vec<String>,
    /// Waiting for input ("/ask"), and nothing cancels them: SubscribeToTask
    /// (a stream that starts on an interrupted task ends after its Task).
    waiting: Vec<String>,
    /// Waiting for input, for REST CancelTask, v1.0 and v0.3 paths.
    cancelable: Vec<String>,
    cancelable_v03: Vec<String>,
    /// For the JSON-RPC endpoint, whose CancelTask may cancel them.
    rpc: Vec<String>,
}

/// Starts a task on `agent` with `text`; its id and context id.
async fn start_task(
    gw: &TestGateway,
    agent: &str,
    text: &str,
    immediately: bool,
) -> (String, String) {
    let body = json!({
        "message": {"messageId": uuid::Uuid::new_v4().to_string(), "role": "ROLE_USER", "parts": [{"text": text}]},
        "configuration": {"returnImmediately": immediately},
    });
    let r: Value = http()
        .post(format!("{}/message:send", gw.agent_url(agent)))
        .json(&body)
        .send()
        .await
        .expect("seed request")
        .json()
        .await
        .expect("seed response");
    let task = &r["task"];
    match (task["id"].as_str(), task["contextId"].as_str()) {
        (Some(id), Some(context)) => (id.to_owned(), context.to_owned()),
        _ => panic!("seeding {agent} with {text:?} gave no task: {r}"),
    }
}

/// `n` echo tasks waiting for input.
async fn waiting_tasks(gw: &TestGateway, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        ids.push(start_task(gw, ECHO, "/ask", false).await.0);
    }
    ids
}

/// Tasks each cancel operation can consume: about as many as the run draws
/// from its pool (schemathesis picks with replacement), so that each phase
/// still finds some to cancel.
const CANCELABLE: usize = 40;

async fn seed_tasks(gw: &TestGateway) -> SeededTasks {
    let mut any = Vec::new();
    let mut contexts = Vec::new();
    for (agent, text, immediately) in [
        (ECHO, "/ask", false),
        (ECHO, "hello", false),
        (INSPECT, "line 1", true),
    ] {
        let (id, context) = start_task(gw, agent, text, immediately).await;
        any.push(id);
        contexts.push(context);
    }
    let waiting = waiting_tasks(gw, 6).await;
    any.extend(waiting.iter().cloned());
    let rpc = waiting_tasks(gw, 12).await;
    SeededTasks {
        any,
        contexts,
        waiting,
        cancelable: waiting_tasks(gw, CANCELABLE).await,
        cancelable_v03: waiting_tasks(gw, CANCELABLE).await,
        rpc,
    }
}

/// A raw MQTT agent with an extended card (the SDK's agents have none): it
/// answers GetExtendedAgentCard, and anything else with -32004.
async fn serve_extended_card(mut agent: RawClient) {
    while let Some(req) = agent.next(Duration::from_secs(600)).await {
        let body: Value = serde_json::from_slice(&req.payload).unwrap_or_default();
        let id = body["id"].clone();
        let answer = if body["method"] == "GetExtendedAgentCard" {
            let mut card = card_json("Vault (extended)", false);
            card["capabilities"]["extendedAgentCard"] = json!(true);
            json!({"jsonrpc": "2.0", "id": id, "result": card})
        } else {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32004, "message": "only the extended card"}})
        };
        agent.reply(&req, &answer).await;
    }
}

/// Registers [`VAULT`] and serves it until the test ends.
async fn start_vault(broker: &Broker) -> tokio::task::JoinHandle<()> {
    let agent = RawClient::connect(broker, VAULT, &[&format!("$a2a/v1/request/{VAULT}")]).await;
    let mut card = card_json("Vault", false);
    card["capabilities"]["extendedAgentCard"] = json!(true);
    agent
        .publish_retained(
            &format!("$a2a/v1/discovery/{VAULT}"),
            card.to_string(),
            &[("a2a-status", "online"), ("a2a-status-source", "agent")],
        )
        .await;
    tokio::spawn(serve_extended_card(agent))
}

/// TOML strings of `values`.
fn toml_list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The schemathesis configuration of the main run: path parameters, task ids
/// and context ids are mostly drawn from the sample agents and the seeded
/// tasks (so requests get past "not found"), and otherwise generated.
fn schemathesis_config(seeded: &SeededTasks) -> String {
    format!(
        r#"[dictionaries.orgs]
values = ["demo"]
[dictionaries.units]
values = ["factory"]
[dictionaries.agents]
values = ["echo", "inspect"]
[dictionaries.echo]
values = ["echo"]
[dictionaries.vault]
values = ["vault"]
[dictionaries.tasks]
values = [{any}]
[dictionaries.waiting]
values = [{waiting}]
[dictionaries.cancelable]
values = [{cancelable}]
[dictionaries.cancelable_v03]
values = [{cancelable_v03}]
[dictionaries.rpc]
values = [{rpc}]
[dictionaries.contexts]
values = [{contexts}]

# Every operation must reach its happy path with generated data: an
# operation whose valid requests all come back 404 or 400 means the document
# (or the seeded data) no longer matches what the gateway accepts.
[warnings]
fail-on = ["missing_test_data", "validation_mismatch"]

[parameters]
"path.org" = {{ dictionary = "orgs", probability = 0.85 }}
"path.unit" = {{ dictionary = "units", probability = 0.85 }}
"path.agent" = {{ dictionary = "agents", probability = 0.85 }}
"path.id" = {{ dictionary = "tasks", probability = 0.7 }}
"query.contextId" = {{ dictionary = "contexts", probability = 0.5 }}

# Stateful: sequences that follow the document's links (send, then get,
# cancel or subscribe to the task it made), with real ids.
[phases.stateful.generation]
max-examples = {STATEFUL_EXAMPLES}

# Examples and coverage would otherwise reuse ids from earlier responses:
# mostly tasks that completed at once, which no cancel or subscribe accepts.
[phases.examples.extra-data-sources]
responses = false
[phases.coverage.extra-data-sources]
responses = false

# The JSON-RPC endpoint: its own tasks, as its CancelTask may cancel them.
[[operations]]
include-operation-id = ["jsonRpc", "jsonRpcTrailingSlash"]
parameters = {{ "body.params.id" = {{ dictionary = "rpc", probability = 0.7 }} }}

# The waiting and cancelable tasks are the echo agent's.
[[operations]]
include-operation-id = ["restSubscribeGet", "restSubscribePost", "restSubscribeGetV03", "restSubscribePostV03"]
parameters = {{ "path.id" = {{ dictionary = "waiting", probability = 0.8 }}, "path.agent" = {{ dictionary = "echo", probability = 0.9 }} }}

[[operations]]
include-operation-id = "restCancelTask"
parameters = {{ "path.id" = {{ dictionary = "cancelable", probability = 0.8 }}, "path.agent" = {{ dictionary = "echo", probability = 0.9 }} }}

[[operations]]
include-operation-id = "restCancelTaskV03"
parameters = {{ "path.id" = {{ dictionary = "cancelable_v03", probability = 0.8 }}, "path.agent" = {{ dictionary = "echo", probability = 0.9 }} }}

# Only the raw "vault" agent has an extended card.
[[operations]]
include-operation-id = ["restExtendedAgentCard", "restExtendedAgentCardV03"]
parameters = {{ "path.agent" = {{ dictionary = "vault", probability = 0.85 }} }}

# Push notifications are never relayed: PUSH_NOTIFICATION_NOT_SUPPORTED (400)
# is these operations' only answer, so "all valid data rejected" is the
# documented behaviour, not a schema that misses a constraint.
[[operations]]
include-operation-id-regex = "^rest(Create|List|Get|Delete)PushConfigs?(V03)?$"
warnings = false
"#,
        any = toml_list(&seeded.any),
        waiting = toml_list(&seeded.waiting),
        cancelable = toml_list(&seeded.cancelable),
        cancelable_v03 = toml_list(&seeded.cancelable_v03),
        rpc = toml_list(&seeded.rpc),
        contexts = toml_list(&seeded.contexts),
    )
}

/// Runs schemathesis (`st`) with `args` in `dir`; returns whether it passed,
/// and its report.
async fn run_schemathesis(
    python: &std::path::Path,
    dir: &std::path::Path,
    args: &[String],
) -> (bool, String) {
    let mut cmd = Command::new(python);
    cmd.args(["-m", "schemathesis.cli"])
        .args(args)
        .current_dir(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("SCHEMATHESIS_HOOKS")
        .env("COLUMNS", "160");
    let run = run_client(cmd, "schemathesis", SCHEMATHESIS_TIMEOUT).await;
    (run.status.success(), run.report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_errors_or_violations() {
    let python = openapi_python_async().await;

    let broker = Broker::start();
    let _echo = start_agent(&broker, ECHO, echo_card(), echo).await;
    let _inspect = start_agent(
        &broker,
        INSPECT,
        inspection_card(),
        Inspection {
            steps: 3,
            step_delay: Duration::from_millis(50),
        },
    )
    .await;
    let _vault = start_vault(&broker).await;
    let gw = TestGateway::start(&broker).await;
    for agent in [ECHO, INSPECT, VAULT] {
        gw.wait_agent(agent, "online").await;
    }
    let seeded = seed_tasks(&gw).await;

    // Everything schemathesis writes stays in a scratch directory.
    let scratch = tempfile::tempdir().expect("tempdir");
    let config = scratch.path().join("main.toml");
    std::fs::write(&config, schemathesis_config(&seeded)).expect("write the config");
    let schema_url = format!("{}/openapi.json", gw.base);
    let common: Vec<String> = [
        "--url",
        gw.base.as_str(),
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        SEED,
        "--generation-database",
        "none",
        "--workers",
        "1",
        // Streams end on their own; this only bounds one that would not.
        "--request-timeout",
        "20",
        "--no-color",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let extra: Vec<String> = std::env::var("A2A_OPENAPI_SCHEMATHESIS_ARGS")
        .map(|e| e.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();

    // 1. Every operation but the registry's writes, against the sample agents.
    let mut main_run: Vec<String> = vec![
        "--config-file".into(),
        config.display().to_string(),
        "run".into(),
        schema_url.clone(),
    ];
    main_run.extend(common.iter().cloned());
    main_run.extend(
        [
            "--exclude-operation-id",
            "registerAgent",
            "--exclude-operation-id",
            "unregisterAgent",
        ]
        .map(String::from),
    );
    main_run.extend(extra.iter().cloned());
    let (main_ok, main_report) = run_schemathesis(&python, scratch.path(), &main_run).await;
    println!("{main_report}");

    // 2. The registry, with its writes, last: the cards they register have no
    // agent behind them, so A2A calls to those addresses would (rightly) time
    // out; and the reads then also see the generated cards.
    let mut registry_run: Vec<String> = vec!["run".into(), schema_url.clone()];
    registry_run.extend(common.iter().cloned());
    for id in ["registerAgent", "unregisterAgent", "listAgents", "getAgent"] {
        registry_run.extend(["--include-operation-id".to_owned(), id.to_owned()]);
    }
    registry_run.extend(extra.iter().cloned());
    let (registry_ok, registry_report) =
        run_schemathesis(&python, scratch.path(), &registry_run).await;
    println!("{registry_report}");

    assert!(
        main_ok && registry_ok,
        "schemathesis found server errors or departures from openapi/openapi.json, or \
         operations none of whose valid requests succeeded (missing test data, validation \
         mismatch); its reports are printed above (`st replay` needs the same gateway, so use \
         the curl lines)"
    );
    gw.shutdown().await;
}
