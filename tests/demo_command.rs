//! `a2a-gateway demo` as a user runs it: a subprocess, exercised over HTTP, stopped
//! with Ctrl-C (SIGINT).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The demo's output: stdout lines as they come, and everything it wrote to
/// stderr (read all along, so a full pipe never blocks it).
struct DemoOutput {
    lines: std::sync::mpsc::Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

fn read_demo_output(child: &mut std::process::Child) -> DemoOutput {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut pipe = child.stderr.take().expect("stderr");
    let sink = stderr.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut pipe, &mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut s) = sink.lock() {
                s.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }
    });
    DemoOutput { lines, stderr }
}

/// The banner up to "Press Ctrl-C", within 30 s.
fn banner(out: &DemoOutput) -> Vec<String> {
    let mut banner = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Ok(line) = out.lines.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        let done = line.contains("Press Ctrl-C");
        banner.push(line);
        if done {
            return banner;
        }
    }
    panic!("no complete banner within 30 s: {banner:?}");
}

/// The curl commands of the banner's "Try:" section, continuation lines joined.
fn banner_curl_lines(banner: &[String]) -> Vec<String> {
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in banner.iter().skip_while(|l| l.trim() != "Try:") {
        let line = line.trim();
        if current.is_empty() && !line.starts_with("curl ") {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => current.push_str(head),
            None => {
                current.push_str(line);
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    commands
}

/// Runs a banner curl line that answers once, as pasted into bash.
fn run_curl(command: &str) -> String {
    let out = Command::new("bash")
        .args([
            "-euo",
            "pipefail",
            "-c",
            &format!("{command} --max-time 30"),
        ])
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{command}\nfailed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a banner curl line that streams (the ~30 s inspection): its first SSE
/// events, then the stream is cut.
fn first_stream_events(command: &str, wanted: usize) -> Vec<Value> {
    let mut curl = Command::new("bash")
        .args(["-c", &format!("exec {command}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("bash runs");
    let stdout = curl.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(data) = line.strip_prefix("data:")
                && tx.send(data.trim().to_owned()).is_err()
            {
                break;
            }
        }
    });
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while events.len() < wanted && Instant::now() < deadline {
        if let Ok(data) = rx.recv_timeout(Duration::from_millis(100)) {
            events.push(serde_json::from_str(&data).expect("SSE data is JSON"));
        }
    }
    let _ = curl.kill();
    let _ = curl.wait();
    assert_eq!(events.len(), wanted, "{command}\nstreamed only {events:?}");
    events
}

#[test]
fn demo_serves_sample_agents_and_stops_cleanly_on_sigint() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_a2a-gateway"))
        .args(["demo", "--listen", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("demo starts");
    let out = read_demo_output(&mut child);
    let banner = banner(&out);
    let base = banner
        .iter()
        .find_map(|l| l.trim().strip_prefix("gateway"))
        .map(|url| url.trim().to_owned())
        .expect("the banner names the gateway URL");

    // The curl lines the banner prints work as pasted.
    let curls = banner_curl_lines(&banner);
    assert_eq!(curls.len(), 3, "{curls:?}");
    let card: Value = serde_json::from_str(&run_curl(&curls[0])).expect("card JSON");
    assert_eq!(
        card["supportedInterfaces"][0]["url"],
        format!("{base}/agents/demo/factory/echo"),
        "{card}"
    );
    let sent: Value = serde_json::from_str(&run_curl(&curls[1])).expect("JSON-RPC answer");
    assert_eq!(
        sent["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{sent}"
    );
    assert_eq!(
        sent["result"]["task"]["artifacts"][0]["parts"][0]["text"], "hello",
        "{sent}"
    );
    let streamed = first_stream_events(&curls[2], 2);
    assert_eq!(streamed[0]["id"], 2, "{streamed:?}");
    assert!(
        streamed[0]["result"]["task"]["id"].is_string(),
        "a Task first: {streamed:?}"
    );
    assert_eq!(
        streamed[1]["result"]["statusUpdate"]["status"]["state"], "TASK_STATE_WORKING",
        "then progress: {streamed:?}"
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        a2a_mqtt_gateway::install_crypto_provider();
        let client = reqwest::Client::new();
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
    let rest: Vec<String> = out.lines.try_iter().collect();
    assert!(rest.iter().any(|l| l.contains("demo stopped")), "{rest:?}");

    // Its log: no warning about a refusal the demo itself would cause (its
    // embedded broker refuses `/` in client ids), and no colour codes in a pipe.
    std::thread::sleep(Duration::from_millis(100));
    let log = out.stderr.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(!log.contains("WARN"), "the demo logged warnings:\n{log}");
    assert!(
        !log.contains('\x1b'),
        "ANSI escapes in a piped log:\n{log:?}"
    );
    assert!(log.contains("INFO"), "the log was read:\n{log}");
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
