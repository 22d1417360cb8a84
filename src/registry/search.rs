//! Secondary indexes over the registered agents, so that a query touches the
//! agents it may return rather than all of them.
//!
//! Every set is ordered by agent address, which is also the order of results and
//! what page tokens point into: a page is "the next `limit` matches after this
//! address", found by walking the smallest candidate set from that address and
//! checking the other criteria on each entry.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use serde_json::Value;

use super::index::{AgentEntry, Liveness};
use crate::mqtt::AgentAddr;

/// Longest text a query term may have; longer ones cannot match a token anyway.
const MAX_TERM: usize = 64;

/// What a registry query asks for. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub org: Option<String>,
    pub unit: Option<String>,
    /// A skill id or a skill tag (case-insensitive).
    pub skill: Option<String>,
    pub status: Option<Liveness>,
    /// Free text: every word must prefix a word of the agent's name, description,
    /// skill names or tags (case-insensitive).
    pub text: Option<String>,
    /// Results strictly after this address.
    pub after: Option<AgentAddr>,
    pub limit: usize,
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct Page {
    pub agents: Vec<Arc<AgentEntry>>,
    /// Where the next page starts, if there are more results.
    pub next: Option<AgentAddr>,
}

/// The searchable facts of one card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    /// Skill ids and tags, lowercased.
    pub skills: BTreeSet<String>,
    /// Words of the name, description, skill names and tags, lowercased.
    pub words: BTreeSet<String>,
}

impl Facets {
    /// Extracts the facets of a validated card.
    pub fn of(card: &Value) -> Facets {
        let mut f = Facets::default();
        let add_words = |text: &str, words: &mut BTreeSet<String>| {
            for w in words_of(text) {
                words.insert(w);
            }
        };
        for key in ["name", "description"] {
            if let Some(t) = card.get(key).and_then(Value::as_str) {
                add_words(t, &mut f.words);
            }
        }
        for skill in card
            .get("skills")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(id) = skill.get("id").and_then(Value::as_str) {
                f.skills.insert(id.to_lowercase());
            }
            if let Some(name) = skill.get("name").and_then(Value::as_str) {
                add_words(name, &mut f.words);
            }
            for tag in skill
                .get("tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(tag) = tag.as_str() {
                    f.skills.insert(tag.to_lowercase());
                    add_words(tag, &mut f.words);
                }
            }
        }
        f
    }
}

/// Lowercase alphanumeric words of `text` (other characters separate words).
pub fn words_of(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().take(MAX_TERM).collect::<String>().to_lowercase())
}

/// The secondary indexes. Kept in step with the main map by [`super::Index`].
#[derive(Debug, Default)]
pub struct SearchIndex {
    by_skill: HashMap<String, BTreeSet<AgentAddr>>,
    by_word: BTreeMap<String, BTreeSet<AgentAddr>>,
    by_status: HashMap<Liveness, BTreeSet<AgentAddr>>,
    facets: HashMap<AgentAddr, Facets>,
}

impl SearchIndex {
    /// Records (or replaces) the facets and status of `addr`.
    pub fn upsert(
        &mut self,
        addr: &AgentAddr,
        facets: Facets,
        status: Liveness,
        old_status: Option<Liveness>,
    ) {
        if let Some(old) = self.facets.remove(addr) {
            self.unlink(addr, &old);
        }
        if let Some(old) = old_status
            && let Some(set) = self.by_status.get_mut(&old)
        {
            set.remove(addr);
        }
        for s in &facets.skills {
            self.by_skill
                .entry(s.clone())
                .or_default()
                .insert(addr.clone());
        }
        for w in &facets.words {
            self.by_word
                .entry(w.clone())
                .or_default()
                .insert(addr.clone());
        }
        self.by_status
            .entry(status)
            .or_default()
            .insert(addr.clone());
        self.facets.insert(addr.clone(), facets);
    }

    /// Forgets `addr`.
    pub fn remove(&mut self, addr: &AgentAddr, status: Option<Liveness>) {
        if let Some(old) = self.facets.remove(addr) {
            self.unlink(addr, &old);
        }
        if let Some(s) = status
            && let Some(set) = self.by_status.get_mut(&s)
        {
            set.remove(addr);
        }
    }

    fn unlink(&mut self, addr: &AgentAddr, facets: &Facets) {
        for s in &facets.skills {
            if let Some(set) = self.by_skill.get_mut(s) {
                set.remove(addr);
                if set.is_empty() {
                    self.by_skill.remove(s);
                }
            }
        }
        for w in &facets.words {
            if let Some(set) = self.by_word.get_mut(w) {
                set.remove(addr);
                if set.is_empty() {
                    self.by_word.remove(w);
                }
            }
        }
    }

