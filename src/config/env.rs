//! `A2A_GATEWAY__SECTION__KEY` environment variables as a figment provider that
//! keeps text options as text.
//!
//! figment's own `Env` provider parses every value: `12345` becomes a number,
//! `true` a boolean, `"x"` loses its quotes, `'a'` becomes a char, `[a]` a list.
//! A number cannot then be read into a string option, so a password of `12345`
//! or an org named `2024` was refused ("invalid type: found unsigned int"), and
//! a password like `"quoted"` would silently lose its quotes. This provider
//! parses a value only where the option's type needs it (numbers, booleans,
//! lists: the options whose default is one); every other option — strings,
//! secrets, paths, and the optional ones whose default is null — gets the text
//! exactly as set. Optional numbers (`requests.message_expiry_ms`) are then read
//! from that text by figment's lossy extraction, which `Config::load` uses.

use figment::value::{Dict, Map, Value};
use figment::{Error, Metadata, Profile, Provider};

/// The environment under `prefix` (sections split at `__`), typed by the
/// serialised defaults `defaults`.
pub struct EnvOverrides {
    env: figment::providers::Env,
    defaults: serde_json::Value,
}

impl EnvOverrides {
    pub fn new(prefix: &str, defaults: serde_json::Value) -> EnvOverrides {
        EnvOverrides {
            env: figment::providers::Env::prefixed(prefix).split("__"),
            defaults,
        }
    }

    /// Whether the option at dotted `key` takes its value as plain text.
    fn takes_text(&self, key: &str) -> bool {
        let default = key
            .split('.')
            .try_fold(&self.defaults, |v, part| v.get(part));
        match default {
            // Unknown keys are refused later with their name; as text, the
            // message shows the value as it was set.
            None | Some(serde_json::Value::String(_) | serde_json::Value::Null) => true,
            Some(_) => false,
        }
    }
}

impl Provider for EnvOverrides {
    fn metadata(&self) -> Metadata {
        self.env.metadata()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut dict = Dict::new();
        for (key, text) in self.env.iter() {
            let key = key.as_str();
            let value = if self.takes_text(key) {
                Value::from(text)
            } else {
                // Infallible: unparsable text comes back as a string.
                text.parse().unwrap_or_else(|_| Value::from(text))
            };
            let path: Vec<&str> = key.split('.').filter(|p| !p.is_empty()).collect();
            insert(&mut dict, &path, value);
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// Puts `value` at `path` below `dict`, creating sections on the way (a
/// variable naming a section replaces the section's keys set before it).
fn insert(dict: &mut Dict, path: &[&str], value: Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            let slot = dict
                .entry((*first).to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(slot, Value::Dict(..)) {
                *slot = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = slot {
                insert(inner, rest, value);
            }
        }
    }
}
