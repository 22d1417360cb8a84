//! Untrusted input: everything the gateway parses from HTTP clients, agents and
//! the broker is fed arbitrary bytes, arbitrary JSON trees and mutated valid
//! documents. Nothing may panic, nothing may allocate without bound (deep
//! nesting and huge inputs are refused or handled in linear time), valid seeds
//! parse, typed values round-trip, and identifiers that could inject MQTT topic
//! levels are refused before any topic is built. No broker needed.
//!
//! Allocation is measured, not argued: this binary's global allocator counts
//! each thread's live bytes, and every parse of the envelope, the v1.0 types,
//! the card validator and the agent-reply decoder (corpus, properties, huge
//! inputs) must peak within its budget, k × input length + C (`within_budget`;
//! the budgets say how they were chosen). The huge inputs also have a time
//! bound (`within_time`).
//!
//! | target | what is parsed | corpus |
//! |---|---|---|
//! | JSON-RPC envelope | `a2a::jsonrpc::parse_request` (HTTP bodies; agents' requests over MQTT) | `tests/corpus/jsonrpc/` |
//! | v1.0 types | `SendMessageRequest`, `Task`, `StreamResponse`, `Message`, `Part`, the other params types, bytes -> `Value` -> type as the gateway does | `send_message_request/`, `task/`, `stream_response/` |
//! | agent replies | `gateway::exchange::decode_reply`, then `StreamTracker`, `task_result` and the v0.3 result translators | `agent_reply/` |
//! | Agent Cards | `a2a::card::validate`, `served_card`, the v0.3 merged card | `card/` |
//! | v0.3 params | `a2a::v03::params_to_v1` (every method), `v03_rest::send_request_to_v1` | `v03_send_params/` |
//! | discovery topics, ids | `mqtt::topics::parse_discovery_topic`, `check_id`, `check_discovery_filter` | `discovery_topic/` |
//! | the HTTP pipeline | the real axum router in-process (broker down, one card indexed): bodies, headers and ids | - |
//!
//! Corpus files are named `ok-*` (must be accepted) or `err-*` (must be
//! refused); `tests/corpus/README.md` tells how to add one.
//!
//! Rerun (CI; a few hundred cases per property, about 10 s in debug):
//!
//! ```text
//! cargo test --test untrusted_input
//! ```
//!
//! Long run (every property gets PROPTEST_CASES cases):
//!
//! ```text
//! PROPTEST_CASES=100000 cargo test --release --test untrusted_input
//! ```
//!
//! A failing case is saved (as a seed) to
//! `tests/corpus/proptest-regressions/untrusted_input.txt`, which is replayed
//! first on every run: commit it, and add the shrunk input to the corpus.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use a2a_mqtt_gateway::a2a::card::{self, CardError};
use a2a_mqtt_gateway::a2a::jsonrpc;
use a2a_mqtt_gateway::a2a::types::{
    Artifact, GetTaskRequest, ListTasksRequest, ListTasksResponse, Message, Part,
    SendMessageRequest, StreamResponse, Task, TaskArtifactUpdateEvent, TaskIdRequest,
    TaskStatusUpdateEvent,
};
use a2a_mqtt_gateway::a2a::{JsonRpcError, Method, codes, v03, v03_rest};
use a2a_mqtt_gateway::config::Config;
use a2a_mqtt_gateway::gateway::cards::interfaces;
use a2a_mqtt_gateway::gateway::exchange::{
    AgentItem, Mode, StreamTracker, decode_reply, task_result,
};
use a2a_mqtt_gateway::gateway::{ErrorKind, Gateway, GatewayError};
use a2a_mqtt_gateway::mqtt::AgentAddr;
use a2a_mqtt_gateway::mqtt::topics::{
    self, MAX_ID_LEN, check_discovery_filter, check_id, filter_matches, parse_discovery_topic,
};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::FileFailurePersistence;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Number, Value, json};
use tower::ServiceExt;

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// Where proptest keeps the seeds of failing cases (replayed on every run).
const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/corpus/proptest-regressions/untrusted_input.txt"
);

/// `cases` unless PROPTEST_CASES says otherwise; the other PROPTEST_* variables
/// apply as usual.
fn config(cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
    }
    c.failure_persistence = Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS)));
    c
}

/// The gateway's defaults, as the targets use them.
const MAX_CARD_BYTES: usize = 64 * 1024;
const AGENT: &str = "acme/plant1/echo";

// ---------------------------------------------------------------------------
// Allocation meter
// ---------------------------------------------------------------------------

/// This test binary's allocator: the system's, counting the bytes each thread
/// has live and their peak. The counts are per thread, not process-wide:
/// `cargo test` runs the tests on parallel threads, and a process-wide peak
/// would include whatever the other tests (and proptest's generators) hold at
/// that moment. A parse runs on the calling thread, so its own peak is exact.
mod meter {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub struct Counting;

    thread_local! {
        /// Bytes allocated minus bytes freed by this thread (negative when it
        /// frees what another thread allocated).
        static LIVE: Cell<isize> = const { Cell::new(0) };
        /// The highest `LIVE` since the last [`peak_during`] started.
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn grew(bytes: usize) {
        // `try_with`: allocations during a thread's teardown are not counted.
        let _ = LIVE.try_with(|live| {
            let now = live.get().saturating_add_unsigned(bytes);
            live.set(now);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
        });
    }

    fn shrank(bytes: usize) {
        let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub_unsigned(bytes)));
    }

    // SAFETY: every call goes to `System` unchanged; only counters move.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                grew(layout.size());
            }
            p
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                grew(layout.size());
            }
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) };
            shrank(layout.size());
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                // Both blocks counted for a moment, as a moving realloc holds
                // them: the peak errs high, never low.
                grew(new_size);
                shrank(layout.size());
            }
            p
        }
    }

    /// Runs `f`; returns its result and the most bytes this thread held
    /// during `f` beyond what it held before (the result's own included).
    pub fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
        let start = LIVE.with(Cell::get);
        PEAK.with(|peak| peak.set(start));
        let out = f();
        let peak = PEAK.with(Cell::get);
        (out, usize::try_from(peak - start).unwrap_or(0))
    }
}

#[global_allocator]
static ALLOCATOR: meter::Counting = meter::Counting;

/// The most a parse may allocate at once: `per_byte` × input length + `fixed`.
#[derive(Clone, Copy, Debug)]
struct Budget {
    per_byte: usize,
    fixed: usize,
}

/// Runs `parse` (of `input`) under the allocation meter and asserts that its
/// peak stays within `budget`. Only the parse is measured: building the input
/// and checking the result happen outside.
fn within_budget<T>(what: &str, budget: Budget, input: &[u8], parse: impl FnOnce() -> T) -> T {
    let (out, peak) = meter::peak_during(parse);
    if std::env::var_os("ALLOC_REPORT").is_some() {
        eprintln!("ALLOC\t{what}\t{}\t{peak}", input.len());
    }
    let limit = budget
        .per_byte
        .saturating_mul(input.len())
        .saturating_add(budget.fixed);
    assert!(
        peak <= limit,
        "{what}: a parse of {} bytes allocated {peak} bytes at its peak, over the budget of \
         {} × {} + {} = {limit} bytes; input starts {:?}",
        input.len(),
        budget.per_byte,
        input.len(),
        budget.fixed,
        String::from_utf8_lossy(&input[..input.len().min(200)])
    );
    out
}

// Budgets, from measurement (`ALLOC_REPORT=1 cargo test --test untrusted_input
// -- --nocapture` prints every measured parse: what, input bytes, peak bytes),
// with margin. The fixed part covers small inputs (an error message and the
// like: at most 440 bytes measured on empty input); the per-byte part is twice
// the worst shape found.
//
// The envelope only skims the document (`RawValue`): it copies at most the
// method and an unescaped id, under 2 bytes per input byte measured.
const ENVELOPE_BUDGET: Budget = Budget {
    per_byte: 4,
    fixed: 16 << 10,
};
// The others build a `Value` (the types from text too: their metadata and
// struct fields are `Value`s). The worst shape is objects of one member nested
// in each other, `{"":{"":...}}`: each 5 input bytes become a BTreeMap leaf of
// 11 slots (632 bytes; serde_json's `Map` without `preserve_order`), 126 bytes
// per input byte measured.
const TYPES_BUDGET: Budget = Budget {
    per_byte: 256,
    fixed: 16 << 10,
};
const CARD_BUDGET: Budget = TYPES_BUDGET;
const REPLY_BUDGET: Budget = TYPES_BUDGET;

