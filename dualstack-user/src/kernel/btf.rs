//! Kernel struct field offsets, read from the running kernel's BTF.
//!
//! The eBPF programs follow pointers from the current task to a socket's `struct sock` with
//! bpf_probe_read_kernel, which needs the byte offset of every field on the way. Those offsets
//! change with the kernel version and its config, so they are looked up at load time in
//! /sys/kernel/btf/vmlinux and handed to the programs as [`KernelOffsets`].
//!
//! Why a parser of our own: aya-obj (pinned in the workspace, version 0.3.0) parses BTF, but
//! keeps private what this needs (a type by id, struct and union members with their bit
//! offsets and bitfield sizes, a type's size, where a typedef points): only `parse`,
//! `id_by_type_name_kind` and its builders are public. Its parser also accepts a zero magic
//! and panics on a bad name offset. The parser below reads only what that needs: the header, the type section (to find each
//! type's extent and the members of structs and unions) and the string section. It trusts
//! nothing in the blob: every read is bounds-checked and every walk is bounded, so any input
//! gives a value or an error, never a panic or a hang.

use std::{
    collections::HashMap,
    io,
    path::{Path, PathBuf},
};

use dualstack_common::KernelOffsets;

/// Where the kernel exposes its own BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Failure to get the offsets: the file could not be read, or its BTF did not give them.
#[derive(Debug, thiserror::Error)]
pub enum BtfError {
    #[error("cannot read BTF at {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("BTF at {origin}: {problem}")]
    Invalid { origin: String, problem: Problem },
}

/// What is wrong with a BTF blob, or what it lacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("{0} bytes is too short for a BTF header")]
    ShortHeader(usize),
    #[error("bad magic {0:#06x}: expected 0xeb9f (little-endian BTF)")]
    BadMagic(u16),
    #[error("unsupported BTF version {0}")]
    Version(u8),
    #[error("header length {0} is out of range")]
    HeaderLen(u32),
    #[error("{section} section (offset {off}, length {len}) runs past the end of the blob")]
    Section {
        section: &'static str,
        off: u32,
        len: u32,
    },
    #[error("type {id} is truncated at byte {at} of the type section")]
    TruncatedType { id: usize, at: usize },
    #[error("type {id} has unknown kind {kind}")]
    UnknownKind { id: usize, kind: u32 },
    #[error("string offset {0} is outside the string section")]
    StringOffset(u32),
    #[error("string at offset {0} is not NUL-terminated")]
    Unterminated(u32),
    #[error("type id {0} does not exist")]
    NoType(u32),
    #[error("type {0} starts a chain of typedefs and qualifiers that loops or is too long")]
    ModifierLoop(u32),
    #[error("{0} nests anonymous members too deep to search")]
    TooNested(String),
    #[error("no struct {0}")]
    NoStruct(String),
    #[error("{owner} has no member {member} (looking up {path})")]
    NoMember {
        owner: String,
        member: String,
        path: String,
    },
    #[error("{0} is not a struct or union, so it has no members")]
    NotComposite(String),
    #[error("{path} is a bitfield of {bits} bits, not a whole field")]
    Bitfield { path: String, bits: u32 },
    #[error("{path} is at bit {bit}, not on a byte boundary")]
    Unaligned { path: String, bit: u64 },
    #[error("{path} is {bits} bits wide, expected a 1-bit flag")]
    NotFlag { path: String, bits: u32 },
    #[error("{path} at byte {byte} lies outside its struct of {size} bytes")]
    OutOfStruct { path: String, byte: u64, size: u32 },
}

/// Reads the BTF file at `path` (normally [`VMLINUX_BTF`]) and resolves the offsets.
pub fn kernel_offsets(path: &Path) -> Result<KernelOffsets, BtfError> {
    let blob = std::fs::read(path).map_err(|source| BtfError::Read {
        path: path.to_owned(),
        source,
    })?;
    resolve(&blob).map_err(|problem| BtfError::Invalid {
        origin: path.display().to_string(),
        problem,
    })
}

/// Resolves the offsets from a BTF blob already in memory.
pub fn offsets_from_bytes(blob: &[u8]) -> Result<KernelOffsets, BtfError> {
    resolve(blob).map_err(|problem| BtfError::Invalid {
        origin: "(in-memory blob)".to_owned(),
        problem,
    })
}

