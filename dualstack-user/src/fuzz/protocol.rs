//! The daemon's request parser (a client's first line): arbitrary bytes, JSON of any shape with
//! the request's field names, and the requests a client writes, whole or damaged.

use dualstack_common::COMM_LEN;
use proptest::{
    collection::{btree_map, vec},
    prelude::*,
    sample::select,
};
use serde_json::{json, Map, Value};

use super::strategy;
use crate::{
    daemon::protocol::{parse_request, WireFormat},
    decode::{decode, encode},
    filter::Filter,
};

/// Words the parser gives meaning to, so that generated JSON reaches past the field lookups.
const WORDS: &[&str] = &[
    "token", "filter", "format", "pid", "comm", "port", "family", "syscall", "failed", "json",
    "strace", "inet", "inet6", "AF_INET6", "unix", "netlink", "packet", "4", "6", "65536", "bind",
    "listen", "accept4", "read", "",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(WORDS).prop_map(str::to_owned),
        1 => strategy::text(),
    ]
}

/// Any JSON value, its keys and strings mostly the request's own words.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![0i64..70_000, any::<i64>()].prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        word().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(word(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A request object: each known field absent or any value (the filter's fields likewise).
fn request_value() -> impl Strategy<Value = Value> {
    let field = || proptest::option::of(json_value());
    let filter = (
        field(),
        field(),
        field(),
        field(),
        field(),
        field(),
        proptest::option::of((word(), json_value())),
    )
        .prop_map(|(pid, comm, port, family, syscall, failed, extra)| {
            let mut m = Map::new();
            for (name, value) in [
                ("pid", pid),
                ("comm", comm),
                ("port", port),
                ("family", family),
                ("syscall", syscall),
                ("failed", failed),
            ] {
                if let Some(v) = value {
                    m.insert(name.into(), v);
                }
            }
            if let Some((name, value)) = extra {
                m.insert(name, value);
            }
            Value::Object(m)
        });
    (
        proptest::option::of(json_value()),
        proptest::option::of(prop_oneof![3 => filter, 1 => json_value()]),
        proptest::option::of(json_value()),
    )
        .prop_map(|(token, filter, format)| {
            let mut m = Map::new();
            for (name, value) in [("token", token), ("filter", filter), ("format", format)] {
                if let Some(v) = value {
                    m.insert(name.into(), v);
                }
            }
            Value::Object(m)
        })
}

/// The first line `dualstack stream` writes for `filter` (see `cli::stream`).
fn client_line(filter: &Filter, strace: bool, token: Option<&str>) -> String {
    let mut f = Map::new();
    if !filter.pids.is_empty() {
        f.insert("pid".into(), json!(filter.pids));
    }
    if let Some(comm) = &filter.comm {
        f.insert("comm".into(), json!(comm));
    }
    if let Some(port) = filter.port {
        f.insert("port".into(), json!(port));
    }
    if let Some(family) = filter.family {
        f.insert("family".into(), json!(family));
    }
    if !filter.syscalls.is_empty() {
        let names: Vec<&str> = filter.syscalls.iter().map(|s| s.name()).collect();
        f.insert("syscall".into(), json!(names));
    }
    if filter.failed_only {
        f.insert("failed".into(), json!(true));
    }
    let format = if strace { "strace" } else { "json" };
    let mut request = json!({ "filter": f, "format": format });
    if let Some(token) = token {
        request["token"] = json!(token);
    }
    request.to_string()
}

proptest! {
    #![proptest_config(super::config(200_000))]

    #[test]
    fn arbitrary_bytes(line in vec(any::<u8>(), 0..200)) {
        let _ = parse_request(&line);
    }
}

proptest! {
    #![proptest_config(super::config(50_000))]

    /// JSON of the request's shape with values of any type; what parses gives a filter that
    /// validates and can be applied to an event.
    #[test]
    fn any_json_request(
        value in request_value(),
        raw in strategy::raw_event(),
    ) {
        let line = value.to_string();
        if let Ok(request) = parse_request(line.as_bytes()) {
            prop_assert!(request.selection.filter.validate().is_ok());
            let event = decode(&encode(&raw)).expect("a valid record decodes");
            let record = crate::pipeline::Pipeline::offline(crate::clock::Clock::fixed(0), None)
                .record(event);
            let _ = request.selection.matches(&record);
        }
    }
}

proptest! {
    #![proptest_config(super::config(100_000))]

    /// What the client writes is read back as the filter it was written from; damaged (bytes
    /// changed, cut), it is an error or a request, never a panic.
    #[test]
    fn client_requests(
        filter in strategy::filter(),
        strace in any::<bool>(),
        token in proptest::option::of(strategy::text()),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let line = client_line(&filter, strace, token.as_deref());
        let parsed = parse_request(line.as_bytes());
        if filter.comm.as_ref().is_none_or(|c| c.len() < COMM_LEN) {
            let request = parsed.expect("the client's own request is accepted");
            prop_assert_eq!(&request.selection.filter, &filter);
            let want = if strace { WireFormat::Strace } else { WireFormat::Json };
            prop_assert_eq!(request.selection.format, want);
            prop_assert_eq!(request.token, token);
        } else {
            prop_assert!(parsed.is_err());
        }

        let mut bytes = line.into_bytes();
        for (at, byte) in edits {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        let _ = parse_request(&bytes);
    }
}
