//! `dualstack export` on damaged and mixed inputs: corrupt lines and truncated gzip files are
//! skipped and reported as FILE:LINE, the rest is exported, and the exit status says so.

#[path = "support/event_lines.rs"]
#[allow(
    dead_code,
    reason = "each test file uses its own part of the shared lines"
)]
mod event_lines;

use std::{
    fs,
    io::Write as _,
    path::Path,
    process::{Command, Stdio},
    thread,
    time::Duration,
};

use dualstack::{
    outputs::event_log::{naming, EventLog, LogPolicy},
    schema,
};
use event_lines::known_lines;
use tests::{dualstack, dualstack_bin, run, Output, TempDir};

const TIMEOUT: Duration = Duration::from_secs(30);

fn export(args: &[&str]) -> Output {
    run(&mut dualstack(&[&["export"], args].concat()), TIMEOUT)
}

fn text(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// A log of `lines` in ~8 KiB gzipped files and the current file.
fn write_log(dir: &Path, lines: &[String]) {
    let mut log = EventLog::open(LogPolicy {
        dir: dir.to_path_buf(),
        max_bytes: 8 * 1024,
        max_age: Duration::ZERO,
        keep: 1000,
        compress: true,
    })
    .expect("open the log");
    for line in lines {
        log.write_line(line.as_bytes()).expect("write a line");
    }
    log.close().expect("close the log");
}

#[test]
fn corrupt_lines_and_a_truncated_gzip_are_skipped_and_reported_by_file_and_line() {
    let dir = TempDir::new("export-corrupt");
    let (_, lines) = known_lines(200);
    write_log(dir.path(), &lines);
    let rotated = naming::rotated_files(dir.path()).expect("list");
    assert!(rotated.len() >= 3 && rotated.iter().all(|r| r.compressed));

    // The lines of each file as exported before any damage.
    let per_file: Vec<String> = naming::event_files(dir.path())
        .expect("list")
        .iter()
        .map(|f| {
            let out = export(&[text(f), "-f", "json"]);
            assert_eq!(out.code(), Some(0), "{out:?}");
            out.stdout
        })
        .collect();
    assert!(per_file.concat() == lines.concat());

    // Damage: garbage after the current file's second line, the second rotated file cut short.
    let current = dir.join(naming::CURRENT);
    let content = fs::read_to_string(&current).expect("read");
    let (head, tail) = content.split_at(content.match_indices('\n').nth(1).expect("2 lines").0 + 1);
    fs::write(&current, format!("{head}\u{0}\u{1}garbage\n{tail}")).expect("write");
    let gz = dir.join(&rotated[1].name());
    let bytes = fs::read(&gz).expect("read");
    fs::write(&gz, &bytes[..bytes.len() * 2 / 3]).expect("truncate");

    let out = export(&[text(dir.path()), "-f", "json"]);
    assert_eq!(out.code(), Some(1), "lines were skipped: {out:?}");
    let reports: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.starts_with("dualstack: "))
        .collect();
    assert_eq!(reports.len(), 2, "{}", out.stderr);
    let cut_at = bytes.len() * 2 / 3;
    assert!(
        reports[0].starts_with(&format!(
            "{}: cut at byte {cut_at} of {cut_at} after line ",
            text(&gz)
        )) && reports[0].contains(": gzip data is truncated or corrupt")
            && reports[0].contains("the events after the cut are lost, how many cannot be known"),
        "{}",
        reports[0]
    );
    assert!(
        reports[1].starts_with(&format!("{}:3: invalid JSON", text(&current))),
        "{}",
        reports[1]
    );
    assert!(
        out.stderr.contains(
            "dualstack: 1 corrupt lines skipped, 1 files cut short (the events lost after the \
             cuts cannot be counted), 0 inputs unreadable"
        ),
        "{}",
        out.stderr
    );
    // Every other file whole; of the cut file, the lines before the cut.
    let survived = out.stdout.lines().count()
        - per_file
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, f)| f.lines().count())
            .sum::<usize>();
    let cut_lines: Vec<&str> = per_file[1].lines().collect();
    assert!(
        survived > 0 && survived < cut_lines.len(),
        "{survived} lines of the cut file"
    );
    let mut want = per_file.clone();
    want[1] = cut_lines[..survived]
        .iter()
        .flat_map(|l| [*l, "\n"])
        .collect();
    assert!(
        out.stdout == want.concat(),
        "the export differs from the undamaged lines"
    );
}

