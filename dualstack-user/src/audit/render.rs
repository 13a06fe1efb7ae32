//! An audit as a table for a person or as JSON Lines ([`AuditLine`] rows) for a program.

use std::fmt::Write as _;

use super::{HostStatus, Report};
use crate::{format::quote::printable, schema::AuditLine};

/// Column separator.
const GAP: &str = "  ";

const HEADER: [&str; 10] = [
    "HOST",
    "NETNS",
    "PROTO",
    "FAMILY",
    "ADDRESS",
    "PORT",
    "V6ONLY",
    "ACCEPTS",
    "OWNERS",
    "VIOLATIONS",
];

/// Writes one JSON line per row.
pub fn write_json(out: &mut Vec<u8>, report: &Report<'_>) {
    for row in &report.rows {
        row.write(out);
    }
}

/// Writes the table: a header, a line per listener (each further violation of it on a line
/// of its own under the first), the rows of a stale snapshot's host marked `(stale)`, then a
/// line per stale snapshot saying how old it is.
pub fn write_table(out: &mut String, report: &Report<'_>) {
    // Text from other hosts (comm, netns names, host ids) may hold control characters: each
    // cell stays on its line.
    let lines: Vec<[String; 10]> = report
        .rows
        .iter()
        .flat_map(|row| {
            let mut sentences = row.violations.iter().map(|v| printable(&v.sentence));
            let first = cells(row, sentences.next().unwrap_or_else(|| "-".to_owned()));
            std::iter::once(first).chain(sentences.map(|sentence| {
                let mut more: [String; 10] = Default::default();
                more[9] = sentence;
                more
            }))
        })
        .collect();
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|c| {
            lines
                .iter()
                .map(|cells| cells[c].chars().count())
                .chain([HEADER[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        for (c, cell) in cells.enumerate() {
            if c + 1 == HEADER.len() {
                // The long last column is never padded.
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<width$}{GAP}", width = widths[c]);
            }
        }
        out.push('\n');
    };
    line(&mut HEADER.iter().copied());
    for cells in &lines {
        line(&mut cells.iter().map(String::as_str));
    }
    for host in report.hosts.iter().filter(|h| h.stale) {
        out.push_str(&stale_note(host));
        out.push('\n');
    }
}

fn cells(row: &AuditLine<'_>, violation: String) -> [String; 10] {
    let host = if row.stale {
        format!("{} (stale)", printable(&row.host))
    } else {
        printable(&row.host)
    };
    let netns = match (&row.netns_name, row.netns_pid) {
        (Some(name), _) => printable(name),
        (None, Some(pid)) => format!("pid {pid}"),
        (None, None) => row.netns.to_string(),
    };
    let v6only = match row.v6only {
        Some(true) => "1",
        Some(false) => "0",
        None => "-",
    };
    let accepts = match (row.accepts.ipv4, row.accepts.ipv6) {
        (true, true) => "IPv4+IPv6",
        (true, false) => "IPv4",
        (false, true) => "IPv6",
        (false, false) => "none",
    };
    [
        host,
        netns,
        printable(&row.protocol),
        printable(&row.family),
        printable(&row.address),
        row.port.to_string(),
        v6only.to_owned(),
        accepts.to_owned(),
        owners(row),
        violation,
    ]
}

/// `PID/COMM` of the lowest holder, `+N` when N more processes hold the socket too (as
/// `listeners` writes it).
fn owners(row: &AuditLine<'_>) -> String {
    match row.owners.as_slice() {
        [] => "-".to_owned(),
        [first] => format!("{}/{}", first.pid, printable(&first.comm)),
        [first, rest @ ..] => format!("{}/{} +{}", first.pid, printable(&first.comm), rest.len()),
    }
}

/// `stale: web-3: snapshot taken 2026-11-29T19:00:00Z is 3600 s old (stale after 90 s)`.
fn stale_note(host: &HostStatus) -> String {
    let mut note = format!("stale: {}", printable(&host.host));
    if let Some(netns) = &host.netns {
        let _ = write!(note, " (netns {})", printable(netns));
    }
    let taken = printable(&host.taken);
    match host.age {
        Some(age) => {
            let _ = write!(
                note,
                ": snapshot taken {taken} is {} s old (stale after {} s)",
                age.as_secs(),
                host.stale_after.as_secs()
            );
        }
        None => {
            let _ = write!(note, ": snapshot time \"{taken}\" is no RFC 3339 time");
        }
    }
    note
}
