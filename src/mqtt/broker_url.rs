//! `mqtt://host:port` and `mqtts://host:port` broker addresses.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Where the broker is and whether to speak TLS to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

/// A broker URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BrokerUrlError {
    #[error("broker URL {0:?} has no scheme; write mqtt://host:port or mqtts://host:port")]
    NoScheme(String),
    #[error("broker URL scheme {0:?} is not supported; use mqtt:// (TCP) or mqtts:// (TLS)")]
    Scheme(String),
    #[error("broker URL must not carry credentials; set mqtt.username and mqtt.password instead")]
    Credentials,
    #[error("broker URL has no host")]
    NoHost,
    #[error("broker URL port {0:?} is not a number between 1 and 65535")]
    Port(String),
    #[error("broker URL must not have a path, query or fragment: {0:?}")]
    Trailing(String),
}

impl FromStr for BrokerUrl {
    type Err = BrokerUrlError;

    fn from_str(s: &str) -> Result<BrokerUrl, BrokerUrlError> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| BrokerUrlError::NoScheme(s.to_owned()))?;
        let (tls, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "mqtt" | "tcp" => (false, 1883),
            "mqtts" | "ssl" | "tls" => (true, 8883),
            other => return Err(BrokerUrlError::Scheme(other.to_owned())),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(BrokerUrlError::Trailing(authority.to_owned()));
        }
        if authority.contains('@') {
            return Err(BrokerUrlError::Credentials);
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or(BrokerUrlError::NoHost)?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(BrokerUrlError::Port(after.to_owned())),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(BrokerUrlError::NoHost);
        }
        let port = match port {
            None => default_port,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => return Err(BrokerUrlError::Port(p.to_owned())),
            },
        };
        Ok(BrokerUrl {
            host: host.to_owned(),
            port,
            tls,
        })
    }
}

impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let u: BrokerUrl = "mqtt://127.0.0.1:1884".parse().unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls), ("127.0.0.1", 1884, false));
        let u: BrokerUrl = "mqtts://broker.example.com".parse().unwrap();
        assert_eq!((u.port, u.tls), (8883, true));
        let u: BrokerUrl = "mqtt://[::1]:1900/".parse().unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 1900));
        assert_eq!(u.to_string(), "mqtt://[::1]:1900");
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        assert!(matches!(
            "broker:1883".parse::<BrokerUrl>(),
            Err(BrokerUrlError::NoScheme(_))
        ));
        assert!(matches!(
            "http://x".parse::<BrokerUrl>(),
            Err(BrokerUrlError::Scheme(_))
        ));
        assert_eq!(
            "mqtt://u:p@x".parse::<BrokerUrl>(),
            Err(BrokerUrlError::Credentials)
        );
        assert!(matches!(
            "mqtt://x:0".parse::<BrokerUrl>(),
            Err(BrokerUrlError::Port(_))
        ));
        assert!(matches!(
            "mqtt://x:99999".parse::<BrokerUrl>(),
            Err(BrokerUrlError::Port(_))
        ));
        assert!(matches!(
            "mqtt://x/y".parse::<BrokerUrl>(),
            Err(BrokerUrlError::Trailing(_))
        ));
        assert_eq!(
            "mqtt://:1883".parse::<BrokerUrl>(),
            Err(BrokerUrlError::NoHost)
        );
    }
}
