//! CSV rows of events: a header, then one row per event, quoted as RFC 4180 says (a field with
//! a comma, a double quote or a line break is enclosed in double quotes, its quotes doubled).
//! Rows end in LF, as every other line dualstack prints. Unknown values are empty fields.

use std::fmt::Write as _;

use super::record::EventFields;

pub const HEADER: &str =
    "time,pid,tid,comm,syscall,fd,ret,errno,family,address,port,v6only,v6only_source,accepts,reason\n";

/// Appends the row of `e`, with its newline.
pub fn write_row(out: &mut String, e: &EventFields) {
    let opt = |v: Option<String>| v.unwrap_or_default();
    let fields = [
        e.time.clone(),
        e.pid.to_string(),
        e.tid.to_string(),
        e.comm.clone(),
        e.syscall.name().to_owned(),
        opt(e.fd.map(|v| v.to_string())),
        e.ret.to_string(),
        opt(e.errno.clone()),
        opt(e.family.clone()),
        opt(e.address.clone()),
        opt(e.port.map(|v| v.to_string())),
        opt(e.v6only.map(|v| v.to_string())),
        opt(e.v6only_source.clone()),
        opt(e.accepts.clone()),
        opt(e.reason.clone()),
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