/// How long one huge input may take through its parsers: generous, for a
/// debug build on a loaded 2-core machine (each takes under 1 s unloaded).
const HUGE_INPUT_TIME: Duration = Duration::from_secs(30);

/// Runs `work` on a thread of its own and fails if it has not finished after
/// `bound`: a parse gone quadratic fails the test instead of hanging it.
/// (The allocation meter counts per thread, so budgets apply there too.)
fn within_time(what: &str, bound: Duration, work: impl FnOnce() + Send + 'static) -> Duration {
    let (done, finished) = std::sync::mpsc::channel();
    let started = Instant::now();
    let worker = std::thread::Builder::new()
        .name(what.to_owned())
        .spawn(move || {
            work();
            let _ = done.send(());
        })
        .expect("a thread for the work");
    match finished.recv_timeout(bound) {
        Ok(()) => {
            let took = started.elapsed();
            worker.join().expect("the work finished");
            took
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: not done after {bound:?}")
        }
        // The work panicked: its panic is the failure.
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => panic!("{what}: the work ended without finishing"),
        },
    }
}

// ---------------------------------------------------------------------------
// Targets: one function per parser, shared by the corpus and the properties.
// Each returns Ok when the input is accepted, Err(reason) when refused, and
// asserts the invariants that must hold either way (a broken one panics).
// ---------------------------------------------------------------------------

type Outcome = Result<(), String>;

/// Whether `text` is syntactically one JSON value.
fn is_json(text: &str) -> bool {
    serde_json::from_str::<Box<RawValue>>(text).is_ok()
}

/// `jsonrpc::parse_request`, under the allocation meter.
fn parse_envelope(bytes: &[u8]) -> Result<jsonrpc::Request<'_>, jsonrpc::EnvelopeError> {
    within_budget("JSON-RPC envelope", ENVELOPE_BUDGET, bytes, || {
        jsonrpc::parse_request(bytes)
    })
}

/// The JSON-RPC envelope.
fn envelope(bytes: &[u8]) -> Outcome {
    match parse_envelope(bytes) {
        Ok(req) => {
            let id = req.id.as_json();
            assert!(is_json(id), "echoed id {id:?} is not JSON");
            assert!(
                matches!(
                    id.as_bytes().first(),
                    Some(b'"' | b'-' | b'0'..=b'9' | b'n')
                ),
                "id {id:?} is not a string, number or null"
            );
            if let Some(p) = req.params {
                assert!(p.get().starts_with('{'), "params {:?} accepted", p.get());
            }
            let ok = jsonrpc::success(&req.id, "{}");
            assert!(is_json(&ok), "success response is not JSON: {ok}");
            Ok(())
        }
        Err(e) => {
            assert!(
                [
                    codes::PARSE_ERROR,
                    codes::INVALID_REQUEST,
                    codes::INVALID_PARAMS
                ]
                .contains(&e.error.code),
                "unexpected code {}",
                e.error.code
            );
            assert!(!e.error.message.is_empty());
            let out = jsonrpc::failure(&e.id, &e.error);
            assert!(is_json(&out), "error response is not JSON: {out}");
            // The id is echoed as sent: an id whose text is JSON but not
            // Unicode (a lone surrogate escape, found by this test) makes a
            // response that only lenient parsers read, as the request was.
            match serde_json::from_str::<Value>(&out) {
                Ok(v) => assert_eq!(v["error"]["code"], e.error.code),
                Err(_) => assert!(
                    serde_json::from_str::<Value>(e.id.as_json()).is_err(),
                    "a strict id made a lenient response: {out}"
                ),
            }
            Err(e.error.message)
        }
    }
}

/// bytes -> `Value` -> `T`, the way the gateway reads params (JSON-RPC `params`
/// and REST bodies are parsed to a `Value` first). A successful parse must
/// survive serialising and parsing again unchanged; parsing the bytes directly
/// must agree with the two-step path.
fn typed<T>(bytes: &[u8]) -> Outcome
where
    T: DeserializeOwned + Serialize + PartialEq + fmt::Debug,
{
    let what = std::any::type_name::<T>();
    // Both ways the gateway reads a type: from the JSON text, and from a
    // `Value` parsed first (the `Value` counts against the budget too).
    let direct = within_budget(what, TYPES_BUDGET, bytes, || {
        serde_path_to_error::deserialize::<_, T>(&mut serde_json::Deserializer::from_slice(bytes))
    });
    let (value, via_value) = within_budget(what, TYPES_BUDGET, bytes, || {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(value) => {
                let typed = serde_path_to_error::deserialize::<_, T>(&value);
                (Ok(value), Some(typed))
            }
            Err(e) => (Err(e.to_string()), None),
        }
    });
    let direct = direct.map_err(|e| e.into_inner());
    value?;
    let via_value = via_value.expect("a typed parse for every Value");
    if let Ok(d) = &direct {
        // (The reverse may differ: a duplicate key is an error for a struct
        // read from text, but a Value keeps the last one.)
        assert_eq!(
            via_value.as_ref().ok(),
            Some(d),
            "direct and Value parses disagree"
        );
    }
    let t = via_value.map_err(|e| e.to_string())?;
    round_trip(&t);
    Ok(())
}

fn round_trip<T>(t: &T)
where
    T: DeserializeOwned + Serialize + PartialEq + fmt::Debug,
{
    let text = serde_json::to_vec(t).expect("a parsed value serialises");
    let back: T = serde_json::from_slice(&text)
        .unwrap_or_else(|e| panic!("re-parse of {} failed: {e}", String::from_utf8_lossy(&text)));
    assert_eq!(&back, t, "round trip changed the value");
}

/// Every v1.0 type the gateway or the agent SDK reads from outside.
fn all_types(bytes: &[u8]) {
    let _ = typed::<SendMessageRequest>(bytes);
    let _ = typed::<GetTaskRequest>(bytes);
    let _ = typed::<TaskIdRequest>(bytes);
    let _ = typed::<ListTasksRequest>(bytes);
    let _ = typed::<ListTasksResponse>(bytes);
    let _ = typed::<Message>(bytes);
    let _ = typed::<Part>(bytes);
    let _ = typed::<Task>(bytes);
    let _ = typed::<Artifact>(bytes);
    let _ = typed::<TaskStatusUpdateEvent>(bytes);
    let _ = typed::<TaskArtifactUpdateEvent>(bytes);
    let _ = typed::<StreamResponse>(bytes);
    let _ = typed::<JsonRpcError>(bytes);
}

/// `decode_reply`, under the allocation meter.
fn decode_agent_reply(bytes: &[u8]) -> Result<AgentItem, GatewayError> {
    within_budget("agent reply decoder", REPLY_BUDGET, bytes, || {
        decode_reply(AGENT, bytes)
    })
}

