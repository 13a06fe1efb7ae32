//! Which calls are traced: the filters that can run in the kernel do, so that unwanted calls
//! cost no ring space.

use core::mem::MaybeUninit;

use aya_ebpf::helpers::generated::bpf_get_current_comm;
use dualstack_common::{
    ReadStatus, Sections, Syscall, COMM_LEN, KSOCK_NO_BTF, KSOCK_READ, SOCK_SEEN_CREATED,
};

use crate::{
    maps::{config, TRACED},
    record::Call,
};

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// Is this task traced at all? (The tracer itself never is.)
#[inline(always)]
pub fn task_wanted(pid_tgid: u64) -> bool {
    let cfg = config();
    let tgid = (pid_tgid >> 32) as u32;
    if tgid == cfg.tracer_tgid {
        return false;
    }
    // SAFETY: the value is only tested for presence.
    if cfg.follow != 0 && unsafe { TRACED.get(&tgid) }.is_none() {
        return false;
    }
    if cfg.filter_comm != 0 {
        // Read into uninitialised words: aya's wrapper zeroes its buffer with a memset call.
        let mut comm = MaybeUninit::<[u64; COMM_LEN / 8]>::uninit();
        // SAFETY: the helper fills the 16 bytes (with zeroes when it fails).
        let comm = unsafe {
            if bpf_get_current_comm(comm.as_mut_ptr().cast(), COMM_LEN as u32) != 0 {
                return false;
            }
            comm.assume_init()
        };
        let want = cfg.comm.as_ptr().cast::<[u64; COMM_LEN / 8]>();
        // SAFETY: `cfg.comm` holds COMM_LEN bytes; read_unaligned makes no alignment claim.
        return comm == unsafe { want.read_unaligned() };
    }
    true
}

/// Does the completed call pass the syscall, result, family and port filters? They apply after
/// the state was updated: a filtered-out call still changes what is known of its socket.
///
/// A subprogram returning 0 or 1: however many ways the filters branch, the dispatcher
/// continues from two states, not one per branch (which the verifier would follow each).
#[inline(never)]
pub fn call_wanted(call: &Call) -> u32 {
    u32::from(wanted(call))
}

#[inline(always)]
fn wanted(call: &Call) -> bool {
    let cfg = config();
    if cfg.syscall_mask.checked_shr(call.kind as u32).unwrap_or(0) & 1 == 0 {
        return false;
    }
    if cfg.failed_only != 0 && call.ret >= 0 {
        return false;
    }
    if call.kind == Syscall::Close && cfg.every_close == 0 && !closes_socket(call) {
        return false;
    }
    if cfg.family != 0 && u32::from(call_family(call)) != cfg.family {
        return false;
    }
    if cfg.port != 0 {
        let port = cfg.port as u16;
        let addr_port = address(call).and_then(inet_port);
        let bound_port = (call.has_sock && call.sock.bound_len >= 4)
            .then(|| inet_port(&call.sock.bound))
            .flatten();
        let local_port = (call.kernel.flags & KSOCK_READ != 0
            && (call.kernel.family == AF_INET || call.kernel.family == AF_INET6))
            .then_some(call.kernel.port);
        return addr_port == Some(port) || bound_port == Some(port) || local_port == Some(port);
    }
    true
}

/// The sockaddr the call carried, when it was read (at least its family and port).
fn address(call: &Call) -> Option<&[u8]> {
    let has_addr = matches!(call.kind.sections(), Sections::Addr | Sections::AddrAndLen);
    (has_addr && call.user.status == ReadStatus::Ok as u16 && call.user.len >= 4)
        .then_some(&call.user.bytes[..4])
}

/// Whether a close is of a socket: the kernel said so at entry, or, without BTF, the
/// descriptor has socket state.
fn closes_socket(call: &Call) -> bool {
    call.kernel.flags & KSOCK_READ != 0 || (call.kernel.flags & KSOCK_NO_BTF != 0 && call.has_sock)
}

/// The address family a call concerns, or 0 when unknown: the kernel's socket first (it is
/// right for inherited, passed and pre-existing sockets), then what the tracer saw.
fn call_family(call: &Call) -> u16 {
    if call.kernel.flags & KSOCK_READ != 0 {
        return call.kernel.family;
    }
    if call.has_sock && call.sock.flags & SOCK_SEEN_CREATED != 0 {
        return call.sock.family;
    }
    if call.kind == Syscall::Socket || call.kind == Syscall::Socketpair {
        return call.args[0] as u16;
    }
    match address(call) {
        Some(b) => u16::from_ne_bytes([b[0], b[1]]),
        None => 0,
    }
}

/// The port of an AF_INET or AF_INET6 sockaddr (network order in bytes 2..4).
fn inet_port(sockaddr: &[u8]) -> Option<u16> {
    if sockaddr.len() < 4 {
        return None;
    }
    let family = u16::from_ne_bytes([sockaddr[0], sockaddr[1]]);
    (family == AF_INET || family == AF_INET6)
        .then(|| u16::from_be_bytes([sockaddr[2], sockaddr[3]]))
}
