use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

use super::*;
use crate::{
    clock::Clock,
    daemon::protocol::WireFormat,
    filter::Filter,
    model::{Call, Errno, Event, KernelSocket, KernelView, Return},
    pipeline::{holder::PortKey, Holder, HolderFinder, Pipeline, ProcessTree},
    schema::REASON_KERNEL,
    verdict::Verdict,
};

fn close(pid: u32) -> Event {
    Event {
        pid,
        tid: pid,
        comm: "t".into(),
        monotonic: Duration::ZERO,
        entered: Duration::ZERO,
        call: Call::Close { fd: 3 },
        ret: Return::Value(0),
        socket: None,
        kernel: KernelView::NotRead,
        tracking: crate::model::Tracking::Socket,
    }
}

/// A bind of a TCP socket to port 8080 refused with EADDRINUSE.
fn refused_bind(pid: u32) -> Event {
    // struct sockaddr_in for 0.0.0.0:8080.
    let mut sin = vec![0u8; 16];
    sin[..2].copy_from_slice(&crate::sockaddr::AF_INET.to_ne_bytes());
    sin[2..4].copy_from_slice(&8080u16.to_be_bytes());
    Event {
        call: Call::Bind {
            fd: 3,
            addr: crate::model::UserBuf {
                ptr: 0x1000,
                read: crate::model::UserRead::Bytes(sin),
            },
            addrlen: 16,
        },
        ret: Return::Error(Errno(98)),
        kernel: KernelView::Read(KernelSocket {
            netns: 1,
            inode: 2,
            family: crate::sockaddr::AF_INET,
            sock_type: 1,
            state: 7,
            v6only: false,
            netns_bindv6only: false,
            local: None,
        }),
        ..close(pid)
    }
}

fn pipeline(lookup: crate::pipeline::holder::LookupFn) -> Pipeline {
    Pipeline::with_parts(
        Clock::fixed(0),
        None,
        HolderFinder::with_lookup(lookup),
        ProcessTree::told(),
    )
}

fn no_lookup(_: PortKey) -> Option<Holder> {
    None
}

fn hub() -> (Hub, Arc<Metrics>, Pipeline) {
    let metrics = Arc::new(Metrics::default());
    (
        Hub::new(Arc::clone(&metrics), None),
        metrics,
        pipeline(no_lookup),
    )
}

fn client(
    hub: &mut Hub,
    id: u64,
    queue: usize,
    selection: Option<Selection>,
) -> (Arc<ClientShared>, mpsc::Receiver<Item>) {
    let shared = Arc::new(ClientShared::new(id, "unix", "test".into()));
    let (tx, rx) = mpsc::channel(queue);
    hub.control(Control::Register {
        shared: Arc::clone(&shared),
        tx,
        selection,
    });
    (shared, rx)
}

fn owed(shared: &ClientShared) -> Vec<serde_json::Value> {
    shared
        .take_owed()
        .map(|line| serde_json::from_slice(&line).unwrap())
        .collect()
}

fn only_pid(pid: u32, format: WireFormat) -> Selection {
    Selection {
        filter: Filter {
            pids: BTreeSet::from([pid]),
            ..Filter::default()
        },
        format,
    }
}

