//! The user side alone, on one core: kernel records captured from a real run (a python3
//! socket loop traced by the real probes) replayed through decode -> record -> strace text,
//! and decode -> record -> JSON. Prints the records' mean size, then events per second (the
//! median of five rounds) and bytes per event of each output.
//!
//! Run as root: `cargo run --release -p dualstack-user --example pipeline_bench [EVENTS]`
//! (`cargo xtask bench` runs it).

use std::{
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{ensure, Context as _};
use dualstack::{
    clock::Clock,
    decode::decode,
    filter::Filter,
    format::strace::Leader,
    kernel::{
        loader::{LoadOptions, Probes},
        reader::EventReader,
    },
    pipeline::Pipeline,
};
use dualstack_common::{Syscall, TASK_EXIT, TASK_FORK};

/// Replays of each output; the median is reported.
const ROUNDS: usize = 5;

/// Socket lifecycles of the captured run: five traced calls each.
const LOOPS: u32 = 3000;
const LOOP: &str = "import socket
for _ in range(LOOPS):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(('::', 0))
    s.listen(16)
    s.close()
";

fn main() -> anyhow::Result<()> {
    let events: usize = match std::env::args().nth(1) {
        Some(n) => n.parse().context("EVENTS must be a number")?,
        None => 1_000_000,
    };
    pin_to_one_core();
    let records = capture()?;
    ensure!(!records.is_empty(), "no event was captured");
    print_record_sizes(&records);
    // Rounds of each output in turn, so that a slow moment of this shared machine falls on
    // both; the median round is the figure.
    let mut strace = Vec::new();
    let mut json = Vec::new();
    for _ in 0..ROUNDS {
        strace.push(replay(&records, events, Output::Strace));
        json.push(replay(&records, events, Output::Json));
    }
    for (name, mut rounds) in [("strace text", strace), ("JSON", json)] {
        rounds.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (rate, per_event) = rounds[rounds.len() / 2];
        println!("pipeline {name:<11}: {rate:>10.0} events/s, {per_event:>5.0} bytes/event");
        let each: Vec<String> = rounds.iter().map(|r| format!("{:.0}", r.0)).collect();
        println!("  {ROUNDS} rounds, events/s: {}", each.join(", "));
    }
    Ok(())
}

/// The records' mean size, over all and per kind: records are sized to what each call has.
fn print_record_sizes(records: &[Vec<u8>]) {
    let bytes: usize = records.iter().map(Vec::len).sum();
    println!(
        "kernel records: {} captured from a python3 socket loop, {:.1} bytes each on average",
        records.len(),
        bytes as f64 / records.len() as f64
    );
    // (count, bytes) per kind name, in the order first seen.
    let mut kinds: Vec<(&str, usize, usize)> = Vec::new();
    for raw in records {
        let name = kind_name(raw);
        match kinds.iter_mut().find(|k| k.0 == name) {
            Some(kind) => {
                kind.1 += 1;
                kind.2 += raw.len();
            }
            None => kinds.push((name, 1, raw.len())),
        }
    }
    let by_kind: Vec<String> = kinds
        .iter()
        .map(|(name, count, bytes)| format!("{name} {count}×{:.0}", *bytes as f64 / *count as f64))
        .collect();
    println!("  by kind (count×mean bytes): {}", by_kind.join(", "));
}

/// The kind a record's first word names (kernel ABI: dualstack_common's `EventHeader::kind` and
/// `TaskRecord::kind` both open the record).
fn kind_name(raw: &[u8]) -> &'static str {
    let Some(word) = raw.first_chunk::<4>() else {
        return "short";
    };
    match u32::from_ne_bytes(*word) {
        TASK_FORK => "task fork",
        TASK_EXIT => "task exit",
        kind => Syscall::try_from(kind).map_or("unknown", Syscall::name),
    }
}

#[derive(Clone, Copy)]
enum Output {
    Strace,
    Json,
}

/// Replays `records` round after round until `events` went through; events/s, bytes/event.
fn replay(records: &[Vec<u8>], events: usize, output: Output) -> (f64, f64) {
    let mut pipeline = Pipeline::offline(Clock::now(), Some(false));
    let keep = Filter::default();
    let mut text = String::with_capacity(256);
    let mut json = Vec::with_capacity(1 << 16);
    let mut written = 0usize;
    let start = Instant::now();
    for raw in records.iter().cycle().take(events) {
        let Ok(event) = decode(raw) else { continue };
        let Some(record) = pipeline.record_if(event, &keep) else {
            continue;
        };
        match output {
            Output::Strace => {
                text.clear();
                record.write_strace(&mut text, Leader::Bracket, None);
                written += text.len();
            }
            Output::Json => {
                json.clear();
                record.write_json(&mut json);
                written += json.len();
            }
        }
    }
    let took = start.elapsed().as_secs_f64();
    (events as f64 / took, written as f64 / events as f64)
}

/// The raw records of the python3 loop, read from the real probes' ring.
fn capture() -> anyhow::Result<Vec<Vec<u8>>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut options = LoadOptions::default();
        Filter {
            comm: Some("python3".into()),
            ..Filter::default()
        }
        .apply_to(&mut options.config);
        let mut probes = Probes::load(&options)?;
        let mut reader = EventReader::new(probes.take_events()?)?;
        let mut child = Command::new("python3")
            .args(["-c", &LOOP.replace("LOOPS", &LOOPS.to_string())])
            .spawn()
            .context("cannot run python3")?;
        let mut records = Vec::new();
        loop {
            let exited = child.try_wait()?.is_some();
            reader.drain(|r| records.push(r.to_vec()));
            if exited {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        reader.drain(|r| records.push(r.to_vec()));
        Ok(records)
    })
}

/// One core, as the targets say: the figures are per core.
fn pin_to_one_core() {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET writes within it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &raw const set);
    }
}
