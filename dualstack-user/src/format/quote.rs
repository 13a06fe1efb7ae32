//! strace's string quoting (src/util.c `string_quote`, default style).

use std::fmt::Write as _;

/// strace's default `-s`: longer strings are cut and followed by `...`.
pub const MAX_STRLEN: usize = 32;

/// Quotes `bytes` the way strace does: printable ASCII as is (`"` and `\` escaped), C escapes
/// for \t \n \v \f \r, octal for the rest, padded to 3 digits only before an octal digit.
pub fn quote(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            0x0b => out.push_str("\\v"),
            0x0c => out.push_str("\\f"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let next_is_octal = bytes.get(i + 1).is_some_and(|n| (b'0'..=b'7').contains(n));
                if next_is_octal {
                    let _ = write!(out, "\\{b:03o}");
                } else {
                    let _ = write!(out, "\\{b:o}");
                }
            }
        }
    }
    out.push('"');
}

/// Quotes at most [`MAX_STRLEN`] bytes, adding `...` when `bytes` is longer (strace's printstrn).
pub fn quote_limited(out: &mut String, bytes: &[u8]) {
    quote(out, &bytes[..bytes.len().min(MAX_STRLEN)]);
    if bytes.len() > MAX_STRLEN {
        out.push_str("...");
    }
}

/// `text` with control characters escaped (a comm may hold any byte, a newline too): what
/// is printed as one line stays one line.
pub fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(bytes: &[u8]) -> String {
        let mut s = String::new();
        quote(&mut s, bytes);
        s
    }

    #[test]
    fn octal_padding_only_before_octal_digits() {
        // options.strace: "\0017\18\"q\\\t\177\377"
        assert_eq!(
            q(b"\x017\x018\"q\\\t\x7f\xff"),
            r#""\0017\18\"q\\\t\177\377""#
        );
    }

    #[test]
    fn c_escapes_and_octal() {
        assert_eq!(q(b"\x07\x08\t\n\x0b\x0c\r\x0e"), r#""\7\10\t\n\v\f\r\16""#);
        assert_eq!(q(b"dual\0stack\x01\n"), r#""dual\0stack\1\n""#);
    }

    #[test]
    fn limit_adds_ellipsis() {
        let mut s = String::new();
        quote_limited(&mut s, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`a");
        assert_eq!(s, r#""ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"..."#);
    }
}
