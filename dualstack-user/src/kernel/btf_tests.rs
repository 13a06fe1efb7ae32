use super::*;

/// (name, type id, bit offset, bitfield width or 0)
type M = (&'static str, u32, u32, u32);

/// Writes BTF the way the kernel lays it out, for blobs whose every offset is known.
struct Builder {
    types: Vec<u8>,
    strings: Vec<u8>,
    next_id: u32,
}

impl Builder {
    fn new() -> Self {
        Builder {
            types: Vec::new(),
            strings: vec![0],
            next_id: 1,
        }
    }

    fn str(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }

    fn raw(&mut self, name_off: u32, info: u32, size_or_type: u32, extra: &[u32]) -> u32 {
        for word in [name_off, info, size_or_type].iter().chain(extra) {
            self.types.extend_from_slice(&word.to_le_bytes());
        }
        self.next_id += 1;
        self.next_id - 1
    }

    fn ty(&mut self, name: &str, kind: u32, vlen: u32, size_or_type: u32, extra: &[u32]) -> u32 {
        let name_off = self.str(name);
        self.raw(name_off, kind << 24 | vlen, size_or_type, extra)
    }

    fn int(&mut self, name: &str, size: u32) -> u32 {
        self.ty(name, INT, 0, size, &[size * 8])
    }

    fn wrap(&mut self, kind: u32, name: &str, target: u32) -> u32 {
        self.ty(name, kind, 0, target, &[])
    }

    fn composite(&mut self, kind: u32, name: &str, size: u32, members: &[M]) -> u32 {
        let kind_flag = members.iter().any(|m| m.3 != 0);
        let mut extra = Vec::new();
        for &(member, ty, bit, bits) in members {
            extra.push(self.str(member));
            extra.push(ty);
            extra.push(if kind_flag { bits << 24 | bit } else { bit });
        }
        let name_off = self.str(name);
        let info = u32::from(kind_flag) << 31 | kind << 24 | members.len() as u32;
        self.raw(name_off, info, size, &extra)
    }

    /// One type of every kind with kind-specific data: if any extent were computed wrongly,
    /// every later id would shift and lookups would fail.
    fn one_of_each_kind(&mut self) {
        self.ty("e", ENUM, 2, 4, &[0, 0, 0, 1]);
        self.ty("e64", ENUM64, 1, 8, &[0, 1, 0]);
        self.ty("", FUNC_PROTO, 2, 0, &[0, 0, 0, 0]);
        self.ty("", ARRAY, 0, 0, &[0, 0, 4]);
        self.ty("v", VAR, 0, 0, &[1]);
        self.ty(".data", DATASEC, 1, 8, &[5, 0, 4]);
        self.ty("tag", DECL_TAG, 0, 1, &[u32::MAX]);
        self.ty("f", FLOAT, 0, 8, &[]);
        self.ty("fwd", FWD, 0, 0, &[]);
        self.ty("fn", FUNC, 0, 3, &[]);
        self.ty("user", TYPE_TAG, 0, 0, &[]);
    }

    fn finish(&self) -> Vec<u8> {
        let type_len = self.types.len() as u32;
        let str_len = self.strings.len() as u32;
        let mut blob = Vec::new();
        blob.extend_from_slice(&MAGIC.to_le_bytes());
        blob.extend_from_slice(&[VERSION, 0]);
        for word in [HEADER_LEN as u32, 0, type_len, type_len, str_len] {
            blob.extend_from_slice(&word.to_le_bytes());
        }
        blob.extend_from_slice(&self.types);
        blob.extend_from_slice(&self.strings);
        blob
    }
}

/// A [`Builder`] that lets a test change the members of a struct (by name) before it is
/// written.
struct Fake<'e> {
    b: Builder,
    edit: &'e dyn Fn(&str, &mut Vec<M>),
}

impl<'e> Fake<'e> {
    fn new(edit: &'e dyn Fn(&str, &mut Vec<M>)) -> Self {
        Fake {
            b: Builder::new(),
            edit,
        }
    }