/// One reply payload from an agent, through everything that consumes it.
fn agent_reply(bytes: &[u8]) -> Outcome {
    let item = decode_agent_reply(bytes).map_err(|e| {
        assert_eq!(e.kind, ErrorKind::InvalidAgentResponse, "{}", e.message);
        e.message
    })?;
    let modes = [
        Mode::Stream,
        Mode::Blocking {
            task_result_ends: true,
        },
        Mode::Blocking {
            task_result_ends: false,
        },
        Mode::Immediate,
    ];
    for mode in modes {
        let mut tracker = StreamTracker::new(
            AGENT,
            mode,
            Some("t-1".into()),
            Some("c-1".into()),
            Some(json!({"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "hi"}]}).into()),
        );
        // The same item twice: a stream must cope with an agent that repeats.
        for _ in 0..2 {
            match tracker.on_item(item.clone()) {
                Ok(items) => {
                    for out in items {
                        let obj = out.as_object().expect("stream items are objects");
                        assert_eq!(obj.len(), 1, "{out}");
                        assert!(
                            ["task", "message", "statusUpdate", "artifactUpdate"]
                                .iter()
                                .any(|k| obj.contains_key(*k)),
                            "{out}"
                        );
                    }
                }
                Err(_) => break,
            }
            if tracker.is_finished() {
                break;
            }
        }
        let _ = tracker.take_outcome();
        let _ = tracker.task_id();
    }
    if let AgentItem::Result(v) = &item {
        let _ = task_result(AGENT, "t-1", v.clone());
        for m in Method::ALL {
            let _ = v03::result_to_v03(m, v);
        }
        let _ = v03::stream_item_to_v03(v);
        let _ = v03_rest::stream_item_to_v03(v);
        let _ = v03_rest::task_to_v03(v);
        let _ = v03_rest::send_response_to_v03(v);
    }
    Ok(())
}

/// An Agent Card from a discovery topic or a registry PUT.
fn agent_card(bytes: &[u8]) -> Outcome {
    let valid = validate_card(bytes, MAX_CARD_BYTES).map_err(|e| e.to_string())?;
    let obj = valid.card.as_object().expect("a valid card is an object");
    assert_eq!(obj["name"], valid.name.as_str());
    assert_eq!(obj["description"], valid.description.as_str());

    // What HTTP clients get: the gateway's endpoints, built from the validated
    // address only; nothing of the card's own interfaces survives.
    let addr: AgentAddr = AGENT.parse().expect("address");
    let ours = interfaces("http://gw.example", &addr);
    let served = card::served_card(&valid.card, &ours);
    let served_ifaces = served["supportedInterfaces"]
        .as_array()
        .expect("interfaces");
    assert_eq!(served_ifaces.len(), ours.len());
    for (s, o) in served_ifaces.iter().zip(&ours) {
        assert_eq!(s["url"], o.url.as_str());
        assert_eq!(s.as_object().map(|m| m.len()), Some(3), "{s}");
    }
    assert!(served.get("signatures").is_none());
    assert_eq!(served["capabilities"]["pushNotifications"], false);
    for (k, v) in obj {
        if !matches!(
            k.as_str(),
            "supportedInterfaces" | "signatures" | "capabilities"
        ) {
            assert_eq!(&served[k], v, "field {k} changed");
        }
    }
    let again = card::validate(served.to_string().as_bytes(), usize::MAX)
        .expect("the served card is a valid card");
    assert_eq!(again.name, valid.name);
    assert_eq!(again.streaming, valid.streaming);

    let merged = v03::card_to_v03_merged(&served);
    assert!(merged.is_object());
    let _ = v03::card_to_v1(&merged);
    let _ = v03::card_to_v03_merged(&valid.card);
    Ok(())
}

/// `card::validate`, under the allocation meter.
fn validate_card(bytes: &[u8], max_bytes: usize) -> Result<card::ValidCard, CardError> {
    within_budget("card validator", CARD_BUDGET, bytes, || {
        card::validate(bytes, max_bytes)
    })
}

/// v0.3 JSON-RPC params (and REST bodies) translated to v1.0. An accepted
/// message/send must become a valid v1.0 SendMessageRequest.
fn v03_send_params(bytes: &[u8]) -> Outcome {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    for m in Method::ALL {
        let _ = v03::params_to_v1(m, &v);
    }
    let _ = v03_rest::send_request_to_v1(&v);
    let _ = v03::message_to_v1(&v);
    let _ = v03::task_to_v1(&v);
    let v1 = v03::params_to_v1(Method::SendMessage, &v).map_err(|e| e.0)?;
    let typed: SendMessageRequest = serde_path_to_error::deserialize(&v1)
        .map_err(|e| format!("translated params {v1} are not a SendMessageRequest: {e}"))?;
    round_trip(&typed);
    Ok(())
}

/// A discovery topic name.
fn discovery_topic(bytes: &[u8]) -> Outcome {
    let topic = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let addr = parse_discovery_topic(topic).map_err(|e| e.to_string())?;
    assert_eq!(addr.discovery_topic(), topic);
    for built in [addr.discovery_topic(), addr.request_topic()] {
        let levels: Vec<&str> = built.split('/').collect();
        assert_eq!(levels.len(), 6, "{built}");
        for level in &levels[1..] {
            assert!(check_id("level", level).is_ok(), "{built}: level {level:?}");
        }
    }
    assert_eq!(AgentAddr::parse(&addr.to_string()), Ok(addr));
    Ok(())
}

/// The reference for `check_id`: the profile's `^[A-Za-z0-9_.-]+$`, at most
/// [`MAX_ID_LEN`] bytes.
fn id_is_valid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

// ---------------------------------------------------------------------------
// Corpus
// ---------------------------------------------------------------------------

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(target)
}

/// Every file of a target's corpus, sorted: (name, bytes).
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("dir entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("file name")
                .to_owned();
            let bytes = std::fs::read(&path).expect("corpus file");
            (name, bytes)
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{} holds too few files", dir.display());
    files
}

/// Runs a target over its corpus: `ok-*` must be accepted, `err-*` refused.
fn run_corpus(target: &str, parse: fn(&[u8]) -> Outcome) {
    let mut failures = Vec::new();
    for (name, bytes) in corpus(target) {
        let outcome = std::panic::catch_unwind(|| parse(&bytes));
        match outcome {
            Err(_) => failures.push(format!("{target}/{name}: panicked")),
            Ok(Ok(())) if name.starts_with("err-") => {
                failures.push(format!("{target}/{name}: accepted"))
            }
            Ok(Err(why)) if name.starts_with("ok-") => {
                failures.push(format!("{target}/{name}: refused: {why}"))
            }
            Ok(_) if name.starts_with("ok-") || name.starts_with("err-") => {}
            Ok(_) => failures.push(format!("{target}/{name}: name must start ok- or err-")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The accepted documents of a corpus, as JSON seeds for mutation.
fn seeds(target: &str) -> Vec<Value> {
    corpus(target)
        .into_iter()
        .filter(|(name, _)| name.starts_with("ok-"))
        .filter_map(|(_, bytes)| serde_json::from_slice(&bytes).ok())
        .collect()
}

#[test]
fn corpus_jsonrpc() {
    run_corpus("jsonrpc", envelope);
}

#[test]
fn corpus_send_message_request() {
    run_corpus("send_message_request", typed::<SendMessageRequest>);
}

#[test]
fn corpus_task() {
    run_corpus("task", typed::<Task>);
}

#[test]
fn corpus_stream_response() {
    run_corpus("stream_response", typed::<StreamResponse>);
}

#[test]
fn corpus_agent_reply() {
    run_corpus("agent_reply", agent_reply);
}

#[test]
fn corpus_card() {
    run_corpus("card", agent_card);
}

#[test]
fn corpus_v03_send_params() {
    run_corpus("v03_send_params", v03_send_params);
}

#[test]
fn corpus_discovery_topic() {
    run_corpus("discovery_topic", discovery_topic);
}

/// Every corpus file through every target: refusals are fine, panics are not.
#[test]
fn corpus_cross_feed() {
    for target in [
        "jsonrpc",
        "send_message_request",
        "task",
        "stream_response",
        "agent_reply",
        "card",
        "v03_send_params",
        "discovery_topic",
    ] {
        for (_, bytes) in corpus(target) {
            let _ = envelope(&bytes);
            all_types(&bytes);
            let _ = agent_reply(&bytes);
            let _ = agent_card(&bytes);
            let _ = v03_send_params(&bytes);
            let _ = discovery_topic(&bytes);
        }
    }
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// Field names of the A2A types (v1.0 and v0.3), the envelope and cards, so
/// that arbitrary trees often hit real fields.
const FIELDS: &[&str] = &[
    "jsonrpc",
    "id",
    "method",
    "params",
    "result",
    "error",
    "code",
    "message",
    "data",
    "a2a_error",
    "messageId",
    "message_id",
    "role",
    "parts",
    "text",
    "raw",
    "url",
    "metadata",
    "filename",
    "mediaType",
    "media_type",
    "contextId",
    "context_id",
    "taskId",
    "task_id",
    "extensions",
    "referenceTaskIds",
    "task",
    "status",
    "state",
    "timestamp",
    "artifacts",
    "artifact",
    "artifactId",
    "history",
    "statusUpdate",
    "artifactUpdate",
    "status_update",
    "append",
    "lastChunk",
    "configuration",
    "acceptedOutputModes",
    "historyLength",
    "returnImmediately",
    "blocking",
    "tenant",
    "pageSize",
    "pageToken",
    "tasks",
    "kind",
    "file",
    "bytes",
    "uri",
    "mimeType",
    "final",
    "name",
    "description",
    "version",
    "supportedInterfaces",
    "protocolBinding",
    "protocolVersion",
    "capabilities",
    "streaming",
    "pushNotifications",
    "defaultInputModes",
    "defaultOutputModes",
    "skills",
    "tags",
    "signatures",
];

/// Strings that mean something somewhere: enum names, versions, base64, MQTT
/// wildcards and separators, escapes that trip parsers.
const STRINGS: &[&str] = &[
    "",
    "+",
    "#",
    "/",
    "$",
    "$SYS",
    "$a2a/v1/request/acme/plant1/echo",
    "a/+/#",
    "..",
    ".",
    "\0",
    "\u{7f}",
    "\u{202e}",
    "\u{feff}",
    "\u{10ffff}",
    "\"",
    "\\",
    "2.0",
    "1.0",
    "0.3",
    "SendMessage",
    "SendStreamingMessage",
    "GetTask",
    "ListTasks",
    "CancelTask",
    "message/send",
    "tasks/get",
    "ROLE_USER",
    "ROLE_AGENT",
    "user",
    "agent",
    "TASK_STATE_SUBMITTED",
    "TASK_STATE_WORKING",
    "TASK_STATE_COMPLETED",
    "TASK_STATE_INPUT_REQUIRED",
    "completed",
    "working",
    "text",
    "file",
    "data",
    "message",
    "task",
    "status-update",
    "artifact-update",
    "aGVsbG8=",
    "aGVsbG8",
    "a-_b",
    "abc===",
    "text/plain",
    "application/json",
    "request_expired",
    "responder_unavailable",
    "transport_protocol_error",
    "t-1",
    "c-1",
    "m-1",
];

fn arb_string() -> BoxedStrategy<String> {
    prop_oneof![
        4 => select(STRINGS).prop_map(str::to_owned),
        4 => "\\PC{0,12}",
        2 => "(?s:.{0,12})",
        1 => (any::<char>(), select(vec![MAX_ID_LEN + 1, 300, 4096]))
            .prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
    .boxed()
}

fn number(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

fn arb_number() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(number),
        select(vec![
            0i64,
            -1,
            1,
            i32::MAX as i64,
            i32::MAX as i64 + 1,
            i32::MIN as i64,
            i32::MIN as i64 - 1,
            i64::MIN,
            i64::MAX,
            -32001,
            -32004,
        ])
        .prop_map(Value::from),
        select(vec![u64::MAX, 1 << 32]).prop_map(Value::from),
        select(vec![1e308, -1e308, 5e-324, 0.5, -0.0, 2.5]).prop_map(number),
    ]
    .boxed()
}

fn arb_key() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(FIELDS).prop_map(str::to_owned),
        1 => arb_string(),
    ]
    .boxed()
}

/// Arbitrary JSON trees, bounded in depth and size.
fn arb_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        arb_number(),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((arb_key(), inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

/// One change to a JSON tree, applied at a node chosen by a path of indexes.
#[derive(Debug, Clone)]
enum Op {
    Replace(Value),
    RemoveChild(Index),
    Insert(String, Value),
    /// Same content, another JSON type (string <-> number, object <-> array...).
    Retype,
    /// Wrapped in this many arrays (past serde_json's limit of 128 too).
    Nest(usize),
}

fn arb_op() -> BoxedStrategy<Op> {
    prop_oneof![
        3 => arb_json().prop_map(Op::Replace),
        3 => any::<Index>().prop_map(Op::RemoveChild),
        2 => (arb_key(), arb_json()).prop_map(|(k, v)| Op::Insert(k, v)),
        2 => Just(Op::Retype),
        1 => (any::<char>(), select(vec![70_000usize, 300_000]))
            .prop_map(|(c, n)| Op::Replace(Value::String(c.to_string().repeat(n)))),
        1 => prop_oneof![1usize..8, 120usize..140, 200usize..400].prop_map(Op::Nest),
    ]
    .boxed()
}

/// A change to the serialised text: what no `Value` can express.
#[derive(Debug, Clone)]
enum TextOp {
    None,
    Truncate(Index),
    Splice(Index, &'static [u8]),
}

/// Tokens that break or stretch JSON text.
const SPLICES: &[&[u8]] = &[
    b"1e400",
    b"-",
    b"18446744073709551616",
    b"\"",
    b"\\",
    b"\\ud800",
    b"\\u0000",
    b"\xff",
    b"\xef\xbb\xbf",
    b"[",
    b"{",
    b"}",
    b"]",
    b",",
    b":",
    b"null",
    b"NaN",
    b"Infinity",
    b"/* */",
    b"\"id\":1,",
    b"\"messageId\":\"dup\",",
];

fn arb_text_op() -> BoxedStrategy<TextOp> {
    prop_oneof![
        6 => Just(TextOp::None),
        1 => any::<Index>().prop_map(TextOp::Truncate),
        2 => (any::<Index>(), select(SPLICES)).prop_map(|(i, s)| TextOp::Splice(i, s)),
    ]
    .boxed()
}

fn node_at<'a>(v: &'a mut Value, path: &[Index]) -> &'a mut Value {
    let Some((idx, rest)) = path.split_first() else {
        return v;
    };
    let len = match &*v {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        _ => 0,
    };
    if len == 0 {
        return v;
    }
    let i = idx.index(len);
    match v {
        Value::Array(a) => node_at(&mut a[i], rest),
        Value::Object(o) => match o.values_mut().nth(i) {
            Some(child) => node_at(child, rest),
            None => unreachable!("index within the length"),
        },
        other => other,
    }
}

fn apply(doc: &mut Value, path: &[Index], op: &Op) {
    let node = node_at(doc, path);
    match op {
        Op::Replace(v) => *node = v.clone(),
        Op::RemoveChild(i) => match node {
            Value::Array(a) if !a.is_empty() => {
                a.remove(i.index(a.len()));
            }
            Value::Object(o) if !o.is_empty() => {
                let key = o.keys().nth(i.index(o.len())).cloned();
                if let Some(k) = key {
                    o.remove(&k);
                }
            }
            other => *other = Value::Null,
        },
        Op::Insert(k, v) => match node {
            Value::Object(o) => {
                o.insert(k.clone(), v.clone());
            }
            Value::Array(a) => a.push(v.clone()),
            other => *other = json!({ k.clone(): v.clone() }),
        },
        Op::Retype => {
            let old = node.take();
            *node = match old {
                Value::Null => Value::Bool(false),
                Value::Bool(b) => Value::String(b.to_string()),
                Value::Number(n) => Value::String(n.to_string()),
                Value::String(s) => s
                    .parse::<f64>()
                    .ok()
                    .map_or_else(|| Value::from(s.len()), number),
                Value::Array(a) => Value::Object(
                    a.into_iter()
                        .enumerate()
                        .map(|(i, v)| (i.to_string(), v))
                        .collect(),
                ),
                Value::Object(o) => Value::Array(o.into_iter().map(|(_, v)| v).collect()),
            };
        }
        Op::Nest(n) => {
            let mut v = node.take();
            for _ in 0..*n {
                v = Value::Array(vec![v]);
            }
            *node = v;
        }
    }
}

/// Input bytes, shown as text when they are UTF-8.
#[derive(Clone)]
struct Doc(Vec<u8>);

impl fmt::Debug for Doc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(&self.0) {
            Ok(s) if s.len() > 2000 => {
                let head: String = s.chars().take(2000).collect();
                write!(f, "{head:?}... ({} bytes)", s.len())
            }
            Ok(s) => write!(f, "{s:?}"),
            Err(_) => write!(f, "{:?}", self.0),
        }
    }
}

/// Valid seeds, each changed by up to four tree operations and perhaps one
/// text operation. With no operation the seed itself comes out.
fn mutated(seeds: Vec<Value>) -> BoxedStrategy<Doc> {
    assert!(!seeds.is_empty());
    (
        select(seeds),
        vec((vec(any::<Index>(), 0..6), arb_op()), 0..4),
        arb_text_op(),
    )
        .prop_map(|(mut doc, ops, text_op)| {
            for (path, op) in &ops {
                apply(&mut doc, path, op);
            }
            let mut bytes = serde_json::to_vec(&doc).expect("a Value serialises");
            match text_op {
                TextOp::None => {}
                TextOp::Truncate(i) => bytes.truncate(i.index(bytes.len() + 1)),
                TextOp::Splice(i, s) => {
                    let at = i.index(bytes.len() + 1);
                    bytes.splice(at..at, s.iter().copied());
                }
            }
            Doc(bytes)
        })
        .boxed()
}

fn arb_bytes() -> BoxedStrategy<Doc> {
    vec(any::<u8>(), 0..4096).prop_map(Doc).boxed()
}

/// Arbitrary JSON trees, serialised.
fn arb_json_doc() -> BoxedStrategy<Doc> {
    arb_json()
        .prop_map(|v| Doc(serde_json::to_vec(&v).expect("serialises")))
        .boxed()
}

/// Bytes for a target: raw bytes, arbitrary JSON, or mutated seeds of `target`.
fn inputs(target: &str) -> BoxedStrategy<Doc> {
    prop_oneof![
        1 => arb_bytes(),
        2 => arb_json_doc(),
        4 => mutated(seeds(target)),
    ]
    .boxed()
}

/// Base64 of `bytes`, in either alphabet, with or without padding (all four
/// are what ProtoJSON accepts for `bytes`).
fn base64(bytes: &[u8], url_safe: bool, padded: bool) -> String {
    let alphabet: &[u8; 64] = if url_safe {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if padded {
            out.push_str(&"=".repeat(3 - chunk.len()));
        }
    }
    out
}

/// A valid v1.0 Message built field by field (for round trips).
fn arb_message() -> BoxedStrategy<Message> {
    let part = (
        prop_oneof![
            arb_string().prop_map(|t| json!({ "text": t })),
            (vec(any::<u8>(), 0..48), any::<bool>(), any::<bool>())
                .prop_map(|(b, url_safe, padded)| json!({ "raw": base64(&b, url_safe, padded) })),
            arb_string().prop_map(|u| json!({ "url": u })),
            arb_json().prop_map(|d| json!({ "data": d })),
        ],
        proptest::option::of(arb_string()),
        proptest::option::of(arb_string()),
    )
        .prop_map(|(mut p, filename, media)| {
            if let Some(f) = filename {
                p["filename"] = json!(f);
            }
            if let Some(m) = media {
                p["mediaType"] = json!(m);
            }
            p
        });
    (
        arb_string(),
        proptest::option::of(arb_string()),
        proptest::option::of(arb_string()),
        select(vec!["ROLE_USER", "ROLE_AGENT", "ROLE_UNSPECIFIED"]),
        vec(part, 0..4),
        proptest::option::of(arb_json()),
        vec(arb_string(), 0..3),
    )
        .prop_map(|(id, ctx, task, role, parts, meta, refs)| {
            let mut m = json!({ "messageId": id, "role": role, "parts": parts });
            if let Some(c) = ctx {
                m["contextId"] = json!(c);
            }
            if let Some(t) = task {
                m["taskId"] = json!(t);
            }
            if let Some(Value::Object(o)) = meta {
                m["metadata"] = Value::Object(o);
            }
            if !refs.is_empty() {
                m["referenceTaskIds"] = json!(refs);
            }
            serde_json::from_value::<Message>(m).expect("a well-formed message parses")
        })
        .boxed()
}

/// A JSON-RPC envelope built member by member, often right, often not.
fn arb_envelope() -> BoxedStrategy<Value> {
    let jsonrpc = prop_oneof![3 => Just(json!("2.0")), 1 => arb_json()];
    let id = prop_oneof![
        arb_string().prop_map(Value::String),
        arb_number(),
        Just(Value::Null),
        arb_json(),
    ];
    let method = prop_oneof![
        3 => select(STRINGS).prop_map(|s| json!(s)),
        1 => arb_json(),
    ];
    let params = prop_oneof![
        3 => arb_json().prop_map(|v| match v {
            Value::Object(_) => v,
            other => json!({ "x": other }),
        }),
        1 => Just(Value::Null),
        1 => arb_json(),
    ];
    (
        proptest::option::weighted(0.9, jsonrpc),
        proptest::option::weighted(0.9, id),
        proptest::option::weighted(0.9, method),
        proptest::option::weighted(0.7, params),
        vec((arb_key(), arb_json()), 0..2),
        prop_oneof![9 => Just(None), 1 => arb_json().prop_map(Some)],
    )
        .prop_map(|(jsonrpc, id, method, params, extra, replace)| {
            if let Some(v) = replace {
                return v;
            }
            let mut obj = serde_json::Map::new();
            for (k, v) in extra {
                obj.insert(k, v);
            }
            for (k, v) in [
                ("jsonrpc", jsonrpc),
                ("id", id),
                ("method", method),
                ("params", params),
            ] {
                match v {
                    Some(v) => obj.insert(k.into(), v),
                    None => obj.remove(k),
                };
            }
            Value::Object(obj)
        })
        .boxed()
}

/// What `parse_request` must answer for a document: the method name, or the
/// error code and whether the id is already known.
fn envelope_model(doc: &Value) -> Result<String, (i64, bool)> {
    let Value::Object(obj) = doc else {
        return Err((codes::INVALID_REQUEST, false));
    };
    match obj.get("id") {
        Some(Value::String(_) | Value::Number(_) | Value::Null) => {}
        _ => return Err((codes::INVALID_REQUEST, false)),
    }
    if obj.get("jsonrpc") != Some(&json!("2.0")) {
        return Err((codes::INVALID_REQUEST, true));
    }
    let Some(Value::String(method)) = obj.get("method") else {
        return Err((codes::INVALID_REQUEST, true));
    };
    match obj.get("params") {
        None | Some(Value::Null | Value::Object(_)) => Ok(method.clone()),
        Some(_) => Err((codes::INVALID_PARAMS, true)),
    }
}

/// Strings over an alphabet rich in topic separators and wildcards.
fn arb_topicish() -> BoxedStrategy<String> {
    let piece = prop_oneof![
        4 => "[A-Za-z0-9_.-]{1,6}",
        2 => select(vec!["/", "+", "#", "$", "", " ", "\0", "é", "..", "\u{202e}", "%2F"]).prop_map(str::to_owned),
        1 => "\\PC{1,3}",
        1 => Just("a".repeat(MAX_ID_LEN)),
        1 => Just("a".repeat(MAX_ID_LEN + 1)),
    ];
    vec(piece, 0..10).prop_map(|p| p.concat()).boxed()
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    /// Arbitrary bytes never panic the envelope parser.
    #[test]
    fn envelope_survives_arbitrary_bytes(doc in arb_bytes()) {
        let _ = envelope(&doc.0);
    }

    /// Generated envelopes get exactly the answer JSON-RPC 2.0 prescribes, and
    /// the id is echoed with its JSON type and value.
    #[test]
    fn envelope_follows_the_model(doc in arb_envelope()) {
        let bytes = serde_json::to_vec(&doc).expect("serialises");
        let expected = envelope_model(&doc);
        match (jsonrpc::parse_request(&bytes), expected) {
            (Ok(req), Ok(method)) => {
                prop_assert_eq!(req.method, method);
                let id: Value = serde_json::from_str(req.id.as_json()).expect("id");
                prop_assert_eq!(&id, &doc["id"]);
                let params: Option<Value> = req.params.map(|p| serde_json::from_str(p.get()).expect("params"));
                match &doc["params"] {
                    Value::Object(_) => prop_assert_eq!(params.as_ref(), Some(&doc["params"])),
                    _ => prop_assert_eq!(params, None),
                }
            }
            (Err(e), Err((code, id_known))) => {
                prop_assert_eq!(e.error.code, code, "{}", e.error.message);
                let id: Value = serde_json::from_str(e.id.as_json()).expect("id");
                if id_known {
                    prop_assert_eq!(&id, &doc["id"]);
                } else {
                    prop_assert_eq!(id, Value::Null);
                }
            }
            (got, want) => prop_assert!(false, "got {:?}, model says {:?}", got.map(|r| r.method), want),
        }
    }

    /// Mutated valid requests never panic it.
    #[test]
    fn envelope_survives_mutated_requests(doc in mutated(seeds("jsonrpc"))) {
        let _ = envelope(&doc.0);
    }

    /// Every v1.0 type, on bytes, trees and mutated seeds of each kind.
    #[test]
    fn types_survive_arbitrary_input(
        doc in prop_oneof![
            arb_bytes(),
            arb_json_doc(),
            mutated(seeds("send_message_request")),
            mutated(seeds("task")),
            mutated(seeds("stream_response")),
        ]
    ) {
        all_types(&doc.0);
    }

    /// Well-formed messages survive serialisation unchanged, alone and inside
    /// a SendMessageRequest and a StreamResponse.
    #[test]
    fn messages_round_trip(m in arb_message()) {
        round_trip(&m);
        let req: SendMessageRequest =
            serde_json::from_value(json!({ "message": m })).expect("request");
        round_trip(&req);
        round_trip(&StreamResponse::Message(m));
    }

    /// Agent replies: decoding and everything downstream of it.
    #[test]
    fn agent_replies_never_panic(doc in inputs("agent_reply")) {
        let _ = agent_reply(&doc.0);
    }

    /// Cards: validation, the served rewrite, the v0.3 merged card.
    #[test]
    fn cards_never_panic(doc in inputs("card")) {
        let _ = agent_card(&doc.0);
    }

    /// v0.3 params translation, for every method.
    #[test]
    fn v03_params_never_panic(doc in inputs("v03_send_params")) {
        let _ = v03_send_params(&doc.0);
    }

    /// `check_id` is exactly the profile pattern plus the length cap, and a
    /// refusal names the id.
    #[test]
    fn ids_follow_the_pattern(s in prop_oneof![arb_topicish(), arb_string()]) {
        let checked = check_id("agent id", &s);
        prop_assert_eq!(checked.is_ok(), id_is_valid(&s), "{:?}", s);
        if let Err(e) = checked {
            let text = e.to_string();
            prop_assert!(text.starts_with("agent id"), "{}", text);
            prop_assert!(text.len() < 16 * MAX_ID_LEN, "the echo is bounded: {} bytes", text.len());
        }
    }

    /// Discovery topics: only three valid levels make an address, and the
    /// address rebuilds the same topic.
    #[test]
    fn discovery_topics_parse_strictly(rest in arb_topicish()) {
        let topic = format!("{}{rest}", topics::DISCOVERY_PREFIX);
        let levels: Vec<&str> = rest.split('/').collect();
        let expect_ok = levels.len() == 3 && levels.iter().all(|l| id_is_valid(l));
        prop_assert_eq!(discovery_topic(topic.as_bytes()).is_ok(), expect_ok, "{:?}", topic);
        let _ = discovery_topic(rest.as_bytes());
        // The same text as a subscription filter: never panics; a valid topic is
        // a valid filter that matches itself; none matches a request topic.
        let filter_ok = check_discovery_filter(&topic).is_ok();
        if expect_ok {
            prop_assert!(filter_ok && filter_matches(&topic, &topic), "{:?}", topic);
        }
        prop_assert!(!filter_matches(&topic, "$a2a/v1/request/acme/plant1/echo"));
    }
}

// ---------------------------------------------------------------------------
// Bounds: depth and size
// ---------------------------------------------------------------------------

/// The build must not turn serde_json's recursion limit off: no
/// `unbounded_depth` feature, no `disable_recursion_limit` call.
#[test]
fn serde_json_recursion_limit_stays_on() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    assert!(
        !manifest.contains("unbounded_depth"),
        "Cargo.toml enables serde_json/unbounded_depth"
    );
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source");
                assert!(
                    !text.contains("disable_recursion_limit"),
                    "{} disables serde_json's recursion limit",
                    path.display()
                );
            }
        }
    }
    let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert!(serde_json::from_str::<Value>(&nested(127)).is_ok());
    let err = serde_json::from_str::<Value>(&nested(129)).unwrap_err();
    assert!(err.to_string().contains("recursion limit"), "{err}");
}

