//! `dualstack trace` under a burst: 8 threads opening and closing sockets as fast as they can
//! (tests/src/bin/forking_server.rs burst). The trace answers SIGINT within a second, its
//! memory stays bounded, and every call is either delivered or counted as lost (by the kernel,
//! on a full ring) or as not written (what the output could not take by the end).

use std::{
    fs,
    io::Read as _,
    process::Stdio,
    thread,
    time::{Duration, Instant},
};

use tests::{dualstack, json_lines, require_root, Guard, TempDir};

/// One burst at a time: two on two cores would measure each other.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Peak resident memory of a process, in KiB (VmHWM).
fn peak_rss_kib(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// SIGINT after 3 s of burst; checks that dualstack exits within a second and that its peak
/// RSS stayed bounded (`what` names the case), and returns its stderr.
fn interrupt_and_check(tracer: &mut Guard, err_path: &std::path::Path, what: &str) -> String {
    thread::sleep(Duration::from_secs(3));
    let rss = peak_rss_kib(tracer.id());
    let sent = Instant::now();
    // SAFETY: signalling the tracer this test started.
    unsafe { libc::kill(tracer.id() as libc::pid_t, libc::SIGINT) };
    tracer.wait(Duration::from_secs(20), "dualstack after SIGINT");
    let took = sent.elapsed();
    eprintln!("{what}: SIGINT answered in {took:?}; peak RSS {rss} KiB");
    let stderr = fs::read_to_string(err_path).expect("stderr");
    assert!(
        took < Duration::from_secs(1),
        "{what}: SIGINT took {took:?}: {stderr}"
    );
    assert!(rss < 200 * 1024, "{what}: peak RSS {rss} KiB");
    stderr
}

fn burst_command(out: Stdio, err: fs::File) -> std::process::Command {
    let mut cmd = dualstack(&["trace", "-f", "json", "--"]);
    cmd.args([env!("CARGO_BIN_EXE_forking_server"), "burst", "8", "30"])
        .stdout(out)
        .stderr(err);
    cmd
}

/// Output to a file: every call is delivered or in a `lost` record, exactly.
#[test]
fn a_burst_is_interrupted_within_a_second_and_every_call_is_accounted_for() {
    require_root();
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = TempDir::new("burst");
    let (out_path, err_path) = (dir.join("out.json"), dir.join("err"));
    let mut tracer = Guard::spawn(&mut burst_command(
        fs::File::create(&out_path).expect("out").into(),
        fs::File::create(&err_path).expect("err"),
    ));
    let stderr = interrupt_and_check(&mut tracer, &err_path, "output to a file");
    let calls: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("calls "))
        .unwrap_or_else(|| panic!("the burst did not count its calls: {stderr}"))
        .parse()
        .expect("a count");
    let records = json_lines(&fs::read_to_string(&out_path).expect("out"));
    let delivered = records.iter().filter(|r| r["type"] == "event").count() as u64;
    let lost: u64 = records
        .iter()
        .filter(|r| r["type"] == "lost")
        .map(|r| r["count"].as_u64().expect("count"))
        .sum();
    // What the ring still held when SIGINT came and could not be formatted in time is
    // counted on stderr, not written.
    let not_written: u64 = stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("dualstack: ")?
                .split_once(" events not written")
        })
        .map_or(0, |(n, _)| n.parse().expect("a count"));
    assert!(calls > 10_000, "a burst of only {calls} calls");
    assert_eq!(
        delivered + lost + not_written,
        calls,
        "delivered {delivered} + lost {lost} + not written {not_written} != {calls} calls made; \
         stderr: {stderr}"
    );
}

/// Output to a pipe read slowly: SIGINT still ends the trace within a second, memory stays
/// bounded, and what could not be written is counted on stderr.
#[test]
fn a_slow_reader_does_not_stall_sigint_or_grow_memory() {
    require_root();
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = TempDir::new("burst-slow");
    let err_path = dir.join("err");
    let mut tracer = Guard::spawn(&mut burst_command(
        Stdio::piped(),
        fs::File::create(&err_path).expect("err"),
    ));
    let mut pipe = tracer.child.stdout.take().expect("stdout");
    let reader = thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut total = 0usize;
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n;
            thread::sleep(Duration::from_millis(10));
        }
        total
    });
    let stderr = interrupt_and_check(&mut tracer, &err_path, "a slow reader");
    assert!(
        stderr.contains("events lost: the kernel ring buffer was full"),
        "drops told while they happen: {stderr}"
    );
    let _ = reader.join();
}
