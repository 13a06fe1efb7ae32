//! `stream -f table`: one event a row, columns lined up under a header.

use std::fmt::Write as _;

use crate::{format::quote::printable, schema::EventLine};

const COLUMNS: [(&str, usize); 11] = [
    ("TIME", 15),
    ("PID", 7),
    ("COMM", 15),
    ("SYSCALL", 10),
    ("FD", 4),
    ("RET", 13),
    ("FAMILY", 10),
    ("ADDRESS", 25),
    ("PORT", 5),
    ("V6ONLY", 6),
    ("ACCEPTS", 0),
];

pub fn header() -> String {
    join_columns(COLUMNS.iter().map(|(name, _)| (*name).to_owned()))
}

/// One event as a row (UTC time of day); unknown values are a dash.
pub fn row(e: &EventLine<'_>) -> String {
    fn or_dash<T: ToString>(v: Option<T>) -> String {
        v.map_or_else(|| "-".to_owned(), |v| printable(&v.to_string()))
    }
    let time = e.time.split_once('T').map_or_else(
        || "-".to_owned(),
        |(_, t)| t.trim_end_matches('Z').to_owned(),
    );
    let ret = match &e.errno {
        Some(errno) => errno.to_string(),
        None => e.ret.to_string(),
    };
    let v6only = match e.v6only {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    };
    join_columns([
        time,
        e.pid.to_string(),
        printable(&e.comm),
        e.syscall.name().to_owned(),
        or_dash(e.fd),
        ret,
        or_dash(e.family.as_deref()),
        or_dash(e.address.as_deref()),
        or_dash(e.port),
        v6only.to_owned(),
        or_dash(e.verdict.as_ref().map(|v| &*v.accepts)),
    ])
}

fn join_columns(values: impl IntoIterator<Item = String>) -> String {
    let mut line = String::new();
    for ((_, width), value) in COLUMNS.iter().zip(values) {
        if !line.is_empty() {
            line.push(' ');
        }
        let _ = write!(line, "{value:<width$}");
    }
    line.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Line;

    fn event(text: &str) -> EventLine<'static> {
        match Line::parse(text.as_bytes()) {
            Ok(Line::Event(e)) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rows_line_up_with_the_header() {
        let e = event(
            r#"{"type":"event","time":"2026-11-28T20:01:02.123456Z","pid":20871,"tid":20871,
                "comm":"python3","syscall":"listen","fd":3,"ret":0,"errno":null,
                "family":"AF_INET6","address":"::","port":1521,"v6only":false,
                "verdict":{"ipv4":true,"ipv6":true,"accepts":"IPv4+IPv6","certain":true,"reason":"r"},
                "strace":"listen(3, 128) = 0"}"#,
        );
        let row = row(&e);
        let header = header();
        assert!(row.starts_with("20:01:02.123456 20871   python3"), "{row}");
        assert!(row.ends_with(" no     IPv4+IPv6"), "{row}");
        assert_eq!(row.find("listen"), header.find("SYSCALL"));
        assert_eq!(row.find("AF_INET6"), header.find("FAMILY"));
        assert_eq!(row.find("1521"), header.find("PORT"));
    }

    #[test]
    fn failed_calls_show_the_errno_and_unknowns_a_dash() {
        let e = event(
            r#"{"type":"event","time":"x","pid":1,"tid":1,"comm":"a","syscall":"socket","fd":null,
                "ret":-1,"errno":"EACCES","family":null,"address":null,"port":null,"v6only":null,
                "verdict":null,"strace":"socket(...) = -1"}"#,
        );
        let cells: Vec<String> = row(&e).split_whitespace().map(str::to_owned).collect();
        assert_eq!(
            cells,
            ["-", "1", "a", "socket", "-", "EACCES", "-", "-", "-", "-", "-"]
        );
    }
}
