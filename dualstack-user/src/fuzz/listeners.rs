//! `dualstack listeners`' writers (the table and JSON Lines) on any listeners and verifications.

use proptest::{collection::vec, prelude::*};

use super::{format::assert_one_line, strategy};
use crate::format::{listeners_json::write_listener, listeners_table::write_table};

proptest! {
    #![proptest_config(super::config(50_000))]

    #[test]
    fn table_and_json(
        listeners in vec(strategy::listener(), 0..6),
        verifications in proptest::option::of(vec(strategy::verification(), 0..7)),
    ) {
        let refs: Vec<_> = listeners.iter().collect();
        let mut table = String::new();
        write_table(&mut table, &refs, verifications.as_deref());
        // One header and one row per listener, unless a field itself holds a line break.
        let multiline = |s: &str| s.contains(['\n', '\r']);
        let plain = listeners.iter().all(|l| {
            !multiline(&l.verdict.reason)
                && !l.netns_name.as_deref().is_some_and(multiline)
                && !l.owners.first().is_some_and(|o| multiline(&o.comm))
        }) && verifications
            .iter()
            .flatten()
            .all(|v| !v.note.as_deref().is_some_and(multiline));
        if plain {
            prop_assert_eq!(table.lines().count(), listeners.len() + 1);
        }

        for (i, l) in listeners.iter().enumerate() {
            let v = verifications.as_ref().and_then(|v| v.get(i));
            let mut out = Vec::new();
            write_listener(&mut out, l, v);
            assert_one_line("the listener record", &out);
            let value: serde_json::Value =
                serde_json::from_slice(&out).expect("the listener record parses");
            prop_assert_eq!(value["port"].as_u64(), Some(u64::from(l.local.port())));
        }
    }
}

/// Found by `table_and_json`: with fewer verifications than listeners, a row lacked the VERIFY
/// cell its header has, and measuring the column widths indexed past the row's end.
#[test]
fn table_with_fewer_verifications_than_listeners() {
    use crate::{snapshot::Protocol, verdict::Verdict};
    let listener = crate::snapshot::Listener {
        netns: 0,
        netns_name: None,
        netns_pid: None,
        protocol: Protocol::Tcp,
        family: 0,
        local: "0.0.0.0:0".parse().unwrap(),
        v6only: None,
        state: 0,
        inode: 0,
        uid: 0,
        owners: Vec::new(),
        verdict: Verdict {
            ipv4: false,
            ipv6: false,
            certain: false,
            reason: String::new(),
        },
    };
    let mut table = String::new();
    write_table(&mut table, &[&listener], Some(&[]));
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].contains("VERIFY"));
    assert!(rows[1].contains("  -  "), "{table:?}");
}

/// A process names itself (prctl PR_SET_NAME): a line break in its comm must not forge a row.
#[test]
fn a_comm_with_a_line_break_stays_on_its_row() {
    use crate::{
        snapshot::{Owner, Protocol},
        verdict::Verdict,
    };
    let listener = crate::snapshot::Listener {
        netns: 0,
        netns_name: None,
        netns_pid: None,
        protocol: Protocol::Tcp,
        family: 2,
        local: "0.0.0.0:22".parse().unwrap(),
        v6only: None,
        state: 10,
        inode: 1,
        uid: 0,
        owners: vec![Owner {
            pid: 7,
            comm: "x\npid 1  tcp    0.0.0.0:22".into(),
            fd: 3,
        }],
        verdict: Verdict {
            ipv4: true,
            ipv6: false,
            certain: true,
            reason: "r".into(),
        },
    };
    let mut table = String::new();
    write_table(&mut table, &[&listener], None);
    assert_eq!(table.lines().count(), 2, "{table:?}");
    assert!(table.contains(r"7/x\npid 1"), "{table:?}");
}
