//! A small native server for the tests, in the shapes C daemons start in, with raw libc calls
//! (no runtime in between):
//!
//!     forking_server double-fork PORT       fork, setsid, fork; the daemon binds a dual-stack
//!                                           [::]:PORT (IPV6_V6ONLY=0), listens, serves one
//!     forking_server prefork PORT WORKERS   the master binds [::]:PORT with IPV6_V6ONLY=1 and
//!                                           listens; each forked worker accepts one connection
//!     forking_server burst THREADS SECONDS  THREADS threads open and close UDP sockets as fast
//!                                           as they can until SIGINT or SECONDS pass, then
//!                                           print `calls N` (socket and close calls made)
//!
//! It writes `ready` to stderr when the test may connect, and exits 0 when done.

use std::{
    io::Write as _,
    mem::size_of,
    process::exit,
    sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
    time::{Duration, Instant},
};

fn check(what: &str, rc: libc::c_int) -> libc::c_int {
    if rc < 0 {
        eprintln!("{what}: {}", std::io::Error::last_os_error());
        exit(1);
    }
    rc
}

fn say(text: &str) {
    let mut err = std::io::stderr();
    let _ = writeln!(err, "{text}");
    let _ = err.flush();
}

/// An AF_INET6 stream socket on [::]:port with IPV6_V6ONLY as given, listening.
fn listener(port: u16, v6only: libc::c_int) -> libc::c_int {
    // SAFETY: plain syscalls with valid, correctly sized arguments.
    unsafe {
        let fd = check(
            "socket",
            libc::socket(libc::AF_INET6, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0),
        );
        let one: libc::c_int = 1;
        check(
            "setsockopt SO_REUSEADDR",
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                (&raw const one).cast(),
                size_of::<libc::c_int>() as u32,
            ),
        );
        check(
            "setsockopt IPV6_V6ONLY",
            libc::setsockopt(
                fd,
                libc::IPPROTO_IPV6,
                libc::IPV6_V6ONLY,
                (&raw const v6only).cast(),
                size_of::<libc::c_int>() as u32,
            ),
        );
        let mut addr: libc::sockaddr_in6 = std::mem::zeroed();
        addr.sin6_family = libc::AF_INET6 as u16;
        addr.sin6_port = port.to_be();
        check(
            "bind",
            libc::bind(
                fd,
                (&raw const addr).cast(),
                size_of::<libc::sockaddr_in6>() as u32,
            ),
        );
        check("listen", libc::listen(fd, 16));
        fd
    }
}

/// Accepts one connection and closes it.
fn serve_one(fd: libc::c_int) {
    // SAFETY: plain syscalls; NULL peer is allowed.
    unsafe {
        let conn = check(
            "accept4",
            libc::accept4(
                fd,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            ),
        );
        libc::close(conn);
    }
}

fn fork() -> libc::pid_t {
    // SAFETY: this program is single-threaded.
    check("fork", unsafe { libc::fork() })
}

fn double_fork(port: u16) {
    if fork() > 0 {
        exit(0);
    }
    // SAFETY: plain syscall.
    check("setsid", unsafe { libc::setsid() });
    if fork() > 0 {
        exit(0);
    }
    let fd = listener(port, 0);
    say("ready");
    serve_one(fd);
    // SAFETY: closing our own descriptor.
    unsafe { libc::close(fd) };
}

fn prefork(port: u16, workers: u32) {
    let fd = listener(port, 1);
    let mut children = Vec::new();
    for _ in 0..workers {
        let pid = fork();
        if pid == 0 {
            serve_one(fd);
            exit(0);
        }
        children.push(pid);
    }
    say("ready");
    for pid in children {
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &raw mut status, 0) };
    }
    // SAFETY: closing our own descriptor.
    unsafe { libc::close(fd) };
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    STOP.store(true, Relaxed);
}

fn burst(threads: u32, seconds: u32) {
    // SAFETY: the handler only stores to an atomic.
    unsafe { libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t) };
    let calls = AtomicU64::new(0);
    let end = Instant::now() + Duration::from_secs(seconds.into());
    say("ready");
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut mine = 0u64;
                while !STOP.load(Relaxed) && Instant::now() < end {
                    // SAFETY: plain syscalls on our own descriptor.
                    unsafe {
                        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
                        mine += 1;
                        if fd >= 0 {
                            libc::close(fd);
                            mine += 1;
                        }
                    }
                }
                calls.fetch_add(mine, Relaxed);
            });
        }
    });
    say(&format!("calls {}", calls.load(Relaxed)));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number = |i: usize| -> u32 {
        args.get(i).and_then(|a| a.parse().ok()).unwrap_or_else(|| {
            eprintln!("usage: forking_server double-fork PORT | prefork PORT WORKERS");
            exit(2)
        })
    };
    match args.get(1).map(String::as_str) {
        Some("double-fork") => double_fork(number(2) as u16),
        Some("prefork") => prefork(number(2) as u16, number(3)),
        Some("burst") => burst(number(2), number(3)),
        _ => {
            eprintln!("usage: forking_server double-fork PORT | prefork PORT WORKERS");
            exit(2);
        }
    }
}
