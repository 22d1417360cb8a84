//! The discovery index: one entry per agent whose retained card is valid.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::Value;
use serde_json::value::RawValue;

use super::search::{Facets, Page, Query, SearchIndex};
use crate::a2a::card;
use crate::mqtt::topics::parse_discovery_topic;
use crate::mqtt::{
    AgentAddr, PublishProperties, STATUS_PROPERTY, STATUS_SOURCE_PROPERTY, user_property,
};

/// Liveness from the card's `a2a-status` user property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Liveness {
    Online,
    Offline,
    /// The card carries no (recognisable) `a2a-status`.
    Unknown,
}

impl Liveness {
    pub fn as_str(self) -> &'static str {
        match self {
            Liveness::Online => "online",
            Liveness::Offline => "offline",
            Liveness::Unknown => "unknown",
        }
    }

    fn from_property(value: Option<&str>) -> Liveness {
        match value {
            Some(v) if v.eq_ignore_ascii_case("online") => Liveness::Online,
            Some(v) if v.eq_ignore_ascii_case("offline") => Liveness::Offline,
            _ => Liveness::Unknown,
        }
    }
}

/// One registered agent.
#[derive(Debug, Clone)]
pub struct AgentEntry {
    pub addr: AgentAddr,
    /// The card as published (validated), kept as compact JSON text: a parsed
    /// `Value` costs several times the memory, and a card is read far less often
    /// than it sits in the index.
    card: Box<RawValue>,
    /// The skills as the registry lists them (`id`, `name`, `tags`), prepared once.
    skills: Box<RawValue>,
    pub name: String,
    pub description: String,
    pub streaming: bool,
    pub status: Liveness,
    /// `a2a-status-source`: `agent`, `lwt` or `broker` (anything else is dropped).
    pub status_source: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Session generation in which the card was last received.
    seen_in: u64,
}

impl AgentEntry {
    /// The card as published.
    pub fn card(&self) -> Value {
        // Written by `to_raw_value` from a `Value`, so it reads back.
        serde_json::from_str(self.card.get()).unwrap_or(Value::Null)
    }

    /// The card as published, as JSON text.
    pub fn card_raw(&self) -> &RawValue {
        &self.card
    }

    /// `[{"id", "name", "tags"}]` of the card's skills.
    pub fn skill_summaries(&self) -> &RawValue {
        &self.skills
    }
}

fn skill_summaries(card: &Value) -> Box<RawValue> {
    let skills: Vec<Value> = card
        .get("skills")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| {
            serde_json::json!({
                "id": s.get("id").cloned().unwrap_or(Value::Null),
                "name": s.get("name").cloned().unwrap_or(Value::Null),
                "tags": s.get("tags").cloned().unwrap_or_else(|| serde_json::json!([])),
            })
        })
        .collect();
    serde_json::value::to_raw_value(&skills).unwrap_or_else(|_| empty_array())
}

fn empty_array() -> Box<RawValue> {
    RawValue::from_string("[]".to_owned()).unwrap_or_default()
}

/// What one discovery message did to the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Registered(AgentAddr),
    Updated(AgentAddr),
    Unregistered(AgentAddr),
    /// Empty payload for an agent that was not indexed.
    NothingToRemove,
    /// Refused; the reason is logged once per distinct payload.
    Rejected {
        topic: String,
        reason: String,
    },
}

/// Why a card was last refused on a topic.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub reason: String,
    pub at: DateTime<Utc>,
    payload_hash: u64,
}

/// The entries and their secondary indexes, always changed together.
#[derive(Debug, Default)]
struct State {
    entries: BTreeMap<AgentAddr, Arc<AgentEntry>>,
    search: SearchIndex,
}

impl State {
    fn remove(&mut self, addr: &AgentAddr) -> Option<Arc<AgentEntry>> {
        let removed = self.entries.remove(addr)?;
        self.search.remove(addr, Some(removed.status));
        Some(removed)
    }

    fn insert(&mut self, entry: Arc<AgentEntry>, facets: Facets) {
        let old_status = self.entries.get(&entry.addr).map(|e| e.status);
        self.search
            .upsert(&entry.addr, facets, entry.status, old_status);
        self.entries.insert(entry.addr.clone(), entry);
    }
}

/// Caps the memory spent remembering refused cards.
const MAX_REJECTIONS: usize = 10_000;
/// Longest topic and reason remembered per refusal (a valid discovery topic is
/// at most 18 + 3 × 128 + 2 characters).
const MAX_REMEMBERED_CHARS: usize = 512;