#[test]
fn files_are_read_in_the_order_given() {
    let dir = TempDir::new("export-order");
    let (_, lines) = known_lines(8);
    let (a, b) = (dir.join("a.jsonl"), dir.join("b.jsonl"));
    fs::write(&a, lines[..4].concat()).expect("write");
    fs::write(&b, lines[4..].concat()).expect("write");
    let out = export(&[text(&b), text(&a), "-f", "json"]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert_eq!(out.stdout, [&lines[4..], &lines[..4]].concat().concat());
}

#[test]
fn csv_has_a_header_and_a_row_per_event() {
    let dir = TempDir::new("export-csv");
    let (specs, lines) = known_lines(12);
    let path = dir.join("events.jsonl");
    fs::write(&path, lines.concat()).expect("write");
    let out = export(&[text(&path), "--format", "csv"]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let rows: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        rows[0],
        "time,pid,tid,comm,syscall,fd,ret,errno,family,address,port,v6only,v6only_source,accepts,reason"
    );
    assert_eq!(rows.len(), 13);
    for (row, spec) in rows[1..].iter().zip(&specs) {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells[1], spec.pid.to_string(), "{row}");
        assert_eq!(cells[3], spec.comm, "{row}");
        assert_eq!(cells[4], spec.syscall(), "{row}");
        if spec.has_port(spec.port) {
            assert_eq!(cells[10], spec.port.to_string(), "{row}");
        }
    }
}

#[test]
fn one_task_gives_strace_lines_without_a_leader() {
    let dir = TempDir::new("export-strace");
    let (specs, lines) = known_lines(12);
    let path = dir.join("events.jsonl");
    fs::write(&path, lines.concat()).expect("write");
    let out = export(&[text(&path), "--pid", "1000"]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let want: Vec<String> = specs
        .iter()
        .zip(&lines)
        .filter(|(s, _)| s.pid == 1000)
        .map(|(_, l)| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON");
            format!("{}\n", v["strace"].as_str().expect("strace"))
        })
        .collect();
    assert_eq!(out.stdout, want.concat());
    assert!(out
        .stdout
        .starts_with("socket(AF_INET6, SOCK_STREAM, IPPROTO_IP) = 3\n"));
}

