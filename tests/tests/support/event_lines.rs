//! Known event lines for the event log and export tests. Each is made by the tracer's own
//! strace and JSON writers from a described call, so that the tests run on exactly the lines
//! the daemon logs, and each description says which filters it passes.

use std::time::Duration;

use dualstack::{
    clock::Clock,
    model::{Call, Errno, Event, KernelView, Return, SocketInfo, UserBuf, UserRead},
    pipeline::Pipeline,
    sockaddr::{SockAddr, AF_INET, AF_INET6},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Socket,
    Bind,
    Listen,
    Close,
}

/// One logged call.
#[derive(Clone, Debug)]
pub struct Spec {
    pub pid: u32,
    pub tid: u32,
    pub comm: &'static str,
    pub kind: Kind,
    pub family: u16,
    pub port: u16,
    pub errno: Option<i32>,
}

pub const COMMS: [&str; 3] = ["sshd", "nginx", "python3"];

impl Spec {
    pub fn syscall(&self) -> &'static str {
        match self.kind {
            Kind::Socket => "socket",
            Kind::Bind => "bind",
            Kind::Listen => "listen",
            Kind::Close => "close",
        }
    }

    /// Does the logged line carry this port? (bind's address, listen's bound address.)
    pub fn has_port(&self, port: u16) -> bool {
        matches!(self.kind, Kind::Bind | Kind::Listen) && self.port == port
    }

    /// Does the logged line carry this family? (close knows none.)
    pub fn has_family(&self, family: u16) -> bool {
        self.kind != Kind::Close && self.family == family
    }

    pub fn failed(&self) -> bool {
        self.errno.is_some()
    }
}

/// `n` calls: socket, bind, listen, close in turn, from three processes (with a second thread
/// each), both families, five ports, and a failed bind now and then.
pub fn specs(n: usize) -> Vec<Spec> {
    (0..n)
        .map(|i| {
            let group = i / 4;
            let process = (group % 3) as u32;
            let kind = [Kind::Socket, Kind::Bind, Kind::Listen, Kind::Close][i % 4];
            Spec {
                pid: 1000 + process,
                tid: 1000 + process + 100 * ((group / 3) % 2) as u32,
                comm: COMMS[process as usize],
                kind,
                family: if group % 2 == 0 { AF_INET6 } else { AF_INET },
                port: 8000 + (group % 5) as u16,
                errno: (kind == Kind::Bind && group % 7 == 3).then_some(98),
            }
        })
        .collect()
}

fn sockaddr(family: u16, port: u16) -> Vec<u8> {
    let mut b = vec![0u8; if family == AF_INET6 { 28 } else { 16 }];
    b[..2].copy_from_slice(&family.to_ne_bytes());
    b[2..4].copy_from_slice(&port.to_be_bytes());
    b
}

/// The i-th call as the tracer logs it, with its newline.
pub fn line(i: usize, spec: &Spec) -> String {
    let ret = match spec.errno {
        Some(errno) => Return::Error(Errno(errno)),
        None if spec.kind == Kind::Socket => Return::Value(3),
        None => Return::Value(0),
    };
    let (call, socket) = match spec.kind {
        Kind::Socket => (
            Call::Socket {
                family: u64::from(spec.family),
                sock_type: 1,
                protocol: 0,
            },
            None,
        ),
        Kind::Bind => {
            let bytes = sockaddr(spec.family, spec.port);
            let addrlen = bytes.len() as i32;
            let addr = UserBuf {
                ptr: 0x7ffc_0000_1000,
                read: UserRead::Bytes(bytes),
            };
            (
                Call::Bind {
                    fd: 3,
                    addr,
                    addrlen,
                },
                None,
            )
        }
        Kind::Listen => (
            Call::Listen {
                fd: 3,
                backlog: 128,
            },
            Some(SocketInfo {
                family: Some(spec.family),
                sock_type: Some(1),
                bound: Some(SockAddr::parse(&sockaddr(spec.family, spec.port))),
                ..SocketInfo::default()
            }),
        ),
        Kind::Close => (Call::Close { fd: 3 }, None),
    };
    let event = Event {
        pid: spec.pid,
        tid: spec.tid,
        comm: spec.comm.into(),
        monotonic: Duration::from_millis(i as u64),
        entered: Duration::from_millis(i as u64),
        call,
        ret,
        socket,
        tracking: dualstack::model::Tracking::Socket,
        kernel: KernelView::NotRead,
    };
    let mut out = Vec::new();
    let clock = Clock::fixed(1_795_982_462_000_000_000);
    Pipeline::offline(clock, Some(false))
        .record(event)
        .write_json(&mut out);
    String::from_utf8(out).expect("the JSON writer writes UTF-8")
}

/// `n` known lines and their descriptions.
pub fn known_lines(n: usize) -> (Vec<Spec>, Vec<String>) {
    let specs = specs(n);
    let lines = specs.iter().enumerate().map(|(i, s)| line(i, s)).collect();
    (specs, lines)
}