/// 100 000 levels of nesting, in every shape, through every target: refused,
/// without exhausting the stack (the test thread has the default 2 MiB).
#[test]
fn deep_nesting_is_refused_without_stack_overflow() {
    let took = within_time(
        "deep nesting",
        HUGE_INPUT_TIME,
        deep_nesting_through_every_target,
    );
    eprintln!("deep nesting: {} ms", took.as_millis());
}

fn deep_nesting_through_every_target() {
    const N: usize = 100_000;
    let shapes = [
        "[".repeat(N),
        format!("{}{}", "[".repeat(N), "]".repeat(N)),
        "{\"a\":".repeat(N),
        format!("{}1{}", "{\"a\":".repeat(N), "}".repeat(N)),
        format!("{{\"message\":{}}}", "[".repeat(N)),
        format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"SendMessage\",\"params\":{{\"message\":{}}}}}",
            "{\"a\":".repeat(N)
        ),
    ];
    for doc in &shapes {
        let bytes = doc.as_bytes();
        let _ = envelope(bytes);
        all_types(bytes);
        assert!(typed::<SendMessageRequest>(bytes).is_err());
        assert!(agent_reply(bytes).is_err());
        assert!(v03_send_params(bytes).is_err());
        assert!(matches!(
            validate_card(bytes, usize::MAX),
            Err(CardError::NotJson(_) | CardError::NotAnObject)
        ));
    }
}

