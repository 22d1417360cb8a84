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
    /// The posting lists of the words starting with `prefix`, with their total
    /// length (an upper bound of the matching agents).
    fn prefix_postings(&self, prefix: &str) -> (Vec<&BTreeSet<AgentAddr>>, usize) {
        let lists: Vec<&BTreeSet<AgentAddr>> = self
            .by_word
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(w, _)| w.starts_with(prefix))
            .map(|(_, set)| set)
            .collect();
        let total = lists.iter().map(|s| s.len()).sum();
        (lists, total)
    }

    /// Whether the agent has a word starting with `prefix`.
    fn has_word_prefix(&self, addr: &AgentAddr, prefix: &str) -> bool {
        self.facets.get(addr).is_some_and(|f| {
            f.words
                .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
                .next()
                .is_some_and(|w| w.starts_with(prefix))
        })
    }

    /// One page of the agents matching every filter, in address order.
    ///
    /// The smallest candidate list (a skill, a status, or the agents having a
    /// word with a given prefix) is walked in order from the page token; every
    /// other filter is a lookup per candidate, so the work is bounded by the
    /// page size plus the candidates that fail a filter, never by a set built
    /// per request from the whole index.
    pub fn search(&self, entries: &BTreeMap<AgentAddr, Arc<AgentEntry>>, query: &Query) -> Page {
        let limit = query.limit.max(1);
        let empty = BTreeSet::new();
        let mut exact: Vec<&BTreeSet<AgentAddr>> = Vec::new();
        if let Some(skill) = &query.skill {
            exact.push(self.by_skill.get(&skill.to_lowercase()).unwrap_or(&empty));
        }
        if let Some(status) = query.status {
            exact.push(self.by_status.get(&status).unwrap_or(&empty));
        }
        let terms: Vec<String> = query
            .text
            .as_deref()
            .map(|t| words_of(t).collect())
            .unwrap_or_default();
        let prefixes: Vec<(Vec<&BTreeSet<AgentAddr>>, usize)> =
            terms.iter().map(|t| self.prefix_postings(t)).collect();

        // The cheapest driver: an exact list, or a term's postings (borrowed when
        // one word has the prefix, else merged — the smallest such union).
        let best_exact = exact.iter().enumerate().min_by_key(|(_, s)| s.len());
        let best_prefix = prefixes.iter().enumerate().min_by_key(|(_, (_, n))| *n);
        let merged: BTreeSet<AgentAddr>;
        let (driver, skip_exact, skip_term): (Option<&BTreeSet<AgentAddr>>, _, _) =
            match (best_exact, best_prefix) {
                (Some((i, s)), Some((_, (_, n)))) if s.len() <= *n => (Some(*s), Some(i), None),
                (_, Some((j, (lists, _)))) => {
                    let set = if let [one] = lists.as_slice() {
                        *one
                    } else {
                        merged = lists.iter().flat_map(|s| s.iter().cloned()).collect();
                        &merged
                    };
                    (Some(set), None, Some(j))
                }
                (Some((i, s)), None) => (Some(*s), Some(i), None),
                (None, None) => (None, None, None),
            };
        let matches = |addr: &AgentAddr| {
            query.org.as_deref().is_none_or(|o| addr.org() == o)
                && query.unit.as_deref().is_none_or(|u| addr.unit() == u)
                && exact
                    .iter()
                    .enumerate()
                    .all(|(i, s)| Some(i) == skip_exact || s.contains(addr))
                && terms
                    .iter()
                    .enumerate()
                    .all(|(j, t)| Some(j) == skip_term || self.has_word_prefix(addr, t))
        };

        // Address order puts an org (and unit) in one contiguous range.
        let lower = match &query.after {
            Some(a) => Bound::Excluded(a.clone()),
            None => Bound::Unbounded,
        };
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
        let past_scope = |addr: &AgentAddr| match &query.org {
            Some(org) => {
                addr.org() > org.as_str()
                    || (addr.org() == org.as_str()
                        && query.unit.as_deref().is_some_and(|u| addr.unit() > u))
            }
            None => false,
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
        let candidates: Box<dyn Iterator<Item = &AgentAddr>> = match driver {
            Some(driver) => Box::new(driver.range((start, Bound::Unbounded))),
            None => Box::new(entries.range((start, Bound::Unbounded)).map(|(a, _)| a)),
        };
        for addr in candidates {
            if past_scope(addr) {
                break;
            }
            if matches(addr) && !push(addr, &mut agents) {
                break;
            }
        }
        Page { agents, next }
    }
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

    mod equivalence {
        use super::*;
        use proptest::prelude::*;

        const WORDS: [&str; 6] = ["paint", "pack", "weld", "welding", "line", "l2"];
        const ORGS: [&str; 3] = ["a", "a-b", "b"];

        #[derive(Debug, Clone)]
        struct Agent {
            org: usize,
            unit: usize,
            words: Vec<usize>,
            skill: usize,
            online: bool,
        }

        fn agent() -> impl Strategy<Value = Agent> {
            (
                0..3usize,
                0..2usize,
                proptest::collection::vec(0..6usize, 1..4),
                0..6usize,
                any::<bool>(),
            )
                .prop_map(|(org, unit, words, skill, online)| Agent {
                    org,
                    unit,
                    words,
                    skill,
                    online,
                })
        }

        fn query() -> impl Strategy<Value = Query> {
            (
                proptest::option::of(0..3usize),
                proptest::option::of(0..2usize),
                proptest::option::of(0..6usize),
                proptest::option::of(any::<bool>()),
                proptest::option::of(prop_oneof![
                    Just("pa"),
                    Just("weld"),
                    Just("l"),
                    Just("line pa"),
                    Just("x")
                ]),
                1..5usize,
            )
                .prop_map(|(org, unit, skill, online, text, limit)| Query {
                    org: org.map(|o| ORGS[o].to_owned()),
                    unit: org.and(unit).map(|u| format!("u{u}")),
                    skill: skill.map(|s| WORDS[s].to_owned()),
                    status: online.map(|o| {
                        if o {
                            Liveness::Online
                        } else {
                            Liveness::Offline
                        }
                    }),
                    text: text.map(str::to_owned),
                    after: None,
                    limit,
                })
        }

        proptest! {
            /// Every page walk returns exactly what a scan of all agents finds,
            /// in address order, whichever list drives the search.
            #[test]
            fn pages_equal_a_full_scan(agents in proptest::collection::vec(agent(), 0..40), query in query()) {
                let idx = Index::new(65536);
                let mut expected = BTreeMap::new();
                for (i, a) in agents.iter().enumerate() {
                    let words: Vec<&str> = a.words.iter().map(|w| WORDS[*w]).collect();
                    let name = words.join(" ");
                    let addr = format!("{}/u{}/n{i}", ORGS[a.org], a.unit);
                    idx.apply(
                        &format!("$a2a/v1/discovery/{addr}"),
                        &card(&name, "d", &[(WORDS[a.skill], "s", &[])]),
                        Some(&status(if a.online { "online" } else { "offline" })),
                    );
                    let text_ok = query.text.as_deref().is_none_or(|t| {
                        words_of(t).all(|term| {
                            words.iter().any(|w| w.starts_with(&term)) || "d".starts_with(&term) || "s".starts_with(&term)
                        })
                    });
                    let ok = query.org.as_deref().is_none_or(|o| o == ORGS[a.org])
                        && query.unit.as_deref().is_none_or(|u| u == format!("u{}", a.unit))
                        && query.skill.as_deref().is_none_or(|s| s == WORDS[a.skill])
                        && query.status.is_none_or(|s| (s == Liveness::Online) == a.online)
                        && text_ok;
                    let key = AgentAddr::parse(&addr).unwrap();
                    if ok {
                        expected.insert(key, ());
                    }
                }
                let expected: Vec<String> = expected.keys().map(|a| a.to_string()).collect();
                let mut got = Vec::new();
                let mut q = query.clone();
                for _ in 0..100 {
                    let page = idx.search(&q);
                    prop_assert!(page.agents.len() <= q.limit);
                    got.extend(ids(&page));
                    match page.next {
                        Some(next) => q.after = Some(next),
                        None => break,
                    }
                }
                prop_assert_eq!(got, expected);
            }
        }
    }
}