fn resolve(blob: &[u8]) -> Result<KernelOffsets, Problem> {
    let btf = Btf::parse(blob)?;
    // `struct sock` starts with `__sk_common`; going through it keeps the offsets right even
    // if that ever stops being the first member.
    let skc = |m: &str| btf.byte(&format!("sock.__sk_common.{m}"));
    let (ipv6only_byte, ipv6only_bit) = btf.flag("sock.__sk_common.skc_ipv6only")?;
    // kernel ABI: 6.13 replaced `atomic_long_t f_count` (1 = one reference) by
    // `file_ref_t f_ref`, which counts from 0 (include/linux/file_ref.h FILE_REF_ONEREF).
    let (file_refs, file_one_ref) = match btf.byte("file.f_ref.refcnt") {
        Ok(byte) => (byte, 0),
        Err(_) => (btf.byte("file.f_count")?, 1),
    };
    Ok(KernelOffsets {
        valid: 1,
        task_files: btf.byte("task_struct.files")?,
        task_comm: btf.byte("task_struct.comm")?,
        files_fdt: btf.byte("files_struct.fdt")?,
        fdt_max_fds: btf.byte("fdtable.max_fds")?,
        fdt_fd: btf.byte("fdtable.fd")?,
        file_private_data: btf.byte("file.private_data")?,
        socket_sk: btf.byte("socket.sk")?,
        socket_file: btf.byte("socket.file")?,
        socket_type: btf.byte("socket.type")?,
        socket_alloc_socket: btf.byte("socket_alloc.socket")?,
        socket_alloc_inode: btf.byte("socket_alloc.vfs_inode")?,
        inode_ino: btf.byte("inode.i_ino")?,
        skc_family: skc("skc_family")?,
        skc_state: skc("skc_state")?,
        skc_num: skc("skc_num")?,
        skc_rcv_saddr: skc("skc_rcv_saddr")?,
        skc_v6_rcv_saddr: skc("skc_v6_rcv_saddr")?,
        skc_net: skc("skc_net")?,
        skc_ipv6only_byte: ipv6only_byte,
        skc_ipv6only_bit: ipv6only_bit,
        net_ns_inum: btf.byte("net.ns.inum")?,
        net_bindv6only: btf.byte("net.ipv6.sysctl.bindv6only")?,
        file_refs,
        file_one_ref,
    })
}

// kernel ABI: BTF_MAGIC and BTF_VERSION in include/uapi/linux/btf.h.
const MAGIC: u16 = 0xeb9f;
const VERSION: u8 = 1;
// kernel ABI: sizeof(struct btf_header), include/uapi/linux/btf.h (a newer, longer header
// says so in hdr_len).
const HEADER_LEN: usize = 24;
// kernel ABI: sizeof(struct btf_type), include/uapi/linux/btf.h.
const TYPE_LEN: usize = 12;

// kernel ABI: BTF_KIND_* in include/uapi/linux/btf.h.
const INT: u32 = 1;
const PTR: u32 = 2;
const ARRAY: u32 = 3;
const STRUCT: u32 = 4;
const UNION: u32 = 5;
const ENUM: u32 = 6;
const FWD: u32 = 7;
const TYPEDEF: u32 = 8;
const VOLATILE: u32 = 9;
const CONST: u32 = 10;
const RESTRICT: u32 = 11;
const FUNC: u32 = 12;
const FUNC_PROTO: u32 = 13;
const VAR: u32 = 14;
const DATASEC: u32 = 15;
const FLOAT: u32 = 16;
const DECL_TAG: u32 = 17;
const TYPE_TAG: u32 = 18;
const ENUM64: u32 = 19;

/// Longest chain of typedef/const/volatile/restrict/type_tag followed before giving up.
const MAX_MODIFIERS: usize = 32;
/// Deepest nesting of anonymous structs and unions searched for a member.
const MAX_ANON_DEPTH: u32 = 16;
/// Members visited in one lookup, so that crafted anonymous members cannot blow up the search.
const MAX_VISITS: u32 = 1 << 20;

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    bytes.get(at..end)?.try_into().ok().map(u32::from_le_bytes)
}

#[derive(Clone, Copy)]
struct Type<'a> {
    name_off: u32,
    kind: u32,
    kind_flag: bool,
    /// `size` for INT, STRUCT, UNION...; `type` for PTR, TYPEDEF, modifiers...
    size_or_id: u32,
    /// The kind-specific data that follows the common part.
    extra: &'a [u8],
}

/// A member found in a struct, with its offset from the start of the struct searched.
struct Member {
    type_id: u32,
    bit: u64,
    /// Width of a bitfield; 0 for a whole field.
    bits: u32,
}

/// Where a member path ends: bit offset from the start of the outermost struct.
struct Field {
    bit: u64,
    bits: u32,
}

struct Btf<'a> {
    strings: &'a [u8],
    /// Type id `n` is `types[n - 1]`: id 0 is `void` and is not stored.
    types: Vec<Type<'a>>,
    /// Ids of the STRUCT types of each name, in id order.
    structs: HashMap<&'a [u8], Vec<u32>>,
}