/// The envelope keeps `params` as raw text, which serde_json skims without a
/// depth limit: a request whose params nest deeper than the limit passes the
/// envelope, but can never become a `Value`. The gateway must refuse it, not
/// carry on as if the params were empty (see the HTTP test below).
#[test]
fn deep_params_pass_the_envelope_but_not_the_value_parse() {
    let deep = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ListTasks\",\"params\":{{\"contextId\":\"c\",\"x\":{}{}}}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    let req = jsonrpc::parse_request(deep.as_bytes()).expect("the envelope accepts it");
    let params = req.params.expect("params");
    assert!(serde_json::from_str::<Value>(params.get()).is_err());
}

/// Large inputs are handled in one linear pass: a 4 MiB text part (the default
/// body limit), a 100 000-element array, 4 MiB of whitespace.
#[test]
fn huge_inputs_are_handled() {
    let took = within_time(
        "huge inputs",
        HUGE_INPUT_TIME,
        huge_inputs_through_their_targets,
    );
    eprintln!("huge inputs: {} ms", took.as_millis());
}

fn huge_inputs_through_their_targets() {
    let big_text = "x".repeat(4 * 1024 * 1024);
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
        "params": {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": big_text}]}}})
    .to_string();
    envelope(body.as_bytes()).expect("a big request is a request");
    let req = parse_envelope(body.as_bytes()).expect("envelope");
    let params = req.params.expect("params").get().as_bytes();
    typed::<SendMessageRequest>(params).expect("a big message is a message");

    let many = format!("[{}0]", "0,".repeat(100_000));
    assert!(envelope(many.as_bytes()).is_err());
    assert!(typed::<SendMessageRequest>(many.as_bytes()).is_err());
    assert!(agent_reply(format!("{{\"result\":{many}}}").as_bytes()).is_ok());

    let blank = " ".repeat(4 * 1024 * 1024);
    assert!(envelope(blank.as_bytes()).is_err());

    // A huge id or method is echoed as sent, not re-encoded.
    let long_id = format!("\"{}\"", "i".repeat(1 << 20));
    let body = format!("{{\"jsonrpc\":\"2.0\",\"id\":{long_id},\"method\":\"GetTask\"}}");
    let req = parse_envelope(body.as_bytes()).expect("envelope");
    assert_eq!(req.id.as_json(), long_id);
}

/// Large documents of the shapes that cost a parser the most per input byte
/// (many small numbers, strings, arrays and objects; one long string), each
/// about 1 MiB, placed where each parser reads them: a request's params, a
/// message's metadata, an agent's result, a card's skills. Every measured parse
/// stays within its allocation budget (`within_budget`), and each document
/// goes through all the parsers in bounded time (generous: a debug build on a
/// loaded machine; the measured times are printed).
#[test]
fn huge_inputs_stay_within_allocation_budgets_and_time() {
    const N: usize = 1 << 20;
    let repeat = |item: &str| {
        let n = N / (item.len() + 1);
        format!("[{}{item}]", format!("{item},").repeat(n - 1))
    };
    let shapes = [
        ("numbers", repeat("0")),
        ("strings", repeat("\"\"")),
        ("arrays", repeat("[]")),
        ("empty objects", repeat("{}")),
        ("objects", repeat("{\"a\":0}")),
        ("smallest objects", repeat("{\"\":0}")),
        (
            "nested objects",
            repeat(&format!("{}0{}", "{\"\":".repeat(100), "}".repeat(100))),
        ),
        (
            "members",
            format!(
                "{{{}}}",
                (0..N / 12)
                    .map(|i| format!("\"{i:07}\":0"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ),
        ("one string", format!("\"{}\"", "x".repeat(N))),
    ];
    for (shape, x) in shapes {
        let docs = [
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"SendMessage\",\"params\":{{\"message\":{x}}}}}"
            ),
            format!(
                "{{\"message\":{{\"messageId\":\"m\",\"role\":\"ROLE_USER\",\"parts\":[{{\"text\":\"hi\"}}],\"metadata\":{{\"x\":{x}}}}}}}"
            ),
            format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{x}}}"),
            format!(
                "{{\"name\":\"n\",\"description\":\"d\",\"version\":\"1\",\"supportedInterfaces\":[{{\"url\":\"u\",\"protocolBinding\":\"b\",\"protocolVersion\":\"1.0\"}}],\"capabilities\":{{}},\"defaultInputModes\":[],\"defaultOutputModes\":[],\"skills\":{x}}}"
            ),
        ];
        let took = within_time(shape, HUGE_INPUT_TIME, move || {
            let [request, message, reply, card] = docs.map(String::into_bytes);
            let _ = envelope(&request);
            let _ = typed::<SendMessageRequest>(&request);
            let _ = typed::<Message>(&message);
            let _ = typed::<StreamResponse>(&reply);
            let _ = decode_agent_reply(&reply);
            let _ = validate_card(&card, usize::MAX);
        });
        eprintln!("huge input, {shape}: {} ms", took.as_millis());
    }
}

/// A card over the limit is refused by its size, before any parsing: 10 MiB of
/// `[` is "too large", not "not JSON".
#[test]
fn oversized_cards_are_refused_before_parsing() {
    let huge = "[".repeat(10 << 20);
    assert!(matches!(
        validate_card(huge.as_bytes(), MAX_CARD_BYTES),
        Err(CardError::TooLarge { .. })
    ));
    let at_limit = {
        let mut c =
            serde_json::from_slice::<Value>(&corpus_file("card", "ok-full.json")).expect("seed");
        c["description"] = json!("");
        let len = c.to_string().len();
        c["description"] = json!("d".repeat(MAX_CARD_BYTES - len));
        c.to_string()
    };
    assert_eq!(at_limit.len(), MAX_CARD_BYTES);
    assert!(validate_card(at_limit.as_bytes(), MAX_CARD_BYTES).is_ok());
    let over = format!("{at_limit} ");
    assert!(matches!(
        validate_card(over.as_bytes(), MAX_CARD_BYTES),
        Err(CardError::TooLarge { .. })
    ));
}

fn corpus_file(target: &str, name: &str) -> Vec<u8> {
    std::fs::read(corpus_dir(target).join(name)).expect("corpus file")
}

// ---------------------------------------------------------------------------
// The HTTP pipeline, in process
// ---------------------------------------------------------------------------

/// `http.max_body_bytes` of the in-process gateway.
const PIPELINE_MAX_BODY: usize = 256 * 1024;

/// A value's JSON, cut for messages.
fn short(v: &Value) -> String {
    v.to_string().chars().take(300).collect()
}

/// The real router over a gateway whose broker is unreachable (one attempt per
/// request), with one agent indexed: a request gets as far as the publish, and
/// a publish attempt shows as BROKER_UNAVAILABLE.
fn pipeline() -> &'static (tokio::runtime::Runtime, axum::Router) {
    static PIPELINE: OnceLock<(tokio::runtime::Runtime, axum::Router)> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let router = rt.block_on(async {
            let mut config = Config::default();
            config.mqtt.url = "mqtt://127.0.0.1:1".into();
            config.requests.max_attempts = 1;
            config.requests.reply_first_timeout_ms = 200;
            config.http.max_body_bytes = PIPELINE_MAX_BODY;
            let gateway = Gateway::start(config).expect("gateway starts without a broker");
            let card = corpus_file("card", "ok-full.json");
            let applied = gateway.state().index().apply(
                &format!("{}{AGENT}", topics::DISCOVERY_PREFIX),
                &card,
                None,
            );
            assert!(format!("{applied:?}").contains("Registered"), "{applied:?}");
            let router = gateway.router();
            // The gateway's background tasks live as long as the test process.
            std::mem::forget(gateway);
            router
        });
        (rt, router)
    })
}

