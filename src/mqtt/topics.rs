//! Topic names and identifiers of the A2A over MQTT profile.
//!
//! Every identifier is checked against `^[A-Za-z0-9_.-]+$` (and a length cap)
//! before it can become part of a topic, so `+`, `#`, `/`, `$` or an empty level
//! never reach the broker from an HTTP URL or a card.

use std::fmt;
use std::sync::Arc;

use thiserror::Error;

/// Longest identifier accepted. The profile sets no cap; 128 keeps topics well
/// inside broker limits and log lines readable.
pub const MAX_ID_LEN: usize = 128;

/// Prefix of every discovery topic.
pub const DISCOVERY_PREFIX: &str = "$a2a/v1/discovery/";
/// Prefix of every request topic.
pub const REQUEST_PREFIX: &str = "$a2a/v1/request/";
/// Prefix of every reply topic.
pub const REPLY_PREFIX: &str = "$a2a/v1/reply/";
/// Filter matching every discovery topic.
pub const ALL_DISCOVERY: &str = "$a2a/v1/discovery/+/+/+";

/// An identifier that breaks the profile's rules.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} is {len} characters long; the limit is {MAX_ID_LEN}")]
    TooLong { what: &'static str, len: usize },
    #[error("{what} {value:?} has characters outside [A-Za-z0-9_.-]")]
    BadChars { what: &'static str, value: String },
}

/// Checks one identifier (`org_id`, `unit_id`, `agent_id`, `pool_id`, ...).
pub fn check_id(what: &'static str, value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { what });
    }
    if value.len() > MAX_ID_LEN {
        return Err(IdError::TooLong {
            what,
            len: value.len(),
        });
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        // Keep the echo short: the value may be hostile and arbitrarily long.
        let shown: String = value.chars().take(MAX_ID_LEN).collect();
        return Err(IdError::BadChars { what, value: shown });
    }
    Ok(())
}

/// The address of one agent: `{org}/{unit}/{agent}`, all validated.
///
/// One shared allocation holding `org/unit/agent`: the registry's search index
/// refers to each agent from many posting lists, and a clone is then a
/// reference-count increment instead of three string copies. Ordered by
/// (org, unit, agent), which is the registry's stable listing order.
#[derive(Clone)]
pub struct AgentAddr {
    path: Arc<str>,
    org_end: u16,
    unit_end: u16,
}

impl AgentAddr {
    /// Validates the three identifiers.
    pub fn new(org: &str, unit: &str, agent: &str) -> Result<AgentAddr, IdError> {
        check_id("org id", org)?;
        check_id("unit id", unit)?;
        check_id("agent id", agent)?;
        Ok(AgentAddr::join(org, unit, agent))
    }

    /// Ids are at most [`MAX_ID_LEN`] long, so the offsets fit in `u16`.
    fn join(org: &str, unit: &str, agent: &str) -> AgentAddr {
        let org_end = org.len().min(MAX_ID_LEN);
        let unit_end = org_end + 1 + unit.len().min(MAX_ID_LEN);
        AgentAddr {
            path: Arc::from(format!("{org}/{unit}/{agent}")),
            org_end: org_end as u16,
            unit_end: unit_end as u16,
        }
    }

    /// Parses `org/unit/agent`.
    pub fn parse(path: &str) -> Result<AgentAddr, IdError> {
        let mut it = path.splitn(3, '/');
        let org = it.next().unwrap_or_default();
        let unit = it.next().unwrap_or_default();
        let agent = it.next().unwrap_or_default();
        AgentAddr::new(org, unit, agent)
    }

    /// The smallest address within `org` (and `unit`), as the start of a range
    /// scan. Not a usable agent address.
    pub fn range_start(org: &str, unit: Option<&str>) -> AgentAddr {
        let org: String = org.chars().take(MAX_ID_LEN).collect();
        let unit: String = unit.unwrap_or_default().chars().take(MAX_ID_LEN).collect();
        AgentAddr::join(&org, &unit, "")
    }

    pub fn org(&self) -> &str {
        &self.path[..usize::from(self.org_end)]
    }

    pub fn unit(&self) -> &str {
        &self.path[usize::from(self.org_end) + 1..usize::from(self.unit_end)]
    }

    pub fn agent(&self) -> &str {
        &self.path[usize::from(self.unit_end) + 1..]
    }

    /// `org/unit/agent`.
    pub fn as_str(&self) -> &str {
        &self.path
    }