    fn st(&mut self, name: &str, size: u32, members: &[M]) -> u32 {
        self.edited(STRUCT, name, size, members)
    }

    fn un(&mut self, name: &str, size: u32, members: &[M]) -> u32 {
        self.edited(UNION, name, size, members)
    }

    fn edited(&mut self, kind: u32, name: &str, size: u32, members: &[M]) -> u32 {
        let mut members = members.to_vec();
        (self.edit)(name, &mut members);
        self.b.composite(kind, name, size, &members)
    }
}

impl std::ops::Deref for Fake<'_> {
    type Target = Builder;
    fn deref(&self) -> &Builder {
        &self.b
    }
}

impl std::ops::DerefMut for Fake<'_> {
    fn deref_mut(&mut self) -> &mut Builder {
        &mut self.b
    }
}

/// A small kernel with every struct the offsets need, laid out like 6.18's where it matters:
/// `skc_num` inside an anonymous struct inside an anonymous union, `net.ns` reached through a
/// chain of typedefs and qualifiers, `skc_ipv6only` a 1-bit field.
// One statement per struct, in the order the offsets use them: long, and clearer whole.
#[allow(clippy::too_many_lines)]
fn fake_kernel(edit: &dyn Fn(&str, &mut Vec<M>)) -> Vec<u8> {
    let mut f = Fake::new(edit);
    f.one_of_each_kind();

    let u8_ = f.int("unsigned char", 1);
    let u16_ = f.int("short unsigned int", 2);
    let u32_ = f.int("unsigned int", 4);
    let u64_ = f.int("long unsigned int", 8);
    let ptr = f.wrap(PTR, "", 0);

    f.st(
        "task_struct",
        4096,
        &[
            ("__state", u32_, 0, 0),
            ("files", ptr, 1824 * 8, 0),
            ("comm", u64_, 1840 * 8, 0),
        ],
    );
    f.st(
        "files_struct",
        64,
        &[("count", u32_, 0, 0), ("fdt", ptr, 32 * 8, 0)],
    );
    // Decoys: a union of the same name is not a struct, and the first struct lacks the members.
    f.un(
        "fdtable",
        48,
        &[("fd", ptr, 40 * 8, 0), ("max_fds", u32_, 0, 0)],
    );
    f.st("fdtable", 16, &[("rcu", ptr, 0, 0)]);
    f.st(
        "fdtable",
        56,
        &[("max_fds", u32_, 0, 0), ("fd", ptr, 64, 0)],
    );
    // Before 6.13: `atomic_long_t f_count`.
    f.st(
        "file",
        256,
        &[
            ("private_data", ptr, 24 * 8, 0),
            ("f_count", u64_, 56 * 8, 0),
        ],
    );
    let inode = f.st(
        "inode",
        616,
        &[("i_mode", u16_, 0, 0), ("i_ino", u64_, 64 * 8, 0)],
    );
    let socket = f.st(
        "socket",
        128,
        &[
            ("state", u32_, 0, 0),
            ("type", u16_, 4 * 8, 0),
            ("file", ptr, 16 * 8, 0),
            ("sk", ptr, 24 * 8, 0),
        ],
    );
    f.st(
        "socket_alloc",
        768,
        &[("socket", socket, 0, 0), ("vfs_inode", inode, 1024, 0)],
    );

    let addrs = f.st(
        "",
        8,
        &[("skc_daddr", u32_, 0, 0), ("skc_rcv_saddr", u32_, 32, 0)],
    );
    let addrpair = f.un("", 8, &[("skc_addrpair", u64_, 0, 0), ("", addrs, 0, 0)]);
    let ports = f.st(
        "",
        4,
        &[("skc_dport", u16_, 0, 0), ("skc_num", u16_, 16, 0)],
    );
    let portpair = f.un("", 4, &[("skc_portpair", u32_, 0, 0), ("", ports, 0, 0)]);
    let net_ptr = f.st("", 8, &[("net", ptr, 0, 0)]);
    let possible_net = f.wrap(TYPEDEF, "possible_net_t", net_ptr);
    let in6 = f.st("in6_addr", 16, &[("s6_addr", u64_, 0, 0)]);
    let vu8 = f.wrap(VOLATILE, "", u8_);
    let sock_common = f.st(
        "sock_common",
        136,
        &[
            ("", addrpair, 0, 0),
            ("", portpair, 12 * 8, 0),
            ("skc_family", u16_, 16 * 8, 0),
            ("skc_state", vu8, 18 * 8, 0),
            ("skc_reuse", u8_, 19 * 8, 4),
            ("skc_reuseport", u8_, 19 * 8 + 4, 1),
            ("skc_ipv6only", u8_, 19 * 8 + 5, 1),
            ("skc_net", possible_net, 48 * 8, 0),
            ("skc_v6_rcv_saddr", in6, 72 * 8, 0),
        ],
    );
    f.st(
        "sock",
        760,
        &[
            ("__sk_common", sock_common, 0, 0),
            ("sk_rcvbuf", u32_, 1088, 0),
        ],
    );

    add_net(&mut f, ptr, u8_, u32_);
    f.finish()
}

