//! `a2a-gateway demo` as a user runs it: a subprocess, exercised over HTTP, stopped
//! with Ctrl-C (SIGINT).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[test]
fn demo_serves_sample_agents_and_stops_cleanly_on_sigint() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_a2a-gateway"))
        .args(["demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("demo starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut base = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        if let Some(url) = line.trim().strip_prefix("gateway") {
            base = Some(url.trim().to_owned());
        }
        if line.contains("Press Ctrl-C") {
            break;
        }
    }
    let base = base.expect("the banner names the gateway URL");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        a2a_mqtt_gateway::install_crypto_provider();
        let client = reqwest::Client::new();
        let card: Value = client
            .get(format!("{base}/agents/demo/factory/echo/.well-known/agent-card.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(card["supportedInterfaces"][0]["url"], format!("{base}/agents/demo/factory/echo"));
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {
            "messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hello demo"}]}}});
        let r: Value = client
            .post(format!("{base}/agents/demo/factory/echo"))
            .header("A2A-Version", "1.0")
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["result"]["task"]["artifacts"][0]["parts"][0]["text"], "hello demo", "{r}");
        let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
    });

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "demo did not stop after SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "clean exit: {status}");
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(rest.iter().any(|l| l.contains("demo stopped")), "{rest:?}");
}

/// The README's walkthrough block, run as written against a live demo.
#[test]
fn readme_walkthrough_works_as_pasted() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("## Walkthrough")
        .nth(1)
        .expect("a Walkthrough section");
    let script = section
        .split("```sh\n")
        .nth(1)
        .and_then(|s| s.split("\n```").next())
        .expect("a sh block in the Walkthrough section");

    let mut child = Command::new(env!("CARGO_BIN_EXE_a2a-gateway"))
        .args(["demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("demo starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut base = None;
    for line in lines.by_ref().map_while(Result::ok) {
        if let Some(url) = line.trim().strip_prefix("gateway") {
            base = Some(url.trim().to_owned());
        }
        if line.contains("Press Ctrl-C") {
            break;
        }
    }
    let base = base.expect("the banner names the gateway URL");
    let script = script.replace("http://127.0.0.1:8080", &base);
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .output()
        .expect("bash runs");
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "walkthrough failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "\"supportedInterfaces\"",
        "TASK_STATE_COMPLETED",
        "data: {\"jsonrpc\":\"2.0\",\"id\":2",
        "TASK_STATE_CANCELED",
        "hello over REST",
        "\"kind\":\"task\"",
        "\"agent\":\"demo/factory/inspect\"",
        "\"ready\":true",
    ] {
        assert!(
            stdout.contains(expected),
            "walkthrough output lacks {expected}:\n{stdout}"
        );
    }
}
