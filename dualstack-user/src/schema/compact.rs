//! The schema's lines as compact JSON, byte for byte as serde_json writes them, at two thirds
//! of the cost. A daemon writes one event line per traced call: serde_json's general path
//! (every key escaped byte by byte, a writer call per quote, colon and comma) took 600-740 ns
//! for an event's line on this project's bench machine, sonic-rs about as long; this writer
//! takes 410-480. The lines are flat structs of strings, integers, booleans and options, so
//! it does those directly: a struct's keys are the fields' names, which need no escaping, and
//! a string is copied whole unless it has a byte to escape.
//!
//! Anything else (floats, maps, enums with data) is not written here: [`write`] then gives
//! the value to serde_json, so every value is written, and identically.

use serde::{
    ser::{self, Impossible, SerializeSeq, SerializeStruct, SerializeTuple},
    Serialize,
};

/// Appends `value` as compact JSON, exactly as `serde_json::to_writer` would.
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    write_tagged(out, value, b"");
}

/// Appends the struct `value` with `tag` (`"type":"event"`) as its first field, as serde writes
/// a variant of an internally tagged enum.
pub fn write_tagged<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T, tag: &'static [u8]) {
    let start = out.len();
    // The writer owns the Vec while it writes: one indirection less on each of the hundreds
    // of appends of an event.
    let mut writer = Writer {
        out: std::mem::take(out),
        tag,
    };
    let written = value.serialize(&mut writer);
    *out = writer.out;
    if written.is_err() {
        out.truncate(start);
        // Into a Vec, serde_json fails only where serde_json::to_vec would: not on our lines.
        let _ = serde_json::to_writer(&mut *out, value);
        if !tag.is_empty() && out.get(start) == Some(&b'{') {
            let comma = out.get(start + 1) != Some(&b'}');
            let field = tag.iter().copied().chain(comma.then_some(b','));
            out.splice(start + 1..=start, field);
        }
    }
}

struct Writer {
    out: Vec<u8>,
    /// Written once, as the first field of the first struct.
    tag: &'static [u8],
}

/// A value this writer leaves to serde_json.
#[derive(Debug)]
struct Unsupported;

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not written by the compact writer")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: std::fmt::Display>(_: T) -> Unsupported {
        Unsupported
    }
}

type Done = Result<(), Unsupported>;

impl Writer {
    fn integer(&mut self, value: impl itoa::Integer) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    /// Opens a struct or a sequence; true when a first member (the tag) is already written.
    fn open(&mut self, bracket: u8) -> bool {
        self.out.push(bracket);
        if bracket != b'{' || self.tag.is_empty() {
            return false;
        }
        self.out.extend_from_slice(self.tag);
        self.tag = b"";
        true
    }
}

/// A JSON string, escaped as serde_json escapes: `"` and `\`, the short forms of backspace,
/// form feed, newline, carriage return and tab, `\u00XX` for the other control characters.
fn write_str(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut unwritten = 0;
    while let Some(at) = first_to_escape(&bytes[unwritten..]).map(|at| unwritten + at) {
        out.extend_from_slice(&bytes[unwritten..at]);
        write_escape(out, bytes[at]);
        unwritten = at + 1;
    }
    out.extend_from_slice(&bytes[unwritten..]);
    out.push(b'"');
}

/// Appends `,"key":` (without the comma for a struct's first field) straight into the Vec's
/// room. An event has some fifty keys: appended in four pieces, they took half of its JSON;
/// put together on the stack and appended at once, a third (the stack's small stores stall
/// the copy's wide loads).
fn append_key(out: &mut Vec<u8>, key: &[u8], comma: bool) {
    let length = usize::from(comma) + key.len() + 3;
    out.reserve(length);
    let room = &mut out.spare_capacity_mut()[..length];
    let (open, rest) = room.split_at_mut(usize::from(comma) + 1);
    open[0].write(if comma { b',' } else { b'"' });
    open[open.len() - 1].write(b'"');
    let (name, close) = rest.split_at_mut(key.len());
    for (to, &from) in name.iter_mut().zip(key) {
        to.write(from);
    }
    close[0].write(b'"');
    close[1].write(b':');
    let written = out.len() + length;
    // SAFETY: the `length` bytes after `len` were reserved, and each is written above.
    unsafe { out.set_len(written) };
}