/// `struct net`, whose `ns.inum` sits in an anonymous struct behind a chain of typedefs and
/// qualifiers.
fn add_net(f: &mut Fake, ptr: u32, u8_: u32, u32_: u32) {
    let stash = f.st("", 16, &[("stashed", ptr, 0, 0), ("inum", u32_, 8 * 8, 0)]);
    let ns_common = f.st(
        "ns_common",
        80,
        &[("ops", ptr, 0, 0), ("", stash, 16 * 8, 0)],
    );
    // const -> typedef -> volatile -> type_tag -> typedef -> struct ns_common
    let t1 = f.wrap(TYPEDEF, "ns_t", ns_common);
    let t2 = f.wrap(TYPE_TAG, "rcu", t1);
    let t3 = f.wrap(VOLATILE, "", t2);
    let t4 = f.wrap(TYPEDEF, "ns_tt", t3);
    let ns = f.wrap(CONST, "", t4);
    let sysctl = f.st("netns_sysctl_ipv6", 100, &[("bindv6only", u8_, 77 * 8, 0)]);
    let ipv6 = f.st("netns_ipv6", 832, &[("sysctl", sysctl, 192 * 8, 0)]);
    f.st(
        "net",
        4096,
        &[("ns", ns, 152 * 8, 0), ("ipv6", ipv6, 1792 * 8, 0)],
    );
}

fn no_edit(_: &str, _: &mut Vec<M>) {}

const FAKE_OFFSETS: KernelOffsets = KernelOffsets {
    valid: 1,
    task_files: 1824,
    files_fdt: 32,
    fdt_max_fds: 0,
    fdt_fd: 8,
    file_private_data: 24,
    socket_sk: 24,
    socket_file: 16,
    socket_type: 4,
    socket_alloc_socket: 0,
    socket_alloc_inode: 128,
    inode_ino: 64,
    skc_family: 16,
    skc_state: 18,
    skc_num: 14,
    skc_rcv_saddr: 4,
    skc_v6_rcv_saddr: 72,
    skc_net: 48,
    skc_ipv6only_byte: 19,
    skc_ipv6only_bit: 5,
    net_ns_inum: 152 + 16 + 8,
    net_bindv6only: 1792 + 192 + 77,
    file_refs: 56,
    file_one_ref: 1,
    task_comm: 1840,
};

fn problem(blob: &[u8]) -> Problem {
    match offsets_from_bytes(blob) {
        Err(BtfError::Invalid { problem, .. }) => problem,
        other => panic!("expected an invalid-BTF error, got {other:?}"),
    }
}

#[test]
fn synthetic_kernel_resolves_exactly() {
    assert_eq!(
        offsets_from_bytes(&fake_kernel(&no_edit)).unwrap(),
        FAKE_OFFSETS
    );
}

