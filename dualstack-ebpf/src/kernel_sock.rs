//! The kernel's own view of a socket: the effective IPV6_V6ONLY bit, the bound address and real
//! port, the netns and the socket inode (the key of its tracked state).
//!
//! Path: current task -> files -> fdt -> fd[fd] -> file -> private_data (struct socket) -> sk.
//! Offsets come from the running kernel's BTF through `CONFIG.offsets`; with none known
//! (no BTF) nothing is read and the event says so.

use aya_ebpf::helpers::{
    bpf_probe_read_kernel,
    generated::{self as gen, bpf_get_current_task},
};
use core::mem::MaybeUninit;

use dualstack_common::{KernelOffsets, KernelSock, KSOCK_NO_BTF, KSOCK_READ};

use crate::{maps::config, words::zero};

/// Reads a `T` at `base + offset` in kernel memory.
#[inline(always)]
fn field<T>(base: u64, offset: u64) -> Option<T> {
    if base == 0 {
        return None;
    }
    // SAFETY: the helper checks the address; a bad pointer yields an error, not a fault.
    unsafe { bpf_probe_read_kernel((base + offset) as *const T) }.ok()
}

/// Bytes of the descriptor table and the `struct socket` read in one helper call each: every
/// `bpf_probe_read_kernel` costs some 25-40 ns here, the dominant cost of a traced call.
pub const SMALL: usize = 32;
/// Bytes of `struct sock` read in one call: from `skc_rcv_saddr` to past `skc_v6_rcv_saddr`
/// (84 bytes on 6.x kernels); a field outside it is read on its own.
const SOCK_COMMON: usize = 96;

/// A run of `8 * W` bytes of a kernel struct, starting at byte `start` of it. One buffer is
/// reused for each small struct in turn, to keep the stack small.
pub struct Block<const W: usize = { SMALL / 8 }> {
    start: u32,
    /// Written by the helper before any read (it zeroes them when it fails).
    words: MaybeUninit<[u64; W]>,
}

impl<const W: usize> Block<W> {
    const N: usize = 8 * W;

    pub const fn new() -> Self {
        Block {
            start: 0,
            words: MaybeUninit::uninit(),
        }
    }

    /// Reads the bytes of `base` from the smallest of `offsets` on.
    #[inline(always)]
    fn load(&mut self, base: u64, offsets: &[u32]) -> Option<()> {
        if base == 0 {
            return None;
        }
        let mut start = u32::MAX;
        for &o in offsets {
            start = start.min(o);
        }
        self.start = start;
        let src = (base + u64::from(start)) as *const core::ffi::c_void;
        // SAFETY: `words` holds N bytes; the helper checks the kernel address.
        let ret = unsafe {
            gen::bpf_probe_read_kernel(self.words.as_mut_ptr().cast(), Self::N as u32, src)
        };
        (ret == 0).then_some(())
    }

    /// The `T` at byte `offset` of the struct: from the block when it holds it (the offsets
    /// are constants to the verifier, read from the frozen CONFIG), else read on its own.
    #[inline(always)]
    fn get<T: Copy>(&self, base: u64, offset: u32) -> Option<T> {
        let at = offset.wrapping_sub(self.start) as usize;
        if at + core::mem::size_of::<T>() <= Self::N {
            // SAFETY: the bytes lie inside the block; read_unaligned makes no alignment claim.
            Some(unsafe {
                self.words
                    .as_ptr()
                    .cast::<u8>()
                    .add(at)
                    .cast::<T>()
                    .read_unaligned()
            })
        } else {
            field(base, offset.into())
        }
    }
}

/// The kernel offsets, when the kernel's BTF gave them.
#[inline(always)]
pub fn offsets() -> Option<&'static KernelOffsets> {
    let offsets = &config().offsets;
    (offsets.valid != 0).then_some(offsets)
}

/// A socket found through a descriptor.
pub struct SocketRef {
    pub file: u64,
    pub socket: u64,
    /// `socket.sk` and `socket.type`, read in the same copy as the check below.
    pub sk: u64,
    pub sock_type: u16,
}

