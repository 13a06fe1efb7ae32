//! Output formats of events: strace text, JSON Lines.

pub mod errno;
pub mod json;
pub mod names;
pub mod quote;
pub mod strace;

/// Output formats a user can choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Lines identical to strace's.
    Strace,
    /// JSON Lines with a stable schema.
    Json,
}