#[test]
fn skc_offsets_go_through_sk_common() {
    let blob = fake_kernel(&|name, members| {
        if name == "sock" {
            members[0].2 = 8 * 8;
        }
    });
    let got = offsets_from_bytes(&blob).unwrap();
    assert_eq!(got.skc_num, FAKE_OFFSETS.skc_num + 8);
    assert_eq!(got.skc_family, FAKE_OFFSETS.skc_family + 8);
    assert_eq!(got.skc_net, FAKE_OFFSETS.skc_net + 8);
    assert_eq!((got.skc_ipv6only_byte, got.skc_ipv6only_bit), (27, 5));
}

#[test]
fn bad_magic_and_version() {
    let mut blob = fake_kernel(&no_edit);
    blob[0] = 0;
    assert_eq!(problem(&blob), Problem::BadMagic(0xeb00));
    // Big-endian BTF stores the magic bytes the other way round.
    blob[..2].copy_from_slice(&MAGIC.to_be_bytes());
    assert_eq!(problem(&blob), Problem::BadMagic(0x9feb));
    blob[..2].copy_from_slice(&MAGIC.to_le_bytes());
    blob[2] = 2;
    assert_eq!(problem(&blob), Problem::Version(2));
}

#[test]
fn truncated_header() {
    let blob = fake_kernel(&no_edit);
    for n in 0..HEADER_LEN {
        assert_eq!(problem(&blob[..n]), Problem::ShortHeader(n));
    }
    // hdr_len pointing past the blob, or shorter than the header itself.
    for hdr_len in [u32::MAX, blob.len() as u32 + 1, 23, 0] {
        let mut bad = blob.clone();
        bad[4..8].copy_from_slice(&hdr_len.to_le_bytes());
        assert_eq!(problem(&bad), Problem::HeaderLen(hdr_len));
    }
}

#[test]
fn truncated_type_section() {
    let blob = fake_kernel(&no_edit);
    let type_len = u32::from_le_bytes(blob[12..16].try_into().unwrap());
    // The blob ends inside the sections.
    let cut = &blob[..HEADER_LEN + type_len as usize - 5];
    assert!(matches!(
        problem(cut),
        Problem::Section {
            section: "type",
            ..
        }
    ));
    // The header's type section ends inside the last type.
    let mut short = blob.clone();
    short[12..16].copy_from_slice(&(type_len - 4).to_le_bytes());
    assert!(matches!(problem(&short), Problem::TruncatedType { .. }));
    // A struct claiming more members than the section holds.
    let mut b = Builder::new();
    b.ty("sock", STRUCT, 5, 8, &[0, 0, 0]);
    assert_eq!(
        problem(&b.finish()),
        Problem::TruncatedType { id: 1, at: 0 }
    );
    // Sections whose offset + length overflow.
    let mut wrap = blob;
    wrap[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        problem(&wrap),
        Problem::Section {
            section: "string",
            ..
        }
    ));
}

#[test]
fn unknown_kind() {
    let mut b = Builder::new();
    b.int("int", 4);
    b.ty("x", 20, 0, 0, &[]);
    assert_eq!(
        problem(&b.finish()),
        Problem::UnknownKind { id: 2, kind: 20 }
    );
}

#[test]
fn string_offset_out_of_range() {
    let mut b = Builder::new();
    b.raw(9999, STRUCT << 24, 8, &[]);
    assert_eq!(problem(&b.finish()), Problem::StringOffset(9999));
    // A name running to the end of the string section without its NUL.
    let mut b = Builder::new();
    let off = b.strings.len() as u32;
    b.strings.extend_from_slice(b"sock");
    b.raw(off, STRUCT << 24, 8, &[]);
    assert_eq!(problem(&b.finish()), Problem::Unterminated(off));
    // A member name out of range is found when the member list is searched.
    let mut b = Builder::new();
    let name = b.str("sock");
    b.raw(name, STRUCT << 24 | 1, 8, &[4242, 0, 0]);
    assert_eq!(problem(&b.finish()), Problem::StringOffset(4242));
}

