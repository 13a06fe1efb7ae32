//! Which calls are traced: the filters that can run in the kernel do, so that unwanted calls
//! cost no ring space.

use aya_ebpf::helpers::bpf_get_current_comm;
use dualstack_common::{
    PendingCall, ReadStatus, SockState, Syscall, KSOCK_NO_BTF, KSOCK_READ, SOCK_SEEN_CREATED,
};

use crate::maps::{config, TRACED};

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// At syscall entry: is this task traced at all?
#[inline(always)]
pub fn task_wanted(pid_tgid: u64) -> bool {
    let cfg = config();
    let tgid = (pid_tgid >> 32) as u32;
    // The syscall mask is applied at exit: filtered calls must still update socket state.
    if tgid == cfg.tracer_tgid {
        return false;
    }
    // SAFETY: the value is only tested for presence.
    if cfg.follow != 0 && unsafe { TRACED.get(&tgid) }.is_none() {
        return false;
    }
    if cfg.filter_comm != 0 {
        let Ok(comm) = bpf_get_current_comm() else {
            return false;
        };
        return comm == cfg.comm;
    }
    true
}

/// At syscall exit: does the completed call pass the result, family and port filters?
#[inline(always)]
pub fn call_wanted(call: &PendingCall, ret: i64, sock: Option<&SockState>) -> bool {
    let cfg = config();
    if cfg.syscall_mask.checked_shr(call.kind).unwrap_or(0) & 1 == 0 {
        return false;
    }
    if cfg.failed_only != 0 && ret >= 0 {
        return false;
    }
    if call.kind == Syscall::Close as u32 && cfg.every_close == 0 && !closes_socket(call, sock) {
        return false;
    }
    if cfg.family != 0 && u32::from(call_family(call, sock)) != cfg.family {
        return false;
    }
    if cfg.port != 0 {
        let port = cfg.port as u16;
        let addr_port = (call.addr.status == ReadStatus::Ok as u32 && call.addr.len >= 4)
            .then(|| inet_port(&call.addr.bytes))
            .flatten();
        let bound_port = sock
            .filter(|s| s.bound_len >= 4)
            .and_then(|s| inet_port(&s.bound));
        let local_port = (call.kernel.flags & KSOCK_READ != 0
            && (call.kernel.family == AF_INET || call.kernel.family == AF_INET6))
            .then_some(call.kernel.port);
        return addr_port == Some(port) || bound_port == Some(port) || local_port == Some(port);
    }
    true
}

/// Whether a close is of a socket: the kernel said so at entry, or, without BTF, the
/// descriptor has socket state.
fn closes_socket(call: &PendingCall, sock: Option<&SockState>) -> bool {
    call.kernel.flags & KSOCK_READ != 0 || (call.kernel.flags & KSOCK_NO_BTF != 0 && sock.is_some())
}

/// The address family a call concerns, or 0 when unknown: the kernel's socket first (it is
/// right for inherited, passed and pre-existing sockets), then what the tracer saw.
fn call_family(call: &PendingCall, sock: Option<&SockState>) -> u16 {
    if call.kernel.flags & KSOCK_READ != 0 {
        return call.kernel.family;
    }
    if let Some(s) = sock.filter(|s| s.flags & SOCK_SEEN_CREATED != 0) {
        return s.family;
    }
    if call.kind == Syscall::Socket as u32 || call.kind == Syscall::Socketpair as u32 {
        return call.args[0] as u16;
    }
    if call.addr.status == ReadStatus::Ok as u32 && call.addr.len >= 2 {
        return u16::from_ne_bytes([call.addr.bytes[0], call.addr.bytes[1]]);
    }
    0
}

/// The port of an AF_INET or AF_INET6 sockaddr (network order in bytes 2..4).
fn inet_port(sockaddr: &[u8]) -> Option<u16> {
    let family = u16::from_ne_bytes([sockaddr[0], sockaddr[1]]);
    (family == AF_INET || family == AF_INET6)
        .then(|| u16::from_be_bytes([sockaddr[2], sockaddr[3]]))
}