/// The current task's descriptor table: its size and its array of `struct file` pointers.
#[inline(always)]
fn fd_table(o: &KernelOffsets, block: &mut Block) -> Option<(u32, u64)> {
    if config().direct_task != 0 {
        // SAFETY: bpf_get_current_task_btf returns a BTF pointer to the current task: the
        // verifier checks each load against the kernel's struct layout (the offsets are
        // constants from the frozen CONFIG) and guards it against faults.
        unsafe {
            let task = gen::bpf_get_current_task_btf().cast::<u8>();
            let files = task
                .add(o.task_files as usize)
                .cast::<*const u8>()
                .read_volatile();
            if files.is_null() {
                return None;
            }
            let fdt = files
                .add(o.files_fdt as usize)
                .cast::<*const u8>()
                .read_volatile();
            if fdt.is_null() {
                return None;
            }
            let max_fds = fdt
                .add(o.fdt_max_fds as usize)
                .cast::<u32>()
                .read_volatile();
            let fd_array = fdt.add(o.fdt_fd as usize).cast::<u64>().read_volatile();
            return Some((max_fds, fd_array));
        }
    }
    // SAFETY: bpf_get_current_task returns the current task_struct's address.
    let task = unsafe { bpf_get_current_task() };
    let files: u64 = field(task, o.task_files.into())?;
    let fdt: u64 = field(files, o.files_fdt.into())?;
    block.load(fdt, &[o.fdt_max_fds, o.fdt_fd])?;
    Some((block.get(fdt, o.fdt_max_fds)?, block.get(fdt, o.fdt_fd)?))
}

/// The `struct file` and `struct socket` behind the current task's `fd`, if it is a socket.
#[inline(always)]
pub fn socket_of_fd(o: &KernelOffsets, fd: u64, block: &mut Block) -> Option<SocketRef> {
    let (max_fds, fd_array) = fd_table(o, block)?;
    if fd >= u64::from(max_fds) {
        return None;
    }
    let file: u64 = field(fd_array, fd * 8)?;
    let socket: u64 = field(file, o.file_private_data.into())?;
    // Only a socket's file has private_data pointing back at it: this rejects other files
    // (a bind on a pipe fails with ENOTSOCK, but its fd is still read here).
    block.load(socket, &[o.socket_file, o.socket_sk, o.socket_type])?;
    let back: u64 = block.get(socket, o.socket_file)?;
    if back != file {
        return None;
    }
    Some(SocketRef {
        file,
        socket,
        sk: block.get(socket, o.socket_sk)?,
        sock_type: block.get(socket, o.socket_type)?,
    })
}

/// The inode number of a `struct socket` (SOCK_INODE(): the socket is embedded in a
/// struct socket_alloc beside its inode).
#[inline(always)]
pub fn socket_ino(o: &KernelOffsets, socket: u64) -> Option<u64> {
    let alloc = socket.wrapping_sub(o.socket_alloc_socket.into());
    let inode = alloc.wrapping_add(o.socket_alloc_inode.into());
    field(inode, o.inode_ino.into())
}

/// Whether the descriptor being closed holds the last reference to its file: then the close
/// releases the socket, and its state can go.
#[inline(always)]
pub fn last_reference(o: &KernelOffsets, file: u64) -> bool {
    field::<u64>(file, o.file_refs.into()) == Some(u64::from(o.file_one_ref))
}

/// Fills `out` with the kernel's view of the current task's `fd`; returns the socket's
/// `struct file` when it was read.
#[inline(always)]
pub fn read_kernel_sock(fd: i64, out: &mut KernelSock) -> Option<u64> {
    // SAFETY: `out` is a valid KernelSock; all zeroes is its empty value.
    unsafe { zero(out) };
    let Some(o) = offsets() else {
        out.flags = KSOCK_NO_BTF;
        return None;
    };
    if fd < 0 {
        return None;
    }
    let file = read(o, fd as u64, out)?;
    out.flags = KSOCK_READ;
    Some(file)
}

#[inline(always)]
fn read(o: &KernelOffsets, fd: u64, out: &mut KernelSock) -> Option<u64> {
    let mut block = Block::<{ SMALL / 8 }>::new();
    let SocketRef {
        file,
        socket,
        sk,
        sock_type,
    } = socket_of_fd(o, fd, &mut block)?;
    out.sock_type = sock_type;
    out.ino = socket_ino(o, socket)?;
    let mut common = Block::<{ SOCK_COMMON / 8 }>::new();
    common.load(
        sk,
        &[
            o.skc_family,
            o.skc_state,
            o.skc_num,
            o.skc_rcv_saddr,
            o.skc_ipv6only_byte,
            o.skc_net,
            o.skc_v6_rcv_saddr,
        ],
    )?;
    out.family = common.get(sk, o.skc_family)?;
    out.state = common.get(sk, o.skc_state)?;
    out.port = common.get(sk, o.skc_num)?;
    out.v4 = common.get(sk, o.skc_rcv_saddr)?;
    let bits: u8 = common.get(sk, o.skc_ipv6only_byte)?;
    out.ipv6only = (bits >> (o.skc_ipv6only_bit & 7)) & 1;
    out.v6 = common.get(sk, o.skc_v6_rcv_saddr)?;
    let net: u64 = common.get(sk, o.skc_net)?;
    out.netns = field(net, o.net_ns_inum.into())?;
    out.netns_bindv6only = field(net, o.net_bindv6only.into())?;
    Some(file)
}
