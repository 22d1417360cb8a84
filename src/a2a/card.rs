//! Agent Card rules: what a card must contain to be indexed, and how the gateway
//! presents it to HTTP clients.

use serde_json::{Map, Value, json};
use thiserror::Error;

/// Why a card was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CardError {
    #[error("card is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("card is not valid JSON: {0}")]
    NotJson(String),
    #[error("card must be a JSON object")]
    NotAnObject,
    #[error("card field `{field}` is missing")]
    Missing { field: String },
    #[error("card field `{field}` must be {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
    },
}

/// A card that passed validation, with the fields the gateway uses often.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidCard {
    /// The card as published.
    pub card: Value,
    pub name: String,
    pub description: String,
    /// `capabilities.streaming`; absent means false.
    pub streaming: bool,
}

/// Validates a published card against the A2A v1.0 required fields.
///
/// Required: `name`, `description`, `version` (strings), `supportedInterfaces` (a
/// non-empty array of objects with string `url`, `protocolBinding`,
/// `protocolVersion`), `capabilities` (object), `defaultInputModes` and
/// `defaultOutputModes` (arrays of strings), `skills` (array of objects with string
/// `id`, `name`, `description`). `skills[].tags` must be an array of strings when
/// present; it may be absent because the stock EMQX SDK omits it.
pub fn validate(payload: &[u8], max_bytes: usize) -> Result<ValidCard, CardError> {
    if payload.len() > max_bytes {
        return Err(CardError::TooLarge {
            size: payload.len(),
            limit: max_bytes,
        });
    }
    let card: Value =
        serde_json::from_slice(payload).map_err(|e| CardError::NotJson(e.to_string()))?;
    let obj = card.as_object().ok_or(CardError::NotAnObject)?;

    let name = required_str(obj, "", "name")?.to_owned();
    let description = required_str(obj, "", "description")?.to_owned();
    required_str(obj, "", "version")?;

    let interfaces = required_array(obj, "", "supportedInterfaces")?;
    if interfaces.is_empty() {
        return Err(CardError::WrongType {
            field: "supportedInterfaces".into(),
            expected: "a non-empty array",
        });
    }
    for (i, iface) in interfaces.iter().enumerate() {
        let path = format!("supportedInterfaces[{i}].");
        let iface = object_at(iface, &path)?;
        for key in ["url", "protocolBinding", "protocolVersion"] {
            required_str(iface, &path, key)?;
        }
    }

    let caps = obj.get("capabilities").ok_or_else(|| CardError::Missing {
        field: "capabilities".into(),
    })?;
    let caps = caps.as_object().ok_or(CardError::WrongType {
        field: "capabilities".into(),
        expected: "an object",
    })?;
    let streaming = match caps.get("streaming") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(CardError::WrongType {
                field: "capabilities.streaming".into(),
                expected: "a boolean",
            });
        }
    };

    for key in ["defaultInputModes", "defaultOutputModes"] {
        string_array(required_array(obj, "", key)?, key)?;
    }

    let skills = required_array(obj, "", "skills")?;
    for (i, skill) in skills.iter().enumerate() {
        let path = format!("skills[{i}].");
        let skill = object_at(skill, &path)?;
        for key in ["id", "name", "description"] {
            required_str(skill, &path, key)?;
        }
        if let Some(tags) = skill.get("tags") {
            let field = format!("{path}tags");
            let tags = tags.as_array().ok_or_else(|| CardError::WrongType {
                field: field.clone(),
                expected: "an array of strings",
            })?;
            string_array(tags, &field)?;
        }
    }

    Ok(ValidCard {
        name,
        description,
        streaming,
        card,
    })
}

fn object_at<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, CardError> {
    v.as_object().ok_or_else(|| CardError::WrongType {
        field: path.trim_end_matches('.').to_owned(),
        expected: "an object",
    })
}

fn required_str<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<&'a str, CardError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(CardError::Missing {
            field: format!("{path}{key}"),
        }),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(CardError::WrongType {
            field: format!("{path}{key}"),
            expected: "a string",
        }),
    }
}

fn required_array<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<&'a Vec<Value>, CardError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(CardError::Missing {
            field: format!("{path}{key}"),
        }),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(CardError::WrongType {
            field: format!("{path}{key}"),
            expected: "an array",
        }),
    }
}

fn string_array(items: &[Value], field: &str) -> Result<(), CardError> {
    if items.iter().all(Value::is_string) {
        Ok(())
    } else {
        Err(CardError::WrongType {
            field: field.to_owned(),
            expected: "an array of strings",
        })
    }
}

