//! Export on lines written by the real JSON writer, and on every kind of garbage a log can
//! hold: invalid JSON, missing fields, torn lines, truncated gzip.

use std::{
    fs,
    io::Write as _,
    path::{Path, PathBuf},
    time::Duration,
};

use flate2::{write::GzEncoder, Compression};

use super::{
    export, export_inputs,
    input::{self, Input},
    ExportFormat, ExportOptions, Summary,
};
use crate::{
    clock::Clock,
    filter::Filter,
    model::{Call, Errno, Event, KernelView, Return, SocketInfo, Syscall, UserBuf, UserRead},
    outputs::event_log::tests::Dir,
    pipeline::Pipeline,
    schema::Line,
    sockaddr::{SockAddr, AF_INET, AF_INET6},
};

fn sockaddr(family: u16, port: u16) -> Vec<u8> {
    let mut b = vec![0u8; if family == AF_INET6 { 28 } else { 16 }];
    b[..2].copy_from_slice(&family.to_ne_bytes());
    b[2..4].copy_from_slice(&port.to_be_bytes());
    b
}

/// The JSON line the tracer writes for `event`.
fn line_of(event: &Event) -> String {
    let clock = Clock::fixed(1_795_982_462_000_000_000);
    let mut out = Vec::new();
    Pipeline::offline(clock, Some(false))
        .record(event.clone())
        .write_json(&mut out);
    String::from_utf8(out).unwrap()
}

fn event(pid: u32, tid: u32, comm: &str, call: Call, ret: Return) -> Event {
    Event {
        pid,
        tid,
        comm: comm.into(),
        monotonic: Duration::from_millis(u64::from(tid)),
        entered: Duration::from_millis(u64::from(tid)),
        call,
        ret,
        socket: None,
        kernel: KernelView::NotRead,
        tracking: crate::model::Tracking::Socket,
    }
}

fn bind(pid: u32, family: u16, port: u16, ret: Return) -> Event {
    let addr = UserBuf {
        ptr: 0x7ffc_0000_1000,
        read: UserRead::Bytes(sockaddr(family, port)),
    };
    let addrlen = if family == AF_INET6 { 28 } else { 16 };
    let call = Call::Bind {
        fd: 3,
        addr,
        addrlen,
    };
    event(pid, pid, "server", call, ret)
}

fn listen(pid: u32, tid: u32, comm: &str, port: u16) -> Event {
    let mut e = event(
        pid,
        tid,
        comm,
        Call::Listen {
            fd: 3,
            backlog: 128,
        },
        Return::Value(0),
    );
    e.socket = Some(SocketInfo {
        family: Some(AF_INET6),
        sock_type: Some(1),
        bound: Some(SockAddr::parse(&sockaddr(AF_INET6, port))),
        ..SocketInfo::default()
    });
    e
}

fn close(pid: u32) -> Event {
    event(pid, pid, "server", Call::Close { fd: 3 }, Return::Value(0))
}

fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

fn run(paths: &[&Path], format: ExportFormat, filter: Filter) -> (String, String, Summary) {
    let paths: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
    let (mut out, mut diag) = (Vec::new(), Vec::new());
    let options = ExportOptions { format, filter };
    let summary = export(&paths, &options, &mut out, &mut diag).unwrap();
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(diag).unwrap(),
        summary,
    )
}

#[test]
fn a_logged_listen_parses_into_its_fields() {
    let line = line_of(&listen(42, 43, "sshd", 2222));
    let Line::Event(e) = Line::parse(line.as_bytes()).unwrap() else {
        panic!("not an event: {line}");
    };
    assert_eq!((e.pid, e.tid, &*e.comm), (42, 43, "sshd"));
    assert_eq!((e.syscall, e.fd, e.ret), (Syscall::Listen, Some(3), 0));
    assert_eq!(e.family.as_deref(), Some("AF_INET6"));
    assert_eq!((e.address.as_deref(), e.port), (Some("::"), Some(2222)));
    let verdict = e.verdict.as_ref().unwrap();
    assert_eq!(&*verdict.accepts, "IPv4+IPv6");
    assert!(!verdict.reason.is_empty() && !e.failed());
    assert!(e.strace.starts_with("listen(3, 128)"), "{}", e.strace);
}

