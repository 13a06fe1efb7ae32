//! `offsets_from_bytes` on BTF that is almost right: the synthetic kernel of the tests with
//! bytes, header fields, type words or members changed, cut anywhere; random type sections over
//! the names the lookups search; arbitrary bytes behind a valid header. Each is resolved or
//! refused, never a panic (see `crate::fuzz` for the case budget).

use std::sync::LazyLock;

use proptest::{collection::vec, prelude::*, sample::select};

use super::*;

/// The synthetic kernel, built once.
static GOOD: LazyLock<Vec<u8>> = LazyLock::new(|| fake_kernel(&no_edit));

/// Member names and struct names the resolver looks for.
const NAMES: &[&str] = &[
    "sock",
    "__sk_common",
    "skc_num",
    "skc_ipv6only",
    "skc_family",
    "skc_net",
    "net",
    "ns",
    "inum",
    "ipv6",
    "sysctl",
    "bindv6only",
    "fdtable",
    "fd",
    "max_fds",
    "file",
    "f_count",
    "f_ref",
    "refcnt",
    "socket",
    "sk",
    "type",
    "",
    "task_struct",
    "files",
];

/// A word that is often a valid type id, a small bit offset or a kind's info.
fn word() -> impl Strategy<Value = u32> {
    prop_oneof![
        2 => 0u32..64,
        1 => (0u32..32, 0u32..4, any::<bool>())
            .prop_map(|(kind, vlen, flag)| u32::from(flag) << 31 | kind << 24 | vlen),
        1 => select(vec![u32::MAX, u32::MAX - 1, 1 << 31, 0xffff, 0x1_0000]),
        1 => any::<u32>(),
    ]
}

/// One change to a BTF blob.
#[derive(Clone, Debug)]
enum Edit {
    Byte(prop::sample::Index, u8),
    /// A header field (hdr_len, type_off, type_len, str_off, str_len) set to this word, or moved
    /// by a small step.
    Header(usize, Result<u32, i8>),
    /// A 4-byte word of the type or string sections.
    Word(prop::sample::Index, u32),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(at, b)| Edit::Byte(at, b)),
        (
            0..5usize,
            prop_oneof![word().prop_map(Ok), any::<i8>().prop_map(Err)]
        )
            .prop_map(|(field, value)| Edit::Header(field, value)),
        (any::<prop::sample::Index>(), word()).prop_map(|(at, w)| Edit::Word(at, w)),
    ]
}

fn apply(blob: &mut [u8], edit: &Edit) {
    let put =
        |blob: &mut [u8], at: usize, w: u32| blob[at..at + 4].copy_from_slice(&w.to_le_bytes());
    match edit {
        Edit::Byte(at, b) => blob[at.index(blob.len())] = *b,
        Edit::Header(field, value) => {
            let at = 4 * (1 + field);
            let old = u32::from_le_bytes(blob[at..at + 4].try_into().unwrap());
            let new = match value {
                Ok(w) => *w,
                Err(step) => old.wrapping_add_signed(i32::from(*step)),
            };
            put(blob, at, new);
        }
        Edit::Word(at, w) => {
            let words = (blob.len() - HEADER_LEN) / 4;
            put(blob, HEADER_LEN + 4 * at.index(words), *w);
        }
    }
}

/// A member of a struct of the synthetic kernel replaced: (struct, member index, new member).
fn member_edit() -> impl Strategy<Value = (&'static str, prop::sample::Index, M)> {
    let structs = vec![
        "sock",
        "sock_common",
        "",
        "net",
        "ns_common",
        "netns_ipv6",
        "netns_sysctl_ipv6",
        "fdtable",
        "file",
        "socket",
        "socket_alloc",
        "task_struct",
        "files_struct",
        "inode",
    ];
    (
        select(structs),
        any::<prop::sample::Index>(),
        (
            select(NAMES),
            0u32..80,
            prop_oneof![0u32..20_000, any::<u32>()],
            prop_oneof![Just(0u32), 0u32..70],
        ),
    )
}

