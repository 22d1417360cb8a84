//! The registry: the gateway's own index of agents, fed by retained Agent Cards
//! on `$a2a/v1/discovery/{org}/{unit}/{agent}`.

pub mod index;
pub mod search;
pub mod sync;

pub use index::{AgentEntry, Applied, Index, Liveness, Rejection};
pub use search::{Page, Query};
