//! The event log end to end: lines written through `EventLog` with small limits, so that
//! files rotate and compress, then read back by the real `dualstack export`.

#[path = "support/event_lines.rs"]
#[allow(
    dead_code,
    reason = "each test file uses its own part of the shared lines"
)]
mod event_lines;

use std::{fs, path::Path, time::Duration};

use dualstack::outputs::event_log::{naming, EventLog, LogPolicy};
use event_lines::{known_lines, Spec};
use tests::{dualstack, run, Output, TempDir};

const TIMEOUT: Duration = Duration::from_secs(30);

fn export(args: &[&str]) -> Output {
    run(&mut dualstack(&[&["export"], args].concat()), TIMEOUT)
}

/// Writes `lines` through an EventLog with ~16 KiB files, gzipped.
fn write_log(dir: &Path, lines: &[String], keep: usize) {
    let mut log = EventLog::open(LogPolicy {
        dir: dir.to_path_buf(),
        max_bytes: 16 * 1024,
        max_age: Duration::ZERO,
        keep,
        compress: true,
    })
    .expect("open the log");
    for line in lines {
        log.write_line(line.as_bytes()).expect("write a line");
    }
    let stats = log.close().expect("close the log");
    assert_eq!(stats.lines_written, lines.len() as u64, "{stats:?}");
    assert_eq!(
        (stats.write_errors, stats.rotate_errors),
        (0, 0),
        "{stats:?}"
    );
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("list the log")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn export_of_a_rotated_compressed_log_gives_every_line_once_in_order() {
    let dir = TempDir::new("log-roundtrip");
    let (_, lines) = known_lines(400);
    write_log(dir.path(), &lines, 1000);
    let names = file_names(dir.path());
    let gz = names.iter().filter(|n| n.ends_with(".jsonl.gz")).count();
    assert!(gz >= 5, "expected several gzipped rotations: {names:?}");
    assert!(names.contains(&naming::CURRENT.to_owned()), "{names:?}");
    assert_eq!(
        gz + 1,
        names.len(),
        "nothing but .gz and the current file: {names:?}"
    );

    let dir_arg = dir.path().to_str().expect("UTF-8 path");
    let out = export(&[dir_arg, "--format", "json"]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert_eq!(out.stderr, "");
    assert!(
        out.stdout == lines.concat(),
        "the JSON export differs from the lines written"
    );

    let out = export(&[dir_arg, "--format", "csv"]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let rows: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(rows.len(), lines.len() + 1);
    assert!(
        rows[0].starts_with("time,pid,tid,comm,syscall,"),
        "{}",
        rows[0]
    );

    // Several threads logged: every strace line has strace -f's leader.
    let out = export(&[dir_arg]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let strace: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(strace.len(), lines.len());
    for (text, line) in strace.iter().zip(&lines) {
        let value: serde_json::Value = serde_json::from_str(line).expect("JSON");
        let want = format!(
            "[pid {:>5}] {}",
            value["tid"].as_u64().expect("tid"),
            value["strace"].as_str().expect("strace")
        );
        assert_eq!(*text, want);
    }
}

#[test]
fn filters_select_the_right_subset() {
    type Pick = fn(&Spec) -> bool;
    let dir = TempDir::new("log-filters");
    let (specs, lines) = known_lines(240);
    write_log(dir.path(), &lines, 1000);
    let dir_arg = dir.path().to_str().expect("UTF-8 path");
    let cases: [(&[&str], Pick); 8] = [
        (&["--pid", "1001"], |s| s.pid == 1001),
        (&["--pid", "1001", "--pid", "1002"], |s| s.pid != 1000),
        (&["--comm", "nginx"], |s| s.comm == "nginx"),
        (&["--port", "8002"], |s| s.has_port(8002)),
        (&["--family", "inet6"], |s| s.has_family(10)),
        (&["--syscall", "bind,listen"], |s| {
            matches!(s.syscall(), "bind" | "listen")
        }),
        (&["--failed"], Spec::failed),
        (
            &["--family", "inet", "--syscall", "listen", "--port", "8001"],
            |s| s.has_family(2) && s.syscall() == "listen" && s.has_port(8001),
        ),
    ];
    for (args, pick) in cases {
        let want: String = specs
            .iter()
            .zip(&lines)
            .filter(|(s, _)| pick(s))
            .map(|(_, l)| l.as_str())
            .collect();
        assert!(!want.is_empty(), "{args:?} selects nothing: a useless case");
        let out = export(&[&[dir_arg, "-f", "json"], args].concat());
        assert_eq!(out.code(), Some(0), "{args:?}: {out:?}");
        assert!(
            out.stdout == want,
            "{args:?}: {} lines exported, {} expected",
            out.stdout.lines().count(),
            want.lines().count()
        );
    }
}

#[test]
fn a_torn_last_line_is_cut_on_open_and_every_whole_line_exported() {
    let dir = TempDir::new("log-torn");
    let (_, lines) = known_lines(30);
    let current = dir.join(naming::CURRENT);
    // What a writer killed in the middle of a line leaves.
    let torn = &lines[20][..lines[20].len() / 2];
    fs::write(&current, format!("{}{torn}", lines[..20].concat())).expect("write");
    let path = current.to_str().expect("UTF-8 path");

    // Export cannot tell a killed writer's cut from a line being written: it is left out,
    // noted, and not an error.
    let out = export(&[path, "-f", "json"]);
    assert_eq!(out.code(), Some(0), "a cut last line is noted: {out:?}");
    assert_eq!(out.stdout, lines[..20].concat());
    assert!(
        out.stderr.contains(&format!(
            "{path}:21: incomplete last line of the current file"
        )),
        "{}",
        out.stderr
    );

    let mut log = EventLog::open(LogPolicy {
        max_age: Duration::ZERO,
        max_bytes: 0,
        ..LogPolicy::new(dir.path())
    })
    .expect("open");
    let stats = log.stats();
    assert_eq!(stats.torn_lines_repaired, 1);
    assert_eq!(stats.torn_bytes_dropped, torn.len() as u64);
    for line in &lines[20..] {
        log.write_line(line.as_bytes()).expect("write");
    }
    log.close().expect("close");
    let out = export(&[path, "-f", "json"]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert_eq!(out.stderr, "");
    assert!(
        out.stdout == lines.concat(),
        "every whole line, once, in order"
    );
}

#[test]
fn pruned_logs_export_the_newest_lines_in_order() {
    let dir = TempDir::new("log-keep");
    let (_, lines) = known_lines(400);
    write_log(dir.path(), &lines, 3);
    let rotated = naming::rotated_files(dir.path()).expect("list");
    assert_eq!(rotated.len(), 3, "{:?}", file_names(dir.path()));
    let out = export(&[dir.path().to_str().expect("UTF-8"), "-f", "json"]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let exported = out.stdout.lines().count();
    assert!(exported > 0 && exported < lines.len());
    assert!(
        out.stdout == lines[lines.len() - exported..].concat(),
        "what is left is the newest lines, in order"
    );
}
