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
    /// Free text: every word must start a word of the agent's name,
    /// description, skill names or tags (case-insensitive); a one-character
    /// word must equal one ([`EXACT_TERM_CHARS`]).
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

/// Query terms this short match whole words only: one letter or digit as a
/// prefix would expand to a large share of the vocabulary (every word starting
/// with "s") on every request.
pub const EXACT_TERM_CHARS: usize = 1;

/// Most distinct words a prefix term may expand to and still drive a search
/// (their agent lists are then merged as they are walked). A prefix with more
/// is checked on each candidate instead, so no request walks or merges an
/// unbounded part of the vocabulary.
pub const MAX_EXPANSION: usize = 64;

/// The secondary indexes. Kept in step with the main map by [`super::Index`].
#[derive(Debug)]
pub struct SearchIndex {
    by_skill: HashMap<String, BTreeSet<AgentAddr>>,
    by_word: BTreeMap<String, BTreeSet<AgentAddr>>,
    by_status: HashMap<Liveness, BTreeSet<AgentAddr>>,
    /// Agents by unit across organisations: `unit=` without `org=` (with
    /// `org=`, an org and unit are one contiguous range of addresses already).
    by_unit: HashMap<String, BTreeSet<AgentAddr>>,
    facets: HashMap<AgentAddr, Facets>,
    /// [`MAX_EXPANSION`]; lowered by tests to reach both ways a prefix is used.
    expansion_cap: usize,
}

impl Default for SearchIndex {
    fn default() -> SearchIndex {
        SearchIndex {
            by_skill: HashMap::new(),
            by_word: BTreeMap::new(),
            by_status: HashMap::new(),
            by_unit: HashMap::new(),
            facets: HashMap::new(),
            expansion_cap: MAX_EXPANSION,
        }
    }
}

/// Inserts `addr` into the set under `key`.
fn link<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, BTreeSet<AgentAddr>>,
    key: K,
    addr: &AgentAddr,
) {
    map.entry(key).or_default().insert(addr.clone());
}

/// Removes `addr` from the set under `key`, and the set once empty.
fn unlink_from<
    K: std::hash::Hash + Eq + std::borrow::Borrow<Q>,
    Q: std::hash::Hash + Eq + ?Sized,
>(
    map: &mut HashMap<K, BTreeSet<AgentAddr>>,
    key: &Q,
    addr: &AgentAddr,
) {
    if let Some(set) = map.get_mut(key) {
        set.remove(addr);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

/// The union of address-ordered walks, in address order and each address
/// once, merged as it is walked (nothing is collected per request).
struct Union<'a, I: Iterator<Item = &'a AgentAddr>> {
    heads: Vec<std::iter::Peekable<I>>,
}

impl<'a, I: Iterator<Item = &'a AgentAddr>> Iterator for Union<'a, I> {
    type Item = &'a AgentAddr;

    fn next(&mut self) -> Option<&'a AgentAddr> {
        let min = self
            .heads
            .iter_mut()
            .filter_map(|h| h.peek().copied())
            .min()?;
        for head in &mut self.heads {
            if head.peek() == Some(&min) {
                head.next();
            }
        }
        Some(min)
    }
}

/// The list a search walks: the rest of the filters are checked on each of
/// its addresses.
enum Driver<'a> {
    /// An exact list: a skill, a status, a unit or a whole word.
    Exact(&'a BTreeSet<AgentAddr>),
    /// The lists of the words a prefix expands to.
    Prefix(Vec<&'a BTreeSet<AgentAddr>>),
    /// Every agent (in the org's range when there is one).
    Scan,
}

/// The agent lists of the words a prefix expands to.
struct Expansion<'a> {
    lists: Vec<&'a BTreeSet<AgentAddr>>,
    /// Their total length: an upper bound of the agents they hold.
    total: usize,
}

/// A query's free-text terms, split by how they match.
struct Terms {
    /// Whole words (terms of at most [`EXACT_TERM_CHARS`]).
    words: Vec<String>,
    /// Word prefixes (longer terms).
    prefixes: Vec<String>,
}

impl Terms {
    fn of(query: &Query) -> Terms {
        let (words, prefixes) = query
            .text
            .as_deref()
            .map(|t| words_of(t).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .partition(|t| t.chars().count() <= EXACT_TERM_CHARS);
        Terms { words, prefixes }
    }
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
        if let Some(old) = old_status {
            unlink_from(&mut self.by_status, &old, addr);
        }
        for s in &facets.skills {
            link(&mut self.by_skill, s.clone(), addr);
        }
        for w in &facets.words {
            self.by_word
                .entry(w.clone())
                .or_default()
                .insert(addr.clone());
        }
        link(&mut self.by_status, status, addr);
        link(&mut self.by_unit, addr.unit().to_owned(), addr);
        self.facets.insert(addr.clone(), facets);
    }

