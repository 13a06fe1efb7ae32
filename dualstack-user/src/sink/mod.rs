//! Where events go besides a client's stream: the on-disk event log.

pub mod event_log;
