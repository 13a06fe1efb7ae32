//! Word-by-word zeroing and copying of the programs' structs.
//!
//! Left to itself, the compiler turns a struct assignment or a zeroed array into a call to
//! `memset` or `memcpy`, which on BPF is a byte-by-byte loop: dozens of instructions per
//! record at run time, and a loop the verifier walks through once per byte on every path.
//! These copy 8 bytes at a time, with volatile accesses so that the compiler cannot fold them
//! back into such a call.

use core::mem::{align_of, size_of};

/// Checks at compile time that `T` is made of whole, aligned words.
const fn words_of<T>() -> usize {
    assert!(size_of::<T>() % 8 == 0 && align_of::<T>() >= 8);
    size_of::<T>() / 8
}

/// Zeroes `*dst`.
///
/// # Safety
/// `dst` is valid for writes of a `T`, which is plain data valid when zeroed.
#[inline(always)]
pub unsafe fn zero<T>(dst: *mut T) {
    let n = const { words_of::<T>() };
    let dst = dst.cast::<u64>();
    for i in 0..n {
        // SAFETY: within the `T` (caller's contract).
        unsafe { dst.add(i).write_volatile(0) };
    }
}

/// Copies `*src` to `*dst`.
///
/// # Safety
/// Both are valid for a `T`, and do not overlap.
#[inline(always)]
pub unsafe fn copy<T>(dst: *mut T, src: *const T) {
    let n = const { words_of::<T>() };
    let (dst, src) = (dst.cast::<u64>(), src.cast::<u64>());
    for i in 0..n {
        // SAFETY: within both `T`s (caller's contract).
        unsafe { dst.add(i).write_volatile(src.add(i).read_volatile()) };
    }
}