#[test]
fn garbage_lines_are_skipped_with_a_reason() {
    let good = line_of(&close(1));
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "empty line"),
        ("not json".into(), "invalid JSON"),
        ("[1,2]".into(), "not an event record"),
        ("{}".into(), "missing field `type`"),
        (
            r#"{"type":"bogus"}"#.into(),
            "unknown record type \"bogus\"",
        ),
        (r#"{"type":"lost"}"#.into(), "missing field `count`"),
        (good.replace("\"pid\":1,", ""), "missing field `pid`"),
        (
            good.replace("\"pid\":1,", "\"pid\":\"x\","),
            "not an event record",
        ),
        (
            good.replace("\"close\"", "\"open\""),
            "unknown syscall \"open\"",
        ),
        (
            good.replace(",\"strace\":", ",\"x\":"),
            "missing field `strace`",
        ),
        (good[..good.len() / 2].to_owned(), "incomplete JSON"),
    ];
    for (text, want) in cases {
        let reason = Line::parse(text.as_bytes()).unwrap_err();
        assert!(
            reason.contains(want),
            "{text:?}: {reason:?} should say {want:?}"
        );
    }
}

#[test]
fn json_passes_good_lines_byte_for_byte_and_reports_bad_ones_by_file_and_line() {
    let dir = Dir::new("export-garbage");
    let good: Vec<String> = (1..=3).map(|p| line_of(&close(p))).collect();
    let text = format!("{}garbage\n{}{{}}\n{}", good[0], good[1], good[2]);
    let path = write_file(&dir.0, "events.jsonl", &text);
    let (out, diag, summary) = run(&[&path], ExportFormat::Json, Filter::default());
    assert_eq!(out, good.concat());
    assert_eq!((summary.exported, summary.skipped), (3, 2), "{diag}");
    let name = path.display();
    assert!(diag.contains(&format!("{name}:2: invalid JSON")), "{diag}");
    assert!(
        diag.contains(&format!("{name}:4: missing field `type`")),
        "{diag}"
    );
    assert!(!summary.clean());
}

#[test]
fn a_last_line_without_newline_is_kept_when_whole_and_reported_when_torn() {
    let dir = Dir::new("export-tail");
    let (a, b) = (line_of(&close(1)), line_of(&close(2)));
    let whole = write_file(&dir.0, "whole.jsonl", &format!("{a}{}", b.trim_end()));
    let (out, _, summary) = run(&[&whole], ExportFormat::Json, Filter::default());
    assert_eq!((out, summary.skipped), (format!("{a}{b}"), 0));
    let torn = write_file(&dir.0, "torn.jsonl", &format!("{a}{}", &b[..40]));
    let (out, diag, summary) = run(&[&torn], ExportFormat::Json, Filter::default());
    assert_eq!((out, summary.skipped), (a, 1));
    assert!(
        diag.contains(&format!("{}:2: torn last line", torn.display())),
        "{diag}"
    );
}

#[test]
fn a_truncated_gzip_keeps_the_lines_before_the_cut() {
    let dir = Dir::new("export-gz");
    let lines: Vec<String> = (0..300).map(|p| line_of(&listen(p, p, "x", 80))).collect();
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(lines.concat().as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    let full = dir.0.join("events-20261128T000000Z-1.jsonl.gz");
    fs::write(&full, &bytes).unwrap();
    let (out, diag, summary) = run(&[&full], ExportFormat::Json, Filter::default());
    assert_eq!((out, diag.as_str()), (lines.concat(), ""));
    assert!(summary.clean());

    // Cut short: the lines before the cut are exported, the cut is reported at its byte, and
    // since the file ends there, the loss cannot be counted.
    let cut = dir.0.join("cut.jsonl.gz");
    let half = bytes.len() / 2;
    fs::write(&cut, &bytes[..half]).unwrap();
    let (out, diag, summary) = run(&[&cut], ExportFormat::Json, Filter::default());
    assert_eq!(
        (summary.skipped, summary.cut_files, summary.cut_unknown),
        (0, 1, 1),
        "{diag}"
    );
    assert!(!summary.clean());
    assert!(
        summary.exported > 0 && summary.exported < 300,
        "{summary:?}"
    );
    assert_eq!(out, lines[..summary.exported as usize].concat());
    let prefix = format!(
        "{}: cut at byte {half} of {half} after line {}: gzip data is truncated",
        cut.display(),
        summary.exported
    );
    assert!(diag.starts_with(&prefix), "{diag}");
    assert!(diag.contains("how many cannot be known"), "{diag}");

    // Corrupt in the middle (a second gzip member whose header was overwritten): the
    // compressed bytes after the damage give an estimate.
    let member = |lines: &[String]| {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(lines.concat().as_bytes()).unwrap();
        gz.finish().unwrap()
    };
    let (first, mut second) = (member(&lines[..150]), member(&lines[150..]));
    second[..10].fill(0);
    let bad = dir.0.join("bad.jsonl.gz");
    fs::write(&bad, [first.clone(), second].concat()).unwrap();
    let (out, diag, summary) = run(&[&bad], ExportFormat::Json, Filter::default());
    assert_eq!(
        (summary.skipped, summary.cut_files, summary.exported),
        (0, 1, 150),
        "{diag}"
    );
    assert_eq!(out, lines[..150].concat());
    // The offset is where the decoder gave up: in the broken header, after the first member.
    let offset: usize = diag
        .split("cut at byte ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no offset in {diag}"));
    assert!(
        diag.starts_with(&format!("{}: cut at byte ", bad.display()))
            && (first.len()..=first.len() + 10).contains(&offset)
            && diag.contains(" after line 150: "),
        "{diag}"
    );
    let lost = 150;
    let estimate = summary.cut_events_estimated;
    assert!(
        estimate >= lost / 2 && estimate <= lost * 2,
        "{estimate} estimated for {lost} lost: {diag}"
    );
    assert!(
        diag.starts_with(&format!("{}: cut at byte ", bad.display()))
            && diag.contains(&format!("about {estimate} events")),
        "{diag}"
    );
}

