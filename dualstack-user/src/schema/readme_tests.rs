//! The README's JSON examples are read with the schema's types and written back: each must
//! give back exactly the fields it shows, so that the README and the code cannot drift apart.

use serde_json::Value;

use super::{Line, ListenerLine, RequestLine};

const README: &str = include_str!("../../../README.md");

/// The ```json blocks of the README, each joined into one line.
pub(super) fn examples() -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in README.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```json") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), text) => block.push_str(text),
            (None, _) => {}
        }
    }
    blocks
}

/// Parses `text` as `T` and writes it back; the two must hold the same fields and values.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(text: &str) {
    let shown: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let typed: T = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let written = serde_json::to_value(&typed).unwrap();
    assert_eq!(written, shown, "the README example differs from the schema");
}

#[test]
fn every_json_example_of_the_readme_is_the_schema() {
    let examples = examples();
    let mut kinds = Vec::new();
    for text in &examples {
        let value: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let kind = if value.get("type").is_some() {
            round_trip::<Line<'static>>(text);
            value["type"].as_str().unwrap().to_owned()
        } else if value.get("owners").is_some() {
            round_trip::<ListenerLine<'static>>(text);
            "listener".to_owned()
        } else {
            round_trip::<RequestLine>(text);
            "request".to_owned()
        };
        kinds.push(kind);
    }
    for kind in ["event", "lost", "error", "listener", "request"] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "the README shows no {kind} example: {kinds:?}"
        );
    }
}