/// The first `max` characters of `text`.
fn clip(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// The searchable set of agents seen on discovery topics.
#[derive(Debug)]
pub struct Index {
    state: RwLock<State>,
    rejected: Mutex<HashMap<String, Rejection>>,
    max_card_bytes: usize,
    /// Session generation whose retained burst is being received.
    generation: AtomicU64,
    synced: AtomicBool,
    started: Instant,
    /// Milliseconds since `started` of the last discovery message.
    last_message_ms: AtomicU64,
    /// Invalid cards refused, each counted (and logged) once per distinct
    /// payload on its topic.
    invalid_cards: AtomicU64,
}

impl Index {
    pub fn new(max_card_bytes: usize) -> Index {
        Index {
            state: RwLock::new(State::default()),
            rejected: Mutex::new(HashMap::new()),
            max_card_bytes,
            generation: AtomicU64::new(0),
            synced: AtomicBool::new(false),
            started: Instant::now(),
            last_message_ms: AtomicU64::new(0),
            invalid_cards: AtomicU64::new(0),
        }
    }

    /// Applies one retained discovery message.
    pub fn apply(&self, topic: &str, payload: &[u8], props: Option<&PublishProperties>) -> Applied {
        self.last_message_ms
            .store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
        let quiet = !self.synced.load(Ordering::Relaxed);
        let addr = match parse_discovery_topic(topic) {
            Ok(addr) => addr,
            Err(e) => return self.reject(topic, payload, e.to_string()),
        };
        if payload.is_empty() {
            let removed = self.write().remove(&addr);
            self.forget_rejection(topic);
            return match removed {
                Some(_) => {
                    log_change(quiet, &addr, "agent unregistered");
                    Applied::Unregistered(addr)
                }
                None => Applied::NothingToRemove,
            };
        }
        let valid = match card::validate(payload, self.max_card_bytes) {
            Ok(v) => v,
            Err(e) => {
                // The agent's current card is not usable: drop any older valid one
                // rather than route to an agent whose card we cannot vouch for.
                self.write().remove(&addr);
                return self.reject(topic, payload, e.to_string());
            }
        };
        self.forget_rejection(topic);
        let status = Liveness::from_property(user_property(props, STATUS_PROPERTY));
        let status_source = user_property(props, STATUS_SOURCE_PROPERTY)
            .filter(|s| matches!(*s, "agent" | "lwt" | "broker"))
            .map(str::to_owned);
        let now = Utc::now();
        let generation = self.generation.load(Ordering::Relaxed);
        let facets = Facets::of(&valid.card);
        let skills = skill_summaries(&valid.card);
        let card = match serde_json::value::to_raw_value(&valid.card) {
            Ok(c) => c,
            Err(e) => return self.reject(topic, payload, e.to_string()),
        };
        let mut state = self.write();
        let first_seen = state.entries.get(&addr).map(|e| e.first_seen);
        let entry = Arc::new(AgentEntry {
            addr: addr.clone(),
            card,
            skills,
            name: valid.name,
            description: valid.description,
            streaming: valid.streaming,
            status,
            status_source,
            first_seen: first_seen.unwrap_or(now),
            last_seen: now,
            seen_in: generation,
        });
        state.insert(entry, facets);
        drop(state);
        if first_seen.is_some() {
            tracing::debug!(agent = %addr, status = status.as_str(), "agent card updated");
            Applied::Updated(addr)
        } else {
            log_change(quiet, &addr, "agent registered");
            Applied::Registered(addr)
        }
    }

    fn reject(&self, topic: &str, payload: &[u8], reason: String) -> Applied {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        payload.hash(&mut h);
        let payload_hash = h.finish();
        // A hostile topic can be as long as a packet; what is remembered and
        // logged is capped. No valid discovery topic is that long, so lookups by
        // a valid address are unaffected.
        let topic = clip(topic, MAX_REMEMBERED_CHARS);
        let reason = clip(&reason, MAX_REMEMBERED_CHARS).to_owned();
        let mut rejected = self.rejected.lock().unwrap_or_else(|p| p.into_inner());
        let known = rejected
            .get(topic)
            .is_some_and(|r| r.payload_hash == payload_hash);
        if !known {
            tracing::warn!(%topic, %reason, "agent card refused; the agent is not indexed");
            self.invalid_cards.fetch_add(1, Ordering::Relaxed);
            if rejected.len() >= MAX_REJECTIONS && !rejected.contains_key(topic) {
                // Forget an arbitrary old one; the log line above already told.
                if let Some(k) = rejected.keys().next().cloned() {
                    rejected.remove(&k);
                }
            }
            rejected.insert(
                topic.to_owned(),
                Rejection {
                    reason: reason.clone(),
                    at: Utc::now(),
                    payload_hash,
                },
            );
        }
        Applied::Rejected {
            topic: topic.to_owned(),
            reason,
        }
    }

    fn forget_rejection(&self, topic: &str) {
        let mut rejected = self.rejected.lock().unwrap_or_else(|p| p.into_inner());
        rejected.remove(topic);
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the search index (tests).
    #[cfg(test)]
    pub(crate) fn read_search<T>(&self, f: impl FnOnce(&SearchIndex) -> T) -> T {
        f(&self.read().search)
    }

    /// Runs `f` on the search index, to change it (tests).
    #[cfg(test)]
    pub(crate) fn write_search<T>(&self, f: impl FnOnce(&mut SearchIndex) -> T) -> T {
        f(&mut self.write().search)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs a registry query.
    pub fn search(&self, query: &Query) -> Page {
        let state = self.read();
        state.search.search(&state.entries, query)
    }

    /// The entry of one agent.
    pub fn get(&self, addr: &AgentAddr) -> Option<Arc<AgentEntry>> {
        self.read().entries.get(addr).cloned()
    }

    /// All entries, ordered by address.
    pub fn list(&self) -> Vec<Arc<AgentEntry>> {
        self.read().entries.values().cloned().collect()
    }

    /// Number of indexed agents.
    pub fn len(&self) -> usize {
        self.read().entries.len()
    }

    /// Whether no agent is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Invalid cards refused so far: once per distinct payload on a topic, as
    /// they are logged (a retained card redelivered on every reconnect is not
    /// counted again).
    pub fn invalid_cards(&self) -> u64 {
        self.invalid_cards.load(Ordering::Relaxed)
    }

    /// Why the card on `topic` was last refused, if it was.
    pub fn rejection(&self, topic: &str) -> Option<Rejection> {
        let rejected = self.rejected.lock().unwrap_or_else(|p| p.into_inner());
        rejected.get(topic).cloned()
    }

    /// A new broker session started: its retained burst is the new truth.
    pub fn begin_sync(&self, generation: u64) {
        self.generation.store(generation, Ordering::Relaxed);
        self.synced.store(false, Ordering::Relaxed);
    }

    /// The retained burst of `generation` is consumed: drop agents it did not
    /// mention (unregistered while we were away) and report ready. Returns how
    /// many were dropped.
    pub fn end_sync(&self, generation: u64) -> usize {
        if self.generation.load(Ordering::Relaxed) != generation {
            return 0; // a newer session started meanwhile; its own sync decides
        }
        let mut state = self.write();
        let stale: Vec<AgentAddr> = state
            .entries
            .values()
            .filter(|e| e.seen_in < generation)
            .map(|e| e.addr.clone())
            .collect();
        for addr in &stale {
            state.remove(addr);
        }
        let purged = stale.len();
        let total = state.entries.len();
        drop(state);
        self.synced.store(true, Ordering::Relaxed);
        tracing::info!(
            agents = total,
            purged,
            generation,
            "discovery index in sync with the broker"
        );
        purged
    }

    /// Whether the retained burst of the current session was consumed.
    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Relaxed)
    }

    /// Milliseconds since the last discovery message arrived.
    pub fn quiet_for_ms(&self) -> u64 {
        let now = self.started.elapsed().as_millis() as u64;
        now.saturating_sub(self.last_message_ms.load(Ordering::Relaxed))
    }
}

fn log_change(quiet: bool, addr: &AgentAddr, what: &'static str) {
    if quiet {
        tracing::debug!(agent = %addr, "{what}");
    } else {
        tracing::info!(agent = %addr, "{what}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn card(name: &str) -> Vec<u8> {
        json!({
            "name": name, "description": "d", "version": "1",
            "supportedInterfaces": [{"url": "mqtt://b", "protocolBinding": "MQTT", "protocolVersion": "1.0"}],
            "capabilities": {"streaming": true},
            "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
            "skills": []
        })
        .to_string()
        .into_bytes()
    }

    fn status(s: &str, source: &str) -> PublishProperties {
        PublishProperties {
            user_properties: vec![
                (STATUS_PROPERTY.into(), s.into()),
                (STATUS_SOURCE_PROPERTY.into(), source.into()),
            ],
            ..PublishProperties::default()
        }
    }

    const T: &str = "$a2a/v1/discovery/acme/plant/echo";

    #[test]
    fn register_update_unregister() {
        let idx = Index::new(65536);
        let addr = AgentAddr::parse("acme/plant/echo").unwrap();
        assert_eq!(
            idx.apply(T, &card("A"), Some(&status("online", "agent"))),
            Applied::Registered(addr.clone())
        );
        let first = idx.get(&addr).unwrap();
        assert_eq!(first.status, Liveness::Online);
        assert_eq!(first.status_source.as_deref(), Some("agent"));
        assert_eq!(
            idx.apply(T, &card("B"), Some(&status("offline", "lwt"))),
            Applied::Updated(addr.clone())
        );
        let second = idx.get(&addr).unwrap();
        assert_eq!(second.name, "B");
        assert_eq!(second.status, Liveness::Offline);
        assert_eq!(second.first_seen, first.first_seen);
        assert_eq!(idx.apply(T, b"", None), Applied::Unregistered(addr.clone()));
        assert!(idx.get(&addr).is_none());
        assert_eq!(idx.apply(T, b"", None), Applied::NothingToRemove);
    }

    #[test]
    fn invalid_cards_are_refused_without_disturbing_others() {
        let idx = Index::new(65536);
        idx.apply("$a2a/v1/discovery/acme/plant/good", &card("G"), None);
        let r = idx.apply(T, b"{not json", None);
        assert!(matches!(r, Applied::Rejected { .. }));
        assert!(idx.rejection(T).unwrap().reason.contains("not valid JSON"));
        assert!(matches!(
            idx.apply("$a2a/v1/discovery/acme/plant/bad id", &card("X"), None),
            Applied::Rejected { .. }
        ));
        assert_eq!(idx.len(), 1);
        // A valid card later clears the verdict.
        idx.apply(T, &card("E"), None);
        assert!(idx.rejection(T).is_none());
        assert_eq!(idx.len(), 2);
    }

    /// The log lines written while `f` runs (a subscriber for this thread only).
    fn logged(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn an_invalid_card_is_logged_and_counted_once_per_distinct_payload() {
        let idx = Index::new(65536);
        let log = logged(|| {
            // The same retained card again (redelivered after a reconnect).
            for _ in 0..3 {
                idx.apply(T, b"{not json", None);
            }
        });
        assert_eq!(log.matches("agent card refused").count(), 1, "{log}");
        assert!(log.contains(T) && log.contains("not valid JSON"), "{log}");
        assert_eq!(idx.invalid_cards(), 1);
        // Another invalid payload on the same topic is news: logged again.
        let log = logged(|| {
            idx.apply(T, b"[]", None);
            idx.apply(T, b"[]", None);
        });
        assert_eq!(log.matches("agent card refused").count(), 1, "{log}");
        assert_eq!(idx.invalid_cards(), 2);
        // A valid card clears the verdict; the old invalid one is news again.
        idx.apply(T, &card("A"), None);
        let log = logged(|| {
            idx.apply(T, b"{not json", None);
        });
        assert_eq!(log.matches("agent card refused").count(), 1, "{log}");
        assert_eq!(idx.invalid_cards(), 3);
    }

    #[test]
    fn an_invalid_update_removes_the_previous_card() {
        let idx = Index::new(65536);
        idx.apply(T, &card("A"), None);
        idx.apply(T, b"[]", None);
        assert!(idx.is_empty());
    }

    #[test]
    fn missing_status_is_unknown_and_odd_sources_are_dropped() {
        let idx = Index::new(65536);
        idx.apply(T, &card("A"), Some(&status("sleepy", "martians")));
        let e = idx
            .get(&AgentAddr::parse("acme/plant/echo").unwrap())
            .unwrap();
        assert_eq!(e.status, Liveness::Unknown);
        assert_eq!(e.status_source, None);
    }

    #[test]
    fn resync_drops_agents_the_new_burst_did_not_mention() {
        let idx = Index::new(65536);
        idx.begin_sync(1);
        idx.apply(T, &card("A"), None);
        idx.apply("$a2a/v1/discovery/acme/plant/gone", &card("B"), None);
        assert_eq!(idx.end_sync(1), 0);
        assert!(idx.is_synced());
        idx.begin_sync(2);
        assert!(!idx.is_synced());
        idx.apply(T, &card("A"), None);
        assert_eq!(idx.end_sync(2), 1);
        assert_eq!(idx.len(), 1);
        // A stale end_sync for an older generation does nothing.
        idx.begin_sync(3);
        assert_eq!(idx.end_sync(2), 0);
        assert!(!idx.is_synced());
    }

    #[test]
    fn refusals_of_huge_topics_are_remembered_clipped() {
        let idx = Index::new(1024);
        let topic = format!("$a2a/v1/discovery/{}/u/a", "x".repeat(65_536));
        let Applied::Rejected { reason, .. } = idx.apply(&topic, &card("A"), None) else {
            panic!("refused");
        };
        assert!(
            reason.chars().count() <= MAX_REMEMBERED_CHARS,
            "{}",
            reason.len()
        );
        let remembered = idx.rejected.lock().unwrap();
        let (key, r) = remembered.iter().next().unwrap();
        assert_eq!(key.chars().count(), MAX_REMEMBERED_CHARS);
        assert!(r.reason.len() <= MAX_REMEMBERED_CHARS);
    }

    #[test]
    fn oversize_cards_are_refused() {
        let idx = Index::new(100);
        assert!(
            matches!(idx.apply(T, &card("A"), None), Applied::Rejected { reason, .. } if reason.contains("limit"))
        );
    }
}
