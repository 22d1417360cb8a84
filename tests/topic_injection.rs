//! Topic injection, over real HTTP and a real Mosquitto: identifiers that could
//! add, widen or escape MQTT topic levels (`+`, `#`, `/`, `$`, empty, control
//! characters, non-ASCII, overlong) are refused before any topic is built, by
//! every route that names an agent, and by discovery; task and context ids,
//! which never become topic levels, travel as data.
//!
//! A spy subscribed to `#` and `$a2a/#` (`#` alone does not match topics that
//! start with `$`) checks that refused requests publish nothing at all.
//!
//! Run: `cargo test --test topic_injection` (needs `mosquitto`, as the other
//! broker tests do).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use a2a_mqtt_gateway::agent::samples;
use a2a_mqtt_gateway::gateway::ROUTES;
use a2a_mqtt_gateway::mqtt::topics::MAX_ID_LEN;
use a2a_mqtt_gateway::mqtt::{OutgoingMessage, Publish};
use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ECHO: &str = "acme/plant1/echo";

/// A client that sees every publish on the broker.
async fn spy(broker: &Broker, name: &str) -> RawClient {
    let mut spy = RawClient::connect(broker, name, &["#", "$a2a/#"]).await;
    // Retained messages arrive first; they are not what the test is after.
    drain(&mut spy, Duration::from_millis(300)).await;
    spy
}

/// What the spy received until nothing came for `quiet`.
async fn drain(spy: &mut RawClient, quiet: Duration) -> Vec<Publish> {
    let mut seen = Vec::new();
    while let Some(p) = spy.next(quiet).await {
        seen.push(p);
    }
    seen
}

fn topic_of(p: &Publish) -> String {
    String::from_utf8_lossy(&p.topic).into_owned()
}

