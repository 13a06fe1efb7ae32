//! Output formats of events (strace text, JSON Lines) and of `listeners` (table, JSON Lines).

pub mod errno;
pub mod json;
pub mod listeners_json;
pub mod listeners_table;
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