impl<'a> Btf<'a> {
    fn parse(blob: &'a [u8]) -> Result<Self, Problem> {
        let head: &[u8; HEADER_LEN] = blob
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(Problem::ShortHeader(blob.len()))?;
        // Always Some: every field lies inside the fixed-size header.
        let field = |at| u32_at(head, at).unwrap_or(0);
        let magic = u16::from_le_bytes([head[0], head[1]]);
        if magic != MAGIC {
            return Err(Problem::BadMagic(magic));
        }
        if head[2] != VERSION {
            return Err(Problem::Version(head[2]));
        }
        let hdr_len = field(4);
        // kernel ABI: section offsets count from the end of the header, whose length is
        // hdr_len (struct btf_header, include/uapi/linux/btf.h).
        let body = usize::try_from(hdr_len)
            .ok()
            .filter(|&n| n >= HEADER_LEN)
            .and_then(|n| blob.get(n..))
            .ok_or(Problem::HeaderLen(hdr_len))?;
        let section = |section, off: u32, len: u32| {
            let start = off as usize;
            start
                .checked_add(len as usize)
                .and_then(|end| body.get(start..end))
                .ok_or(Problem::Section { section, off, len })
        };
        let type_bytes = section("type", field(8), field(12))?;
        let strings = section("string", field(16), field(20))?;

        let mut btf = Btf {
            strings,
            types: Vec::new(),
            structs: HashMap::new(),
        };
        let mut at = 0;
        while at < type_bytes.len() {
            let id = btf.types.len() + 1;
            let truncated = Problem::TruncatedType { id, at };
            let name_off = u32_at(type_bytes, at).ok_or(truncated.clone())?;
            let info = u32_at(type_bytes, at + 4).ok_or(truncated.clone())?;
            let size_or_id = u32_at(type_bytes, at + 8).ok_or(truncated.clone())?;
            // kernel ABI: info = kind_flag << 31 | kind << 24 | vlen (BTF_INFO_KIND() and
            // BTF_INFO_VLEN() in include/uapi/linux/btf.h); each kind's extra data follows.
            let kind = (info >> 24) & 0x1f;
            let vlen = (info & 0xffff) as usize;
            let extra_len = match kind {
                INT | VAR | DECL_TAG => 4,
                ARRAY => 12,
                STRUCT | UNION | DATASEC | ENUM64 => vlen * 12,
                ENUM | FUNC_PROTO => vlen * 8,
                PTR | FWD | TYPEDEF | VOLATILE | CONST | RESTRICT | FUNC | FLOAT | TYPE_TAG => 0,
                _ => return Err(Problem::UnknownKind { id, kind }),
            };
            let start = at + TYPE_LEN;
            let end = start + extra_len;
            let extra = type_bytes.get(start..end).ok_or(truncated)?;
            let ty = Type {
                name_off,
                kind,
                kind_flag: info >> 31 == 1,
                size_or_id,
                extra,
            };
            if kind == STRUCT {
                let name = btf.name(name_off)?;
                if !name.is_empty() {
                    btf.structs.entry(name).or_default().push(id as u32);
                }
            }
            btf.types.push(ty);
            at = end;
        }
        Ok(btf)
    }