fn must_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// The place of the first byte to escape. Most strings have none: they are tested sixteen
/// bytes at a time without a branch, which the compiler makes vector compares (a byte at a
/// time, the strings took a third of an event's JSON).
fn first_to_escape(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(16);
    let mut at = 0;
    for chunk in &mut chunks {
        if chunk
            .iter()
            .fold(false, |any, &byte| any | must_escape(byte))
        {
            break;
        }
        at += 16;
    }
    let found = bytes[at..].iter().position(|&byte| must_escape(byte));
    found.map(|offset| at + offset)
}

fn write_escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short: &[u8] = match byte {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        0x08 => b"\\b",
        0x0c => b"\\f",
        b'\n' => b"\\n",
        b'\r' => b"\\r",
        b'\t' => b"\\t",
        _ => {
            let hex = [HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]];
            out.extend_from_slice(b"\\u00");
            out.extend_from_slice(&hex);
            return;
        }
    };
    out.extend_from_slice(short);
}

/// The fields of a struct or the items of a sequence being written.
struct Compound<'w> {
    writer: &'w mut Writer,
    first: bool,
}

impl Compound<'_> {
    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.writer.out.push(b',');
        }
    }
}

impl SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Done {
        // A field's name is a Rust identifier or a serde rename of ours: nothing to escape.
        debug_assert!(!key.bytes().any(must_escape));
        let comma = !self.first;
        self.first = false;
        append_key(&mut self.writer.out, key.as_bytes(), comma);
        value.serialize(&mut *self.writer)
    }

    fn end(self) -> Done {
        self.writer.out.push(b'}');
        Ok(())
    }
}

impl SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        self.comma();
        value.serialize(&mut *self.writer)
    }

    fn end(self) -> Done {
        self.writer.out.push(b']');
        Ok(())
    }
}

impl SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Done {
        SerializeSeq::end(self)
    }
}

impl<'w> ser::Serializer for &'w mut Writer {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'w>;
    type SerializeTuple = Compound<'w>;
    type SerializeTupleStruct = Impossible<(), Unsupported>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Impossible<(), Unsupported>;
    type SerializeStruct = Compound<'w>;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    fn serialize_bool(self, value: bool) -> Done {
        let text: &[u8] = if value { b"true" } else { b"false" };
        self.out.extend_from_slice(text);
        Ok(())
    }

    fn serialize_i8(self, value: i8) -> Done {
        self.integer(value);
        Ok(())
    }

    fn serialize_i16(self, value: i16) -> Done {
        self.integer(value);
        Ok(())
    }

    fn serialize_i32(self, value: i32) -> Done {
        self.integer(value);
        Ok(())
    }

    fn serialize_i64(self, value: i64) -> Done {
        self.integer(value);
        Ok(())
    }

    fn serialize_u8(self, value: u8) -> Done {
        self.integer(value);
        Ok(())
    }

    fn serialize_u16(self, value: u16) -> Done {
        self.integer(value);
        Ok(())
    }

    fn serialize_u32(self, value: u32) -> Done {
        self.integer(value);
        Ok(())
    }

    fn serialize_u64(self, value: u64) -> Done {
        self.integer(value);
        Ok(())
    }

    fn serialize_f32(self, _: f32) -> Done {
        Err(Unsupported)
    }

    fn serialize_f64(self, _: f64) -> Done {
        Err(Unsupported)
    }

    fn serialize_char(self, value: char) -> Done {
        write_str(&mut self.out, value.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_str(self, value: &str) -> Done {
        write_str(&mut self.out, value);
        Ok(())
    }

    fn serialize_bytes(self, _: &[u8]) -> Done {
        Err(Unsupported)
    }

    fn serialize_none(self) -> Done {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Done {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Done {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Done {
        self.serialize_unit()
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Done {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Done {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Done {
        Err(Unsupported)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'w>, Unsupported> {
        let tagged = self.open(b'[');
        Ok(Compound {
            writer: self,
            first: !tagged,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'w>, Unsupported> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'w>, Unsupported> {
        let tagged = self.open(b'{');
        Ok(Compound {
            writer: self,
            first: !tagged,
        })
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(Unsupported)
    }
}

#[cfg(test)]
#[path = "compact_tests.rs"]
mod tests;
