//! Syscall numbers and the saved user registers at syscall exit, per architecture.
//!
//! The exit dispatcher sees every syscall on the host and keeps the traced ones by number.
//!
//! x86_64 (arch/x86/entry/syscalls/syscall_64.tbl, arch/x86/include/asm/ptrace.h): at sys_exit
//! the saved `struct pt_regs` still holds the user's argument registers (di, si, dx, r10, r8,
//! r9: the 4th is r10, not the cx of the C calling convention), `orig_ax` holds the syscall
//! number, and `ax` the return value. A 32-bit task (cs = __USER32_CS) numbers its calls
//! differently (ia32 socketcall) and is not traced.
//!
//! arm64 (include/uapi/asm-generic/unistd.h, arch/arm64/include/asm/ptrace.h) would need:
//! the generic numbers (socket 198, socketpair 199, bind 200, listen 201, accept 202,
//! connect 203, setsockopt 208, accept4 242, close 57), `syscallno` for the number, and
//! `orig_x0` for the first argument, because x0 holds the return value at exit (x1..x5 are
//! intact). The loader refuses other architectures until that is written.

use crate::Syscall;

/// x86_64 numbers.
pub mod x86_64 {
    pub const CLOSE: u64 = 3;
    pub const SOCKET: u64 = 41;
    pub const CONNECT: u64 = 42;
    pub const ACCEPT: u64 = 43;
    pub const BIND: u64 = 49;
    pub const LISTEN: u64 = 50;
    pub const SOCKETPAIR: u64 = 53;
    pub const SETSOCKOPT: u64 = 54;
    pub const ACCEPT4: u64 = 288;

    /// Byte offsets in `struct pt_regs`.
    pub const REGS_R10: usize = 56;
    pub const REGS_R9: usize = 64;
    pub const REGS_R8: usize = 72;
    pub const REGS_DX: usize = 96;
    pub const REGS_SI: usize = 104;
    pub const REGS_DI: usize = 112;
    pub const REGS_ORIG_AX: usize = 120;
    pub const REGS_CS: usize = 136;
    /// `__USER_CS`: the code segment of a 64-bit task.
    pub const USER_CS: u64 = 0x33;
    /// Bytes of `struct pt_regs` from r10 to cs, read in one copy where loads must go through
    /// a helper (the raw tracepoint fallback).
    pub const REGS_BLOCK: usize = REGS_CS + 8 - REGS_R10;
}

/// The traced syscall an x86_64 syscall number names.
#[inline(always)]
pub const fn x86_64_syscall(nr: u64) -> Option<Syscall> {
    use x86_64::{ACCEPT, ACCEPT4, BIND, CLOSE, CONNECT, LISTEN, SETSOCKOPT, SOCKET, SOCKETPAIR};
    Some(match nr {
        CLOSE => Syscall::Close,
        SOCKET => Syscall::Socket,
        CONNECT => Syscall::Connect,
        ACCEPT => Syscall::Accept,
        BIND => Syscall::Bind,
        LISTEN => Syscall::Listen,
        SOCKETPAIR => Syscall::Socketpair,
        SETSOCKOPT => Syscall::Setsockopt,
        ACCEPT4 => Syscall::Accept4,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_traced_syscall_has_a_number() {
        let numbers = [3, 41, 42, 43, 49, 50, 53, 54, 288];
        let mut found: [Option<Syscall>; 9] = [None; 9];
        for (slot, nr) in found.iter_mut().zip(numbers) {
            *slot = x86_64_syscall(nr);
        }
        for s in Syscall::ALL {
            assert!(found.contains(&Some(s)), "{s:?} has no number");
        }
        assert_eq!(x86_64_syscall(39), None, "getpid is not traced");
    }
}
