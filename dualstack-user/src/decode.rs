//! Ring-buffer bytes to [`Event`]: a pure, total function. Checks the length and the kind,
//! copies fields with `read_unaligned`, and never panics on any input.

use std::{
    mem::size_of,
    net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6},
    ptr,
    time::Duration,
};

use dualstack_common::{
    args::{
        AcceptArgs, AddrArgs, Args, CloseArgs, ListenArgs, SetsockoptArgs, SocketArgs,
        SocketpairArgs,
    },
    EventHeader, KernelSock, ReadStatus, Sections as RecordSections, SockState, Syscall,
    TaskRecord, UserHeader, V6OnlySource, ABI_VERSION, ARGS, EVENT_HAS_KERNEL, EVENT_HAS_SOCK,
    EVENT_NO_BTF, EVENT_SOCK_BY_FD, EVENT_STATE_FULL, KSOCK_NO_BTF, KSOCK_READ, OPT_UNSET,
    SOCK_BOUND, SOCK_SEEN_CREATED, TASK_EXIT, TASK_FORK, TASK_GROUP_DEAD, TASK_RECORD_SIZE,
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

/// Decodes one call record (layout: [`dualstack_common::record_size`]).
pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
    let mut record = Sections::new(bytes);
    let header: EventHeader = record.take()?;
    let EventHeader {
        kind,
        version,
        flags,
        pid_tgid,
        ts_ns,
        enter_ts_ns,
        ret,
        comm,
    } = header;
    if version != ABI_VERSION {
        return Err(DecodeError::Version(version));
    }
    let syscall = Syscall::try_from(kind).map_err(|e| DecodeError::Kind(e.0))?;
    let mut args: Args = [0; ARGS];
    for arg in args.iter_mut().take(syscall.arg_count()) {
        *arg = record.take()?;
    }
    let sock: Option<SockState> = if flags & EVENT_HAS_SOCK != 0 {
        Some(record.take()?)
    } else {
        None
    };
    let kernel = if flags & EVENT_HAS_KERNEL != 0 {
        kernel_view(&record.take()?)
    } else if flags & EVENT_NO_BTF != 0 {
        KernelView::NoBtf
    } else {
        KernelView::NotRead
    };
    let (addr, data) = match syscall.sections() {
        RecordSections::None => (None, None),
        RecordSections::Addr => (Some(record.user()?), None),
        RecordSections::AddrAndLen => (Some(record.user()?), Some(record.user()?)),
        RecordSections::Data => (None, Some(record.user()?)),
    };
    let call = decode_call(syscall, &args, addr.as_ref(), data.as_ref());
    Ok(Event {
        pid: (pid_tgid >> 32) as u32,
        tid: pid_tgid as u32,
        comm: c_string(&comm),
        monotonic: Duration::from_nanos(ts_ns),
        // Calls that return at once carry no entry stamp: their exit time stands for it.
        entered: Duration::from_nanos(if enter_ts_ns == 0 { ts_ns } else { enter_ts_ns }),
        call,
        ret: Return::from_raw(ret),
        socket: sock.as_ref().map(socket_info),
        tracking: if flags & EVENT_STATE_FULL != 0 {
            Tracking::MapFull
        } else if flags & EVENT_SOCK_BY_FD != 0 {
            Tracking::Descriptor
        } else {
            Tracking::Socket
        },
        kernel,
    })
}

/// A user-memory section: what was read of the buffer a call pointed to.
struct UserSection<'a> {
    status: ReadStatus,
    bytes: &'a [u8],
}