#[test]
fn missing_member_names_struct_member_and_path() {
    let blob = fake_kernel(&|name, members| {
        if name == "fdtable" {
            members.retain(|m| m.0 != "fd");
        }
    });
    let path = std::env::temp_dir().join(format!("dualstack-btf-test-{}", std::process::id()));
    std::fs::write(&path, &blob).unwrap();
    let err = kernel_offsets(&path).unwrap_err().to_string();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        err,
        format!(
            "BTF at {}: struct fdtable has no member fd (looking up fdtable.fd)",
            path.display()
        )
    );

    let blob = fake_kernel(&|name, members| {
        if name == "netns_sysctl_ipv6" {
            members[0].0 = "bindv4only";
        }
    });
    assert_eq!(
        problem(&blob).to_string(),
        "struct netns_sysctl_ipv6 has no member bindv6only (looking up net.ipv6.sysctl.bindv6only)"
    );
    assert_eq!(
        problem(&Builder::new().finish()),
        Problem::NoStruct("sock".into())
    );
}

#[test]
fn missing_file_names_path() {
    let err = kernel_offsets(Path::new("/nonexistent/vmlinux")).unwrap_err();
    assert!(matches!(err, BtfError::Read { .. }));
    assert!(err
        .to_string()
        .starts_with("cannot read BTF at /nonexistent/vmlinux: "));
}

#[test]
fn field_shape_is_checked() {
    let edited = |target: &'static str, member: &'static str, f: fn(&mut M)| {
        fake_kernel(&move |name, members| {
            if name == target {
                members.iter_mut().filter(|m| m.0 == member).for_each(f);
            }
        })
    };
    let blob = edited("files_struct", "fdt", |m| m.3 = 3);
    assert_eq!(
        problem(&blob),
        Problem::Bitfield {
            path: "files_struct.fdt".into(),
            bits: 3
        }
    );
    let blob = edited("socket", "sk", |m| m.2 += 4);
    assert_eq!(
        problem(&blob),
        Problem::Unaligned {
            path: "socket.sk".into(),
            bit: 24 * 8 + 4
        }
    );
    let blob = edited("sock_common", "skc_ipv6only", |m| m.3 = 2);
    assert!(matches!(problem(&blob), Problem::NotFlag { bits: 2, .. }));
    let blob = edited("sock_common", "skc_ipv6only", |m| m.3 = 0);
    assert!(matches!(problem(&blob), Problem::NotFlag { bits: 0, .. }));
    let blob = edited("inode", "i_ino", |m| m.2 = 616 * 8);
    assert!(matches!(
        problem(&blob),
        Problem::OutOfStruct {
            byte: 616,
            size: 616,
            ..
        }
    ));
    // A path through a non-struct: inode.i_ino is an integer.
    let blob = fake_kernel(&no_edit);
    let btf = Btf::parse(&blob).unwrap();
    assert_eq!(
        btf.byte("inode.i_ino.x").err(),
        Some(Problem::NotComposite("inode.i_ino".into()))
    );
    assert_eq!(btf.byte("sock.__sk_common.skc_v6_rcv_saddr"), Ok(72));
}

