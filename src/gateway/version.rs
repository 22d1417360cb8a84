//! A2A version negotiation at the HTTP edge (A2A v1.0.1 §3.6).
//!
//! The client names its version in the `A2A-Version` header or query parameter.
//! `1.0` and `0.3` are served (a patch level such as `1.0.1` is ignored, as the
//! spec requires); anything else is VersionNotSupported. Missing or empty means
//! 0.3 — and since the two versions' JSON-RPC method names and REST paths do not
//! overlap, a request without the header is read in the version its method name
//! (or path) belongs to, so v0.3 clients and header-less v1.0 callers both work.
//! An explicit version must agree with the method name or path, in both
//! bindings ([`resolve_method`], [`check_rest_path`]).

use axum::http::HeaderMap;

use super::error::{ErrorKind, GatewayError};
use crate::a2a::{Method, v03};

/// The protocol versions served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1_0,
    V0_3,
}

/// What `VersionNotSupported` lists.
pub const SUPPORTED: &str = "1.0, 0.3";

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_0 => "1.0",
            Version::V0_3 => "0.3",
        }
    }

    /// Parses `Major.Minor[.patch]`.
    pub fn parse(value: &str) -> Result<Version, GatewayError> {
        let mut parts = value.trim().split('.');
        let major_minor = (parts.next(), parts.next());
        let patch_ok = parts
            .next()
            .is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            && parts.next().is_none();
        match major_minor {
            (Some("1"), Some("0")) if patch_ok => Ok(Version::V1_0),
            (Some("0"), Some("3")) if patch_ok => Ok(Version::V0_3),
            _ => {
                let shown: String = value.chars().take(32).collect();
                Err(GatewayError::new(
                    ErrorKind::VersionNotSupported,
                    format!(
                        "A2A-Version {shown:?} is not supported; this gateway serves {SUPPORTED}"
                    ),
                )
                .with("requestedVersion", shown)
                .with("supportedVersions", SUPPORTED))
            }
        }
    }
}

/// The version a request names, from the `A2A-Version` header or, failing that,
/// the query parameter. `Ok(None)` when it names none (absent or empty).
pub fn requested(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Option<Version>, GatewayError> {
    let from_header = headers
        .get("a2a-version")
        .map(|v| v.to_str().unwrap_or("\u{fffd}").to_owned());
    let from_query = || {
        serde_urlencoded::from_str::<Vec<(String, String)>>(query?)
            .ok()?
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("a2a-version"))
            .map(|(_, v)| v)
    };
    match from_header.or_else(from_query) {
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => Version::parse(&v).map(Some),
        None => Ok(None),
    }
}

/// Resolves a JSON-RPC method name under the requested version (see the module
/// doc for requests that name none).
pub fn resolve_method(
    requested: Option<Version>,
    name: &str,
) -> Result<(Version, Method), GatewayError> {
    let v1 = Method::from_name(name);
    let v03 = v03::method_from_v03(name);
    match (requested, v1, v03) {
        (Some(Version::V1_0) | None, Some(m), _) => Ok((Version::V1_0, m)),
        (Some(Version::V0_3) | None, _, Some(m)) => Ok((Version::V0_3, m)),
        (Some(Version::V1_0), None, Some(m)) => Err(GatewayError::new(
            ErrorKind::MethodNotFound,
            format!(
                "{name:?} is an A2A v0.3 method; with A2A-Version 1.0 call {:?}",
                m.name()
            ),
        )),
        (Some(Version::V0_3), Some(m), None) => Err(GatewayError::new(
            ErrorKind::MethodNotFound,
            format!(
                "{name:?} is an A2A v1.0 method; send the header A2A-Version: 1.0, or call {:?} in v0.3",
                v03::method_name_v03(m)
            ),
        )),
        _ => {
            let shown: String = name.chars().take(64).collect();
            let known: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
            Err(GatewayError::new(
                ErrorKind::MethodNotFound,
                format!(
                    "method {shown:?} is not an A2A method (v1.0: {}; v0.3 names such as message/send are accepted too)",
                    known.join(", ")
                ),
            ))
        }
    }
}

