//! The per-socket state map: keys, and whole-value reads and writes. A state is copied out,
//! changed on the stack and written back whole, so two threads working on one socket never
//! see a half-written state (the last write wins).

use dualstack_common::{counter, KernelSock, SockKey, SockState, KSOCK_NO_BTF, KSOCK_READ};

use crate::{
    kernel_sock::{offsets, read_kernel_sock, socket_ino, socket_of_fd, Block},
    maps::{config, count, SOCKETS, SOCKETS_LRU},
    record::Call,
    words::copy,
};

// kernel ABI: include/uapi/linux/bpf.h.
const BPF_ANY: u64 = 0;
const BPF_NOEXIST: u64 = 1;
const BPF_EXIST: u64 = 2;
// kernel ABI: include/uapi/asm-generic/errno-base.h; a full hash map refuses with -E2BIG.
const E2BIG: i32 = 7;

/// The state key of the socket the kernel view was read from; without BTF, of the descriptor.
/// None when the descriptor is not a socket (or could not be read).
#[inline(always)]
pub fn key_of(kernel: &KernelSock, tgid: u32, fd: u64) -> Option<SockKey> {
    if kernel.flags & KSOCK_READ != 0 {
        return Some(SockKey {
            ino: kernel.ino,
            tgid: 0,
            fd: 0,
        });
    }
    (kernel.flags & KSOCK_NO_BTF != 0).then_some(SockKey {
        ino: 0,
        tgid,
        fd: fd as u32,
    })
}

/// The state key of the current task's `fd` without reading the whole kernel view.
#[inline(always)]
pub fn key_of_fd(tgid: u32, fd: u64) -> Option<SockKey> {
    let Some(o) = offsets() else {
        return Some(SockKey {
            ino: 0,
            tgid,
            fd: fd as u32,
        });
    };
    let socket = socket_of_fd(o, fd, &mut Block::new())?.socket;
    Some(SockKey {
        ino: socket_ino(o, socket)?,
        tgid: 0,
        fd: 0,
    })
}

/// Copies the state of `key` into `out`; false (and `out` untouched) when there is none.
#[inline(always)]
pub fn load(key: &SockKey, out: &mut SockState) -> bool {
    let found = if config().state_lru != 0 {
        SOCKETS_LRU.get_ptr(key)
    } else {
        SOCKETS.get_ptr(key)
    };
    match found {
        // SAFETY: the element is copied out at once; an update replaces it whole.
        Some(state) => {
            unsafe { copy(out, state) };
            true
        }
        None => false,
    }
}

/// Loads the state of `key` into the call's record, which will carry it; false when none.
#[inline(always)]
pub fn load_for_record(call: &mut Call, key: &SockKey) -> bool {
    let found = load(key, &mut call.sock);
    if found {
        call.send_state();
    }
    found
}

#[inline(always)]
fn insert(key: &SockKey, state: &SockState, flags: u64) -> Result<(), i32> {
    let result = if config().state_lru != 0 {
        SOCKETS_LRU.insert(key, state, flags)
    } else {
        SOCKETS.insert(key, state, flags)
    };
    result.map_err(|e| e as i32)
}

/// Removes the state of `key`, counting it when there was one.
#[inline(always)]
pub fn remove(key: &SockKey) {
    let removed = if config().state_lru != 0 {
        SOCKETS_LRU.remove(key)
    } else {
        SOCKETS.remove(key)
    };
    if removed.is_ok() {
        count(counter::STATE_REMOVES);
    }
}

/// Writes `state` under `key`: a new socket replaces whatever a reused inode or descriptor
/// left. On a full map the call is marked and the refusal counted.
#[inline(always)]
pub fn store_new(call: &mut Call, key: &SockKey, state: &SockState) {
    match insert(key, state, BPF_NOEXIST) {
        Ok(()) => count(counter::STATE_INSERTS),
        Err(err) if err == -E2BIG => {
            count(counter::STATE_FULL);
            call.state_full = true;
        }
        // A stale state under the same key: replace it.
        Err(_) => {
            let _ = insert(key, state, BPF_ANY);
        }
    }
}

/// For a call that may change the state of the socket behind `fd`: reads the kernel's view
/// of it, and loads its state into the record. Returns the state's key, and whether there was
/// one, when the call succeeded (a failed call changes nothing, and gives no state to a
/// descriptor that may not even be a socket).
#[inline(always)]
pub fn for_change(call: &mut Call, fd: u64) -> Option<(SockKey, bool)> {
    read_kernel_sock(fd as i32 as i64, &mut call.kernel);
    let key = key_of(&call.kernel, call.tgid(), fd)?;
    let existed = load_for_record(call, &key);
    (call.ret == 0).then_some((key, existed))
}

/// Stores the call's own state (`call.sock`) for a new socket, and sends it with the record.
#[inline(always)]
pub fn store_new_own(call: &mut Call, key: &SockKey) {
    match insert(key, &call.sock, BPF_NOEXIST) {
        Ok(()) => count(counter::STATE_INSERTS),
        Err(err) if err == -E2BIG => {
            count(counter::STATE_FULL);
            call.state_full = true;
        }
        Err(_) => {
            let _ = insert(key, &call.sock, BPF_ANY);
        }
    }
    call.send_state();
}

/// Writes back the call's changed state (`call.sock`) and sends it with the record: `existed`
/// says whether `load` found one (else this stores a state for a socket opened before
/// tracing, which may find the map full).
#[inline(always)]
pub fn store_changed(call: &mut Call, key: &SockKey, existed: bool) {
    if existed {
        // Only if still there: a close on another thread may have just removed it.
        let _ = insert(key, &call.sock, BPF_EXIST);
        call.send_state();
    } else {
        store_new_own(call, key);
    }
}