/// One interface the gateway offers for an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedInterface {
    pub url: String,
    pub protocol_binding: &'static str,
    pub protocol_version: &'static str,
}

/// The card as HTTP clients see it through the gateway: `supportedInterfaces`
/// replaced by the gateway's own endpoints (the agent's MQTT coordinates are of no
/// use to an HTTP client and may name internal hosts), push notifications off
/// (the gateway does not relay them), and `signatures` removed because they cover
/// the original card, which this no longer is.
pub fn served_card(card: &Value, interfaces: &[ServedInterface]) -> Value {
    let mut out = card.clone();
    let Some(obj) = out.as_object_mut() else {
        return out;
    };
    let ifaces: Vec<Value> = interfaces
        .iter()
        .map(|i| {
            json!({
                "url": i.url,
                "protocolBinding": i.protocol_binding,
                "protocolVersion": i.protocol_version,
            })
        })
        .collect();
    obj.insert("supportedInterfaces".into(), Value::Array(ifaces));
    if let Some(caps) = obj.get_mut("capabilities").and_then(Value::as_object_mut) {
        caps.insert("pushNotifications".into(), Value::Bool(false));
    }
    obj.remove("signatures");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Value {
        json!({
            "name": "Echo",
            "description": "Echoes text",
            "version": "1.0.0",
            "supportedInterfaces": [{"url": "mqtt://broker:1883", "protocolBinding": "MQTTv5+JSONRPCv2", "protocolVersion": "1.0"}],
            "capabilities": {"streaming": true, "pushNotifications": true},
            "defaultInputModes": ["text/plain"],
            "defaultOutputModes": ["text/plain"],
            "skills": [{"id": "echo", "name": "Echo", "description": "echo", "tags": ["test"]}],
            "signatures": [{"protected": "x", "signature": "y"}]
        })
    }

    fn check(card: &Value) -> Result<ValidCard, CardError> {
        validate(card.to_string().as_bytes(), 65536)
    }

    #[test]
    fn accepts_a_complete_card() {
        let v = check(&sample()).unwrap();
        assert_eq!(v.name, "Echo");
        assert!(v.streaming);
    }

    #[test]
    fn accepts_emqx_cards_without_skill_tags() {
        let mut c = sample();
        c["skills"][0].as_object_mut().unwrap().remove("tags");
        assert!(check(&c).is_ok());
    }

    #[test]
    fn names_the_missing_or_mistyped_field() {
        let mut c = sample();
        c.as_object_mut().unwrap().remove("version");
        assert_eq!(
            check(&c).unwrap_err().to_string(),
            "card field `version` is missing"
        );

        let mut c = sample();
        c["supportedInterfaces"][0]["url"] = json!(5);
        assert_eq!(
            check(&c).unwrap_err().to_string(),
            "card field `supportedInterfaces[0].url` must be a string"
        );

        let mut c = sample();
        c["supportedInterfaces"] = json!([]);
        assert!(check(&c).unwrap_err().to_string().contains("non-empty"));

        let mut c = sample();
        c["skills"][0]["tags"] = json!([1]);
        assert!(
            check(&c)
                .unwrap_err()
                .to_string()
                .contains("skills[0].tags")
        );

        let mut c = sample();
        c["capabilities"]["streaming"] = json!("yes");
        assert!(check(&c).unwrap_err().to_string().contains("boolean"));
    }

    #[test]
    fn refuses_oversize_and_non_json() {
        let big = sample().to_string();
        assert!(matches!(
            validate(big.as_bytes(), 10),
            Err(CardError::TooLarge { limit: 10, .. })
        ));
        assert!(matches!(
            validate(b"{nope", 100),
            Err(CardError::NotJson(_))
        ));
        assert_eq!(validate(b"[1]", 100), Err(CardError::NotAnObject));
    }

    #[test]
    fn served_card_points_at_the_gateway() {
        let served = served_card(
            &sample(),
            &[ServedInterface {
                url: "http://gw/agents/o/u/a".into(),
                protocol_binding: "JSONRPC",
                protocol_version: "1.0",
            }],
        );
        assert_eq!(
            served["supportedInterfaces"][0]["url"],
            "http://gw/agents/o/u/a"
        );
        assert_eq!(served["supportedInterfaces"].as_array().unwrap().len(), 1);
        assert_eq!(served["capabilities"]["pushNotifications"], false);
        assert!(served.get("signatures").is_none());
        assert_eq!(served["name"], "Echo");
    }
}