/// Checks an explicit version against the dialect of a REST path (`rest`, below
/// the agent URL; `path_version` is the dialect it belongs to), as
/// [`resolve_method`] does against a JSON-RPC method name: the paths of the two
/// versions do not overlap, so a request naming the other version is refused
/// with the path to use rather than read in a dialect it was not written in.
pub fn check_rest_path(
    requested: Option<Version>,
    path_version: Version,
    rest: &str,
) -> Result<(), GatewayError> {
    let Some(requested) = requested.filter(|v| *v != path_version) else {
        return Ok(());
    };
    let shown: String = rest.chars().take(64).collect();
    // The same operation's path in the other version (only the extended card's
    // differs beyond the prefix).
    let hint = match path_version {
        Version::V0_3 => {
            let v1 = shown.strip_prefix("v1/").unwrap_or(&shown);
            let v1 = if v1 == "card" {
                "extendedAgentCard"
            } else {
                v1
            };
            format!(
                "{shown:?} is an A2A v0.3 REST path; with A2A-Version {} use {v1:?} below the agent URL, or send A2A-Version 0.3",
                requested.as_str()
            )
        }
        Version::V1_0 => {
            let v03 = if shown == "extendedAgentCard" {
                "card"
            } else {
                &shown
            };
            format!(
                "{shown:?} is an A2A v1.0 REST path; send A2A-Version 1.0, or use \"v1/{v03}\" in v0.3"
            )
        }
    };
    Err(GatewayError::new(ErrorKind::MethodNotFound, hint)
        .with("requestedVersion", requested.as_str())
        .with("pathVersion", path_version.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("A2A-Version", HeaderValue::from_static(v));
        h
    }

    #[test]
    fn versions_parse_ignoring_patch() {
        assert_eq!(Version::parse("1.0").unwrap(), Version::V1_0);
        assert_eq!(Version::parse(" 1.0.1 ").unwrap(), Version::V1_0);
        assert_eq!(Version::parse("0.3.0").unwrap(), Version::V0_3);
        for bad in ["0.5", "2.0", "1", "1.0.x", "1.0.1.2", "v1.0", "abc"] {
            let e = Version::parse(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::VersionNotSupported, "{bad}");
            assert!(e.message.contains("1.0, 0.3"), "{}", e.message);
        }
    }

    #[test]
    fn header_wins_over_query_and_empty_means_none() {
        assert_eq!(
            requested(&headers("0.3"), Some("A2A-Version=1.0")).unwrap(),
            Some(Version::V0_3)
        );
        assert_eq!(
            requested(&HeaderMap::new(), Some("a2a-version=1.0")).unwrap(),
            Some(Version::V1_0)
        );
        assert_eq!(requested(&headers(""), None).unwrap(), None);
        assert_eq!(requested(&HeaderMap::new(), None).unwrap(), None);
        assert!(requested(&headers("9.9"), None).is_err());
    }

    #[test]
    fn methods_resolve_by_version_or_by_family() {
        assert_eq!(
            resolve_method(None, "SendMessage").unwrap(),
            (Version::V1_0, Method::SendMessage)
        );
        assert_eq!(
            resolve_method(None, "message/send").unwrap(),
            (Version::V0_3, Method::SendMessage)
        );
        assert_eq!(
            resolve_method(Some(Version::V0_3), "tasks/resubscribe").unwrap(),
            (Version::V0_3, Method::SubscribeToTask)
        );
        let e = resolve_method(Some(Version::V1_0), "message/send").unwrap_err();
        assert!(e.message.contains("SendMessage"), "{}", e.message);
        let e = resolve_method(Some(Version::V0_3), "GetTask").unwrap_err();
        assert!(e.message.contains("tasks/get"), "{}", e.message);
        assert_eq!(
            resolve_method(None, "nope").unwrap_err().kind,
            ErrorKind::MethodNotFound
        );
    }

    #[test]
    fn rest_paths_must_agree_with_an_explicit_version() {
        use Version::*;
        for (requested, path_version) in [
            (None, V1_0),
            (None, V0_3),
            (Some(V1_0), V1_0),
            (Some(V0_3), V0_3),
        ] {
            assert!(check_rest_path(requested, path_version, "x").is_ok());
        }
        let e = check_rest_path(Some(V1_0), V0_3, "v1/message:send").unwrap_err();
        assert_eq!(e.kind, ErrorKind::MethodNotFound);
        assert!(
            e.message.contains("\"message:send\" below the agent URL"),
            "{}",
            e.message
        );
        let e = check_rest_path(Some(V1_0), V0_3, "v1/card").unwrap_err();
        assert!(e.message.contains("\"extendedAgentCard\""), "{}", e.message);
        let e = check_rest_path(Some(V0_3), V1_0, "tasks/t:cancel").unwrap_err();
        assert!(
            e.message.contains("\"v1/tasks/t:cancel\" in v0.3"),
            "{}",
            e.message
        );
        let e = check_rest_path(Some(V0_3), V1_0, "extendedAgentCard").unwrap_err();
        assert!(e.message.contains("\"v1/card\""), "{}", e.message);
    }
}