    /// Forgets `addr`.
    pub fn remove(&mut self, addr: &AgentAddr, status: Option<Liveness>) {
        if let Some(old) = self.facets.remove(addr) {
            self.unlink(addr, &old);
        }
        if let Some(s) = status {
            unlink_from(&mut self.by_status, &s, addr);
        }
    }

    fn unlink(&mut self, addr: &AgentAddr, facets: &Facets) {
        for s in &facets.skills {
            unlink_from(&mut self.by_skill, s.as_str(), addr);
        }
        for w in &facets.words {
            if let Some(set) = self.by_word.get_mut(w) {
                set.remove(addr);
                if set.is_empty() {
                    self.by_word.remove(w);
                }
            }
        }
        unlink_from(&mut self.by_unit, addr.unit(), addr);
    }

    /// Lowers [`MAX_EXPANSION`] (tests).
    #[cfg(test)]
    pub(crate) fn set_expansion_cap(&mut self, cap: usize) {
        self.expansion_cap = cap;
    }

    /// The agent lists of the words starting with `prefix`; `None` when more
    /// than the cap of words start with it. Walks at most cap + 1 words.
    fn expansion(&self, prefix: &str) -> Option<Expansion<'_>> {
        let mut lists = Vec::new();
        let words = self
            .by_word
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(w, _)| w.starts_with(prefix));
        for (_, agents) in words {
            if lists.len() == self.expansion_cap {
                return None;
            }
            lists.push(agents);
        }
        let total = lists.iter().map(|s| s.len()).sum();
        Some(Expansion { lists, total })
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

    /// The exact lists a query names: skill, status, unit (without org) and
    /// whole words. A name nobody has gives an empty list.
    fn exact_lists<'a>(
        &'a self,
        query: &Query,
        words: &[String],
        empty: &'a BTreeSet<AgentAddr>,
    ) -> Vec<&'a BTreeSet<AgentAddr>> {
        let mut exact = Vec::new();
        if let Some(skill) = &query.skill {
            exact.push(self.by_skill.get(&skill.to_lowercase()).unwrap_or(empty));
        }
        if let Some(status) = query.status {
            exact.push(self.by_status.get(&status).unwrap_or(empty));
        }
        if let (None, Some(unit)) = (&query.org, &query.unit) {
            exact.push(self.by_unit.get(unit).unwrap_or(empty));
        }
        for w in words {
            exact.push(self.by_word.get(w).unwrap_or(empty));
        }
        exact
    }

    /// The shortest list to walk, and which exact list or prefix it stands
    /// for (that one need not be checked again).
    fn driver<'a>(
        exact: &[&'a BTreeSet<AgentAddr>],
        expansions: &mut [Option<Expansion<'a>>],
    ) -> (Driver<'a>, Option<usize>, Option<usize>) {
        let best_exact = exact.iter().enumerate().min_by_key(|(_, s)| s.len());
        let best_prefix = expansions
            .iter()
            .enumerate()
            .filter_map(|(j, e)| e.as_ref().map(|e| (j, e.total)))
            .min_by_key(|(_, n)| *n);
        match (best_exact, best_prefix) {
            (Some((i, s)), Some((_, n))) if s.len() <= n => (Driver::Exact(s), Some(i), None),
            (_, Some((j, _))) => match expansions[j].take() {
                Some(e) => (Driver::Prefix(e.lists), None, Some(j)),
                None => (Driver::Scan, None, None),
            },
            (Some((i, s)), None) => (Driver::Exact(s), Some(i), None),
            (None, None) => (Driver::Scan, None, None),
        }
    }

    /// One page of the agents matching every filter, in address order.
    ///
    /// The shortest candidate list (a skill, a status, a unit, a whole word,
    /// or the words a prefix expands to, merged as walked) is walked in order
    /// from the page token; every other filter is a lookup per candidate, so
    /// the work is bounded by the page size plus the candidates that fail a
    /// filter, never by a set built per request from the whole index.
    pub fn search(&self, entries: &BTreeMap<AgentAddr, Arc<AgentEntry>>, query: &Query) -> Page {
        let limit = query.limit.max(1);
        let empty = BTreeSet::new();
        let terms = Terms::of(query);
        let exact = self.exact_lists(query, &terms.words, &empty);
        let mut expansions: Vec<_> = terms.prefixes.iter().map(|p| self.expansion(p)).collect();
        let (driver, skip_exact, skip_prefix) = Self::driver(&exact, &mut expansions);
        let matches = |addr: &AgentAddr| {
            query.org.as_deref().is_none_or(|o| addr.org() == o)
                && query.unit.as_deref().is_none_or(|u| addr.unit() == u)
                && exact
                    .iter()
                    .enumerate()
                    .all(|(i, s)| Some(i) == skip_exact || s.contains(addr))
                && terms
                    .prefixes
                    .iter()
                    .enumerate()
                    .all(|(j, t)| Some(j) == skip_prefix || self.has_word_prefix(addr, t))
        };

        let start = Self::start_bound(query);
        let candidates: Box<dyn Iterator<Item = &AgentAddr>> = match driver {
            Driver::Exact(list) => Box::new(list.range((start, Bound::Unbounded))),
            Driver::Prefix(lists) => Box::new(Union {
                heads: lists
                    .into_iter()
                    .map(|l| l.range((start.clone(), Bound::Unbounded)).peekable())
                    .collect(),
            }),
            Driver::Scan => Box::new(entries.range((start, Bound::Unbounded)).map(|(a, _)| a)),
        };
        let mut agents = Vec::with_capacity(limit.min(1024));
        let mut next = None;
        for addr in candidates {
            if Self::past_scope(query, addr) {
                break;
            }
            if !matches(addr) {
                continue;
            }
            if agents.len() == limit {
                next = agents.last().map(|e: &Arc<AgentEntry>| e.addr.clone());
                break;
            }
            if let Some(e) = entries.get(addr) {
                agents.push(e.clone());
            }
        }
        Page { agents, next }
    }

    /// Where a walk starts: after the page token, and not before the org (and
    /// unit) range, address order putting an org's agents in one range.
    fn start_bound(query: &Query) -> Bound<AgentAddr> {
        let after = query
            .after
            .clone()
            .map_or(Bound::Unbounded, Bound::Excluded);
        let Some(org) = &query.org else {
            return after;
        };
        let first = AgentAddr::range_start(org, query.unit.as_deref());
        match &query.after {
            Some(a) if *a >= first => Bound::Excluded(a.clone()),
            _ => Bound::Included(first),
        }
    }

    /// Whether an address lies past the org (and unit) range, ending the walk.
    fn past_scope(query: &Query, addr: &AgentAddr) -> bool {
        match &query.org {
            Some(org) => {
                addr.org() > org.as_str()
                    || (addr.org() == org.as_str()
                        && query.unit.as_deref().is_some_and(|u| addr.unit() > u))
            }
            None => false,
        }
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

    fn text(t: &str) -> Query {
        Query {
            text: Some(t.into()),
            ..q()
        }
    }

    #[test]
    fn free_text_reaches_skill_names_and_tags() {
        let idx = fleet();
        // "Summarise" is only the analyst's skill name; "llm" only its tag.
        assert_eq!(ids(&idx.search(&text("summar"))), ["globex/lab/analyst"]);
        assert_eq!(ids(&idx.search(&text("llm"))), ["globex/lab/analyst"]);
        // "robotics" is only a tag, of two agents whose names say nothing of it.
        assert_eq!(
            ids(&idx.search(&text("robotics"))),
            ["acme/paint/robot1", "acme/weld/welder"]
        );
        // A skill id is not free text ("report" is the analyst's skill id, and
        // its description says "reports": the word matches, not the id).
        assert_eq!(ids(&idx.search(&text("report"))), ["globex/lab/analyst"]);
        assert!(ids(&idx.search(&text("weld spray"))).is_empty());
    }

    #[test]
    fn a_unit_without_an_org_is_looked_up_not_scanned() {
        let idx = fleet();
        idx.apply(
            "$a2a/v1/discovery/globex/paint/mixer",
            &card("Mixer", "Mixes paint", &[("mix", "Mix", &["paint"])]),
            Some(&status("online")),
        );
        let unit = |u: &str| Query {
            unit: Some(u.into()),
            ..q()
        };
        assert_eq!(
            ids(&idx.search(&unit("paint"))),
            [
                "acme/paint/robot1",
                "acme/paint/robot2",
                "globex/paint/mixer"
            ]
        );
        assert_eq!(
            ids(&idx.search(&Query {
                status: Some(Liveness::Online),
                ..unit("paint")
            })),
            ["acme/paint/robot1", "globex/paint/mixer"]
        );
        assert!(ids(&idx.search(&unit("nowhere"))).is_empty());
        // Removal leaves the unit's list.
        idx.apply("$a2a/v1/discovery/globex/paint/mixer", b"", None);
        assert_eq!(
            ids(&idx.search(&unit("paint"))),
            ["acme/paint/robot1", "acme/paint/robot2"]
        );
        assert!(idx.read_search(|s| s.by_unit.contains_key("lab")));
        idx.apply("$a2a/v1/discovery/globex/lab/analyst", b"", None);
        assert!(
            idx.read_search(|s| !s.by_unit.contains_key("lab")),
            "an emptied unit is dropped"
        );
    }

    #[test]
    fn one_character_terms_match_whole_words() {
        let idx = fleet();
        idx.apply(
            "$a2a/v1/discovery/acme/paint/robot3",
            &card("Paint Robot 3", "Sprays s parts", &[]),
            Some(&status("online")),
        );
        // "2" is a word of "Paint Robot 2" only; "3" of robot3 only; "s" is a
        // word of robot3's description and no prefix expansion of "spray...".
        assert_eq!(ids(&idx.search(&text("2"))), ["acme/paint/robot2"]);
        assert_eq!(ids(&idx.search(&text("3"))), ["acme/paint/robot3"]);
        assert_eq!(ids(&idx.search(&text("s"))), ["acme/paint/robot3"]);
        assert!(ids(&idx.search(&text("w"))).is_empty(), "no word is just w");
        // Two characters are a prefix again.
        assert_eq!(ids(&idx.search(&text("we"))), ["acme/weld/welder"]);
    }

    #[test]
    fn a_prefix_of_many_words_is_checked_per_agent_not_merged() {
        let idx = Index::new(65536);
        // MAX_EXPANSION + 6 words starting with "st", one agent each, and one
        // agent with none of them.
        for i in 0..MAX_EXPANSION + 6 {
            idx.apply(
                &format!("$a2a/v1/discovery/o/u/a{i:03}"),
                &card("Agent", &format!("st{i}"), &[]),
                Some(&status("online")),
            );
        }
        idx.apply(
            "$a2a/v1/discovery/o/u/zzz",
            &card("Agent", "other", &[]),
            Some(&status("online")),
        );
        assert!(idx.read_search(|s| s.expansion("st").is_none()));
        assert!(idx.read_search(|s| s.expansion("st1").is_some()));
        let page = idx.search(&Query {
            limit: 10,
            ..text("st")
        });
        assert_eq!(page.agents.len(), 10);
        assert_eq!(
            page.next.as_ref().map(|a| a.to_string()).as_deref(),
            Some("o/u/a009")
        );
        let all = idx.search(&Query {
            limit: 1000,
            ..text("st")
        });
        assert_eq!(all.agents.len(), MAX_EXPANSION + 6);
        // Below the cap, the same answers from the merged lists.
        assert_eq!(
            ids(&idx.search(&text("st1"))),
            ids(&idx.search(&Query {
                limit: 100,
                ..text("st1 agent")
            }))
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

        const WORDS: [&str; 7] = ["paint", "pack", "weld", "welding", "line", "l2", "7"];
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
                proptest::collection::vec(0..7usize, 1..4),
                0..7usize,
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
                proptest::option::of(0..7usize),
                proptest::option::of(any::<bool>()),
                proptest::option::of(prop_oneof![
                    Just("pa"),
                    Just("weld"),
                    Just("l"),
                    Just("line pa"),
                    Just("x"),
                    Just("7"),
                    Just("d we"),
                    Just("l2 li")
                ]),
                1..5usize,
            )
                .prop_map(|(org, unit, skill, online, text, limit)| Query {
                    org: org.map(|o| ORGS[o].to_owned()),
                    unit: unit.map(|u| format!("u{u}")),
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
            fn pages_equal_a_full_scan(
                agents in proptest::collection::vec(agent(), 0..40),
                query in query(),
                cap in prop_oneof![Just(1usize), Just(2), Just(MAX_EXPANSION)],
            ) {
                let idx = Index::new(65536);
                // A low cap makes prefixes both drive (merged) and be checked.
                idx.write_search(|s| s.set_expansion_cap(cap));
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
                    // The card's words, its description "d" and skill name "s"
                    // included; short terms match whole words.
                    let mut all_words = words.clone();
                    all_words.extend(["d", "s"]);
                    let text_ok = query.text.as_deref().is_none_or(|t| {
                        words_of(t).all(|term| {
                            if term.chars().count() <= EXACT_TERM_CHARS {
                                all_words.contains(&term.as_str())
                            } else {
                                all_words.iter().any(|w| w.starts_with(&term))
                            }
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