/// One request through the router: (status, body).
fn call(method: &str, uri: &str, headers: &[(&str, &str)], body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    let (rt, router) = pipeline();
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Body::from(body)).expect("request");
    rt.block_on(async {
        let response = tokio::time::timeout(Duration::from_secs(30), router.clone().oneshot(req))
            .await
            .expect("the gateway answers")
            .expect("infallible");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, body.to_vec())
    })
}

/// The reason of a JSON-RPC error (`error.data[0].reason`) or of a REST error
/// (`error.details[0].reason`).
fn reason(body: &Value) -> Option<&str> {
    let e = &body["error"];
    e["data"][0]["reason"]
        .as_str()
        .or_else(|| e["details"][0]["reason"].as_str())
}

/// Percent-encodes every byte outside the unreserved set.
fn encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn arb_segment() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        3 => "[A-Za-z0-9_.-]{1,12}".prop_map(String::into_bytes),
        3 => arb_topicish().prop_map(String::into_bytes),
        1 => vec(any::<u8>(), 0..16),
        1 => Just(AGENT.split('/').nth(2).unwrap_or("echo").as_bytes().to_vec()),
    ]
    .boxed()
}

/// What a request for `org/unit/agent` must be refused with, if anything: the
/// `what` of the first bad id, as `check_id` names it.
fn bad_segment(segments: &[Vec<u8>; 3]) -> Option<&'static str> {
    if segments.iter().any(|s| std::str::from_utf8(s).is_err()) {
        // The path extractor refuses it before any id is looked at.
        return Some("invalid agent address in the URL");
    }
    segments
        .iter()
        .zip(["org id", "unit id", "agent id"])
        .find(|(s, _)| !std::str::from_utf8(s).is_ok_and(id_is_valid))
        .map(|(_, what)| what)
}