/// One HTTP/1.1 request written byte for byte (no client normalises the path:
/// `..`, raw control bytes and non-ASCII go out as given). Returns the status
/// and the body.
async fn raw_http(
    addr: SocketAddr,
    method: &str,
    target: &[u8],
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut req = Vec::new();
    req.extend_from_slice(method.as_bytes());
    req.push(b' ');
    req.extend_from_slice(target);
    req.extend_from_slice(b" HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n");
    for (k, v) in headers {
        req.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    req.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    req.extend_from_slice(body);
    stream.write_all(&req).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .expect("the gateway answers in time")
        .expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    (
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
    )
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The reason of a JSON-RPC error (`error.data[0].reason`) or of a REST error
/// (`error.details[0].reason`).
fn reason(body: &Value) -> Option<&str> {
    let e = &body["error"];
    e["data"][0]["reason"]
        .as_str()
        .or_else(|| e["details"][0]["reason"].as_str())
}

/// A hostile id as it is written in the URL.
struct BadId {
    /// The path segment, as sent.
    raw: Vec<u8>,
    /// What the gateway sees after percent-decoding, when it gets that far
    /// intact; then the answer must name it. `None` for forms that change the
    /// path's shape (a raw `/`, `#`, an empty segment) or that the HTTP parser
    /// may refuse (raw control bytes, raw non-ASCII).
    decoded: Option<String>,
}

fn bad_ids() -> Vec<BadId> {
    let encoded = |raw: &str, decoded: &str| BadId {
        raw: raw.as_bytes().to_vec(),
        decoded: Some(decoded.to_owned()),
    };
    let shape = |raw: &[u8]| BadId {
        raw: raw.to_vec(),
        decoded: None,
    };
    vec![
        encoded("a%2Bb", "a+b"),
        encoded("a+b", "a+b"),
        encoded("%2B", "+"),
        encoded("a%23b", "a#b"),
        encoded("%23", "#"),
        encoded("a%2Fb", "a/b"),
        encoded("%2F", "/"),
        encoded("..%2F..%2Fx", "../../x"),
        encoded("%24SYS", "$SYS"),
        encoded("$a2a", "$a2a"),
        encoded("a%20b", "a b"),
        encoded("a%00b", "a\0b"),
        encoded("a%0Ab", "a\nb"),
        encoded("a%7F", "a\u{7f}"),
        encoded("pl%C3%A4nt", "plänt"),
        encoded("%E2%80%AE", "\u{202e}"),
        encoded("a%2A", "a*"),
        encoded(&"a".repeat(MAX_ID_LEN + 1), &"a".repeat(MAX_ID_LEN + 1)),
        encoded(&"a".repeat(300), &"a".repeat(300)),
        encoded(&"%2B".repeat(300), &"+".repeat(300)),
        // Not UTF-8 once decoded: refused by the path extractor.
        BadId {
            raw: b"%FF".to_vec(),
            decoded: Some(String::new()),
        },
        shape(b""),
        shape(b"a/b"),
        // A fragment: cut by the HTTP layer, whatever follows never arrives
        // (so it must not leave a valid address behind here).
        shape(b"#x"),
        shape(b"a\x01b"),
        shape(b"a b"),
        shape("plänt".as_bytes()),
        shape(b"a\xffb"),
    ]
}

/// The concrete request for a route template with one id replaced.
fn target(template: &str, ids: [&[u8]; 3]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.extend_from_slice(&rest.as_bytes()[..start]);
        let end = rest[start..].find('}').expect("closing brace") + start;
        match &rest[start + 1..end] {
            "org" => out.extend_from_slice(ids[0]),
            "unit" => out.extend_from_slice(ids[1]),
            "agent" => out.extend_from_slice(ids[2]),
            "id" => out.extend_from_slice(b"t-1"),
            "configId" => out.extend_from_slice(b"c-1"),
            other => panic!("unknown route parameter {other}"),
        }
        rest = &rest[end + 1..];
    }
    out.extend_from_slice(rest.as_bytes());
    out
}

/// A body each route accepts, so that only the id can be wrong.
fn body_for(method: &str, template: &str) -> Vec<u8> {
    let v = if template.starts_with("/api/") {
        card_json("Injected", false)
    } else if template.ends_with("{agent}") || template.ends_with("{agent}/") {
        request(json!("probe"), "GetTask", json!({"id": "t-1"}))
    } else if template.ends_with("/v1/message:send") || template.ends_with("/v1/message:stream") {
        json!({"request": {"message_id": "m", "role": "ROLE_USER", "content": [{"text": "x"}]}})
    } else if template.ends_with("message:send") || template.ends_with("message:stream") {
        send_params("x")
    } else if method == "POST" {
        json!({})
    } else {
        return Vec::new();
    };
    v.to_string().into_bytes()
}

/// Every route that names an agent, with a hostile id in each position: the
/// answer is a client error (or a JSON-RPC error) that names the id, and the
/// broker sees no publish at all. The registry's PUT and DELETE publish without
/// looking the agent up, so for them "nothing published" is the whole point.
#[tokio::test]
async fn hostile_ids_in_urls_are_refused_before_any_publish() {
    let broker = Broker::start();
    let _agent = start_agent(&broker, ECHO, samples::echo_card(), samples::echo).await;
    let gw = TestGateway::start(&broker).await;
    gw.wait_agent(ECHO, "online").await;
    let mut spy = spy(&broker, "spy-urls").await;

    // The spy works: a good request is seen on the agent's request topic.
    let r = rpc(
        &gw.agent_url(ECHO),
        &request(json!(1), "SendMessage", send_params("hi")),
    )
    .await;
    assert!(r.get("result").is_some(), "{r}");
    let seen = drain(&mut spy, Duration::from_millis(300)).await;
    assert!(
        seen.iter()
            .any(|p| topic_of(p) == "$a2a/v1/request/acme/plant1/echo"),
        "the spy saw no request: {:?}",
        seen.iter().map(topic_of).collect::<Vec<_>>()
    );

    let routes: Vec<(&str, &str)> = ROUTES
        .iter()
        .copied()
        .filter(|(_, path)| path.contains("{org}"))
        .collect();
    assert!(routes.len() >= 20, "{routes:?}");
    let good: [&[u8]; 3] = [b"acme", b"plant1", b"echo"];
    let mut checked = 0;
    for bad in bad_ids() {
        for position in 0..3 {
            let mut ids: [&[u8]; 3] = good;
            ids[position] = &bad.raw;
            let what = ["org id", "unit id", "agent id"][position];
            let requests = routes.iter().map(|(method, template)| {
                let target = target(template, ids);
                let body = body_for(method, template);
                let addr = gw.addr;
                async move {
                    let headers = [("content-type", "application/json")];
                    let (status, text) = raw_http(addr, method, &target, &headers, &body).await;
                    (*method, target, status, text)
                }
            });
            for (method, target, status, text) in futures::future::join_all(requests).await {
                let shown = format!(
                    "{method} {} -> {status} {text}",
                    String::from_utf8_lossy(&target)
                );
                assert!(status < 500, "{shown}");
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let jsonrpc = v.get("jsonrpc").is_some();
                assert!(
                    (400..500).contains(&status)
                        || (status == 200 && jsonrpc && v["error"].is_object()),
                    "{shown}"
                );
                assert_ne!(reason(&v), Some("BROKER_UNAVAILABLE"), "{shown}");
                let Some(decoded) = &bad.decoded else {
                    continue;
                };
                assert_eq!(reason(&v), Some("INVALID_PARAMS"), "{shown}");
                let message = v["error"]["message"].as_str().unwrap_or_default();
                if decoded.is_empty() {
                    assert!(
                        message.contains("invalid agent address in the URL"),
                        "{shown}"
                    );
                } else if decoded.len() > MAX_ID_LEN {
                    let named = format!("{what} is {} characters long", decoded.len());
                    assert!(message.contains(&named), "{shown}: should say {named}");
                } else {
                    let named = format!("{what} {decoded:?}");
                    assert!(message.contains(&named), "{shown}: should name {named}");
                }
                if jsonrpc {
                    assert_eq!(status, 200, "{shown}");
                    assert_eq!(v["id"], "probe", "{shown}");
                    assert_eq!(v["error"]["code"], -32602, "{shown}");
                } else {
                    assert_eq!(status, 400, "{shown}");
                }
                checked += 1;
            }
        }
    }
    assert!(
        checked > 500,
        "only {checked} answers were checked in detail"
    );

    // Registry search filters are ids too.
    for q in [
        "org=a%2Bb",
        "unit=%23",
        "org=%24SYS",
        "unit=a%2Fb",
        "org=a%00",
    ] {
        let target = format!("/api/v1/agents?{q}");
        let (status, text) = raw_http(gw.addr, "GET", target.as_bytes(), &[], b"").await;
        assert_eq!(status, 400, "{target}: {text}");
        assert!(text.contains("filter"), "{target}: {text}");
    }

    let seen = drain(&mut spy, Duration::from_millis(500)).await;
    assert!(
        seen.is_empty(),
        "refused requests published: {:?}",
        seen.iter().map(topic_of).collect::<Vec<_>>()
    );
    // The agent is still served.
    let r = rpc(
        &gw.agent_url(ECHO),
        &request(json!(2), "SendMessage", send_params("still here")),
    )
    .await;
    assert!(r.get("result").is_some(), "{r}");
}

/// `.` and `..` match the profile's id pattern, and MQTT has no dot segments:
/// `acme/../echo` is just another (unknown) agent, not a way to reach
/// `acme/echo` or anything else. Sent unnormalised, they are looked up as
/// they are and nothing is published.
#[tokio::test]
async fn dot_segments_are_ids_not_traversal() {
    let broker = Broker::start();
    let _agent = start_agent(&broker, ECHO, samples::echo_card(), samples::echo).await;
    let gw = TestGateway::start(&broker).await;
    gw.wait_agent(ECHO, "online").await;
    let mut spy = spy(&broker, "spy-dots").await;
    let body = request(json!("d"), "GetTask", json!({"id": "t-1"})).to_string();
    for target in [
        "/agents/acme/../echo",
        "/agents/acme/plant1/..",
        "/agents/./plant1/echo",
        "/agents/acme/%2E%2E/echo",
        "/agents/acme/plant1/echo/../echo",
    ] {
        let (status, text) = raw_http(
            gw.addr,
            "POST",
            target.as_bytes(),
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
        .await;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert!(status == 404 || status == 200, "{target}: {status} {text}");
        assert!(
            matches!(reason(&v), Some("AGENT_NOT_FOUND" | "METHOD_NOT_FOUND")),
            "{target}: {text}"
        );
    }
    let seen = drain(&mut spy, Duration::from_millis(500)).await;
    assert!(
        seen.is_empty(),
        "{:?}",
        seen.iter().map(topic_of).collect::<Vec<_>>()
    );
}

/// Publishes a retained message from a fresh client, tolerating a refusal (a
/// broker may disconnect a client for a topic name it considers malformed).
async fn try_publish_retained(broker: &Broker, name: &str, topic: &str, payload: Vec<u8>) -> bool {
    let client = RawClient::connect(broker, name, &[]).await;
    let msg = OutgoingMessage {
        retain: true,
        ..OutgoingMessage::new(topic, payload)
    };
    let ok = client
        .handle
        .publish(msg, Duration::from_secs(2))
        .await
        .is_ok();
    client.session.shutdown(Duration::from_secs(1)).await;
    ok
}

/// GET /api/v1/agents: the addresses listed.
async fn listed(gw: &TestGateway) -> Vec<String> {
    let r: Value = http()
        .get(format!("{}/api/v1/agents?limit=1000", gw.base))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let mut out: Vec<String> = r["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .map(|a| a["agent"].as_str().expect("agent").to_owned())
        .collect();
    out.sort();
    out
}

/// Cards on discovery topics whose levels are not valid ids are not indexed;
/// card bodies are data (names, skills, interfaces never become topics), cards
/// that break the rules are refused, and none of it disturbs other agents.
#[tokio::test]
async fn hostile_discovery_messages_are_not_indexed() {
    let broker = Broker::start();
    let _agent = start_agent(&broker, ECHO, samples::echo_card(), samples::echo).await;
    let gw = TestGateway::start(&broker).await;
    gw.wait_agent(ECHO, "online").await;
    let card = card_json("Intruder", false).to_string().into_bytes();

    let prefix = "$a2a/v1/discovery/";
    let long = "a".repeat(MAX_ID_LEN + 1);
    let very_long = "a".repeat(300);
    let bad_topics = [
        format!("{prefix}/plant1/x"),
        format!("{prefix}acme//x"),
        format!("{prefix}acme/plant1/"),
        format!("{prefix}$SYS/plant1/x"),
        format!("{prefix}acme/$a2a/x"),
        format!("{prefix}acme/pl ant/x"),
        format!("{prefix}acme/plänt/x"),
        format!("{prefix}acme/plant1/x\u{202e}"),
        format!("{prefix}acme/plant1/x\u{1}"),
        format!("{prefix}acme/plant1/{long}"),
        format!("{prefix}{very_long}/plant1/x"),
        format!("{prefix}acme/plant1/x*"),
        // Not three levels: outside the gateway's subscription, and refused
        // by the parser if a wider filter ever delivers them.
        format!("{prefix}acme/plant1"),
        format!("{prefix}acme/plant1/echo/x"),
        format!("{prefix}acme/plant1/echo/"),
        // Wildcards are not allowed in topic names; the broker refuses them.
        format!("{prefix}acme/+/x"),
        format!("{prefix}acme/plant1/#"),
    ];
    for (i, topic) in bad_topics.iter().enumerate() {
        try_publish_retained(&broker, &format!("attacker-{i}"), topic, card.clone()).await;
    }

    // Valid topics, hostile bodies.
    let spoof = json!({
        "name": "acme/plant1/echo", "description": "+/#/$SYS", "version": "1.0.0",
        "supportedInterfaces": [{"url": "mqtt://evil:1883/$a2a/v1/request/acme/plant1/echo",
            "protocolBinding": "MQTTv5+JSONRPCv2", "protocolVersion": "1.0", "tenant": "+/#"}],
        "capabilities": {"streaming": false},
        "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "#", "name": "+", "description": "$", "tags": ["/"]}]
    });
    let mut long_name = card_json(&"N".repeat(300), false);
    long_name["description"] = json!("x".repeat(4096));
    let mut too_large = card_json("Huge", false);
    too_large["description"] = json!("x".repeat(70 * 1024));
    let mut broken = card_json("Broken", false);
    broken["supportedInterfaces"][0]["url"] = json!(["mqtt://evil/+/#"]);
    let attacker = RawClient::connect(&broker, "attacker-cards", &[]).await;
    for (agent, body) in [
        ("evil/unit/huge", too_large.to_string()),
        ("evil/unit/broken", broken.to_string()),
        ("evil/unit/notjson", "{\"name\": \"x\"".to_owned()),
        ("evil/unit/longname", long_name.to_string()),
        ("evil/unit/spoof", spoof.to_string()),
    ] {
        attacker
            .publish_retained(&format!("{prefix}{agent}"), body, &[])
            .await;
    }
    gw.wait_agent("evil/unit/spoof", "unknown").await;
    gw.wait_agent("evil/unit/longname", "unknown").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    assert_eq!(
        listed(&gw).await,
        vec![ECHO, "evil/unit/longname", "evil/unit/spoof"],
        "only valid topics with valid cards are indexed"
    );
    assert_eq!(gw.state.index().len(), 3);
    for (agent, why) in [
        ("evil/unit/huge", "limit"),
        ("evil/unit/broken", "supportedInterfaces[0].url"),
        ("evil/unit/notjson", "not valid JSON"),
    ] {
        let r = gw.registry_entry(agent).await;
        assert_eq!(r["indexed"], false, "{agent}: {r}");
        let reason = r["validation"]["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(why), "{agent}: {r}");
    }

    // The echo agent is untouched: its own card, and it answers.
    let echo = gw.registry_entry(ECHO).await;
    assert_eq!(echo["name"], "Echo", "{echo}");
    let r = rpc(
        &gw.agent_url(ECHO),
        &request(json!(1), "SendMessage", send_params("ok")),
    )
    .await;
    assert!(r.get("result").is_some(), "{r}");

    // The spoofing card is served with the gateway's own endpoints for its own
    // address; the interface it announced is gone.
    let served: Value = http()
        .get(format!(
            "{}/agents/evil/unit/spoof/.well-known/agent-card.json",
            gw.base
        ))
        .header("A2A-Version", "1.0")
        .send()
        .await
        .expect("card")
        .json()
        .await
        .expect("json");
    for iface in served["supportedInterfaces"]
        .as_array()
        .expect("interfaces")
    {
        assert_eq!(iface["url"], gw.agent_url("evil/unit/spoof"), "{served}");
    }
    assert!(!served.to_string().contains("evil:1883"), "{served}");

    // Calling it goes to its own request topic, whatever its card says.
    let mut spy = spy(&broker, "spy-discovery").await;
    let url = gw.agent_url("evil/unit/spoof");
    let body = request(json!(3), "GetTask", json!({"id": "t-1"}));
    let (r, seen) = tokio::join!(rpc(&url, &body), async {
        let first = spy.next(Duration::from_secs(5)).await;
        if let Some(p) = &first {
            let task = json!({"jsonrpc": "2.0", "id": payload_json(p)["id"],
                "result": {"id": "t-1", "contextId": "c", "status": {"state": "TASK_STATE_COMPLETED"}}});
            spy.reply(p, &task).await;
        }
        first
    });
    let seen = seen.expect("a request was published");
    assert_eq!(topic_of(&seen), "$a2a/v1/request/evil/unit/spoof");
    assert_eq!(r["result"]["id"], "t-1", "{r}");
}

/// The fake agent of the data tests: its card is published by the test, and
/// the test answers its requests.
const DATA_AGENT: &str = "data/unit/agent";

/// Sends `call` while answering the one request it causes with `answer(request
/// JSON)`. Returns the HTTP result and every publish seen meanwhile.
async fn with_agent<T>(
    spy: &mut RawClient,
    call: impl std::future::Future<Output = T>,
    answer: impl Fn(&Value) -> Value,
) -> (T, Vec<Publish>) {
    let serve = async {
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let Some(p) = spy.next(Duration::from_millis(100)).await else {
                continue;
            };
            let is_request = topic_of(&p).starts_with("$a2a/v1/request/");
            if is_request {
                let req = payload_json(&p);
                let result = answer(&req["params"]);
                let reply = json!({"jsonrpc": "2.0", "id": req["id"], "result": result});
                spy.reply(&p, &reply).await;
            }
            seen.push(p);
            if is_request {
                break;
            }
        }
        seen
    };
    let (out, mut seen) = tokio::join!(call, serve);
    seen.extend(drain(spy, Duration::from_millis(300)).await);
    (out, seen)
}

/// Task ids, context ids and message ids never become topic levels: full of
/// `+`, `#`, `/` and `$`, they reach the agent verbatim inside the payload, on
/// the agent's own request topic, and come back unchanged.
#[tokio::test]
async fn task_and_context_ids_travel_as_data() {
    let broker = Broker::start();
    let gw = TestGateway::start(&broker).await;
    let mut spy = spy(&broker, "spy-data").await;
    spy.publish_retained(
        &format!("$a2a/v1/discovery/{DATA_AGENT}"),
        card_json("Data", false).to_string(),
        &[("a2a-status", "online")],
    )
    .await;
    gw.wait_agent(DATA_AGENT, "online").await;
    drain(&mut spy, Duration::from_millis(300)).await;
    let url = gw.agent_url(DATA_AGENT);
    let request_topic = format!("$a2a/v1/request/{DATA_AGENT}");
    let task = |id: &Value, state: &str| json!({"id": id, "contextId": "$SYS/#", "status": {"state": state}});

    // Checks what the spy saw: the request on the agent's topic, the reply on
    // the gateway's reply topic, nothing else.
    let check = |seen: &[Publish], what: &str| {
        let requests: Vec<&Publish> = seen
            .iter()
            .filter(|p| !topic_of(p).starts_with("$a2a/v1/reply/"))
            .collect();
        assert_eq!(
            requests.len(),
            1,
            "{what}: {:?}",
            seen.iter().map(topic_of).collect::<Vec<_>>()
        );
        assert_eq!(topic_of(requests[0]), request_topic, "{what}");
        let reply_topic = requests[0]
            .properties
            .as_ref()
            .and_then(|p| p.response_topic.clone())
            .expect("response topic");
        for p in seen {
            let t = topic_of(p);
            assert!(
                t == request_topic || t == reply_topic,
                "{what}: unexpected publish on {t}"
            );
            assert!(!t.contains('+') && !t.contains('#'), "{what}: {t}");
        }
        payload_json(requests[0])
    };

    let hostile = "+/#/$SYS/../\u{0}";
    // JSON-RPC GetTask.
    let (r, seen) = with_agent(
        &mut spy,
        rpc(&url, &request(json!(1), "GetTask", json!({"id": hostile}))),
        |p| task(&p["id"], "TASK_STATE_COMPLETED"),
    )
    .await;
    let sent = check(&seen, "GetTask");
    assert_eq!(sent["params"]["id"], hostile);
    assert_eq!(r["result"]["id"], hostile, "{r}");

    // JSON-RPC SendMessage continuing a task with hostile ids.
    let mut params = send_params("hi");
    params["message"]["taskId"] = json!("a/+/#");
    params["message"]["contextId"] = json!("$SYS/#");
    params["message"]["messageId"] = json!("#/+");
    let (r, seen) = with_agent(
        &mut spy,
        rpc(&url, &request(json!(2), "SendMessage", params)),
        |p| json!({"task": task(&p["message"]["taskId"], "TASK_STATE_COMPLETED")}),
    )
    .await;
    let sent = check(&seen, "SendMessage");
    assert_eq!(sent["params"]["message"]["taskId"], "a/+/#");
    assert_eq!(sent["params"]["message"]["contextId"], "$SYS/#");
    assert_eq!(sent["params"]["message"]["messageId"], "#/+");
    assert_eq!(r["result"]["task"]["id"], "a/+/#", "{r}");

    // REST: task ids in the path, percent-encoded.
    let rest_get = async {
        let r = http()
            .get(format!("{url}/tasks/a%2Bb%23c%24d"))
            .send()
            .await
            .expect("get");
        (r.status().as_u16(), r.json::<Value>().await.expect("json"))
    };
    let ((status, body), seen) =
        with_agent(&mut spy, rest_get, |p| task(&p["id"], "TASK_STATE_WORKING")).await;
    let sent = check(&seen, "REST GetTask");
    assert_eq!(sent["params"]["id"], "a+b#c$d");
    assert_eq!((status, &body["id"]), (200, &json!("a+b#c$d")), "{body}");

    let rest_cancel = async {
        let r = http()
            .post(format!("{url}/tasks/%2B%23%24:cancel"))
            .json(&json!({}))
            .send()
            .await
            .expect("post");
        (r.status().as_u16(), r.json::<Value>().await.expect("json"))
    };
    let ((status, body), seen) = with_agent(&mut spy, rest_cancel, |p| {
        task(&p["id"], "TASK_STATE_CANCELED")
    })
    .await;
    let sent = check(&seen, "REST CancelTask");
    assert_eq!(sent["params"]["id"], "+#$");
    assert_eq!((status, &body["id"]), (200, &json!("+#$")), "{body}");

    let rest_list = async {
        let r = http()
            .get(format!("{url}/tasks?contextId=%2B%2F%23&pageToken=%24SYS"))
            .send()
            .await
            .expect("get");
        (r.status().as_u16(), r.json::<Value>().await.expect("json"))
    };
    let ((status, body), seen) = with_agent(
        &mut spy,
        rest_list,
        |_| json!({"tasks": [], "nextPageToken": "", "pageSize": 0, "totalSize": 0}),
    )
    .await;
    let sent = check(&seen, "REST ListTasks");
    assert_eq!(sent["params"]["contextId"], "+/#");
    assert_eq!(sent["params"]["pageToken"], "$SYS");
    assert_eq!(status, 200, "{body}");

    // A `/` in a REST task id changes the route: not found, nothing published.
    let (status, text) = raw_http(
        gw.addr,
        "GET",
        format!("/agents/{DATA_AGENT}/tasks/a%2Fb").as_bytes(),
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 404, "{text}");
    let seen = drain(&mut spy, Duration::from_millis(300)).await;
    assert!(
        seen.is_empty(),
        "{:?}",
        seen.iter().map(topic_of).collect::<Vec<_>>()
    );
}
