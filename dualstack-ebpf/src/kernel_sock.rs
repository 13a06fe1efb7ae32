//! The kernel's own view of a socket, read at syscall exit: the effective IPV6_V6ONLY bit, the
//! bound address and real port, the netns and the socket inode.
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

/// Fills `out` with the kernel's view of the current task's `fd`.
#[inline(always)]
pub fn read_kernel_sock(fd: i64, out: &mut KernelSock) {
    *out = KernelSock::EMPTY;
    let offsets = &config().offsets;
    if offsets.valid == 0 {
        out.flags = KSOCK_NO_BTF;
        return;
    }
    if fd >= 0 && read(offsets, fd as u64, out).is_some() {
        out.flags = KSOCK_READ;
    }
}

#[inline(always)]
fn read(o: &KernelOffsets, fd: u64, out: &mut KernelSock) -> Option<()> {
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
    if back != file {
        return None;
    }
    let sk: u64 = field(socket, o.socket_sk.into())?;
    out.sock_type = field::<u16>(socket, o.socket_type.into())?;
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
    // SOCK_INODE(): the socket is embedded in a struct socket_alloc beside its inode.
    let alloc = socket.wrapping_sub(o.socket_alloc_socket.into());
    let inode = alloc.wrapping_add(o.socket_alloc_inode.into());
    out.ino = field(inode, o.inode_ino.into())?;
    Some(())
}
