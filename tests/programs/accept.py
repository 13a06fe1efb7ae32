#!/usr/bin/env python3
"""accept()/accept4() shapes: Python's accept4(..., SOCK_CLOEXEC), libc
accept/accept4 with NULL addr, SOCK_NONBLOCK, short addrlen buffers,
v4-mapped peers on a dual-stack listener, EAGAIN on nonblocking accept.

Ports: DUALSTACK_TEST_PORT (default 47000) + 80..99.
"""
import ctypes
import os
import socket

BASE = int(os.environ.get("DUALSTACK_TEST_PORT", "47000")) + 80
S = socket

libc = ctypes.CDLL("libc.so.6", use_errno=True)
P = ctypes.c_void_p
libc.accept.argtypes = [ctypes.c_int, P, P]
libc.accept4.argtypes = [ctypes.c_int, P, P, ctypes.c_int]
libc.close.argtypes = [ctypes.c_int]


def client(family, addr, port):
    c = S.socket(family, S.SOCK_STREAM)
    c.connect((addr, port))
    return c


def c_accept(lfd, addrlen=None, flags=None):
    """libc accept/accept4; addrlen None -> NULL addr and NULL addrlen."""
    if addrlen is None:
        a, l = None, None
    else:
        storage = ctypes.create_string_buffer(128)
        ln = ctypes.c_uint(addrlen)
        a, l = ctypes.cast(storage, P), ctypes.cast(ctypes.pointer(ln), P)
    if flags is None:
        fd = libc.accept(lfd, a, l)
    else:
        fd = libc.accept4(lfd, a, l, flags)
    if fd >= 0:
        libc.close(fd)


# SO_REUSEADDR: the server side closes first, leaving TIME_WAIT behind,
# so reruns within 60 s would otherwise fail with EADDRINUSE.
L4 = S.socket(S.AF_INET, S.SOCK_STREAM)
L4.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
L4.bind(("127.0.0.1", BASE))
L4.listen(16)
L6 = S.socket(S.AF_INET6, S.SOCK_STREAM)
L6.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
L6.bind(("::1", BASE + 1))
L6.listen(16)
LD = S.socket(S.AF_INET6, S.SOCK_STREAM)
LD.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
LD.setsockopt(S.IPPROTO_IPV6, S.IPV6_V6ONLY, 0)
LD.bind(("::", BASE + 2))
LD.listen(16)

# Python's accept: accept4(fd, addr, [128 => 16], SOCK_CLOEXEC)
c = client(S.AF_INET, "127.0.0.1", BASE)
conn, _ = L4.accept()
conn.close(); c.close()
c = client(S.AF_INET6, "::1", BASE + 1)
conn, _ = L6.accept()
conn.close(); c.close()
# dual-stack listener: a v4 client shows up as ::ffff:127.0.0.1
c = client(S.AF_INET, "127.0.0.1", BASE + 2)
conn, _ = LD.accept()
conn.close(); c.close()

# libc accept(fd, NULL, NULL)
c = client(S.AF_INET, "127.0.0.1", BASE)
c_accept(L4.fileno())
c.close()
# libc accept4(fd, NULL, NULL, SOCK_NONBLOCK)
c = client(S.AF_INET6, "::1", BASE + 1)
c_accept(L6.fileno(), None, S.SOCK_NONBLOCK)
c.close()
# libc accept4(fd, NULL, NULL, SOCK_NONBLOCK|SOCK_CLOEXEC)
c = client(S.AF_INET, "127.0.0.1", BASE)
c_accept(L4.fileno(), None, S.SOCK_NONBLOCK | S.SOCK_CLOEXEC)
c.close()
# libc accept4(fd, NULL, NULL, 0)
c = client(S.AF_INET, "127.0.0.1", BASE)
c_accept(L4.fileno(), None, 0)
c.close()
# exact-size buffers: [16] and [28]
c = client(S.AF_INET, "127.0.0.1", BASE)
c_accept(L4.fileno(), 16)
c.close()
c = client(S.AF_INET6, "::1", BASE + 1)
c_accept(L6.fileno(), 28, S.SOCK_CLOEXEC)
c.close()
# a large (sockaddr_storage-sized) buffer: [128 => 16] / [128 => 28]
c = client(S.AF_INET, "127.0.0.1", BASE)
c_accept(L4.fileno(), 128)
c.close()
c = client(S.AF_INET6, "::1", BASE + 1)
c_accept(L6.fileno(), 128, S.SOCK_NONBLOCK | S.SOCK_CLOEXEC)
c.close()
# too-small buffers: truncated peer address, [8 => 16], [4 => 28], [0 => 28]
c = client(S.AF_INET, "127.0.0.1", BASE)
c_accept(L4.fileno(), 8)
c.close()
c = client(S.AF_INET6, "::1", BASE + 1)
c_accept(L6.fileno(), 4)
c.close()
c = client(S.AF_INET6, "::1", BASE + 1)
c_accept(L6.fileno(), 0)
c.close()

# nonblocking accept with nothing pending: EAGAIN (Python and libc)
L4.setblocking(False)
try:
    L4.accept()
except BlockingIOError:
    pass
c_accept(L4.fileno())
c_accept(L4.fileno(), 16, S.SOCK_NONBLOCK)
L6nb = S.socket(S.AF_INET6, S.SOCK_STREAM | S.SOCK_NONBLOCK)
L6nb.bind(("::1", BASE + 3))
L6nb.listen(1)
try:
    L6nb.accept()
except BlockingIOError:
    pass
L6nb.close()

LD.close()
L6.close()
L4.close()

# blocking accept interrupted by a signal (handler installed without
# SA_RESTART): strace shows "= ? ERESTARTSYS", then "--- SIGALRM ... ---";
# the handler connects a client, so Python's automatic retry succeeds.
import signal

LS = S.socket(S.AF_INET, S.SOCK_STREAM)
LS.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
LS.bind(("127.0.0.1", BASE + 4))
LS.listen(1)
pending = []


def on_alarm(signum, frame):
    pending.append(client(S.AF_INET, "127.0.0.1", BASE + 4))


signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.2)
conn, _ = LS.accept()
conn.close()
pending[0].close()
LS.close()
