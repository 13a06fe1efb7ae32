//! Property tests that feed the parsers and formatters everything an attacker, a corrupt file or
//! a future kernel could hand them: arbitrary bytes, valid records with mutated fields, and
//! well-formed values at their extremes. The property is always at least "returns, never
//! panics"; where the output has a contract (one line, valid JSON, readable back by export) it is
//! checked too. A panic found here is fixed in the code and kept as a named regression test.
//!
//! Every target runs a bounded number of cases under `cargo test`: its default is sized for
//! one to five seconds in release mode (`cargo xtask test`), about 40 s of CPU for the whole set;
//! a debug build runs a twentieth of them. `DUALSTACK_FUZZ_CASES=N` sets the number of cases of
//! every target instead, e.g. 100 for a quick run or 1000000 for a long search (the JSON and
//! listener targets cost about 100 µs a case, the parsers a few µs). `PROPTEST_RNG_SEED=N`
//! replays a run; the seed is random otherwise, so that each run searches new inputs.
//!
//! The BTF and sock_diag targets live beside their parsers' tests (`btf_fuzz.rs`,
//! `snapshot/sock_diag_fuzz.rs`), where the builders of valid blobs and messages are.

mod decode;
mod export;
mod format;
mod listeners;
mod protocol;
pub mod strategy;

use proptest::test_runner::Config;

/// The proptest configuration of a target: `default_cases` unless DUALSTACK_FUZZ_CASES says
/// otherwise; no regression files (a found input becomes a named test instead), and shrinking
/// bounded so that a failure is reported within a minute.
pub fn config(default_cases: u32) -> Config {
    let default_cases = if cfg!(debug_assertions) {
        default_cases / 20
    } else {
        default_cases
    };
    let cases = std::env::var("DUALSTACK_FUZZ_CASES").map_or(default_cases, |v| {
        v.trim()
            .parse()
            .expect("DUALSTACK_FUZZ_CASES must be a number of cases")
    });
    Config {
        cases,
        failure_persistence: None,
        max_shrink_time: 60_000,
        ..Config::default()
    }
}