#[test]
fn loops_end_in_errors() {
    // typedef T T; struct net { T ns; }
    let mut b = Builder::new();
    let t = b.next_id;
    b.wrap(TYPEDEF, "t", t);
    b.composite(STRUCT, "net", 8, &[("ns", t, 0, 0)]);
    let blob = b.finish();
    let btf = Btf::parse(&blob).unwrap();
    assert_eq!(btf.byte("net.ns.inum"), Err(Problem::ModifierLoop(t)));

    // struct x { struct x; struct x; ... } searched for a member it lacks: a self-containing
    // anonymous member, many times over.
    let mut b = Builder::new();
    let x = b.next_id;
    b.composite(STRUCT, "x", 8, &vec![("", x, 0, 0); 1000]);
    let blob = b.finish();
    let btf = Btf::parse(&blob).unwrap();
    assert!(matches!(btf.byte("x.missing"), Err(Problem::TooNested(_))));
    // A dangling member type.
    let mut b = Builder::new();
    b.composite(STRUCT, "x", 8, &[("", 77, 0, 0)]);
    let blob = b.finish();
    assert_eq!(
        Btf::parse(&blob).unwrap().byte("x.y"),
        Err(Problem::NoType(77))
    );
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn must_not_panic(blob: &[u8]) {
    if let Ok(offsets) = offsets_from_bytes(blob) {
        assert_eq!(offsets.valid, 1);
    }
}

#[test]
fn garbage_never_panics() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let good = fake_kernel(&no_edit);
    for _ in 0..5000 {
        let mut blob = good.clone();
        match rng.below(4) {
            // A few random bytes.
            0 => {
                for _ in 0..=rng.below(8) {
                    let at = rng.below(blob.len());
                    blob[at] = rng.next() as u8;
                }
            }
            // A header field set to something wild or near its real value.
            1 => {
                let at = 4 * (1 + rng.below(5));
                let old = u32::from_le_bytes(blob[at..at + 4].try_into().unwrap());
                let new = match rng.below(3) {
                    0 => rng.next() as u32,
                    1 => old.wrapping_add(rng.below(64) as u32).wrapping_sub(32),
                    _ => u32::MAX - rng.below(16) as u32,
                };
                blob[at..at + 4].copy_from_slice(&new.to_le_bytes());
            }
            // A member's type, offset or name pointed elsewhere.
            2 => {
                let at = HEADER_LEN + 4 * rng.below((blob.len() - HEADER_LEN) / 4);
                let word = rng.below(200) as u32 | (rng.below(4) as u32) << 24;
                blob[at..at + 4].copy_from_slice(&word.to_le_bytes());
            }
            // Truncated anywhere.
            _ => blob.truncate(rng.below(good.len())),
        }
        must_not_panic(&blob);
    }

    // Random types over a string section of the names the lookups use, so that searches
    // get past the parser into the member walk.
    let names = [
        "sock",
        "__sk_common",
        "skc_num",
        "skc_ipv6only",
        "net",
        "ns",
        "inum",
        "fdtable",
        "fd",
        "",
    ];
    for _ in 0..3000 {
        let mut b = Builder::new();
        let offs: Vec<u32> = names.iter().map(|n| b.str(n)).collect();
        for _ in 0..rng.below(40) {
            // Mostly known kinds, so that one bad type does not end most blobs.
            let kind = if rng.below(8) == 0 {
                rng.below(32)
            } else {
                1 + rng.below(19)
            } as u32;
            let vlen = rng.below(4) as u32;
            let info = (rng.below(2) as u32) << 31 | kind << 24 | vlen;
            // Mostly the length the kind calls for, so that parsing goes on past this type.
            let len = if rng.below(4) == 0 {
                rng.below(13)
            } else {
                match kind {
                    INT | VAR | DECL_TAG => 1,
                    ARRAY => 3,
                    STRUCT | UNION | DATASEC | ENUM64 => 3 * vlen as usize,
                    ENUM | FUNC_PROTO => 2 * vlen as usize,
                    _ => 0,
                }
            };
            let words: Vec<u32> = (0..len)
                .map(|_| match rng.below(3) {
                    0 => offs[rng.below(offs.len())],
                    1 => rng.below(45) as u32,
                    _ => rng.next() as u32,
                })
                .collect();
            let name = offs[rng.below(offs.len())];
            b.raw(name, info, rng.below(45) as u32, &words);
        }
        must_not_panic(&b.finish());
    }
}

// The tests below read the running kernel's BTF, and skip (saying so) where there is none.

