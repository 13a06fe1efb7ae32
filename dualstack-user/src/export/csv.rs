//! CSV rows of events: a header, then one row per event, quoted as RFC 4180 says (a field with
//! a comma, a double quote or a line break is enclosed in double quotes, its quotes doubled).
//! Rows end in LF, as every other line dualstack prints. Unknown values are empty fields.

use csv::{QuoteStyle, Terminator, WriterBuilder};

use crate::schema::EventLine;

/// The columns, in the order of every row.
pub const COLUMNS: [&str; 15] = [
    "time",
    "pid",
    "tid",
    "comm",
    "syscall",
    "fd",
    "ret",
    "errno",
    "family",
    "address",
    "port",
    "v6only",
    "v6only_source",
    "accepts",
    "reason",
];

/// Appends the header line, with its newline.
pub fn write_header(out: &mut Vec<u8>) -> csv::Result<()> {
    write_record(out, COLUMNS)
}

/// Appends the row of `e`, with its newline.
pub fn write_row(out: &mut Vec<u8>, e: &EventLine<'_>) -> csv::Result<()> {
    fn opt<T: ToString>(v: Option<T>) -> String {
        v.map(|v| v.to_string()).unwrap_or_default()
    }
    let verdict = e.verdict.as_ref();
    write_record(
        out,
        [
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
        ],
    )
}

/// One record, its fields quoted only when they must be. The writer's own buffer is sized
/// for a row: a record longer than that is passed on in pieces, not cut.
fn write_record<T: AsRef<[u8]>>(out: &mut Vec<u8>, record: [T; 15]) -> csv::Result<()> {
    let mut writer = WriterBuilder::new()
        .quote_style(QuoteStyle::Necessary)
        .terminator(Terminator::Any(b'\n'))
        .buffer_capacity(512)
        .from_writer(out);
    writer.write_record(record)?;
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(field: &str) -> String {
        let mut row = Vec::new();
        let mut record: [&str; 15] = [""; 15];
        record[0] = field;
        write_record(&mut row, record).expect("a row is written");
        let row = String::from_utf8(row).expect("the row is UTF-8");
        row.strip_suffix(",,,,,,,,,,,,,,\n")
            .expect("the row ends in its empty fields and LF")
            .to_owned()
    }

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        for (field, text) in [
            ("", ""),
            ("sshd", "sshd"),
            (" lead and trail ", " lead and trail "),
            ("tab\there", "tab\there"),
            ("#hash", "#hash"),
            ("naïve", "naïve"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("\"", "\"\"\"\""),
            ("line\nbreak", "\"line\nbreak\""),
            ("carriage\rreturn", "\"carriage\rreturn\""),
        ] {
            assert_eq!(quoted(field), text, "{field:?}");
        }
    }

    #[test]
    fn the_header_names_every_column() {
        let mut header = Vec::new();
        write_header(&mut header).expect("the header is written");
        assert_eq!(
            header,
            b"time,pid,tid,comm,syscall,fd,ret,errno,family,address,port,v6only,v6only_source,accepts,reason\n"
        );
    }

    #[test]
    fn a_field_longer_than_the_buffer_is_written_whole() {
        let long = "x,".repeat(1000);
        assert_eq!(quoted(&long), format!("\"{long}\""));
    }
}
