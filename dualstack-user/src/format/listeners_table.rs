//! `dualstack listeners` as a table, aligned like `ss`: one row per socket, the verdict's
//! reason last (it is the one long column, so it is never padded).

use std::fmt::Write as _;

use crate::snapshot::{
    verify::{Outcome, Verification},
    Listener,
};

/// Column separator.
const GAP: &str = "  ";

fn v6only(l: &Listener) -> &'static str {
    match l.v6only {
        Some(true) => "1",
        Some(false) => "0",
        None => "-",
    }
}

/// `PID/COMM` of the lowest holder (the comm escaped as Rust's `{:?}` does), `+N` when N more processes hold it too.
fn holder(l: &Listener) -> String {
    match l.owners.as_slice() {
        [] => "-".to_owned(),
        [first, rest @ ..] => {
            // A process sets its own comm (prctl): control characters would forge rows.
            let comm: String = first.comm.escape_debug().collect();
            let mut text = format!("{}/{}", first.pid, comm);
            // Holders are sorted by pid: count other processes, not other descriptors.
            let mut pids: Vec<u32> = rest
                .iter()
                .map(|o| o.pid)
                .filter(|&p| p != first.pid)
                .collect();
            pids.dedup();
            if !pids.is_empty() {
                let _ = write!(text, " +{}", pids.len());
            }
            text
        }
    }
}

fn verify_cell(v: &Verification) -> &'static str {
    match v.result {
        Outcome::Ok => "ok",
        Outcome::Partial => "partial",
        Outcome::Mismatch => "MISMATCH",
        Outcome::NotVerified => "not-verified",
    }
}

/// Writes the header and one row per listener. `verifications` is index-aligned with
/// `listeners` when --verify ran.
pub fn write_table(
    out: &mut String,
    listeners: &[&Listener],
    verifications: Option<&[Verification]>,
) {
    let mut header = vec!["NETNS", "PROTO", "LOCAL", "V6ONLY", "ACCEPTS", "PID/COMM"];
    if verifications.is_some() {
        header.push("VERIFY");
    }
    header.push("REASON");
    let rows: Vec<Vec<String>> = listeners
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut row = vec![
                l.netns_label(),
                l.protocol.name().to_owned(),
                l.local.to_string(),
                v6only(l).to_owned(),
                l.verdict.label().to_owned(),
                holder(l),
            ];
            let mut reason = l.verdict.reason.clone();
            if let Some(verifications) = verifications {
                // Every row has the VERIFY column the header names, even past a short slice.
                let v = verifications.get(i);
                row.push(v.map_or("-", verify_cell).to_owned());
                if let Some(note) = v.and_then(|v| v.note.as_ref()) {
                    let _ = write!(reason, " [verify: {note}]");
                }
            }
            row.push(reason);
            row
        })
        .collect();
    let columns = header.len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        for (c, cell) in cells.enumerate() {
            if c + 1 == columns {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<width$}{GAP}", width = widths[c]);
            }
        }
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in &rows {
        line(&mut row.iter().map(String::as_str));
    }
}
