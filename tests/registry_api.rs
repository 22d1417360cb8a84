//! The registry API over a real broker: search, details, register, unregister.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn card(name: &str, skills: &[(&str, &[&str])]) -> Value {
    let mut c = card_json(name, true);
    c["skills"] = Value::Array(
        skills
            .iter()
            .map(|(id, tags)| json!({"id": id, "name": format!("{id} skill"), "description": "d", "tags": tags}))
            .collect(),
    );
    c
}

async fn populated() -> (Broker, TestGateway) {
    let broker = Broker::start();
    let raw = RawClient::connect(&broker, "test/raw/publisher", &[]).await;
    let cards = [
        (
            "acme/paint/robot1",
            card("Paint Robot", &[("spray", &["paint", "robotics"])]),
            "online",
        ),
        (
            "acme/paint/robot2",
            card("Paint Robot Two", &[("spray", &["paint"])]),
            "offline",
        ),
        (
            "acme/weld/welder",
            card("Spot Welder", &[("weld", &["welding", "robotics"])]),
            "online",
        ),
        (
            "globex/lab/analyst",
            card("Report Analyst", &[("summarise", &["llm"])]),
            "online",
        ),
    ];
    for (addr, c, status) in cards {
        raw.publish_retained(
            &format!("$a2a/v1/discovery/{addr}"),
            c.to_string(),
            &[("a2a-status", status), ("a2a-status-source", "agent")],
        )
        .await;
    }
    raw.publish_retained(
        "$a2a/v1/discovery/acme/paint/broken",
        b"{oops".to_vec(),
        &[],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let gw = TestGateway::start(&broker).await;
    (broker, gw)
}

fn names(list: &Value) -> Vec<String> {
    list["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agent"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_filters_and_pages() {
    let (_b, gw) = populated().await;
    let api = format!("{}/api/v1/agents", gw.base);
    let (s, all) = get_json(&api).await;
    assert_eq!(s, 200);
    assert_eq!(
        names(&all),
        [
            "acme/paint/robot1",
            "acme/paint/robot2",
            "acme/weld/welder",
            "globex/lab/analyst"
        ]
    );
    assert_eq!(all["nextPageToken"], "");
    let first = &all["agents"][0];
    assert_eq!(first["status"], "online");
    assert_eq!(first["statusSource"], "agent");
    assert_eq!(first["skills"][0]["id"], "spray");
    assert_eq!(
        first["url"],
        format!("{}/agents/acme/paint/robot1", gw.base)
    );
    assert!(first["firstSeen"].as_str().unwrap().ends_with('Z'));

    for (query, expected) in [
        (
            "org=acme",
            vec!["acme/paint/robot1", "acme/paint/robot2", "acme/weld/welder"],
        ),
        ("org=acme&unit=weld", vec!["acme/weld/welder"]),
        (
            "skill=robotics",
            vec!["acme/paint/robot1", "acme/weld/welder"],
        ),
        ("skill=spray&status=online", vec!["acme/paint/robot1"]),
        ("status=offline", vec!["acme/paint/robot2"]),
        ("q=welder", vec!["acme/weld/welder"]),
        ("q=paint%20two", vec!["acme/paint/robot2"]),
        ("q=analy", vec!["globex/lab/analyst"]),
        ("q=nothing-like-this", vec![]),
        // Only a skill name says it ("spray skill", "summarise skill").
        ("q=spray", vec!["acme/paint/robot1", "acme/paint/robot2"]),
        ("q=summar", vec!["globex/lab/analyst"]),
        // Only a tag says it.
        ("q=llm", vec!["globex/lab/analyst"]),
        ("q=robotics", vec!["acme/paint/robot1", "acme/weld/welder"]),
        ("q=robotics%20spot", vec!["acme/weld/welder"]),
        // One character matches whole words only; "p" is none.
        ("q=p", vec![]),
        // A unit in every organisation.
        ("unit=paint", vec!["acme/paint/robot1", "acme/paint/robot2"]),
        ("unit=paint&status=offline", vec!["acme/paint/robot2"]),
        ("unit=lab&q=report", vec!["globex/lab/analyst"]),
    ] {
        let (s, r) = get_json(&format!("{api}?{query}")).await;
        assert_eq!(s, 200, "{query}");
        assert_eq!(names(&r), expected, "{query}");
    }

    // Cursor pagination: stable order, no gaps, no repeats.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let url = if token.is_empty() {
            format!("{api}?limit=3")
        } else {
            format!("{api}?limit=3&pageToken={token}")
        };
        let (_, page) = get_json(&url).await;
        seen.extend(names(&page));
        token = page["nextPageToken"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, names(&all));

    for bad in [
        "limit=0",
        "status=sleeping",
        "org=a%2Bb",
        "pageToken=nonsense",
        "sort=name",
    ] {
        let (s, e) = get_json(&format!("{api}?{bad}")).await;
        assert_eq!(s, 400, "{bad}");
        assert_eq!(
            e["error"]["details"][0]["reason"], "INVALID_PARAMS",
            "{bad}"
        );
    }
}

#[tokio::test]
async fn details_show_the_card_status_and_validation_verdict() {
    let (_b, gw) = populated().await;
    let api = format!("{}/api/v1/agents", gw.base);
    let (s, d) = get_json(&format!("{api}/acme/paint/robot2")).await;
    assert_eq!(s, 200);
    assert_eq!(d["card"]["name"], "Paint Robot Two");
    assert_eq!(d["status"], "offline");
    assert_eq!(d["validation"]["valid"], true);
    assert!(d["lastSeen"].is_string());

    let (s, d) = get_json(&format!("{api}/acme/paint/broken")).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["indexed"], false);
    assert_eq!(d["validation"]["valid"], false);
    assert!(
        d["validation"]["reason"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{d}"
    );

    let (s, _) = get_json(&format!("{api}/acme/paint/ghost")).await;
    assert_eq!(s, 404);
    let (s, _) = get_json(&format!("{api}/acme/paint/bad%20id")).await;
    assert_eq!(s, 400);

    // A refused card is there to be unregistered (it is retained on the broker).
    let r = http()
        .delete(format!("{api}/acme/paint/broken"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (s, d) = get_json(&format!("{api}/acme/paint/broken")).await;
        if s == 404 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the refused card is still reported: {d}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn register_and_unregister_through_the_broker() {
    let broker = Broker::start();
    let gw = TestGateway::start(&broker).await;
    let api = format!("{}/api/v1/agents/acme/line/newbie", gw.base);
    let mut watcher = RawClient::connect(
        &broker,
        "test/watcher/w",
        &["$a2a/v1/discovery/acme/line/newbie"],
    )
    .await;

    let r = http()
        .put(&api)
        .json(&card("Newbie", &[("greet", &["demo"])]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["indexed"], true, "{body}");
    // Stored retained on the broker.
    let published = watcher
        .next(Duration::from_secs(5))
        .await
        .expect("card on the broker");
    let stored: Value = serde_json::from_slice(&published.payload).unwrap();
    assert_eq!(stored["name"], "Newbie");
    let late = RawClient::connect(
        &broker,
        "test/watcher/late",
        &["$a2a/v1/discovery/acme/line/newbie"],
    )
    .await;
    let mut late = late;
    assert!(
        late.next(Duration::from_secs(5))
            .await
            .expect("retained")
            .retain
    );
    // Visible at once through the API.
    let (s, d) = get_json(&api).await;
    assert_eq!((s, d["name"].clone()), (200, json!("Newbie")));

    // Replacing answers 200.
    let r = http()
        .put(&api)
        .json(&card("Newbie v2", &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, d) = get_json(&api).await;
    assert_eq!(d["name"], "Newbie v2");

    // Bad cards and ids are refused before anything is published.
    let mut no_name = card("X", &[]);
    no_name.as_object_mut().unwrap().remove("name");
    let r = http().put(&api).json(&no_name).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`name` is missing"),
        "{e}"
    );
    let r = http().put(&api).body("not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = http()
        .put(format!("{}/api/v1/agents/acme/line/bad%2Bid", gw.base))
        .json(&card("X", &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Unregister: empty retained message, gone from the index.
    let r = http().delete(&api).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let (s, _) = get_json(&api).await;
    assert_eq!(s, 404);
    // Nothing left to unregister: 404, not a silent success.
    for gone in [
        api.clone(),
        format!("{}/api/v1/agents/acme/line/ghost", gw.base),
    ] {
        let r = http().delete(&gone).send().await.unwrap();
        assert_eq!(r.status(), 404, "{gone}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["details"][0]["reason"], "AGENT_NOT_FOUND", "{e}");
    }
    // A bad id is refused before anything is published.
    let r = http()
        .delete(format!("{}/api/v1/agents/acme/line/bad%2Bid", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["details"][0]["reason"], "INVALID_PARAMS", "{e}");
    let mut after = RawClient::connect(
        &broker,
        "test/watcher/after",
        &["$a2a/v1/discovery/acme/line/newbie"],
    )
    .await;
    assert!(
        after.next(Duration::from_millis(500)).await.is_none(),
        "nothing retained any more"
    );
}

#[tokio::test]
async fn registration_fails_clearly_without_a_broker() {
    let mut broker = Broker::start();
    let gw = TestGateway::start(&broker).await;
    broker.stop();
    let r = http()
        .put(format!("{}/api/v1/agents/acme/line/x", gw.base))
        .json(&card("X", &[]))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let e: Value = r.json().await.unwrap();
    assert_eq!(
        e["error"]["details"][0]["reason"], "BROKER_UNAVAILABLE",
        "{e}"
    );
}

/// The profile's natural ACL: every client reads cards and uses requests and
/// replies, but writes only its own card (`%c`, the client id, is
/// `{org}/{unit}/{agent}` in the profile). The gateway's admin session,
/// `{org}/{unit}/{instance}-admin`, may not store anybody else's card.
const OWN_CARD_ONLY: &str = "\
topic read $a2a/v1/discovery/#
topic readwrite $a2a/v1/request/#
topic readwrite $a2a/v1/reply/#
pattern write $a2a/v1/discovery/%c
";

#[tokio::test]
async fn registrations_the_broker_refuses_are_broker_refused() {
    let broker = Broker::start_with_acl(OWN_CARD_ONLY);
    // Agents still announce themselves, and the gateway still sees them.
    let (_echo, gw) = gateway_with_echo(&broker, "acme/line/echo").await;
    let api = format!("{}/api/v1/agents", gw.base);

    // PUT answers only once the broker has answered: here with a refusal.
    let r = http()
        .put(format!("{api}/acme/line/robot"))
        .json(&card("Robot", &[("weld", &["welding"])]))
        .send()
        .await
        .unwrap();
    let (status, e) = status_and_json(r).await;
    assert_eq!(status, 502, "{e}");
    assert_eq!(e["error"]["status"], "PERMISSION_DENIED", "{e}");
    assert_eq!(e["error"]["details"][0]["reason"], "BROKER_REFUSED", "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("acme/line/robot")),
        "{e}"
    );
    let (s, _) = get_json(&format!("{api}/acme/line/robot")).await;
    assert_eq!(s, 404, "nothing was stored");

    // Nor may it remove an agent's card.
    let r = http()
        .delete(format!("{api}/acme/line/echo"))
        .send()
        .await
        .unwrap();
    let (status, e) = status_and_json(r).await;
    assert_eq!(status, 502, "{e}");
    assert_eq!(e["error"]["details"][0]["reason"], "BROKER_REFUSED", "{e}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, d) = get_json(&format!("{api}/acme/line/echo")).await;
    assert_eq!((s, &d["status"]), (200, &json!("online")), "{d}");
}
