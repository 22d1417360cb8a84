//! A2A v0.3 <-> v1.0 translation (being written).