const GET_TASK: &str = r#"{"jsonrpc":"2.0","id":"probe","method":"GetTask","params":{"id":"t-1"}}"#;

proptest! {
    #![proptest_config(config(256))]

    /// Arbitrary bodies and versions on the JSON-RPC and REST routes of the
    /// indexed agent: never an internal error, always a JSON answer, always the
    /// request's id.
    #[test]
    fn http_pipeline_never_fails_internally(
        body in prop_oneof![
            arb_bytes(),
            mutated(seeds("jsonrpc")),
            mutated(seeds("send_message_request")),
            mutated(seeds("v03_send_params")),
        ],
        version in select(vec!["", "1.0", "0.3", "0.3.0", "2.0", "v1"]),
        route in select(vec![
            ("POST", ""),
            ("POST", "/message:send"),
            ("POST", "/message:stream"),
            ("POST", "/v1/message:send"),
            ("POST", "/tasks/t-1:cancel"),
        ]),
    ) {
        let (verb, path) = route;
        let uri = format!("/agents/{AGENT}{path}");
        let headers: Vec<(&str, &str)> = if version.is_empty() {
            vec![("content-type", "application/json")]
        } else {
            vec![("content-type", "application/json"), ("a2a-version", version)]
        };
        let (status, out) = call(verb, &uri, &headers, body.0.clone());
        let text = String::from_utf8_lossy(&out);
        let cut: String = text.chars().take(300).collect();
        prop_assert!(!status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
            "{} answered {}: {}", uri, status, cut);
        if text.starts_with("data:") || text.starts_with(':') || text.starts_with("event:") {
            return Ok(()); // an SSE stream (its items are checked elsewhere)
        }
        let v: Value = match serde_json::from_str(text.trim()) {
            Ok(v) => v,
            Err(e) => {
                // Only an id that is JSON but not Unicode (echoed as sent) may
                // make the answer unreadable to a strict parser.
                prop_assert!(is_json(text.trim()), "{}: not JSON ({}): {}", uri, e, cut);
                let echoed = match jsonrpc::parse_request(&body.0) {
                    Ok(r) => r.id,
                    Err(e) => e.id,
                };
                let lenient_id = serde_json::from_str::<Value>(echoed.as_json()).is_err();
                prop_assert!(lenient_id, "{}: not JSON ({}): {}", uri, e, cut);
                return Ok(());
            }
        };
        if path.is_empty() {
            prop_assert_eq!(&v["jsonrpc"], "2.0");
            let sent_id = jsonrpc::parse_request(&body.0)
                .ok()
                .filter(|_| body.0.len() <= PIPELINE_MAX_BODY)
                .and_then(|req| serde_json::from_str::<Value>(req.id.as_json()).ok());
            if let Some(id) = sent_id {
                prop_assert!(v["id"] == id, "id {} echoed as {}", short(&id), short(&v["id"]));
            }
        } else if !status.is_success() {
            prop_assert!(v["error"]["message"].is_string(), "{}", short(&v));
        }
    }

    /// Arbitrary ids in the URL of every agent route: a bad one is refused
    /// naming it, before anything else happens; a good one that is not indexed
    /// is "not found"; only the indexed agent gets as far as a publish.
    #[test]
    fn ids_in_urls_are_checked_before_any_publish(
        segments in [arb_segment(), arb_segment(), arb_segment()],
        route in select(vec![
            ("POST", ""),
            ("POST", "/"),
            ("POST", "/message:send"),
            ("GET", "/tasks/t-1"),
            ("GET", "/tasks"),
            ("POST", "/tasks/t-1:cancel"),
            ("GET", "/tasks/t-1:subscribe"),
            ("GET", "/extendedAgentCard"),
            ("GET", "/v1/card"),
            ("GET", "/.well-known/agent-card.json"),
            ("GET", "/.well-known/agent.json"),
            ("GET", "registry"),
            ("PUT", "registry"),
            ("DELETE", "registry"),
        ]),
    ) {
        let (verb, path) = route;
        let address = segments.iter().map(|s| encode(s)).collect::<Vec<_>>().join("/");
        let bad = bad_segment(&segments);
        if verb != "GET" && path == "registry" && bad.is_none() {
            return Ok(()); // would really register or unregister
        }
        let uri = if path == "registry" {
            format!("/api/v1/agents/{address}")
        } else {
            format!("/agents/{address}{path}")
        };
        let body = match (verb, path) {
            ("POST", "" | "/") => GET_TASK.as_bytes().to_vec(),
            ("PUT", _) => corpus_file("card", "ok-full.json"),
            ("POST", "/message:send") => corpus_file("send_message_request", "ok-text.json"),
            _ => Vec::new(),
        };
        let (status, out) = call(verb, &uri, &[("content-type", "application/json")], body);
        let text = String::from_utf8_lossy(&out);
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let message = v["error"]["message"].as_str().unwrap_or_default();
        if segments.iter().any(Vec::is_empty) {
            // `//` in the path: either no route matches, or one does with an
            // empty id, which is refused.
            prop_assert!(
                status.is_client_error() || reason(&v) == Some("INVALID_PARAMS"),
                "{} {}: {}", uri, status, text
            );
            prop_assert_ne!(reason(&v), Some("BROKER_UNAVAILABLE"));
            return Ok(());
        }
        match bad {
            Some(what) => {
                prop_assert_eq!(reason(&v), Some("INVALID_PARAMS"), "{} {}: {}", verb, uri, text);
                prop_assert!(message.contains(what), "{} {}: {:?} does not name the {}", verb, uri, message, what);
                if path.is_empty() || path == "/" {
                    prop_assert_eq!(status, StatusCode::OK);
                    prop_assert_eq!(&v["id"], "probe");
                } else {
                    prop_assert_eq!(status, StatusCode::BAD_REQUEST);
                }
            }
            None => {
                let addr = segments.iter().map(|s| String::from_utf8_lossy(s)).collect::<Vec<_>>().join("/");
                if addr != AGENT {
                    prop_assert_ne!(reason(&v), Some("BROKER_UNAVAILABLE"), "{} {}: {}", verb, uri, text);
                    prop_assert_ne!(reason(&v), Some("INVALID_PARAMS"), "{} {}: {}", verb, uri, text);
                }
            }
        }
    }
}