    fn parts(&self) -> (&str, &str, &str) {
        (self.org(), self.unit(), self.agent())
    }

    /// `$a2a/v1/discovery/{org}/{unit}/{agent}`.
    pub fn discovery_topic(&self) -> String {
        format!("{DISCOVERY_PREFIX}{self}")
    }

    /// `$a2a/v1/request/{org}/{unit}/{agent}`.
    pub fn request_topic(&self) -> String {
        format!("{REQUEST_PREFIX}{self}")
    }

    /// The MQTT client id an agent uses: `{org}/{unit}/{agent}`.
    pub fn client_id(&self) -> String {
        self.to_string()
    }
}

impl std::str::FromStr for AgentAddr {
    type Err = IdError;

    fn from_str(s: &str) -> Result<AgentAddr, IdError> {
        AgentAddr::parse(s)
    }
}

impl fmt::Display for AgentAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)
    }
}

impl fmt::Debug for AgentAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgentAddr({:?})", &*self.path)
    }
}

// `/` cannot occur inside an id, so equal paths are equal addresses and the
// path alone can be compared and hashed for equality; order is by component,
// because `/` sorts between `.` and the digits.
impl PartialEq for AgentAddr {
    fn eq(&self, other: &AgentAddr) -> bool {
        self.path == other.path
    }
}

impl Eq for AgentAddr {}

impl std::hash::Hash for AgentAddr {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.path.hash(state);
    }
}

impl Ord for AgentAddr {
    fn cmp(&self, other: &AgentAddr) -> std::cmp::Ordering {
        self.parts().cmp(&other.parts())
    }
}