fn vmlinux() -> Option<Vec<u8>> {
    match std::fs::read(VMLINUX_BTF) {
        Ok(blob) => Some(blob),
        Err(e) => {
            eprintln!("skipped: cannot read {VMLINUX_BTF}: {e}");
            None
        }
    }
}

fn struct_size(btf: &Btf, name: &str) -> u32 {
    let id = btf.structs[name.as_bytes()][0];
    btf.get(id).unwrap().size_or_id
}

#[test]
fn running_kernel_offsets_are_consistent() {
    let Some(blob) = vmlinux() else { return };
    let o = kernel_offsets(Path::new(VMLINUX_BTF)).unwrap();
    println!("{o:#?}");
    assert_eq!(
        o,
        offsets_from_bytes(&blob).unwrap(),
        "same blob, same answer"
    );
    assert_eq!(o.valid, 1);

    let btf = Btf::parse(&blob).unwrap();
    let size = |name| struct_size(&btf, name);
    assert!(o.task_files < size("task_struct") && o.task_files.is_multiple_of(8));
    // Read as two words.
    assert!(o.task_comm + 16 <= size("task_struct") && o.task_comm.is_multiple_of(8));
    assert!(o.files_fdt < size("files_struct") && o.files_fdt.is_multiple_of(8));
    assert!(o.fdt_max_fds < size("fdtable") && o.fdt_fd < size("fdtable"));
    assert_ne!(o.fdt_max_fds, o.fdt_fd);
    assert!(o.file_private_data < size("file"));
    assert!(o.socket_sk < size("socket"));
    // struct socket_alloc { struct socket socket; struct inode vfs_inode; }
    assert!(o.socket_alloc_inode >= o.socket_alloc_socket + size("socket"));
    // ...whose end is vfs_inode's, up to the padding of its cache-line alignment.
    let inode_end = o.socket_alloc_inode + size("inode");
    assert!((inode_end..inode_end + 64).contains(&size("socket_alloc")));
    assert!(o.inode_ino < size("inode"));
    assert_eq!(btf.byte("sock.__sk_common"), Ok(0));
    let skc = [
        o.skc_family,
        o.skc_state,
        o.skc_num,
        o.skc_rcv_saddr,
        o.skc_net,
    ];
    assert!(skc.iter().all(|&off| off < size("sock_common")));
    assert!(o.skc_v6_rcv_saddr + 16 <= size("sock_common"));
    assert!(o.skc_ipv6only_byte < size("sock_common") && o.skc_ipv6only_bit < 8);
    // skc_ipv6only sits in the byte after skc_state, after skc_reuse:4 and skc_reuseport:1.
    assert_eq!(o.skc_ipv6only_byte, o.skc_state + 1);
    assert!(o.net_ns_inum < size("net") && o.net_bindv6only < size("net"));
    let ipv6 = btf.byte("net.ipv6").unwrap();
    assert!(o.net_bindv6only >= ipv6 && o.net_bindv6only < ipv6 + size("netns_ipv6"));

    // The head of struct sock_common has kept this layout since long before BTF existed
    // (include/net/sock.h), on every 64-bit little-endian kernel.
    #[cfg(all(target_pointer_width = "64", target_endian = "little"))]
    {
        assert_eq!(o.skc_rcv_saddr, 4);
        assert_eq!(o.skc_num, 14);
        assert_eq!(o.skc_family, 16);
        assert_eq!(o.skc_state, 18);
        assert_eq!((o.skc_ipv6only_byte, o.skc_ipv6only_bit), (19, 5));
        assert_eq!((o.fdt_max_fds, o.fdt_fd), (0, 8));
        assert_eq!(o.socket_alloc_socket, 0);
    }
}

