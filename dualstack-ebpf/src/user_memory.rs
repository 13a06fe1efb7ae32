//! Bounded copies of user memory, counted when they fail.

use aya_ebpf::helpers::generated::bpf_probe_read_user;
use dualstack_common::{counter, ReadStatus, USER_CAP};

use crate::{
    maps::count,
    record::{UserCopy, STACK_USER},
};

/// Reads the user buffer `ptr` of `len` bytes (at most `max`, a power of two no larger than
/// `USER_CAP`) for a record: `dst.len` becomes the bytes the record will carry, of which the
/// first `STACK_USER` are read now (the record reads a longer one again, whole). A NULL
/// pointer or zero length reads nothing.
#[inline(always)]
pub fn read_user(dst: &mut UserCopy, ptr: u64, len: u64, max: usize) {
    dst.len = 0;
    dst.ptr = ptr;
    dst.want = len;
    dst.max = max.min(USER_CAP) as u32;
    if ptr == 0 || len == 0 {
        dst.status = ReadStatus::NotRead as u16;
        return;
    }
    let full = if len >= u64::from(dst.max) {
        dst.max
    } else {
        len as u32
    };
    // The mask proves to the verifier that the size stays inside `bytes`.
    let n = if full >= STACK_USER as u32 {
        STACK_USER as u32
    } else {
        full & (STACK_USER as u32 - 1)
    };
    // SAFETY: `bytes` has room for STACK_USER >= n bytes; the helper checks the user pointer.
    let ret = unsafe { bpf_probe_read_user(dst.bytes.as_mut_ptr().cast(), n, ptr as *const _) };
    if ret == 0 {
        dst.status = ReadStatus::Ok as u16;
        dst.len = full;
    } else {
        dst.status = ReadStatus::Fault as u16;
        count(counter::USER_FAULT);
    }
}

/// Reads one u32 from user memory, or None when the pointer is NULL or unreadable (counted).
#[inline(always)]
pub fn read_user_u32(ptr: u64) -> Option<u32> {
    if ptr == 0 {
        return None;
    }
    // SAFETY: the helper checks the user pointer.
    let value = unsafe { aya_ebpf::helpers::bpf_probe_read_user(ptr as *const u32) }.ok();
    if value.is_none() {
        count(counter::USER_FAULT);
    }
    value
}