impl PartialOrd for AgentAddr {
    fn partial_cmp(&self, other: &AgentAddr) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A discovery topic that does not name an agent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TopicError {
    #[error("topic {0:?} is not a discovery topic ($a2a/v1/discovery/{{org}}/{{unit}}/{{agent}})")]
    NotDiscovery(String),
    #[error("topic {topic:?}: {source}")]
    BadId { topic: String, source: IdError },
}

/// Parses `$a2a/v1/discovery/{org}/{unit}/{agent}` into the agent's address.
pub fn parse_discovery_topic(topic: &str) -> Result<AgentAddr, TopicError> {
    let rest = topic
        .strip_prefix(DISCOVERY_PREFIX)
        .ok_or_else(|| TopicError::NotDiscovery(topic.to_owned()))?;
    let levels: Vec<&str> = rest.split('/').collect();
    let [org, unit, agent] = levels.as_slice() else {
        return Err(TopicError::NotDiscovery(topic.to_owned()));
    };
    AgentAddr::new(org, unit, agent).map_err(|source| TopicError::BadId {
        topic: topic.to_owned(),
        source,
    })
}

/// Checks a subscription filter meant to select discovery topics.
pub fn check_discovery_filter(filter: &str) -> Result<(), String> {
    let Some(rest) = filter.strip_prefix(DISCOVERY_PREFIX) else {
        return Err(format!("{filter:?} must start with {DISCOVERY_PREFIX}"));
    };
    let levels: Vec<&str> = rest.split('/').collect();
    if levels.len() > 3 || (levels.len() < 3 && levels.last() != Some(&"#")) {
        return Err(format!(
            "{filter:?} must have the form {DISCOVERY_PREFIX}{{org}}/{{unit}}/{{agent}} (each level an id, + or a final #)"
        ));
    }
    for (i, level) in levels.iter().enumerate() {
        let last = i + 1 == levels.len();
        if *level == "+" || (*level == "#" && last) {
            continue;
        }
        check_id("filter level", level).map_err(|e| format!("{filter:?}: {e}"))?;
    }
    Ok(())
}

/// MQTT topic-filter matching (`+` one level, `#` the rest). Topics starting with
/// `$` are matched literally by their first level, as brokers do.
pub fn filter_matches(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    let mut first = true;
    loop {
        match (f.next(), t.next()) {
            (Some("#"), Some(level)) => return !(first && level.starts_with('$')),
            (Some("#"), None) => return true,
            (Some("+"), Some(level)) => {
                if first && level.starts_with('$') {
                    return false;
                }
            }
            (Some(fl), Some(tl)) => {
                if fl != tl {
                    return false;
                }
            }
            (None, None) => return true,
            _ => return false,
        }
        first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_order_by_component_not_by_path() {
        let a = AgentAddr::parse("a/x/y").unwrap();
        let ab = AgentAddr::parse("a-b/x/y").unwrap();
        // As strings "a-b/..." < "a/..."; as (org, unit, agent), "a" < "a-b".
        assert!(a < ab);
        assert!(AgentAddr::range_start("a", None) < a);
        assert!(AgentAddr::range_start("a", Some("x")) < a);
        assert!(AgentAddr::range_start("a", Some("y")) > a);
        assert_eq!((a.org(), a.unit(), a.agent()), ("a", "x", "y"));
        assert_eq!(a.as_str(), "a/x/y");
        let long = "z".repeat(MAX_ID_LEN);
        let l = AgentAddr::new(&long, &long, &long).unwrap();
        assert_eq!((l.org(), l.unit(), l.agent()), (&*long, &*long, &*long));
        assert_eq!(a, a.clone());
        assert_eq!(format!("{a:?}"), "AgentAddr(\"a/x/y\")");
    }

    #[test]
    fn ids_follow_the_profile_pattern() {
        assert!(check_id("x", "plant-1.line_2").is_ok());
        for bad in ["", "a/b", "a+b", "#", "$sys", "a b", "é", "a\0b"] {
            assert!(check_id("x", bad).is_err(), "{bad:?} accepted");
        }
        assert!(matches!(
            check_id("x", &"a".repeat(MAX_ID_LEN + 1)),
            Err(IdError::TooLong { .. })
        ));
        assert!(check_id("x", &"a".repeat(MAX_ID_LEN)).is_ok());
    }

    #[test]
    fn agent_topics() {
        let a = AgentAddr::new("acme", "plant1", "echo").unwrap();
        assert_eq!(a.discovery_topic(), "$a2a/v1/discovery/acme/plant1/echo");
        assert_eq!(a.request_topic(), "$a2a/v1/request/acme/plant1/echo");
        assert_eq!(a.client_id(), "acme/plant1/echo");
        assert_eq!(AgentAddr::parse("acme/plant1/echo").unwrap(), a);
        assert!(AgentAddr::parse("acme/plant1").is_err());
        assert!(AgentAddr::parse("acme/plant1/echo/x").is_err());
    }

    #[test]
    fn discovery_topics_parse_strictly() {
        let a = parse_discovery_topic("$a2a/v1/discovery/o/u/a").unwrap();
        assert_eq!(a.to_string(), "o/u/a");
        assert!(parse_discovery_topic("$a2a/v1/discovery/o/u").is_err());
        assert!(parse_discovery_topic("$a2a/v1/discovery/o/u/a/b").is_err());
        assert!(parse_discovery_topic("$a2a/v1/discovery/o/u/a b").is_err());
        assert!(parse_discovery_topic("$a2a/v1/request/o/u/a").is_err());
    }

    #[test]
    fn discovery_filters() {
        assert!(check_discovery_filter(ALL_DISCOVERY).is_ok());
        assert!(check_discovery_filter("$a2a/v1/discovery/acme/+/+").is_ok());
        assert!(check_discovery_filter("$a2a/v1/discovery/acme/#").is_ok());
        assert!(check_discovery_filter("$a2a/v1/discovery/#").is_ok());
        assert!(check_discovery_filter("$a2a/v1/discovery/acme").is_err());
        assert!(check_discovery_filter("$a2a/v1/discovery/a/b/c/d").is_err());
        assert!(check_discovery_filter("#").is_err());
        assert!(check_discovery_filter("$a2a/v1/discovery/a b/+/+").is_err());
    }

    #[test]
    fn filter_matching() {
        assert!(filter_matches(ALL_DISCOVERY, "$a2a/v1/discovery/o/u/a"));
        assert!(!filter_matches(ALL_DISCOVERY, "$a2a/v1/discovery/o/u"));
        assert!(filter_matches(
            "$a2a/v1/reply/g/u/i/#",
            "$a2a/v1/reply/g/u/i/x"
        ));
        assert!(filter_matches(
            "$a2a/v1/reply/g/u/i/#",
            "$a2a/v1/reply/g/u/i"
        ));
        assert!(!filter_matches("#", "$a2a/v1/x"));
        assert!(!filter_matches("+/v1/x", "$a2a/v1/x"));
        assert!(filter_matches("a/+/c", "a/b/c"));
        assert!(!filter_matches("a/+/c", "a/b/d"));
    }
}