/// `pahole -C STRUCT`'s offset of MEMBER (pahole prints members of anonymous structs and
/// unions inline, with offsets from the start of STRUCT): `Some((byte, bit))`, where bit is
/// the bitfield position, or 0.
fn pahole(strukt: &str, member: &str) -> Option<(u32, u32)> {
    let out = std::process::Command::new("pahole")
        .args(["-C", strukt, VMLINUX_BTF])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let whole = format!("{member};");
    let bitfield = format!("{member}:");
    let array = format!("{member}[");
    let line = text.lines().find(|line| {
        line.split_whitespace()
            .any(|word| word == whole || word.starts_with(&bitfield) || word.starts_with(&array))
    })?;
    // "unsigned int  max_fds;  /*  0  4 */" or "unsigned char  skc_ipv6only:1;  /*  19: 5  1 */"
    let comment = line.split("/*").nth(1)?;
    let mut words = comment.split_whitespace();
    let first = words.next()?;
    match first.strip_suffix(':') {
        Some(byte) => Some((byte.parse().ok()?, words.next()?.parse().ok()?)),
        None => Some((first.parse().ok()?, 0)),
    }
}

#[test]
fn running_kernel_offsets_match_pahole() {
    let Some(blob) = vmlinux() else { return };
    if pahole("fdtable", "fd").is_none() {
        eprintln!("skipped: pahole is not installed (Debian: apt-get install dwarves)");
        return;
    }
    let o = offsets_from_bytes(&blob).unwrap();
    let byte = |strukt: &str, member: &str| pahole(strukt, member).map(|(byte, _)| byte);
    let checks = [
        (o.task_files, "task_struct", "files"),
        (o.task_comm, "task_struct", "comm"),
        (o.files_fdt, "files_struct", "fdt"),
        (o.fdt_max_fds, "fdtable", "max_fds"),
        (o.fdt_fd, "fdtable", "fd"),
        (o.file_private_data, "file", "private_data"),
        (
            o.file_refs,
            "file",
            if o.file_one_ref == 0 {
                "f_ref"
            } else {
                "f_count"
            },
        ),
        (o.socket_sk, "socket", "sk"),
        (o.socket_file, "socket", "file"),
        (o.socket_type, "socket", "type"),
        (o.socket_alloc_socket, "socket_alloc", "socket"),
        (o.socket_alloc_inode, "socket_alloc", "vfs_inode"),
        (o.inode_ino, "inode", "i_ino"),
        (o.skc_family, "sock_common", "skc_family"),
        (o.skc_state, "sock_common", "skc_state"),
        (o.skc_num, "sock_common", "skc_num"),
        (o.skc_rcv_saddr, "sock_common", "skc_rcv_saddr"),
        (o.skc_v6_rcv_saddr, "sock_common", "skc_v6_rcv_saddr"),
        (o.skc_net, "sock_common", "skc_net"),
    ];
    for (ours, strukt, member) in checks {
        assert_eq!(Some(ours), byte(strukt, member), "{strukt}.{member}");
    }
    assert_eq!(byte("sock", "__sk_common"), Some(0));
    assert_eq!(
        pahole("sock_common", "skc_ipv6only"),
        Some((o.skc_ipv6only_byte, o.skc_ipv6only_bit))
    );
    let sum =
        |steps: &[(&str, &str)]| -> Option<u32> { steps.iter().map(|&(s, m)| byte(s, m)).sum() };
    assert_eq!(
        Some(o.net_ns_inum),
        sum(&[("net", "ns"), ("ns_common", "inum")])
    );
    assert_eq!(
        Some(o.net_bindv6only),
        sum(&[
            ("net", "ipv6"),
            ("netns_ipv6", "sysctl"),
            ("netns_sysctl_ipv6", "bindv6only")
        ])
    );
}

#[test]
fn running_kernel_blob_mutations_never_panic() {
    let Some(good) = vmlinux() else { return };
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut blob = good.clone();
    for _ in 0..12 {
        blob.copy_from_slice(&good);
        for _ in 0..64 {
            let at = rng.below(blob.len());
            blob[at] = rng.next() as u8;
        }
        must_not_panic(&blob);
        must_not_panic(&blob[..rng.below(blob.len())]);
    }
}

#[path = "btf_fuzz.rs"]
mod fuzz;
