//! Building a valid A2A v1.0 Agent Card for an MQTT agent.

use serde_json::{Map, Value, json};

use crate::mqtt::{AgentAddr, BrokerUrl};

/// The `protocolBinding` MQTT agents advertise (as the EMQX SDK does).
pub const MQTT_BINDING: &str = "MQTTv5+JSONRPCv2";

/// Builds a card with every field A2A v1.0 requires.
///
/// ```
/// use a2a_mqtt_gateway::agent::CardBuilder;
/// let card = CardBuilder::new("Echo", "Repeats what you say")
///     .skill("echo", "Echo", "Returns the input text", &["demo"])
///     .streaming(true)
///     .build(
///         &"acme/plant1/echo".parse().unwrap(),
///         &"mqtt://127.0.0.1:1883".parse().unwrap(),
///     );
/// assert_eq!(card["name"], "Echo");
/// ```
#[derive(Debug, Clone)]
pub struct CardBuilder {
    name: String,
    description: String,
    version: String,
    streaming: bool,
    skills: Vec<Value>,
    input_modes: Vec<String>,
    output_modes: Vec<String>,
    extra: Map<String, Value>,
}

impl CardBuilder {
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> CardBuilder {
        CardBuilder {
            name: name.into(),
            description: description.into(),
            version: "1.0.0".into(),
            streaming: true,
            skills: Vec::new(),
            input_modes: vec!["text/plain".into()],
            output_modes: vec!["text/plain".into()],
            extra: Map::new(),
        }
    }

    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Whether the agent streams (the SDK always can; default true).
    pub fn streaming(mut self, streaming: bool) -> Self {
        self.streaming = streaming;
        self
    }

    pub fn skill(mut self, id: &str, name: &str, description: &str, tags: &[&str]) -> Self {
        self.skills.push(json!({
            "id": id, "name": name, "description": description, "tags": tags,
        }));
        self
    }

    pub fn input_modes(mut self, modes: &[&str]) -> Self {
        self.input_modes = modes.iter().map(|m| (*m).to_owned()).collect();
        self
    }

    pub fn output_modes(mut self, modes: &[&str]) -> Self {
        self.output_modes = modes.iter().map(|m| (*m).to_owned()).collect();
        self
    }

    /// Any other top-level card field (`provider`, `iconUrl`, ...).
    pub fn field(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    /// The card of `addr` reachable through `broker`.
    pub fn build(&self, addr: &AgentAddr, broker: &BrokerUrl) -> Value {
        let mut card = json!({
            "name": self.name,
            "description": self.description,
            "version": self.version,
            "supportedInterfaces": [{
                "url": format!("{broker}/{}", addr.request_topic()),
                "protocolBinding": MQTT_BINDING,
                "protocolVersion": "1.0",
            }],
            "capabilities": {"streaming": self.streaming, "pushNotifications": false},
            "defaultInputModes": self.input_modes,
            "defaultOutputModes": self.output_modes,
            "skills": self.skills,
        });
        if let Some(obj) = card.as_object_mut() {
            for (k, v) in &self.extra {
                obj.insert(k.clone(), v.clone());
            }
        }
        card
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_cards_validate() {
        let card = CardBuilder::new("A", "B")
            .skill("s", "S", "does s", &["t"])
            .field(
                "provider",
                json!({"organization": "Acme", "url": "https://acme.example"}),
            )
            .build(
                &AgentAddr::parse("o/u/a").unwrap(),
                &"mqtt://h:1883".parse().unwrap(),
            );
        let valid = crate::a2a::card::validate(card.to_string().as_bytes(), 65536).unwrap();
        assert!(valid.streaming);
        assert_eq!(card["provider"]["organization"], "Acme");
    }
}