    fn name(&self, off: u32) -> Result<&'a [u8], Problem> {
        let rest = self
            .strings
            .get(off as usize..)
            .ok_or(Problem::StringOffset(off))?;
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(Problem::Unterminated(off))?;
        Ok(&rest[..len])
    }

    fn get(&self, id: u32) -> Result<Type<'a>, Problem> {
        (id as usize)
            .checked_sub(1)
            .and_then(|i| self.types.get(i))
            .copied()
            .ok_or(Problem::NoType(id))
    }

    /// Follows typedefs and qualifiers to the type they name.
    fn strip(&self, mut id: u32) -> Result<Type<'a>, Problem> {
        for _ in 0..MAX_MODIFIERS {
            let ty = self.get(id)?;
            match ty.kind {
                TYPEDEF | VOLATILE | CONST | RESTRICT | TYPE_TAG => id = ty.size_or_id,
                _ => return Ok(ty),
            }
        }
        Err(Problem::ModifierLoop(id))
    }

    /// "struct fdtable", "union (anonymous)": how errors name a type.
    fn describe(&self, ty: Type<'a>) -> String {
        let kind = if ty.kind == UNION { "union" } else { "struct" };
        match self.name(ty.name_off) {
            Ok(name) if !name.is_empty() => format!("{kind} {}", String::from_utf8_lossy(name)),
            _ => format!("{kind} (anonymous)"),
        }
    }

    /// Finds the member `name` of a struct or union, looking inside its anonymous struct and
    /// union members too, since C lets their members be named as the outer type's own.
    fn member(
        &self,
        ty: Type<'a>,
        name: &[u8],
        depth: u32,
        visits: &mut u32,
    ) -> Result<Option<Member>, Problem> {
        for raw in ty.extra.chunks_exact(12) {
            *visits += 1;
            if *visits > MAX_VISITS || depth > MAX_ANON_DEPTH {
                return Err(Problem::TooNested(self.describe(ty)));
            }
            // kernel ABI: struct btf_member { name_off; type; offset; } and
            // BTF_MEMBER_BIT_OFFSET() / BTF_MEMBER_BITFIELD_SIZE() in include/uapi/linux/btf.h:
            // with kind_flag the offset is bitfield_size << 24 | bit_offset, without it a plain
            // bit offset.
            // (Bitfields without kind_flag, encoded in the INT type, predate vmlinux BTF.)
            let (Some(name_off), Some(type_id), Some(offset)) =
                (u32_at(raw, 0), u32_at(raw, 4), u32_at(raw, 8))
            else {
                continue;
            };
            let (bit, bits) = if ty.kind_flag {
                (offset & 0x00ff_ffff, offset >> 24)
            } else {
                (offset, 0)
            };
            let member_name = self.name(name_off)?;
            if member_name == name {
                return Ok(Some(Member {
                    type_id,
                    bit: u64::from(bit),
                    bits,
                }));
            }
            if member_name.is_empty() {
                let inner = self.strip(type_id)?;
                if matches!(inner.kind, STRUCT | UNION) {
                    if let Some(found) = self.member(inner, name, depth + 1, visits)? {
                        return Ok(Some(Member {
                            bit: found.bit.saturating_add(u64::from(bit)),
                            ..found
                        }));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Resolves a dotted path "struct.member.member..." starting at the first struct of that
    /// name that has it.
    fn field(&self, path: &str) -> Result<Field, Problem> {
        let mut parts = path.split('.');
        let root = parts.next().unwrap_or_default();
        let ids = self
            .structs
            .get(root.as_bytes())
            .ok_or_else(|| Problem::NoStruct(root.to_owned()))?;
        let mut first_err = None;
        for &id in ids {
            match self.walk(id, root, parts.clone(), path) {
                Ok(field) => return Ok(field),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.unwrap_or_else(|| Problem::NoStruct(root.to_owned())))
    }

    fn walk<'p>(
        &self,
        root_id: u32,
        root: &str,
        members: impl Iterator<Item = &'p str>,
        path: &str,
    ) -> Result<Field, Problem> {
        let size = self.get(root_id)?.size_or_id;
        let (mut id, mut bit, mut bits) = (root_id, 0u64, 0);
        let mut walked = root.to_owned();
        for member in members {
            let ty = self.strip(id)?;
            if bits != 0 || !matches!(ty.kind, STRUCT | UNION) {
                return Err(Problem::NotComposite(walked));
            }
            let mut visits = 0;
            let found = self
                .member(ty, member.as_bytes(), 0, &mut visits)?
                .ok_or_else(|| Problem::NoMember {
                    owner: self.describe(ty),
                    member: member.to_owned(),
                    path: path.to_owned(),
                })?;
            // Saturating: an absurd sum is then caught by the size check below.
            bit = bit.saturating_add(found.bit);
            (id, bits) = (found.type_id, found.bits);
            walked = format!("{walked}.{member}");
        }
        let byte = bit / 8;
        if byte >= u64::from(size) {
            return Err(Problem::OutOfStruct {
                path: path.to_owned(),
                byte,
                size,
            });
        }
        Ok(Field { bit, bits })
    }

    /// Byte offset of a whole (non-bitfield) member.
    fn byte(&self, path: &str) -> Result<u32, Problem> {
        let field = self.field(path)?;
        if field.bits != 0 {
            return Err(Problem::Bitfield {
                path: path.to_owned(),
                bits: field.bits,
            });
        }
        if field.bit % 8 != 0 {
            return Err(Problem::Unaligned {
                path: path.to_owned(),
                bit: field.bit,
            });
        }
        // Below the struct's u32 size, checked in walk.
        Ok((field.bit / 8) as u32)
    }

    /// Byte, and bit within it (0 = least significant), of a 1-bit bitfield. BTF bit offsets
    /// count in memory order, which on little-endian machines (the only BTF accepted here) is
    /// from the least significant bit of each byte.
    fn flag(&self, path: &str) -> Result<(u32, u32), Problem> {
        let field = self.field(path)?;
        if field.bits != 1 {
            return Err(Problem::NotFlag {
                path: path.to_owned(),
                bits: field.bits,
            });
        }
        Ok(((field.bit / 8) as u32, (field.bit % 8) as u32))
    }
}

#[cfg(test)]
#[path = "btf_tests.rs"]
mod tests;