#[test]
fn a_full_queue_costs_its_client_only_and_is_owed() {
    let (mut hub, metrics, mut pipeline) = hub();
    let (slow, mut slow_rx) = client(&mut hub, 1, 2, Some(only_pid(7, WireFormat::Strace)));
    let (roomy, mut roomy_rx) = client(&mut hub, 2, 100, Some(Selection::default()));
    for pid in [7, 7, 8, 7, 7, 7] {
        hub.publish(pipeline.record(close(pid)));
    }
    let mut got = Vec::new();
    while let Ok(Item::Record(r)) = slow_rx.try_recv() {
        got.push(String::from_utf8(WireFormat::Strace.render(&r).to_vec()).unwrap());
    }
    assert_eq!(got.len(), 2);
    assert!(got[0].starts_with("[pid     7] close(3)"), "{got:?}");
    assert_eq!(slow.drops(), 3);
    let lost = owed(&slow);
    assert_eq!(lost.len(), 1);
    assert_eq!(
        (lost[0]["count"].as_u64(), lost[0]["reason"].as_str()),
        (Some(3), Some(REASON_SLOW))
    );
    assert!(owed(&slow).is_empty(), "a loss is reported once");
    let mut n = 0;
    while let Ok(Item::Record(r)) = roomy_rx.try_recv() {
        assert!(WireFormat::Json
            .render(&r)
            .starts_with(br#"{"type":"event""#));
        n += 1;
    }
    assert_eq!((n, roomy.drops()), (6, 0));
    assert_eq!(metrics.client_drops.get(), 3);
    assert_eq!(metrics.events(dualstack_common::Syscall::Close), 6);
}

#[test]
fn a_pid_filter_keeps_descendants() {
    let (mut hub, _, _) = hub();
    let mut pipeline = pipeline(no_lookup).keep_lineage();
    pipeline.task(crate::decode::TaskChange::Fork {
        parent: 7,
        parent_pid: 7,
        child: 70,
    });
    pipeline.task(crate::decode::TaskChange::Fork {
        parent: 70,
        parent_pid: 70,
        child: 700,
    });
    let (_c, mut rx) = client(&mut hub, 1, 10, Some(only_pid(7, WireFormat::Json)));
    for pid in [7, 8, 70, 700] {
        hub.publish(pipeline.record(close(pid)));
    }
    let mut pids = Vec::new();
    while let Ok(Item::Record(r)) = rx.try_recv() {
        pids.push(r.event.pid);
    }
    assert_eq!(pids, [7, 70, 700]);
}

#[test]
fn undecided_clients_get_every_event_and_everyone_hears_of_kernel_drops() {
    let (mut hub, metrics, mut pipeline) = hub();
    let (pending, mut rx) = client(&mut hub, 1, 10, None);
    hub.publish(pipeline.record(close(1)));
    hub.publish(pipeline.record(close(2)));
    assert!(matches!(rx.try_recv(), Ok(Item::Undecided(r)) if r.event.pid == 1));
    assert!(matches!(rx.try_recv(), Ok(Item::Undecided(r)) if r.event.pid == 2));
    hub.kernel_lost(KernelLoss::RingFull, 4);
    let lost = owed(&pending);
    assert_eq!(
        (lost[0]["count"].as_u64(), lost[0]["reason"].as_str()),
        (Some(4), Some(REASON_KERNEL))
    );
    assert_eq!(metrics.kernel_drops.get(), 4);
}

/// Each kernel loss reaches every client under its own reason and its own metric; only ring
/// drops count as dropped events.
#[test]
fn each_kernel_loss_is_told_under_its_reason() {
    let (mut hub, metrics, _pipeline) = hub();
    let (pending, _rx) = client(&mut hub, 1, 10, None);
    hub.kernel_lost(KernelLoss::StateFull, 2);
    hub.kernel_lost(KernelLoss::UserFault, 3);
    hub.kernel_lost(KernelLoss::NoEntry, 1);
    let lost: Vec<_> = owed(&pending)
        .iter()
        .map(|l| {
            (
                l["count"].as_u64().unwrap(),
                l["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        lost,
        [
            (2, "socket state map full".to_owned()),
            (3, "user memory unreadable".to_owned()),
            (1, "call entry not seen".to_owned()),
        ]
    );
    assert_eq!(metrics.kernel_drops.get(), 0);
    let text = metrics.render(false);
    for line in [
        "dualstack_kernel_losses_total{reason=\"ring_full\"} 0",
        "dualstack_kernel_losses_total{reason=\"state_map_full\"} 2",
        "dualstack_kernel_losses_total{reason=\"user_memory_unreadable\"} 3",
        "dualstack_kernel_losses_total{reason=\"entry_not_seen\"} 1",
    ] {
        assert!(text.contains(line), "{line} not in:\n{text}");
    }
}

#[test]
fn events_lost_before_the_filter_is_known_count_only_if_the_filter_wants_them() {
    let (mut hub, metrics, mut pipeline) = hub();
    let (early, mut rx) = client(&mut hub, 1, 2, None);
    for pid in [7, 8, 7, 8, 7] {
        hub.publish(pipeline.record(close(pid)));
    }
    hub.control(Control::Decide {
        id: 1,
        selection: only_pid(7, WireFormat::Json),
    });
    // The queue kept pids 7 and 8; of the three it had no room for, two were 7.
    let lost = owed(&early);
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(
        (lost[0]["count"].as_u64(), lost[0]["reason"].as_str()),
        (Some(2), Some(REASON_EARLY))
    );
    assert_eq!((early.drops(), metrics.client_drops.get()), (2, 2));
    // Once decided, a full queue is the client's own slowness.
    hub.publish(pipeline.record(close(7)));
    assert!(matches!(rx.try_recv(), Ok(Item::Undecided(_))));
    assert_eq!(
        owed(&early)[0]["reason"].as_str(),
        Some(REASON_SLOW),
        "the queue still held one event and had no room for the new one"
    );
}

#[test]
fn clients_whose_queue_closed_are_forgotten() {
    let (mut hub, metrics, _) = hub();
    let (_shared, rx) = client(&mut hub, 1, 10, Some(Selection::default()));
    let (_kept, _kept_rx) = client(&mut hub, 2, 10, Some(Selection::default()));
    assert_eq!(metrics.clients_connected(), 2);
    drop(rx);
    hub.publish(pipeline(no_lookup).record(close(1)));
    assert_eq!(metrics.clients_connected(), 1);
    hub.control(Control::Remove { id: 2 });
    assert_eq!(metrics.clients_connected(), 0);
}

/// How long the stand-in holder lookup takes: a netns that answers slowly.
const SLOW_LOOKUP: Duration = Duration::from_millis(400);

#[allow(clippy::unnecessary_wraps)] // the shape of a lookup
fn slow_lookup(_: PortKey) -> Option<Holder> {
    std::thread::sleep(SLOW_LOOKUP);
    Some(Holder {
        pid: Some(42),
        comm: Some("holder".into()),
        fd: Some(5),
        family: crate::sockaddr::AF_INET,
        local: "0.0.0.0:8080".parse().unwrap(),
        v6only: None,
        state: "LISTEN",
        verdict: Verdict {
            ipv4: true,
            ipv6: false,
            certain: true,
            reason: "AF_INET socket on 0.0.0.0:8080 -> accepts IPv4".into(),
        },
    })
}

/// A holder lookup that takes 400 ms holds neither the hub nor the clients that do not want
/// the refused bind: their events arrive at once. The client that wants it gets it, in order,
/// with its holder, once the lookup is done.
#[test]
fn a_slow_holder_lookup_delays_only_the_clients_that_want_that_event() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let metrics = Arc::new(Metrics::default());
        let mut hub = Hub::new(Arc::clone(&metrics), None);
        let mut pipeline = pipeline(slow_lookup);
        let failed = Selection {
            filter: Filter {
                failed_only: true,
                ..Filter::default()
            },
            format: WireFormat::Json,
        };
        let (_w, mut waiting) = client(&mut hub, 1, 100, Some(failed));
        let (_o, mut other) = client(&mut hub, 2, 100, Some(only_pid(8, WireFormat::Strace)));
        let start = Instant::now();
        hub.publish(pipeline.record(refused_bind(7)));
        for _ in 0..100 {
            hub.publish(pipeline.record(close(8)));
        }
        let published = start.elapsed();
        // The other client writes its 100 lines now.
        let mut lines = 0;
        while let Ok(Item::Record(r)) = other.try_recv() {
            assert!(r.is_settled());
            assert!(WireFormat::Strace
                .render(&r)
                .starts_with(b"[pid     8] close(3)"));
            lines += 1;
        }
        let other_latency = start.elapsed();
        assert_eq!(lines, 100);
        assert!(
            published < SLOW_LOOKUP / 4 && other_latency < SLOW_LOOKUP / 4,
            "publishing took {published:?}, the other client had its lines after \
             {other_latency:?}: the lookup took {SLOW_LOOKUP:?}"
        );
        // The waiting client's writer waits for the holder.
        let Ok(Item::Record(r)) = waiting.try_recv() else {
            panic!("the refused bind was not queued")
        };
        assert!(!r.is_settled(), "the lookup cannot be done yet");
        tokio::time::timeout(SLOW_LOOKUP * 5, r.settled())
            .await
            .expect("the lookup ends");
        let line: serde_json::Value = serde_json::from_slice(&WireFormat::Json.render(&r)).unwrap();
        assert_eq!(line["holder"]["pid"], 42, "{line}");
        assert!(start.elapsed() >= SLOW_LOOKUP);
    });
}
