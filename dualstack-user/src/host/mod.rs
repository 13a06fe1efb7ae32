//! Facts of this host that any part may ask: errno names and messages, interface names,
//! processes and their threads, sysctl values. The ground floor: it imports nothing of dualstack.

pub mod errno;
pub mod process;

/// The name of network interface `index` (if_indextoname), for strace's `if_nametoindex(...)`.
pub fn ifname(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: buf has IF_NAMESIZE bytes as if_indextoname requires.
    let name = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if name.is_null() {
        return None;
    }
    // SAFETY: on success buf holds a NUL-terminated name.
    Some(
        unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// `net.ipv6.bindv6only` of the calling thread's netns.
pub fn bindv6only() -> Option<bool> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv6/bindv6only").ok()?;
    Some(text.trim() != "0")
}
