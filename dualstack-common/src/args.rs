//! Typed views of each traced syscall's arguments: the one place that names their positions.
//!
//! The kernel programs fill an [`Args`] from the saved registers at syscall exit, and the record
//! carries its first [`crate::Syscall::arg_count`] words; the decoder rebuilds the same [`Args`]
//! from them. Both then read the arguments through these views. Values stay as the registers
//! held them (u64): a C `int` is its low 32 bits, which the reader takes where strace does.

/// The syscall's argument registers in order (x86_64: di, si, dx, r10, r8, r9).
pub type Args = [u64; crate::ARGS];

/// `socket(family, type, protocol)`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketArgs {
    pub family: u64,
    pub sock_type: u64,
    pub protocol: u64,
}

/// `socketpair(family, type, protocol, sv)`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketpairArgs {
    pub family: u64,
    pub sock_type: u64,
    pub protocol: u64,
    pub sv: u64,
}

/// `setsockopt(fd, level, optname, optval, optlen)`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetsockoptArgs {
    pub fd: u64,
    pub level: u64,
    pub optname: u64,
    pub optval: u64,
    pub optlen: u64,
}

/// `bind(fd, addr, addrlen)` and `connect(fd, addr, addrlen)`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrArgs {
    pub fd: u64,
    pub addr: u64,
    pub addrlen: u64,
}

/// `listen(fd, backlog)`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenArgs {
    pub fd: u64,
    pub backlog: u64,
}

/// `accept(fd, addr, addrlen)` and `accept4(fd, addr, addrlen, flags)`; `addrlen` points to
/// the length, which the call overwrites. `flags` is 0 for accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcceptArgs {
    pub fd: u64,
    pub addr: u64,
    pub addrlen: u64,
    pub flags: u64,
}

/// `close(fd)`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseArgs {
    pub fd: u64,
}

impl SocketArgs {
    pub const fn of(a: &Args) -> Self {
        SocketArgs {
            family: a[0],
            sock_type: a[1],
            protocol: a[2],
        }
    }
}

impl SocketpairArgs {
    pub const fn of(a: &Args) -> Self {
        SocketpairArgs {
            family: a[0],
            sock_type: a[1],
            protocol: a[2],
            sv: a[3],
        }
    }
}

impl SetsockoptArgs {
    pub const fn of(a: &Args) -> Self {
        SetsockoptArgs {
            fd: a[0],
            level: a[1],
            optname: a[2],
            optval: a[3],
            optlen: a[4],
        }
    }
}

impl AddrArgs {
    pub const fn of(a: &Args) -> Self {
        AddrArgs {
            fd: a[0],
            addr: a[1],
            addrlen: a[2],
        }
    }
}

impl ListenArgs {
    pub const fn of(a: &Args) -> Self {
        ListenArgs {
            fd: a[0],
            backlog: a[1],
        }
    }
}

impl AcceptArgs {
    pub const fn of(a: &Args) -> Self {
        AcceptArgs {
            fd: a[0],
            addr: a[1],
            addrlen: a[2],
            flags: a[3],
        }
    }
}

impl CloseArgs {
    pub const fn of(a: &Args) -> Self {
        CloseArgs { fd: a[0] }
    }
}
