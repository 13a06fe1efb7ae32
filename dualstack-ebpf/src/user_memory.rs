//! Bounded copies of user memory into event buffers.

use aya_ebpf::helpers::generated::bpf_probe_read_user;
use dualstack_common::{ReadStatus, UserBytes};

/// Copies `len` bytes (at most N, a power of two) from the user pointer `ptr` into `dst`,
/// recording whether the read worked. A NULL pointer or zero length reads nothing.
#[inline(always)]
pub fn read_user<const N: usize>(dst: &mut UserBytes<N>, ptr: u64, len: u64) {
    dst.len = 0;
    if ptr == 0 || len == 0 {
        dst.status = ReadStatus::NotRead as u32;
        return;
    }
    // The mask proves to the verifier that the size stays inside `bytes`.
    let n = if len >= N as u64 {
        N as u32
    } else {
        (len as u32) & (N as u32 - 1)
    };
    // SAFETY: `bytes` has room for N >= n bytes; the helper checks the user pointer.
    let ret = unsafe { bpf_probe_read_user(dst.bytes.as_mut_ptr().cast(), n, ptr as *const _) };
    if ret == 0 {
        dst.status = ReadStatus::Ok as u32;
        dst.len = n;
    } else {
        dst.status = ReadStatus::Fault as u32;
    }
}

/// Reads one u32 from user memory, or None when the pointer is NULL or unreadable.
#[inline(always)]
pub fn read_user_u32(ptr: u64) -> Option<u32> {
    if ptr == 0 {
        return None;
    }
    // SAFETY: the helper checks the user pointer.
    unsafe { aya_ebpf::helpers::bpf_probe_read_user(ptr as *const u32) }.ok()
}
