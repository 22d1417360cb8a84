//! A2A v0.3 HTTP+JSON (REST) dialect <-> v1.0 translation (being written).
