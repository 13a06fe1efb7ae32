//! The compact writer against serde_json: the same bytes for every line of the schema, every
//! string, and every value it leaves to serde_json. (`fuzz::format` checks every event the
//! decoder can produce the same way.)

use std::{borrow::Cow, collections::BTreeMap};

use proptest::prelude::*;
use serde::Serialize;

use super::{write, write_tagged};
use crate::{
    fuzz::strategy,
    schema::{readme_tests, ErrorLine, EventLine, Line, ListenerLine, LostLine, RequestLine},
};

fn compact<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out, value);
    out
}

fn same_as_serde_json<T: Serialize>(value: &T) {
    let expected = serde_json::to_vec(value).unwrap();
    let written = compact(value);
    assert_eq!(
        String::from_utf8_lossy(&written),
        String::from_utf8_lossy(&expected)
    );
}

/// The README's own event, with any nullable field null.
fn readme_event() -> EventLine<'static> {
    let examples = readme_tests::examples();
    let line = examples
        .iter()
        .find(|l| l.starts_with(r#"{"type":"event""#))
        .expect("the README shows an event line");
    match Line::parse(line.as_bytes()) {
        Ok(Line::Event(event)) => event,
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_readme_line_is_written_as_serde_json_writes_it() {
    let mut lines = 0;
    for text in &readme_tests::examples() {
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        if value.get("type").is_some() {
            same_as_serde_json(&Line::parse(text.as_bytes()).unwrap());
        } else if value.get("owners").is_some() {
            same_as_serde_json(&serde_json::from_str::<ListenerLine<'_>>(text).unwrap());
        } else {
            same_as_serde_json(&serde_json::from_str::<RequestLine>(text).unwrap());
        }
        lines += 1;
    }
    assert!(lines >= 5, "only {lines} JSON examples in the README");
}

#[test]
fn an_event_with_every_field_null_or_set() {
    let event = readme_event();
    same_as_serde_json(&Line::Event(event.clone()));
    let bare = EventLine {
        ppid: None,
        fd: None,
        errno: None,
        error: None,
        family: None,
        address: None,
        port: None,
        peer: None,
        v6only: None,
        v6only_source: None,
        kernel: None,
        verdict: None,
        holder: None,
        socket: None,
        ..event
    };
    same_as_serde_json(&Line::Event(bare));
}

#[test]
fn write_event_is_the_tagged_line() {
    let event = readme_event();
    let mut written = Vec::new();
    super::super::write_event(&mut written, &event);
    let mut expected = serde_json::to_vec(&Line::Event(event)).unwrap();
    expected.push(b'\n');
    assert_eq!(
        String::from_utf8_lossy(&written),
        String::from_utf8_lossy(&expected)
    );
}

#[test]
fn every_escape() {
    let all_ascii: String = (0u8..=0x7f).map(char::from).collect();
    for text in [
        all_ascii.as_str(),
        "",
        "\"",
        "\\",
        "a\"b\\c\u{8}\u{c}\n\r\t\u{1f}\u{7f}",
        "\u{0}",
        "é \u{2028} 😀 \u{fffd}",
    ] {
        same_as_serde_json(&text);
        same_as_serde_json(&LostLine {
            count: u64::MAX,
            reason: Some(Cow::Borrowed(text)),
        });
    }
    for c in ['\0', '"', '\\', '\n', 'é', '😀'] {
        same_as_serde_json(&c);
    }
}

/// Values this writer does not write itself go to serde_json, whole, with the tag in place.
#[test]
fn what_it_leaves_to_serde_json_is_still_written() {
    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "lowercase")]
    enum Tagged<'a> {
        Odd(&'a Odd),
        Empty {},
    }
    #[derive(Serialize)]
    struct Odd {
        ratio: f64,
        counts: BTreeMap<String, u32>,
        either: Result<u8, String>,
        bytes: serde_bytes_like::Bytes,
    }
    mod serde_bytes_like {
        pub struct Bytes(pub Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }
    let odd = Odd {
        ratio: 0.1,
        counts: BTreeMap::from([("a\"".to_owned(), 1)]),
        either: Err("no".to_owned()),
        bytes: serde_bytes_like::Bytes(vec![1, 2]),
    };
    same_as_serde_json(&odd);

    let mut written = Vec::new();
    write_tagged(&mut written, &odd, br#""type":"odd""#);
    assert_eq!(written, serde_json::to_vec(&Tagged::Odd(&odd)).unwrap());
    same_as_serde_json(&Tagged::Empty {});
    same_as_serde_json(&(1u8, -1i64, [true, false], Vec::<u8>::new(), ()));
}

proptest! {
    #![proptest_config(crate::fuzz::config(20_000))]

    /// Any text in any string field, any number in any number field.
    #[test]
    fn any_text_and_numbers(
        comm in strategy::text(),
        strace in strategy::text(),
        message in strategy::text(),
        pid: u32,
        ret: i64,
        port: Option<u16>,
    ) {
        let event = EventLine {
            comm: Cow::Owned(comm),
            strace: Cow::Owned(strace),
            pid,
            ret,
            port,
            ..readme_event()
        };
        same_as_serde_json(&Line::Event(event));
        same_as_serde_json(&Line::Error(ErrorLine { message: Cow::Owned(message) }));
    }
}