#[test]
fn an_empty_or_non_gzip_gz_file_is_an_error_naming_it() {
    let dir = Dir::new("export-not-gz");
    let a = line_of(&close(1));
    let empty = write_file(&dir.0, "events-20261128T000000Z-1.jsonl.gz", "");
    let plain = write_file(&dir.0, "events-20261128T000000Z-2.jsonl.gz", &a);
    let current = write_file(&dir.0, "events.jsonl", &a);
    let (out, diag, summary) = run(&[&dir.0], ExportFormat::Json, Filter::default());
    assert_eq!(out, a, "only the current file is read");
    assert_eq!((summary.unreadable, summary.exported), (2, 1), "{diag}");
    assert!(!summary.clean());
    let reports: Vec<&str> = diag.lines().collect();
    assert_eq!(
        reports,
        [
            format!(
                "{}: empty, but a .gz event file holds gzip data: its events are lost; not read",
                empty.display()
            ),
            format!(
                "{}: not gzip data (no gzip header), but a .gz event file holds gzip data: its \
                 events are lost; not read",
                plain.display()
            ),
        ],
        "{diag}"
    );
    let _ = current;
}

#[test]
fn an_overlong_line_is_skipped_without_holding_it() {
    let dir = Dir::new("export-long");
    let a = line_of(&close(1));
    let text = format!("{a}{}\n{a}", "x".repeat(super::input::MAX_LINE + 10));
    let path = write_file(&dir.0, "long.jsonl", &text);
    let (out, diag, summary) = run(&[&path], ExportFormat::Json, Filter::default());
    assert_eq!((out, summary.skipped), (format!("{a}{a}"), 1));
    assert!(diag.contains(":2: line longer than 1 MiB"), "{diag}");
}

#[test]
fn csv_has_a_header_and_quotes_as_rfc_4180_says() {
    let dir = Dir::new("export-csv");
    let text = [
        line_of(&listen(7, 7, "a,\"b\"", 8080)),
        line_of(&bind(8, AF_INET, 53, Return::Error(Errno(98)))),
    ]
    .concat();
    let path = write_file(&dir.0, "events.jsonl", &text);
    let (out, _, summary) = run(&[&path], ExportFormat::Csv, Filter::default());
    assert!(summary.clean());
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(
        rows[0],
        "time,pid,tid,comm,syscall,fd,ret,errno,family,address,port,v6only,v6only_source,accepts,reason"
    );
    assert!(
        rows[1].starts_with("2026-11-29T20:01:02.007000Z,7,7,\"a,\"\"b\"\"\",listen,3,0,,AF_INET6,::,8080,,,IPv4+IPv6,\""),
        "{}",
        rows[1]
    );
    assert_eq!(
        rows[2],
        "2026-11-29T20:01:02.008000Z,8,8,server,bind,3,-1,EADDRINUSE,AF_INET,0.0.0.0,53,,,,"
    );
}

