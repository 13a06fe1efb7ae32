//! Every writer of an event (strace text with each leader and `-t`, the JSON record as `trace`
//! and the daemon write it, export's reading of that record and its CSV row) on every event the
//! decoder can produce.

use proptest::prelude::*;

use super::strategy;
use crate::{
    clock::Clock,
    decode::{decode, encode},
    export::csv,
    filter::{Facts, Filter},
    format::strace::{write_line, Leader, Resolve},
    model::Event,
    pipeline::{Holder, Notes, Pipeline},
    schema::Line,
    sockaddr::SockAddr,
    verdict::Verdict,
};

/// What formatting takes besides the event.
#[derive(Debug, Clone)]
pub struct Context {
    host_bindv6only: Option<bool>,
    holder: Option<Holder>,
    /// Wall-clock nanoseconds at monotonic zero: any time from 1970 to 2116.
    boot_ns: i64,
    filter: Filter,
}

pub fn context() -> impl Strategy<Value = Context> {
    (
        any::<Option<bool>>(),
        proptest::option::of(strategy::holder()),
        0..i64::MAX / 2,
        strategy::filter(),
    )
        .prop_map(|(host_bindv6only, holder, boot_ns, filter)| Context {
            host_bindv6only,
            holder,
            boot_ns,
            filter,
        })
}

pub fn assert_one_line(what: &str, line: &[u8]) {
    let body = line
        .strip_suffix(b"\n")
        .unwrap_or_else(|| panic!("{what} does not end its line"));
    assert!(
        !body.contains(&b'\n'),
        "{what} spans several lines: {:?}",
        String::from_utf8_lossy(line)
    );
}

/// Runs every writer on `event` and checks what each promises: one line each, valid JSON that
/// export reads back as the same event, a CSV row.
pub fn write_everything(event: &Event, cx: &Context) {
    let clock = Clock::fixed(i128::from(cx.boot_ns));
    let stamp = clock.strace_time(event.entered);
    let lo = |index: u32| (index == 1).then(|| "lo".to_owned());
    let resolve = Resolve { ifname: &lo };
    for leader in [Leader::None, Leader::Bracket, Leader::Plain] {
        for time in [None, Some(stamp.as_str())] {
            let mut line = String::new();
            write_line(&mut line, event, leader, time, &resolve);
            assert_one_line("the strace line", line.as_bytes());
        }
    }

    let notes = Notes::of(event, cx.host_bindv6only);
    if let (Some(holder), Some(port)) = (&cx.holder, event.address().and_then(|a| a.port())) {
        let _ = holder.sentence(port);
    }
    let _ = notes.verdict.as_ref().map(Verdict::label);
    let _ = event.ports().count();
    let _ = event.family();
    let _ = event.address().as_ref().map(SockAddr::ip_text);

    let record = Pipeline::offline(clock, cx.host_bindv6only)
        .record(event.clone())
        .with_holder(cx.holder.clone());
    let _ = cx.filter.matches(&record.facts());
    assert_one_line("the daemon's strace line", record.strace_bytes());
    let mut annotated = String::new();
    record.write_annotated(&mut annotated, Leader::Bracket, Some(&stamp));
    assert_one_line("the strace line with its verdict", annotated.as_bytes());
    let json = record.json_bytes();
    assert_one_line("the JSON record", json);
    // The compact writer writes what serde_json would.
    let (texts, time_at) = record.line_texts();
    let (strace, time) = texts.split_at(time_at);
    let holder = record.holder();
    let line = record.line(strace, time, holder.as_ref());
    let mut reference =
        serde_json::to_vec(&Line::Event(line)).expect("serde_json writes the event");
    reference.push(b'\n');
    assert_eq!(
        String::from_utf8_lossy(json),
        String::from_utf8_lossy(&reference)
    );
    let value: serde_json::Value = serde_json::from_slice(json).expect("the JSON record parses");
    assert_eq!(value["type"], "event");
    assert_one_line(
        "the table row",
        format!("{}\n", record.table_row()).as_bytes(),
    );

    // What trace and the daemon write, export must read: a line it skipped would be lost.
    let fields = match Line::parse(json) {
        Ok(Line::Event(fields)) => fields,
        other => panic!(
            "export cannot read {}: {other:?}",
            String::from_utf8_lossy(json)
        ),
    };
    assert_eq!((fields.pid, fields.tid), (event.pid, event.tid));
    assert_eq!(fields.syscall, event.syscall());
    assert_eq!(fields.comm, event.comm);
    let _ = cx.filter.matches(&Facts::of_line(&fields, &[]));
    let mut row = Vec::new();
    csv::write_row(&mut row, &fields).expect("a row is written");
    assert!(row.ends_with(b"\n"));
}

proptest! {
    #![proptest_config(super::config(100_000))]

    /// Every writer, on every event a valid kernel record decodes to.
    #[test]
    fn every_writer_on_every_decodable_event(
        raw in strategy::raw_event(),
        cx in context(),
    ) {
        let event = decode(&encode(&raw)).expect("a valid record decodes");
        write_everything(&event, &cx);
    }
}

/// Found by `export::damaged_lines`: a bind whose address the tracer read as zero bytes (a
/// record claiming `len` 0 for a 16-byte addrlen) made the strace writer index an empty slice.
#[test]
fn sockaddr_read_shorter_than_its_family() {
    use std::time::Duration;

    use crate::model::{Call, KernelView, Return, Tracking, UserBuf, UserRead};

    for bytes in [vec![], vec![2]] {
        let event = Event {
            pid: 7,
            tid: 7,
            comm: "x".to_owned(),
            monotonic: Duration::ZERO,
            entered: Duration::ZERO,
            call: Call::Bind {
                fd: 3,
                addr: UserBuf {
                    ptr: 0x1000,
                    read: UserRead::Bytes(bytes),
                },
                addrlen: 16,
            },
            ret: Return::Value(0),
            socket: None,
            tracking: Tracking::Socket,
            kernel: KernelView::NotRead,
        };
        let mut line = String::new();
        write_line(
            &mut line,
            &event,
            Leader::None,
            None,
            &Resolve { ifname: &|_| None },
        );
        assert_eq!(line, format!("bind(3, 0x1000, 16){:21}= 0\n", ""));
    }
}