    /// Addresses with a word starting with `prefix`.
    fn word_prefix(&self, prefix: &str) -> BTreeSet<AgentAddr> {
        let mut out = BTreeSet::new();
        let range = self
            .by_word
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(w, _)| w.starts_with(prefix));
        for (_, set) in range {
            out.extend(set.iter().cloned());
        }
        out
    }

    /// Runs `query` over `entries` (the main map, ordered by address).
    pub fn search(&self, entries: &BTreeMap<AgentAddr, Arc<AgentEntry>>, query: &Query) -> Page {
        let limit = query.limit.max(1);
        // Candidate sets from the indexes; the smallest one is walked.
        let mut sets: Vec<std::borrow::Cow<'_, BTreeSet<AgentAddr>>> = Vec::new();
        let empty = BTreeSet::new();
        if let Some(skill) = &query.skill {
            sets.push(std::borrow::Cow::Borrowed(
                self.by_skill.get(&skill.to_lowercase()).unwrap_or(&empty),
            ));
        }
        if let Some(status) = query.status {
            sets.push(std::borrow::Cow::Borrowed(
                self.by_status.get(&status).unwrap_or(&empty),
            ));
        }
        let terms: Vec<String> = query
            .text
            .as_deref()
            .map(|t| words_of(t).collect())
            .unwrap_or_default();
        for term in &terms {
            sets.push(std::borrow::Cow::Owned(self.word_prefix(term)));
        }
        let lower = match &query.after {
            Some(a) => Bound::Excluded(a.clone()),
            None => Bound::Unbounded,
        };
        let matches = |addr: &AgentAddr, others: &[&BTreeSet<AgentAddr>]| {
            query.org.as_deref().is_none_or(|o| addr.org() == o)
                && query.unit.as_deref().is_none_or(|u| addr.unit() == u)
                && others.iter().all(|s| s.contains(addr))
        };
        let mut agents = Vec::with_capacity(limit.min(1024));
        let mut next = None;
        let mut push = |addr: &AgentAddr, agents: &mut Vec<Arc<AgentEntry>>| -> bool {
            if agents.len() == limit {
                next = agents.last().map(|e: &Arc<AgentEntry>| e.addr.clone());
                return false;
            }
            if let Some(e) = entries.get(addr) {
                agents.push(e.clone());
            }
            true
        };
        if let Some((smallest, rest)) = smallest_first(&sets) {
            for addr in smallest.range((lower, Bound::Unbounded)) {
                if matches(addr, &rest) && !push(addr, &mut agents) {
                    break;
                }
            }
        } else {
            // No index narrows it down: walk the main map, from the org/unit
            // prefix when one is given (addresses sort by org, unit, agent).
            let start = match &query.org {
                Some(org) => {
                    let first = AgentAddr::range_start(org, query.unit.as_deref());
                    match &query.after {
                        Some(a) if *a >= first => Bound::Excluded(a.clone()),
                        _ => Bound::Included(first),
                    }
                }
                None => lower,
            };
            for (addr, _) in entries.range((start, Bound::Unbounded)) {
                if query.org.as_deref().is_some_and(|o| addr.org() > o) {
                    break;
                }
                if matches(addr, &[]) && !push(addr, &mut agents) {
                    break;
                }
            }
        }
        Page { agents, next }
    }
}