/// Reads a record's parts in order, checking that each is there.
struct Sections<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Sections<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Sections { bytes, at: 0 }
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let want = self.at.saturating_add(n);
        let part = self.bytes.get(self.at..want).ok_or(DecodeError::Length {
            got: self.bytes.len(),
            want,
        })?;
        self.at = want;
        Ok(part)
    }

    /// The next `T`: plain data, valid for any bit pattern (the ABI types and integers).
    fn take<T: Copy>(&mut self) -> Result<T, DecodeError> {
        let part = self.bytes(size_of::<T>())?;
        // SAFETY: `part` holds size_of::<T>() bytes; T is plain #[repr(C)] data or an integer,
        // valid for any bit pattern; read_unaligned makes no alignment assumption.
        Ok(unsafe { ptr::read_unaligned(part.as_ptr().cast()) })
    }

    fn user(&mut self) -> Result<UserSection<'a>, DecodeError> {
        let header: UserHeader = self.take()?;
        let status =
            ReadStatus::try_from(u32::from(header.status)).map_err(DecodeError::ReadStatus)?;
        let bytes = self.bytes(usize::from(header.cap))?;
        let len = (header.len as usize).min(bytes.len());
        Ok(UserSection {
            status,
            bytes: &bytes[..len],
        })
    }
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

fn decode_call(
    syscall: Syscall,
    a: &Args,
    addr: Option<&UserSection>,
    data: Option<&UserSection>,
) -> Call {
    // Arguments are C ints and sizes: the kernel uses their low 32 bits.
    let int = |v: u64| v as i32;
    match syscall {
        Syscall::Socket => {
            let a = SocketArgs::of(a);
            Call::Socket {
                family: a.family,
                sock_type: a.sock_type as u32,
                protocol: a.protocol,
            }
        }
        Syscall::Socketpair => {
            let a = SocketpairArgs::of(a);
            Call::Socketpair {
                family: a.family as u32,
                sock_type: a.sock_type as u32,
                protocol: a.protocol as u32,
                sv: user_buf(a.sv, data),
            }
        }
        Syscall::Setsockopt => {
            let a = SetsockoptArgs::of(a);
            Call::Setsockopt {
                fd: int(a.fd),
                level: int(a.level),
                optname: int(a.optname),
                optval: user_buf(a.optval, data),
                optlen: int(a.optlen),
            }
        }
        Syscall::Bind => {
            let a = AddrArgs::of(a);
            Call::Bind {
                fd: int(a.fd),
                addr: user_buf(a.addr, addr),
                addrlen: int(a.addrlen),
            }
        }
        Syscall::Listen => {
            let a = ListenArgs::of(a);
            Call::Listen {
                fd: int(a.fd),
                backlog: int(a.backlog),
            }
        }
        Syscall::Connect => {
            let a = AddrArgs::of(a);
            Call::Connect {
                fd: int(a.fd),
                addr: user_buf(a.addr, addr),
                addrlen: int(a.addrlen),
            }
        }
        Syscall::Accept | Syscall::Accept4 => {
            let a = AcceptArgs::of(a);
            Call::Accept {
                fd: int(a.fd),
                addr: user_buf(a.addr, addr),
                addrlen: addr_len(a.addrlen, data),
                flags: (syscall == Syscall::Accept4).then(|| int(a.flags)),
            }
        }
        Syscall::Close => Call::Close {
            fd: int(CloseArgs::of(a).fd),
        },
    }
}

fn user_buf(ptr: u64, section: Option<&UserSection>) -> UserBuf {
    let read = match section.map(|s| (s.status, s.bytes)) {
        None | Some((ReadStatus::NotRead, _)) => UserRead::NotRead,
        Some((ReadStatus::Fault, _)) => UserRead::Fault,
        Some((ReadStatus::Ok, bytes)) => UserRead::Bytes(bytes.to_vec()),
    };
    UserBuf { ptr, read }
}

/// accept's addrlen: two u32, before and after the call.
fn addr_len(ptr: u64, section: Option<&UserSection>) -> AddrLen {
    let bytes = section
        .filter(|s| s.status == ReadStatus::Ok)
        .map_or(&[][..], |s| s.bytes);
    let word = |i: usize| {
        bytes
            .get(4 * i..4 * i + 4)
            .map(|w| u32::from_ne_bytes([w[0], w[1], w[2], w[3]]))
    };
    AddrLen {
        ptr,
        before: word(0),
        after: word(1),
    }
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

pub mod raw;
pub use raw::encode;

#[cfg(test)]
mod tests;
