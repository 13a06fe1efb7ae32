//! The kernel's own view of a socket: the effective IPV6_V6ONLY bit, the bound address and real
//! port, the netns and the socket inode (the key of its tracked state).
//!
//! Path: current task -> files -> fdt -> fd[fd] -> file -> private_data (struct socket) -> sk.
//! Offsets come from the running kernel's BTF through `CONFIG.offsets`; with none known
//! (no BTF) nothing is read and the event says so.

use aya_ebpf::helpers::{bpf_probe_read_kernel, generated::bpf_get_current_task};
use dualstack_common::{KernelOffsets, KernelSock, KSOCK_NO_BTF, KSOCK_READ};

use crate::maps::config;

/// Reads a `T` at `base + offset` in kernel memory.
#[inline(always)]
fn field<T>(base: u64, offset: u64) -> Option<T> {
    if base == 0 {
        return None;
    }
    // SAFETY: the helper checks the address; a bad pointer yields an error, not a fault.
    unsafe { bpf_probe_read_kernel((base + offset) as *const T) }.ok()
}

/// The kernel offsets, when the kernel's BTF gave them.
#[inline(always)]
pub fn offsets() -> Option<&'static KernelOffsets> {
    let offsets = &config().offsets;
    (offsets.valid != 0).then_some(offsets)
}

/// The `struct file` and `struct socket` behind the current task's `fd`, if it is a socket.
#[inline(always)]
pub fn socket_of_fd(o: &KernelOffsets, fd: u64) -> Option<(u64, u64)> {
    // SAFETY: bpf_get_current_task returns the current task_struct's address.
    let task = unsafe { bpf_get_current_task() };
    let files: u64 = field(task, o.task_files.into())?;
    let fdt: u64 = field(files, o.files_fdt.into())?;
    let max_fds: u32 = field(fdt, o.fdt_max_fds.into())?;
    if fd >= u64::from(max_fds) {
        return None;
    }
    let fd_array: u64 = field(fdt, o.fdt_fd.into())?;
    let file: u64 = field(fd_array, fd * 8)?;
    let socket: u64 = field(file, o.file_private_data.into())?;
    // Only a socket's file has private_data pointing back at it: this rejects other files
    // (a bind on a pipe fails with ENOTSOCK, but its fd is still read here).
    let back: u64 = field(socket, o.socket_file.into())?;
    (back == file).then_some((file, socket))
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
    *out = KernelSock::EMPTY;
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
    let (file, socket) = socket_of_fd(o, fd)?;
    let sk: u64 = field(socket, o.socket_sk.into())?;
    out.sock_type = field::<u16>(socket, o.socket_type.into())?;
    out.ino = socket_ino(o, socket)?;
    out.family = field(sk, o.skc_family.into())?;
    out.state = field(sk, o.skc_state.into())?;
    out.port = field(sk, o.skc_num.into())?;
    out.v4 = field(sk, o.skc_rcv_saddr.into())?;
    out.v6 = field(sk, o.skc_v6_rcv_saddr.into())?;
    let bits: u8 = field(sk, o.skc_ipv6only_byte.into())?;
    out.ipv6only = (bits >> (o.skc_ipv6only_bit & 7)) & 1;
    let net: u64 = field(sk, o.skc_net.into())?;
    out.netns = field(net, o.net_ns_inum.into())?;
    out.netns_bindv6only = field(net, o.net_bindv6only.into())?;
    Some(file)
}
