//! Ring-buffer bytes to [`Event`]: a pure, total function. Checks the length and the kind,
//! copies fields with `read_unaligned`, and never panics on any input.

use std::{
    mem::size_of,
    net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6},
    ptr,
    time::Duration,
};

use dualstack_common::{
    EventHeader, KernelSock, ReadStatus, SockState, Syscall, SyscallEvent, TaskRecord, UserBytes,
    V6OnlySource, ABI_VERSION, EVENT_HAS_SOCK, EVENT_SIZE, EVENT_SOCK_BY_FD, EVENT_STATE_FULL,
    KSOCK_NO_BTF, KSOCK_READ, OPT_UNSET, SOCK_BOUND, SOCK_SEEN_CREATED, TASK_EXIT, TASK_FORK,
    TASK_GROUP_DEAD, TASK_RECORD_SIZE,
};

use crate::{
    model::{
        AddrLen, Call, Event, KernelSocket, KernelView, Return, SocketInfo, Tracking, UserBuf,
        UserRead,
    },
    sockaddr::{SockAddr, AF_INET, AF_INET6},
};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("record of {got} bytes, expected {want}")]
    Length { got: usize, want: usize },
    #[error("unknown syscall kind {0}")]
    Kind(u32),
    #[error("event ABI version {0}, this build reads version {ABI_VERSION}")]
    Version(u16),
    #[error("invalid read status {0}")]
    ReadStatus(u32),
}

/// A follow-mode record: a task of a followed process started or ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskChange {
    /// Thread `parent` of process `parent_pid` started task `child` (a process or a thread).
    Fork {
        parent: u32,
        parent_pid: u32,
        child: u32,
    },
    /// Task `tid` of process `pid` ended; `process_gone` when it was the last of its process.
    Exit {
        pid: u32,
        tid: u32,
        process_gone: bool,
    },
}

/// The task change a ring-buffer record holds, or None when it holds a syscall event (or
/// nothing valid: [`decode`] then says why).
pub fn task_change(bytes: &[u8]) -> Option<TaskChange> {
    let kind = u32::from_ne_bytes(bytes.get(..4)?.try_into().ok()?);
    if (kind != TASK_FORK && kind != TASK_EXIT) || bytes.len() < TASK_RECORD_SIZE {
        return None;
    }
    // SAFETY: the length was checked; TaskRecord is plain data valid for any bit pattern.
    let raw: TaskRecord = unsafe { ptr::read_unaligned(bytes.as_ptr().cast()) };
    if raw.version != ABI_VERSION {
        return None;
    }
    Some(if kind == TASK_FORK {
        TaskChange::Fork {
            parent: raw.pid_tgid as u32,
            parent_pid: (raw.pid_tgid >> 32) as u32,
            child: raw.child,
        }
    } else {
        TaskChange::Exit {
            pid: (raw.pid_tgid >> 32) as u32,
            tid: raw.pid_tgid as u32,
            process_gone: raw.flags & TASK_GROUP_DEAD != 0,
        }
    })
}

/// Decodes one ring-buffer record.
pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
    if bytes.len() < EVENT_SIZE {
        return Err(DecodeError::Length {
            got: bytes.len(),
            want: EVENT_SIZE,
        });
    }
    // SAFETY: the length was checked; SyscallEvent is plain data valid for any bit pattern, and
    // read_unaligned copies it out without assuming alignment.
    let raw: SyscallEvent = unsafe { ptr::read_unaligned(bytes.as_ptr().cast()) };
    let EventHeader {
        kind,
        version,
        flags,
        pid_tgid,
        ts_ns,
        enter_ts_ns,
        ret,
        comm,
    } = raw.header;
    if version != ABI_VERSION {
        return Err(DecodeError::Version(version));
    }
    let syscall = Syscall::try_from(kind).map_err(|e| DecodeError::Kind(e.0))?;
    let call = decode_call(syscall, &raw)?;
    let socket = (flags & EVENT_HAS_SOCK != 0).then(|| socket_info(&raw.sock));
    Ok(Event {
        pid: (pid_tgid >> 32) as u32,
        tid: pid_tgid as u32,
        comm: c_string(&comm),
        monotonic: Duration::from_nanos(ts_ns),
        entered: Duration::from_nanos(enter_ts_ns),
        call,
        ret: Return::from_raw(ret),
        socket,
        tracking: if flags & EVENT_STATE_FULL != 0 {
            Tracking::MapFull
        } else if flags & EVENT_SOCK_BY_FD != 0 {
            Tracking::Descriptor
        } else {
            Tracking::Socket
        },
        kernel: kernel_view(&raw.kernel),
    })
}

