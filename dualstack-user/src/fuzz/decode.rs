//! The ring-buffer decoders (`decode`, `task_change`) on arbitrary bytes and on valid records
//! with mutated bytes; what decodes goes through every writer too.

use dualstack_common::{
    TaskRecord, ABI_VERSION, MAX_RECORD_SIZE, TASK_EXIT, TASK_FORK, TASK_RECORD_SIZE,
};
use proptest::{collection::vec, prelude::*, sample::select};

use super::{format, strategy};
use crate::decode::{decode, encode, task_change, TaskChange};

/// Bytes of any length around the record sizes, often starting with a kind and version that
/// pass the first checks.
fn record_bytes() -> impl Strategy<Value = Vec<u8>> {
    let kind = prop_oneof![0u32..12, select(vec![TASK_FORK, TASK_EXIT]), any::<u32>()];
    let version = prop_oneof![Just(ABI_VERSION), any::<u16>()];
    (
        vec(any::<u8>(), 0..MAX_RECORD_SIZE + 64),
        any::<bool>(),
        kind,
        version,
    )
        .prop_map(|(mut bytes, keep_header, kind, version)| {
            if keep_header && bytes.len() >= 6 {
                bytes[..4].copy_from_slice(&kind.to_ne_bytes());
                bytes[4..6].copy_from_slice(&version.to_ne_bytes());
            }
            bytes
        })
}

/// Byte edits anywhere in a record: (offset, new byte).
fn edits(len: usize) -> impl Strategy<Value = Vec<(usize, u8)>> {
    vec((0..len, any::<u8>()), 1..8)
}

fn task_record() -> impl Strategy<Value = TaskRecord> {
    (
        select(vec![TASK_FORK, TASK_EXIT]),
        any::<u16>(),
        any::<u64>(),
        any::<u64>(),
        any::<u32>(),
    )
        .prop_map(|(kind, flags, pid_tgid, ts_ns, child)| TaskRecord {
            kind,
            version: ABI_VERSION,
            flags,
            pid_tgid,
            ts_ns,
            child,
            _pad: 0,
        })
}

fn task_bytes(raw: &TaskRecord) -> Vec<u8> {
    // SAFETY: TaskRecord is #[repr(C)] plain data with explicit padding (no uninit bytes).
    unsafe { std::slice::from_raw_parts(std::ptr::from_ref(raw).cast::<u8>(), TASK_RECORD_SIZE) }
        .to_vec()
}

proptest! {
    #![proptest_config(super::config(200_000))]

    /// Any bytes: an error or an event, never a panic; an event goes through every writer.
    #[test]
    fn arbitrary_bytes(bytes in record_bytes(), cx in format::context()) {
        let _ = task_change(&bytes);
        if let Ok(event) = decode(&bytes) {
            format::write_everything(&event, &cx);
        }
    }
}

proptest! {
    #![proptest_config(super::config(100_000))]

    /// A valid record with a few bytes changed anywhere (kind, version, statuses, lengths,
    /// payload) and sometimes cut short.
    #[test]
    fn mutated_records(
        raw in strategy::raw_event(),
        edits in edits(MAX_RECORD_SIZE),
        cut in proptest::option::of(0..MAX_RECORD_SIZE),
        cx in format::context(),
    ) {
        let mut bytes = encode(&raw);
        // Records are as long as their kind and sections: edits past the end fall away.
        for (at, byte) in edits {
            if let Some(b) = bytes.get_mut(at) {
                *b = byte;
            }
        }
        if let Some(len) = cut {
            bytes.truncate(len);
        }
        let _ = task_change(&bytes);
        if let Ok(event) = decode(&bytes) {
            format::write_everything(&event, &cx);
        }
    }
}

proptest! {
    #![proptest_config(super::config(200_000))]

    /// Task records: a valid one is read as written; mutated or cut, never a panic.
    #[test]
    fn task_records(
        raw in task_record(),
        edits in edits(TASK_RECORD_SIZE),
        cut in 0..TASK_RECORD_SIZE + 8,
    ) {
        let bytes = task_bytes(&raw);
        let change = task_change(&bytes).expect("a valid task record is read");
        let want = if raw.kind == TASK_FORK {
            TaskChange::Fork { parent: raw.pid_tgid as u32, parent_pid: (raw.pid_tgid >> 32) as u32, child: raw.child }
        } else {
            TaskChange::Exit {
                pid: (raw.pid_tgid >> 32) as u32,
                tid: raw.pid_tgid as u32,
                process_gone: raw.flags & dualstack_common::TASK_GROUP_DEAD != 0,
            }
        };
        prop_assert_eq!(change, want);
        // Not a syscall event, whatever its length.
        prop_assert!(decode(&bytes).is_err());

        let mut bytes = bytes;
        for (at, byte) in edits {
            bytes[at] = byte;
        }
        bytes.resize(cut, 0);
        let _ = task_change(&bytes);
        let _ = decode(&bytes);
    }
}