/// A JSON-RPC request whose params nest past serde_json's limit is refused as
/// invalid params; it is not run with empty params instead.
#[test]
fn deeply_nested_params_are_refused_not_dropped() {
    for (method, version) in [
        ("ListTasks", "1.0"),
        ("tasks/list", "0.3"),
        ("GetExtendedAgentCard", "1.0"),
    ] {
        let body = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"{method}\",\"params\":{{\"x\":{}{}}}}}",
            "[".repeat(200),
            "]".repeat(200)
        );
        let (status, out) = call(
            "POST",
            &format!("/agents/{AGENT}"),
            &[
                ("content-type", "application/json"),
                ("a2a-version", version),
            ],
            body.into_bytes(),
        );
        let v: Value = serde_json::from_slice(&out).expect("JSON");
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["id"], 9);
        assert_eq!(v["error"]["code"], codes::INVALID_PARAMS, "{method}: {v}");
    }
}

/// The in-process harness itself: the indexed agent really gets as far as a
/// publish (so "not BROKER_UNAVAILABLE" above means "no publish").
#[test]
fn pipeline_reaches_the_publish_for_the_indexed_agent() {
    let (status, out) = call(
        "POST",
        &format!("/agents/{AGENT}"),
        &[("content-type", "application/json"), ("a2a-version", "1.0")],
        GET_TASK.as_bytes().to_vec(),
    );
    let v: Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reason(&v), Some("BROKER_UNAVAILABLE"), "{v}");
}