/// The smallest set, and the others.
fn smallest_first<'a>(
    sets: &'a [std::borrow::Cow<'a, BTreeSet<AgentAddr>>],
) -> Option<(&'a BTreeSet<AgentAddr>, Vec<&'a BTreeSet<AgentAddr>>)> {
    let (i, _) = sets.iter().enumerate().min_by_key(|(_, s)| s.len())?;
    let rest = sets
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, s)| s.as_ref())
        .collect();
    Some((sets[i].as_ref(), rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::PublishProperties;
    use crate::registry::Index;
    use serde_json::json;

    fn card(name: &str, description: &str, skills: &[(&str, &str, &[&str])]) -> Vec<u8> {
        let skills: Vec<Value> = skills
            .iter()
            .map(|(id, name, tags)| json!({"id": id, "name": name, "description": "d", "tags": tags}))
            .collect();
        json!({
            "name": name, "description": description, "version": "1",
            "supportedInterfaces": [{"url": "mqtt://b", "protocolBinding": "MQTT", "protocolVersion": "1.0"}],
            "capabilities": {}, "defaultInputModes": [], "defaultOutputModes": [], "skills": skills
        })
        .to_string()
        .into_bytes()
    }

    fn status(s: &str) -> PublishProperties {
        PublishProperties {
            user_properties: vec![("a2a-status".into(), s.into())],
            ..PublishProperties::default()
        }
    }

    fn fleet() -> Index {
        let idx = Index::new(65536);
        let add = |addr: &str, c: Vec<u8>, s: &str| {
            idx.apply(&format!("$a2a/v1/discovery/{addr}"), &c, Some(&status(s)));
        };
        add(
            "acme/paint/robot1",
            card(
                "Paint Robot",
                "Sprays car bodies",
                &[("spray", "Spray paint", &["paint", "robotics"])],
            ),
            "online",
        );
        add(
            "acme/paint/robot2",
            card(
                "Paint Robot 2",
                "Sprays doors",
                &[("spray", "Spray paint", &["paint"])],
            ),
            "offline",
        );
        add(
            "acme/weld/welder",
            card(
                "Welder",
                "Spot welding",
                &[("weld", "Spot weld", &["welding", "robotics"])],
            ),
            "online",
        );
        add(
            "globex/lab/analyst",
            card(
                "Analyst",
                "Reads inspection reports",
                &[("report", "Summarise", &["llm"])],
            ),
            "online",
        );
        idx
    }

    fn ids(page: &Page) -> Vec<String> {
        page.agents.iter().map(|e| e.addr.to_string()).collect()
    }

    fn q() -> Query {
        Query {
            limit: 100,
            ..Query::default()
        }
    }

    #[test]
    fn filters_combine() {
        let idx = fleet();
        assert_eq!(ids(&idx.search(&q())).len(), 4);
        assert_eq!(
            ids(&idx.search(&Query {
                org: Some("acme".into()),
                ..q()
            })),
            ["acme/paint/robot1", "acme/paint/robot2", "acme/weld/welder"]
        );
        assert_eq!(
            ids(&idx.search(&Query {
                org: Some("acme".into()),
                unit: Some("weld".into()),
                ..q()
            })),
            ["acme/weld/welder"]
        );
        assert_eq!(
            ids(&idx.search(&Query {
                skill: Some("robotics".into()),
                ..q()
            })),
            ["acme/paint/robot1", "acme/weld/welder"]
        );
        assert_eq!(
            ids(&idx.search(&Query {
                skill: Some("SPRAY".into()),
                status: Some(Liveness::Online),
                ..q()
            })),
            ["acme/paint/robot1"]
        );
        assert_eq!(
            ids(&idx.search(&Query {
                status: Some(Liveness::Offline),
                ..q()
            })),
            ["acme/paint/robot2"]
        );
        assert_eq!(
            ids(&idx.search(&Query {
                text: Some("spray door".into()),
                ..q()
            })),
            ["acme/paint/robot2"]
        );
        assert_eq!(
            ids(&idx.search(&Query {
                text: Some("insp".into()),
                ..q()
            })),
            ["globex/lab/analyst"],
            "prefix match"
        );
        assert!(
            ids(&idx.search(&Query {
                text: Some("zebra".into()),
                ..q()
            }))
            .is_empty()
        );
        assert!(
            ids(&idx.search(&Query {
                skill: Some("nope".into()),
                ..q()
            }))
            .is_empty()
        );
    }

    #[test]
    fn pages_follow_address_order_without_gaps_or_repeats() {
        let idx = fleet();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = idx.search(&Query {
                limit: 1,
                after: after.clone(),
                ..q()
            });
            seen.extend(ids(&page));
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        assert_eq!(
            seen,
            [
                "acme/paint/robot1",
                "acme/paint/robot2",
                "acme/weld/welder",
                "globex/lab/analyst"
            ]
        );
        let page = idx.search(&Query { limit: 4, ..q() });
        assert!(
            page.next.is_none(),
            "exactly limit results and no more: no next page"
        );
    }

    #[test]
    fn indexes_follow_updates_and_removals() {
        let idx = fleet();
        idx.apply(
            "$a2a/v1/discovery/acme/paint/robot1",
            &card(
                "Paint Robot",
                "now polishes",
                &[("polish", "Polish", &["finish"])],
            ),
            Some(&status("offline")),
        );
        assert!(
            ids(&idx.search(&Query {
                skill: Some("spray".into()),
                status: Some(Liveness::Online),
                ..q()
            }))
            .is_empty()
        );
        assert_eq!(
            ids(&idx.search(&Query {
                text: Some("polishes".into()),
                ..q()
            })),
            ["acme/paint/robot1"]
        );
        assert_eq!(
            ids(&idx.search(&Query {
                status: Some(Liveness::Offline),
                ..q()
            }))
            .len(),
            2
        );
        idx.apply("$a2a/v1/discovery/acme/paint/robot1", b"", None);
        assert!(
            ids(&idx.search(&Query {
                text: Some("polishes".into()),
                ..q()
            }))
            .is_empty()
        );
        assert_eq!(
            ids(&idx.search(&Query {
                status: Some(Liveness::Offline),
                ..q()
            })),
            ["acme/paint/robot2"]
        );
    }
}