#[test]
fn filters_select_what_trace_would_have_shown() {
    let dir = Dir::new("export-filter");
    let events = [
        listen(1, 1, "sshd", 22),
        bind(2, AF_INET, 53, Return::Error(Errno(98))),
        bind(3, AF_INET6, 80, Return::Value(0)),
        close(4),
    ];
    let text: String = events.iter().map(line_of).collect();
    let path = write_file(&dir.0, "events.jsonl", &text);
    let pids = |f: Filter| -> Vec<u32> {
        let (out, _, _) = run(&[&path], ExportFormat::Json, f);
        record_pids(&out)
    };
    let all = Filter::default();
    assert_eq!(pids(all.clone()), [1, 2, 3, 4]);
    assert_eq!(
        pids(Filter {
            pids: [2, 4].into(),
            ..all.clone()
        }),
        [2, 4]
    );
    assert_eq!(
        pids(Filter {
            comm: Some("sshd".into()),
            ..all.clone()
        }),
        [1]
    );
    assert_eq!(
        pids(Filter {
            port: Some(22),
            ..all.clone()
        }),
        [1]
    );
    assert_eq!(
        pids(Filter {
            family: Some(AF_INET6),
            ..all.clone()
        }),
        [1, 3]
    );
    assert_eq!(
        pids(Filter {
            family: Some(AF_INET),
            ..all.clone()
        }),
        [2]
    );
    let binds = Filter {
        syscalls: [Syscall::Bind].into(),
        ..all.clone()
    };
    assert_eq!(pids(binds), [2, 3]);
    assert_eq!(
        pids(Filter {
            failed_only: true,
            ..all
        }),
        [2]
    );
}

fn record_pids(out: &str) -> Vec<u32> {
    out.lines()
        .map(|l| match Line::parse(l.as_bytes()).unwrap() {
            Line::Event(e) => e.pid,
            Line::Lost(_) | Line::Error(_) => 0,
        })
        .collect()
}

#[test]
fn strace_lines_get_a_pid_leader_only_when_several_tasks_logged() {
    let dir = Dir::new("export-strace");
    let one = write_file(&dir.0, "one.jsonl", &line_of(&listen(5, 5, "s", 80)));
    let (out, _, _) = run(&[&one], ExportFormat::Strace, Filter::default());
    assert_eq!(out, "listen(3, 128)                          = 0\n");
    let two = write_file(&dir.0, "two.jsonl", &line_of(&listen(5, 6, "s", 81)));
    let (out, _, _) = run(&[&one, &two], ExportFormat::Strace, Filter::default());
    assert_eq!(
        out,
        "[pid     5] listen(3, 128)                          = 0\n\
         [pid     6] listen(3, 128)                          = 0\n"
    );
    // The leader depends on the events that pass the filters.
    let only = Filter {
        pids: [5].into(),
        ..Filter::default()
    };
    let (out, _, _) = run(&[&one], ExportFormat::Strace, only);
    assert!(out.starts_with("listen("), "{out}");
}

#[test]
fn lost_records_pass_through_json_and_are_reported_otherwise() {
    let dir = Dir::new("export-lost");
    let mut lost = Vec::new();
    crate::schema::write_lost(&mut lost, 17, "kernel ring buffer full");
    let lost = String::from_utf8(lost).unwrap();
    let a = line_of(&close(1));
    let path = write_file(&dir.0, "events.jsonl", &format!("{a}{lost}{a}"));
    let (out, _, summary) = run(&[&path], ExportFormat::Json, Filter::default());
    assert_eq!(out, format!("{a}{lost}{a}"));
    assert_eq!((summary.lost_records, summary.lost_events), (1, 17));
    let (out, diag, summary) = run(&[&path], ExportFormat::Strace, Filter::default());
    assert_eq!(out.lines().count(), 2);
    assert!(summary.clean());
    let note = format!(
        "{}:2: 17 events were lost here (kernel ring buffer full)",
        path.display()
    );
    assert!(diag.contains(&note), "{diag}");
}

#[test]
fn a_missing_file_or_directory_is_reported_and_the_rest_exported() {
    let dir = Dir::new("export-missing");
    let a = line_of(&close(1));
    let path = write_file(&dir.0, "a.jsonl", &a);
    let missing = dir.0.join("nope.jsonl");
    let (out, diag, summary) = run(&[&missing, &path], ExportFormat::Json, Filter::default());
    assert_eq!(out, a);
    assert_eq!(summary.unreadable, 1);
    assert!(
        diag.contains("nope.jsonl: cannot read: No such file"),
        "{diag}"
    );
}

fn run_inputs(inputs: Vec<Input>, format: ExportFormat) -> (String, String, Summary) {
    let (mut out, mut diag) = (Vec::new(), Vec::new());
    let options = ExportOptions {
        format,
        filter: Filter::default(),
    };
    let summary = export_inputs(inputs, &options, &mut out, &mut diag).unwrap();
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(diag).unwrap(),
        summary,
    )
}