fn kernel_view(k: &KernelSock) -> KernelView {
    if k.flags & KSOCK_READ == 0 {
        return if k.flags & KSOCK_NO_BTF == 0 {
            KernelView::NotRead
        } else {
            KernelView::NoBtf
        };
    }
    let local = match k.family {
        AF_INET => Some(SocketAddr::from((Ipv4Addr::from(k.v4), k.port))),
        AF_INET6 => Some(SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::from(k.v6),
            k.port,
            0,
            0,
        ))),
        _ => None,
    };
    KernelView::Read(KernelSocket {
        netns: k.netns,
        inode: k.ino,
        family: k.family,
        sock_type: k.sock_type,
        state: k.state,
        v6only: k.ipv6only != 0,
        netns_bindv6only: k.netns_bindv6only != 0,
        local,
    })
}

const _: () = assert!(size_of::<SyscallEvent>() == EVENT_SIZE);

fn decode_call(syscall: Syscall, raw: &SyscallEvent) -> Result<Call, DecodeError> {
    let a = raw.args;
    // Arguments are C ints and sizes: the kernel uses their low 32 bits.
    let int = |i: usize| a[i] as i32;
    let addr = || user_buf(a[1], &raw.addr);
    Ok(match syscall {
        Syscall::Socket => Call::Socket {
            family: a[0],
            sock_type: a[1] as u32,
            protocol: a[2],
        },
        Syscall::Socketpair => Call::Socketpair {
            family: a[0] as u32,
            sock_type: a[1] as u32,
            protocol: a[2] as u32,
            sv: user_buf(a[3], &raw.data)?,
        },
        Syscall::Setsockopt => Call::Setsockopt {
            fd: int(0),
            level: int(1),
            optname: int(2),
            optval: user_buf(a[3], &raw.data)?,
            optlen: int(4),
        },
        Syscall::Bind => Call::Bind {
            fd: int(0),
            addr: addr()?,
            addrlen: int(2),
        },
        Syscall::Listen => Call::Listen {
            fd: int(0),
            backlog: int(1),
        },
        Syscall::Connect => Call::Connect {
            fd: int(0),
            addr: addr()?,
            addrlen: int(2),
        },
        Syscall::Accept | Syscall::Accept4 => Call::Accept {
            fd: int(0),
            addr: addr()?,
            addrlen: addr_len(a[2], &raw.data)?,
            flags: (syscall == Syscall::Accept4).then(|| int(3)),
        },
        Syscall::Close => Call::Close { fd: int(0) },
    })
}

fn user_buf<const N: usize>(ptr: u64, bytes: &UserBytes<N>) -> Result<UserBuf, DecodeError> {
    let status = ReadStatus::try_from(bytes.status).map_err(DecodeError::ReadStatus)?;
    let read = match status {
        ReadStatus::NotRead => UserRead::NotRead,
        ReadStatus::Fault => UserRead::Fault,
        ReadStatus::Ok => UserRead::Bytes(bytes.bytes[..(bytes.len as usize).min(N)].to_vec()),
    };
    Ok(UserBuf { ptr, read })
}

/// accept's addrlen: two u32 in `data`, before and after the call.
fn addr_len<const N: usize>(ptr: u64, data: &UserBytes<N>) -> Result<AddrLen, DecodeError> {
    let buf = user_buf(ptr, data)?;
    let word = |i: usize| {
        buf.bytes()
            .and_then(|b| b.get(4 * i..4 * i + 4))
            .map(|w| u32::from_ne_bytes([w[0], w[1], w[2], w[3]]))
    };
    Ok(AddrLen {
        ptr,
        before: word(0),
        after: word(1),
    })
}

fn option(raw: u8) -> Option<bool> {
    (raw != OPT_UNSET).then_some(raw != 0)
}

fn socket_info(s: &SockState) -> SocketInfo {
    let created = s.flags & SOCK_SEEN_CREATED != 0;
    let bound_len = (s.bound_len as usize).min(s.bound.len());
    SocketInfo {
        family: created.then_some(s.family),
        sock_type: created.then_some(s.sock_type),
        protocol: created.then_some(s.protocol),
        v6only: option(s.v6only),
        v6only_source: V6OnlySource::try_from(s.v6only_source)
            .ok()
            .filter(|s| *s != V6OnlySource::Unknown),
        reuseaddr: option(s.reuseaddr),
        reuseport: option(s.reuseport),
        freebind: option(s.freebind),
        transparent: option(s.transparent),
        bind_device: (s.bind_device[0] != 0).then(|| c_string(&s.bind_device)),
        bound: (s.flags & SOCK_BOUND != 0).then(|| SockAddr::parse(&s.bound[..bound_len])),
    }
}

/// Text up to the first NUL, with invalid UTF-8 replaced.
fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Bytes of a raw event, for tests and fuzzing: the exact layout the kernel writes.
pub fn encode(raw: &SyscallEvent) -> Vec<u8> {
    // SAFETY: SyscallEvent is #[repr(C)] plain data with explicit padding (no uninit bytes).
    let bytes = unsafe { std::slice::from_raw_parts(ptr::from_ref(raw).cast::<u8>(), EVENT_SIZE) };
    bytes.to_vec()
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
