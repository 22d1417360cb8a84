//! `agents list|get|register|unregister`: the registry API of a running
//! gateway, or a broker directly for `register`/`unregister --broker`.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::client::GatewayClient;
use super::output::line;
use super::{AgentsCommand, CliError, GatewayArgs, ListFilters, Output, check_agent, print_json};
use crate::a2a::card;
use crate::mqtt::confirm::{ConfirmError, ConfirmedPublisher};
use crate::mqtt::{AgentAddr, OutgoingMessage, PublishProperties, SessionOptions};

/// The registry API's largest page.
const MAX_PAGE: usize = 1000;

/// Runs `agents ...`.
pub async fn run(cmd: AgentsCommand, opts: &GatewayArgs) -> Result<(), CliError> {
    match cmd {
        AgentsCommand::List { filters, limit } => list(&filters, limit, opts).await,
        AgentsCommand::Get { agent } => get(&agent, opts).await,
        AgentsCommand::Register {
            card,
            agent,
            broker,
        } => register(&card, &agent, broker.as_deref(), opts).await,
        AgentsCommand::Unregister { agent, broker } => {
            unregister(&agent, broker.as_deref(), opts).await
        }
    }
}

/// The query string of one page of `agents list`.
fn page_query(filters: &ListFilters, page_size: usize, token: &str) -> String {
    let mut query: Vec<(&str, &str)> = Vec::new();
    let size = page_size.to_string();
    query.push(("limit", &size));
    for (k, v) in [
        ("org", &filters.org),
        ("unit", &filters.unit),
        ("skill", &filters.skill),
        ("status", &filters.status),
        ("q", &filters.query),
    ] {
        if let Some(v) = v {
            query.push((k, v));
        }
    }
    if !token.is_empty() {
        query.push(("pageToken", token));
    }
    serde_urlencoded::to_string(&query).unwrap_or_default()
}

/// Up to `limit` agents matching `filters`, page after page.
async fn fetch_agents(
    client: &GatewayClient,
    filters: &ListFilters,
    limit: usize,
) -> Result<Vec<Value>, CliError> {
    let mut agents = Vec::new();
    let mut token = String::new();
    while agents.len() < limit {
        let qs = page_query(filters, (limit - agents.len()).min(MAX_PAGE), &token);
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
    Ok(agents)
}

/// One row of the `agents list` table.
fn table_row(a: &Value) -> Vec<String> {
    let text = |k: &str| a[k].as_str().unwrap_or_default().to_owned();
    let skills: Vec<&str> = a["skills"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str())
        .collect();
    vec![
        text("agent"),
        text("status"),
        text("name"),
        skills.join(","),
    ]
}

async fn list(filters: &ListFilters, limit: usize, opts: &GatewayArgs) -> Result<(), CliError> {
    let client = GatewayClient::new(&opts.gateway)?;
    let agents = fetch_agents(&client, filters, limit).await?;
    if opts.output == Output::Json {
        return print_json(&json!({"agents": agents}));
    }
    let rows: Vec<Vec<String>> = agents.iter().map(table_row).collect();
    line(super::render::table(
        &["AGENT", "STATUS", "NAME", "SKILLS"],
        &rows,
    ))?;
    super::output::note(format!("{} agent(s)", rows.len()));
    Ok(())
}

async fn get(agent: &str, opts: &GatewayArgs) -> Result<(), CliError> {
    let addr = check_agent(agent)?;
    let client = GatewayClient::new(&opts.gateway)?;
    let (_, d) = client
        .api(
            reqwest::Method::GET,
            &format!("/api/v1/agents/{addr}"),
            None,
        )
        .await?;
    if opts.output == Output::Json {
        return print_json(&d);
    }
    print_details(&d)
}

/// `agents get` for people.
fn print_details(d: &Value) -> Result<(), CliError> {
    let field = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("-").to_owned();
    line(format!("agent        {}", field("agent")))?;
    if d["indexed"] == false {
        line("indexed      no")?;
        let reason = d.pointer("/validation/reason").and_then(Value::as_str);
        return line(format!("validation   invalid: {}", reason.unwrap_or("-")));
    }
    line(format!("name         {}", field("name")))?;
    line(format!("description  {}", field("description")))?;
    line(format!(
        "status       {} (source: {})",
        field("status"),
        field("statusSource")
    ))?;
    line(format!("first seen   {}", field("firstSeen")))?;
    line(format!("last seen    {}", field("lastSeen")))?;
    line(format!("url          {}", field("url")))?;
    line("validation   valid")?;
    for s in d["skills"].as_array().into_iter().flatten() {
        let tags: Vec<&str> = s["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let id = s["id"].as_str().unwrap_or("-");
        line(format!("skill        {id} ({})", tags.join(", ")))?;
    }
    Ok(())
}

/// The card file's bytes, checked as the gateway would check them.
fn read_card(path: &Path) -> Result<Vec<u8>, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
    card::validate(&bytes, 1024 * 1024).map_err(|e| {
        CliError::usage(format!("{} is not a valid agent card: {e}", path.display()))
    })?;
    Ok(bytes)
}

async fn register(
    path: &Path,
    agent: &str,
    broker: Option<&str>,
    opts: &GatewayArgs,
) -> Result<(), CliError> {
    let addr = check_agent(agent)?;
    let bytes = read_card(path)?;
    match broker {
        Some(url) => publish_direct(url, &addr, bytes).await?,
        None => {
            let body: Value = serde_json::from_slice(&bytes)
                .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
            GatewayClient::new(&opts.gateway)?
                .api(
                    reqwest::Method::PUT,
                    &format!("/api/v1/agents/{addr}"),
                    Some(&body),
                )
                .await?;
        }
    }
    line(format!("registered {addr}"))
}

async fn unregister(agent: &str, broker: Option<&str>, opts: &GatewayArgs) -> Result<(), CliError> {
    let addr = check_agent(agent)?;
    match broker {
        Some(url) => publish_direct(url, &addr, Vec::new()).await?,
        None => {
            GatewayClient::new(&opts.gateway)?
                .api(
                    reqwest::Method::DELETE,
                    &format!("/api/v1/agents/{addr}"),
                    None,
                )
                .await?;
        }
    }
    line(format!("unregistered {addr}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_pages_carry_the_filters_and_the_token() {
        let filters = ListFilters {
            org: Some("acme".into()),
            unit: None,
            skill: Some("weld".into()),
            status: None,
            query: Some("spot weld".into()),
        };
        assert_eq!(
            page_query(&filters, 50, ""),
            "limit=50&org=acme&skill=weld&q=spot+weld"
        );
        assert_eq!(
            page_query(&ListFilters::default(), 3, "ab"),
            "limit=3&pageToken=ab"
        );
    }
}