#[test]
fn lost_records_are_kept_in_json_and_reported_in_other_formats() {
    let dir = TempDir::new("export-lost");
    let (_, lines) = known_lines(2);
    let mut lost = Vec::new();
    schema::write_lost(&mut lost, 5, schema::REASON_KERNEL);
    let lost = String::from_utf8(lost).expect("UTF-8");
    let path = dir.join("events.jsonl");
    let content = format!("{}{lost}{}", lines[0], lines[1]);
    fs::write(&path, &content).expect("write");

    let out = export(&[text(&path), "-f", "json", "--pid", "1000"]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert_eq!(out.stdout, content, "kept whatever the filters");

    let out = export(&[text(&path)]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert_eq!(out.stdout.lines().count(), 2);
    assert!(
        out.stderr.contains(&format!(
            "{}:2: 5 events were lost here (kernel ring buffer full)",
            text(&path)
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn missing_inputs_and_bad_filters_fail_clearly() {
    let dir = TempDir::new("export-errors");
    let (_, lines) = known_lines(4);
    let path = dir.join("events.jsonl");
    fs::write(&path, lines.concat()).expect("write");
    let missing = dir.join("nope.jsonl");
    let out = export(&[text(&missing), text(&path), "-f", "json"]);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert_eq!(out.stdout, lines.concat(), "the readable input is exported");
    assert!(
        out.stderr
            .contains(&format!("{}: cannot read: No such file", text(&missing))),
        "{}",
        out.stderr
    );

    let empty = TempDir::new("export-empty");
    let out = export(&[text(empty.path())]);
    assert_eq!(out.code(), Some(0), "an empty log is not an error: {out:?}");
    assert!(out.stderr.contains("no event files"), "{}", out.stderr);

    for (args, word) in [
        (&["--syscall", "bind,lisen"][..], "lisen"),
        (&["--family", "ipx"][..], "ipx"),
        (&["--format", "xml"][..], "xml"),
    ] {
        let out = export(&[&[text(&path)], args].concat());
        assert_eq!(out.code(), Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.contains(word), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{out:?}");
    }
    let out = export(&[]);
    assert_eq!(out.code(), Some(2), "no input: {out:?}");
}

#[test]
fn lost_counts_past_u64_saturate_instead_of_crashing() {
    let dir = TempDir::new("export-lost-overflow");
    let path = dir.join("events.jsonl");
    fs::write(
        &path,
        "{\"type\":\"lost\",\"count\":18446744073709551615}\n{\"type\":\"lost\",\"count\":1}\n",
    )
    .expect("write");
    let out = export(&[text(&path)]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(
        out.stderr
            .contains("the log records 18446744073709551615 events lost by the kernel (2 records)"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_current_file_cut_mid_line_exits_0_and_a_rotated_one_exits_1() {
    let dir = TempDir::new("export-growing");
    let (_, lines) = known_lines(3);
    let cut = format!("{}{}", lines[..2].concat(), &lines[2][..30]);
    let current = dir.join(naming::CURRENT);
    fs::write(&current, &cut).expect("write");
    let out = export(&[text(&current), "-f", "json"]);
    assert_eq!(out.code(), Some(0), "being written is not corrupt: {out:?}");
    assert_eq!(out.stdout, lines[..2].concat());
    assert!(
        out.stderr.contains(&format!(
            "{}:3: incomplete last line of the current file",
            text(&current)
        )),
        "{}",
        out.stderr
    );
    let rotated = dir.join("events-20261128T000000Z-1.jsonl");
    fs::write(&rotated, &cut).expect("write");
    let out = export(&[text(&rotated), "-f", "json"]);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("{}:3: torn last line", text(&rotated))),
        "{}",
        out.stderr
    );
}

#[test]
fn a_log_on_a_pipe_is_read_once_with_leaders_for_several_tasks() {
    let (specs, lines) = known_lines(12);
    assert!(specs.iter().any(|s| s.tid != specs[0].tid), "several tasks");
    let mut child = Command::new(dualstack_bin())
        .args(["export", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dualstack export");
    let mut stdin = child.stdin.take().expect("stdin");
    let log = lines.concat();
    // A pipe can be read only once: a first pass to find the tasks would leave nothing to
    // export.
    let writer = thread::spawn(move || stdin.write_all(log.as_bytes()));
    let out = child.wait_with_output().expect("export");
    writer.join().expect("writer").expect("write the log");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let got: Vec<&str> = stdout.lines().collect();
    assert_eq!(got.len(), lines.len(), "{stdout}");
    for (line, spec) in got.iter().zip(&specs) {
        let leader = format!("[pid {:>5}] ", spec.tid);
        assert!(line.starts_with(&leader), "{line}");
    }
}

/// A rotated file emptied or overwritten with something else keeps its `.gz` name: its events
/// are gone, and export says so, naming it, instead of reading it as an empty log.
#[test]
fn an_empty_or_non_gzip_gz_file_is_an_error_naming_it() {
    let dir = TempDir::new("export-not-gz");
    let (_, lines) = known_lines(200);
    write_log(dir.path(), &lines);
    let rotated = naming::rotated_files(dir.path()).expect("list");
    assert!(rotated.len() >= 3 && rotated.iter().all(|r| r.compressed));
    let empty = dir.join(&rotated[0].name());
    let plain = dir.join(&rotated[1].name());
    let gunzipped = run(Command::new("gzip").arg("-dc").arg(&plain), TIMEOUT);
    assert!(gunzipped.status.success(), "gzip -dc: {}", gunzipped.stderr);
    fs::write(&empty, "").expect("empty");
    fs::write(&plain, &gunzipped.stdout).expect("overwrite with plain text");

    for (path, what) in [
        (&empty, "empty"),
        (&plain, "not gzip data (no gzip header)"),
    ] {
        let out = export(&[text(path), "-f", "json"]);
        assert_eq!(out.code(), Some(1), "{out:?}");
        assert_eq!(out.stdout, "");
        assert!(
            out.stderr.starts_with(&format!(
                "{}: {what}, but a .gz event file holds gzip data",
                text(path)
            )),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("1 inputs unreadable"), "{}", out.stderr);
    }
    // In a directory, the other files are exported and both are named.
    let out = export(&[text(dir.path()), "-f", "json"]);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.stderr.contains(text(&empty)) && out.stderr.contains(text(&plain)),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("2 inputs unreadable"), "{}", out.stderr);
}
