//! dualstack's kernel programs.
//!
//! One exit dispatcher (`dispatch`) sees every syscall's exit, keeps the traced ones by number,
//! reads their arguments from the saved registers, updates the per-socket state (`SOCKETS`)
//! and writes one compact record per call to `EVENTS`. Entry programs exist only where the exit
//! cannot do without them (`enter`): the start time of calls that block, and close.
#![no_std]
#![no_main]

mod args;
mod bind;
mod conn;
mod dispatch;
mod enter;
mod filter;
mod floor;
mod kernel_sock;
mod maps;
mod process;
mod record;
mod socket;
mod sockopt;
mod state;
mod user_memory;
mod words;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // The verifier rejects any reachable panic path, so this is never reached at run time.
    loop {}
}