/// A word of a type's data: a number, or (Err) the offset of the name of this index.
fn data_word() -> impl Strategy<Value = Result<u32, prop::sample::Index>> {
    prop_oneof![2 => word().prop_map(Ok), 1 => any::<prop::sample::Index>().prop_map(Err)]
}

type RandomType = (
    u32,
    u32,
    bool,
    Vec<Result<u32, prop::sample::Index>>,
    usize,
    u32,
);

/// One type of a random type section: kind, vlen, kind_flag, its data words (mostly as many as
/// the kind calls for), its name and its size or type.
fn random_type() -> impl Strategy<Value = RandomType> {
    let kind = prop_oneof![7 => 1u32..20, 1 => 0u32..32];
    (
        kind,
        0u32..4,
        any::<bool>(),
        any::<bool>(),
        any::<prop::sample::Index>(),
    )
        .prop_flat_map(|(kind, vlen, flag, exact, name)| {
            let len = match kind {
                INT | VAR | DECL_TAG => 1,
                ARRAY => 3,
                STRUCT | UNION | DATASEC | ENUM64 => 3 * vlen as usize,
                ENUM | FUNC_PROTO => 2 * vlen as usize,
                _ => 0,
            };
            let words = if exact {
                vec(data_word(), len..=len)
            } else {
                vec(data_word(), 0..13)
            };
            (
                Just(kind),
                Just(vlen),
                Just(flag),
                words,
                Just(name.index(NAMES.len())),
                0u32..45,
            )
        })
}

proptest! {
    #![proptest_config(crate::fuzz::config(200_000))]

    #[test]
    fn edited_synthetic_kernel(
        edits in vec(edit(), 1..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut blob = GOOD.clone();
        for e in &edits {
            apply(&mut blob, e);
        }
        if let Some(cut) = cut {
            blob.truncate(cut.index(blob.len() + 1));
        }
        must_not_panic(&blob);
    }
}

proptest! {
    #![proptest_config(crate::fuzz::config(100_000))]

    #[test]
    fn synthetic_kernel_with_a_changed_member(
        edits in vec(member_edit(), 1..4),
    ) {
        let edit = |name: &str, members: &mut Vec<M>| {
            for (strukt, at, member) in &edits {
                if *strukt == name && !members.is_empty() {
                    let at = at.index(members.len());
                    members[at] = *member;
                }
            }
        };
        must_not_panic(&fake_kernel(&edit));
    }
}

proptest! {
    #![proptest_config(crate::fuzz::config(50_000))]

    #[test]
    fn random_types_over_known_names(types in vec(random_type(), 0..40)) {
        let mut b = Builder::new();
        let offs: Vec<u32> = NAMES.iter().map(|n| b.str(n)).collect();
        for (kind, vlen, flag, words, name, size_or_type) in types {
            let words: Vec<u32> = words
                .into_iter()
                .map(|w| w.unwrap_or_else(|name| offs[name.index(offs.len())]))
                .collect();
            let info = u32::from(flag) << 31 | kind << 24 | vlen;
            b.raw(offs[name], info, size_or_type, &words);
        }
        must_not_panic(&b.finish());
    }
}

proptest! {
    #![proptest_config(crate::fuzz::config(200_000))]

    #[test]
    fn arbitrary_bytes_behind_a_header(
        body in vec(any::<u8>(), 0..512),
        fields in [word(), word(), word(), word(), word()],
        valid_header in any::<bool>(),
    ) {
        let mut blob = Vec::new();
        blob.extend_from_slice(&MAGIC.to_le_bytes());
        blob.extend_from_slice(&[VERSION, 0]);
        let fields = if valid_header {
            let len = body.len() as u32;
            let split = fields[0] % (len + 1);
            [HEADER_LEN as u32, 0, split, split, len - split]
        } else {
            fields
        };
        for f in fields {
            blob.extend_from_slice(&f.to_le_bytes());
        }
        blob.extend_from_slice(&body);
        must_not_panic(&blob);
        must_not_panic(&body);
    }
}
