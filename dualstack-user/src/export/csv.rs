//! CSV rows of events: a header, then one row per event, quoted as RFC 4180 says (a field with
//! a comma, a double quote or a line break is enclosed in double quotes, its quotes doubled).
//! Rows end in LF, as every other line dualstack prints. Unknown values are empty fields.

use std::fmt::Write as _;

use crate::schema::EventLine;

pub const HEADER: &str =
    "time,pid,tid,comm,syscall,fd,ret,errno,family,address,port,v6only,v6only_source,accepts,reason\n";

/// Appends the row of `e`, with its newline.
pub fn write_row(out: &mut String, e: &EventLine<'_>) {
    fn opt<T: ToString>(v: Option<T>) -> String {
        v.map(|v| v.to_string()).unwrap_or_default()
    }
    let verdict = e.verdict.as_ref();
    let fields = [
        e.time.to_string(),
        e.pid.to_string(),
        e.tid.to_string(),
        e.comm.to_string(),
        e.syscall.name().to_owned(),
        opt(e.fd),
        e.ret.to_string(),
        opt(e.errno.as_deref()),
        opt(e.family.as_deref()),
        opt(e.address.as_deref()),
        opt(e.port),
        opt(e.v6only),
        opt(e.v6only_source.as_deref()),
        opt(verdict.map(|v| &*v.accepts)),
        opt(verdict.map(|v| &*v.reason)),
    ];
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, field);
    }
    out.push('\n');
}

/// One field, quoted when it must be.
pub fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        let _ = write!(out, "\"{}\"", field.replace('"', "\"\""));
    } else {
        out.push_str(field);
    }
}
