//! Where records go, side by side, each taking the same [`crate::pipeline::Record`]:
//! - [`terminal`]: `trace`'s output thread (stdout or -o FILE), behind a byte budget.
//! - [`hub`]: the daemon's fan-out to every client's bounded queue and to the event log.
//! - [`event_log`]: the rotated JSON Lines files on disk, written by a thread of their own.
//! - [`nats`]: the event log and the listeners sent to NATS JetStream, for a fleet.
//! - [`metrics`]: what every output counts, as OpenMetrics text.
//!
//! [`selection`] is what a daemon client asked for: its filter and format.

pub mod event_log;
pub mod hub;
pub mod metrics;
pub mod nats;
pub mod selection;
pub mod terminal;
