//! Export's reading of a logged line: arbitrary bytes, JSON records whose fields have any value,
//! and real lines from the JSON writer, damaged. A line is a record or a reason to skip it;
//! a record gets its CSV row and is filtered.

use proptest::{
    collection::{btree_map, vec},
    prelude::*,
    sample::select,
};
use serde_json::Value;

use super::{protocol::json_value, strategy};
use crate::{
    clock::Clock,
    decode::{decode, encode},
    export::csv,
    filter::{Facts, Filter},
    pipeline::Pipeline,
    schema::Line,
};

/// The fields of an event or lost record (nested ones included), each with any value.
const FIELDS: &[&str] = &[
    "type",
    "time",
    "pid",
    "tid",
    "comm",
    "syscall",
    "fd",
    "ret",
    "errno",
    "family",
    "address",
    "port",
    "v6only",
    "v6only_source",
    "verdict",
    "socket",
    "strace",
    "count",
    "reason",
    "accepts",
    "bound_port",
];

fn record_value() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        3 => select(vec!["event", "lost"]).prop_map(Value::from),
        1 => json_value(),
    ];
    let value = prop_oneof![
        2 => json_value(),
        1 => select(vec!["bind", "listen", "accept4", "AF_INET6"]).prop_map(Value::from),
        1 => btree_map(select(FIELDS).prop_map(str::to_owned), json_value(), 0..3)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
    ];
    (
        kind,
        btree_map(
            select(FIELDS).prop_map(str::to_owned),
            value,
            0..FIELDS.len(),
        ),
    )
        .prop_map(|(kind, fields)| {
            let mut m: serde_json::Map<String, Value> = fields.into_iter().collect();
            m.insert("type".into(), kind);
            Value::Object(m)
        })
}

fn use_record(line: &[u8], filter: &Filter) {
    if let Ok(Line::Event(fields)) = Line::parse(line) {
        let mut row = Vec::new();
        csv::write_row(&mut row, &fields).expect("a row is written");
        assert!(row.ends_with(b"\n"));
        let _ = fields.failed();
        let _ = filter.matches(&Facts::of_line(&fields, &[1, 2]));
    }
}

proptest! {
    #![proptest_config(super::config(200_000))]

    #[test]
    fn arbitrary_bytes(line in vec(any::<u8>(), 0..300), filter in strategy::filter()) {
        use_record(&line, &filter);
    }
}

proptest! {
    #![proptest_config(super::config(30_000))]

    #[test]
    fn records_with_any_values(value in record_value(), filter in strategy::filter()) {
        use_record(value.to_string().as_bytes(), &filter);
    }
}

proptest! {
    #![proptest_config(super::config(100_000))]

    /// A line the writer wrote, with bytes changed and cut anywhere (a torn or corrupt log).
    #[test]
    fn damaged_lines(
        raw in strategy::raw_event(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
        filter in strategy::filter(),
    ) {
        let event = decode(&encode(&raw)).expect("a valid record decodes");
        let mut line = Vec::new();
        Pipeline::offline(Clock::fixed(0), None).record(event).write_json(&mut line);
        for (at, byte) in edits {
            let at = at.index(line.len());
            line[at] = byte;
        }
        line.truncate(cut.index(line.len() + 1));
        use_record(&line, &filter);
    }
}
