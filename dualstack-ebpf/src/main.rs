//! dualstack's kernel programs.
//!
//! Each traced syscall has a `sys_enter_*` program that parks the arguments (and the user memory
//! they point to) in `PENDING`, and a `sys_exit_*` program that adds the return value, updates
//! the per-socket state in `SOCKETS` and writes one `SyscallEvent` to `EVENTS`.
#![no_std]
#![no_main]

mod args;
mod bind;
mod conn;
mod emit;
mod filter;
mod kernel_sock;
mod maps;
mod process;
mod sockets;
mod sockopt;
mod user_memory;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // The verifier rejects any reachable panic path, so this is never reached at run time.
    loop {}
}