#[test]
fn a_rotation_after_the_listing_loses_no_line() {
    let dir = Dir::new("export-rotate");
    let lines: Vec<String> = (1..=6).map(|p| line_of(&close(p))).collect();
    write_file(
        &dir.0,
        "events-20261128T000000Z-1.jsonl",
        &lines[..3].concat(),
    );
    let current = write_file(&dir.0, "events.jsonl", &lines[3..].concat());
    let inputs = input::expand(std::slice::from_ref(&dir.0));
    // The daemon rotates before export reads: the file listed as events.jsonl is renamed and
    // a new, empty events.jsonl takes its place.
    fs::rename(&current, dir.0.join("events-20261128T000100Z-2.jsonl")).unwrap();
    fs::write(&current, "").unwrap();
    let (out, diag, summary) = run_inputs(inputs, ExportFormat::Json);
    assert_eq!(out, lines.concat(), "{diag}");
    assert!(summary.clean() && summary.exported == 6, "{summary:?}");
}

#[test]
fn a_listed_file_pruned_before_it_was_opened_is_unreadable() {
    let dir = Dir::new("export-pruned");
    let a = line_of(&close(1));
    let current = write_file(&dir.0, "events.jsonl", &a);
    let gone = dir.0.join("events-20261128T000000Z-1.jsonl");
    let inputs = vec![
        input::open_listed(gone.clone()),
        input::open_listed(current),
    ];
    let (out, diag, summary) = run_inputs(inputs, ExportFormat::Json);
    assert_eq!(out, a);
    assert_eq!((summary.unreadable, summary.files), (1, 2), "{diag}");
    assert!(!summary.clean());
    assert!(
        diag.starts_with(&format!("{}: deleted", gone.display())),
        "{diag}"
    );
}

#[test]
fn lost_counts_that_overflow_saturate() {
    let dir = Dir::new("export-lost-overflow");
    let text = "{\"type\":\"lost\",\"count\":18446744073709551615}\n\
                {\"type\":\"lost\",\"count\":1}\n";
    let path = write_file(&dir.0, "events.jsonl", text);
    for format in [ExportFormat::Json, ExportFormat::Strace] {
        let (_, diag, summary) = run(&[&path], format, Filter::default());
        assert_eq!((summary.lost_records, summary.lost_events), (2, u64::MAX));
        assert!(summary.clean(), "{diag}");
    }
}

#[test]
fn a_cut_last_line_of_the_current_file_is_noted_not_corrupt() {
    let dir = Dir::new("export-growing");
    let (a, b) = (line_of(&close(1)), line_of(&close(2)));
    let text = format!("{a}{}", &b[..40]);
    let current = write_file(&dir.0, "events.jsonl", &text);
    let (out, diag, summary) = run(&[&current], ExportFormat::Json, Filter::default());
    assert_eq!(out, a);
    assert_eq!((summary.skipped, summary.incomplete), (0, 1));
    assert!(summary.clean(), "{diag}");
    let note = format!(
        "{}:2: incomplete last line of the current file",
        current.display()
    );
    assert!(diag.starts_with(&note), "{diag}");

    // A rotated file is complete: the same cut is corrupt there, plain or gzipped.
    let rotated = write_file(&dir.0, "events-20261128T000000Z-1.jsonl", &text);
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let gzipped = dir.0.join("events-20261128T000000Z-2.jsonl.gz");
    fs::write(&gzipped, gz.finish().unwrap()).unwrap();
    // A gzipped file is never being appended to, whatever its name.
    let gz_current = dir.0.join("old").join("events.jsonl");
    fs::create_dir(dir.0.join("old")).unwrap();
    fs::copy(&gzipped, &gz_current).unwrap();
    for path in [&rotated, &gzipped, &gz_current] {
        let (out, diag, summary) = run(&[path], ExportFormat::Json, Filter::default());
        assert_eq!(out, a);
        assert_eq!((summary.skipped, summary.incomplete), (1, 0), "{diag}");
        assert!(
            diag.contains(&format!("{}:2: torn last line", path.display())),
            "{diag}"
        );
    }
}

#[test]
fn a_long_first_stretch_of_one_task_is_written_before_the_second_task_comes() {
    let dir = Dir::new("export-hold");
    let one = line_of(&listen(5, 5, "s", 80));
    let first: usize = super::HOLD_BYTES / 40 + 10;
    let text = format!("{}{}", one.repeat(first), line_of(&listen(5, 6, "s", 81)));
    let path = write_file(&dir.0, "events.jsonl", &text);
    let (out, _, summary) = run(&[&path], ExportFormat::Strace, Filter::default());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len() as u64, summary.exported);
    assert_eq!(lines.len(), first + 1);
    assert!(lines[..first].iter().all(|l| l.starts_with("listen(")));
    assert!(
        lines[first].starts_with("[pid     6] listen("),
        "{}",
        lines[first]
    );
}
