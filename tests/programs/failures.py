#!/usr/bin/env python3
"""Error returns: EADDRINUSE, EBADF, EFAULT, EINPROGRESS, ECONNREFUSED,
EINVAL, EOPNOTSUPP, ENOTSOCK, EAFNOSUPPORT, EPROTONOSUPPORT, EISCONN...
Only loopback addresses are used.

Ports: DUALSTACK_TEST_PORT (default 47000) + 40..59.
"""
import ctypes
import os
import socket
import struct

BASE = int(os.environ.get("DUALSTACK_TEST_PORT", "47000")) + 40
S = socket

libc = ctypes.CDLL("libc.so.6", use_errno=True)
P = ctypes.c_void_p
for name, argt in {
    "socket": [ctypes.c_int, ctypes.c_int, ctypes.c_int],
    "bind": [ctypes.c_int, P, ctypes.c_uint],
    "connect": [ctypes.c_int, P, ctypes.c_uint],
    "listen": [ctypes.c_int, ctypes.c_int],
    "accept": [ctypes.c_int, P, P],
    "accept4": [ctypes.c_int, P, P, ctypes.c_int],
    "setsockopt": [ctypes.c_int, ctypes.c_int, ctypes.c_int, P, ctypes.c_uint],
    "close": [ctypes.c_int],
}.items():
    getattr(libc, name).argtypes = argt
    getattr(libc, name).restype = ctypes.c_int

BAD = 0x1          # an unmapped user address
NULL = None


def sin(port, addr="127.0.0.1", family=S.AF_INET):
    return struct.pack("<H", family) + struct.pack(">H", port) + \
        S.inet_aton(addr) + b"\0" * 8


def sin6(port, addr="::1", flowinfo=0, scope=0, family=S.AF_INET6):
    return struct.pack("<H", family) + struct.pack(">HI", port, flowinfo) + \
        S.inet_pton(S.AF_INET6, addr) + struct.pack("<I", scope)


def buf(b):
    return ctypes.create_string_buffer(b, len(b))


def try_(fn, *args):
    try:
        fn(*args)
    except OSError:
        pass


# --- EADDRINUSE: two binds on the same port
a = S.socket(S.AF_INET, S.SOCK_STREAM)
a.bind(("127.0.0.1", BASE))
a.listen(8)
b = S.socket(S.AF_INET, S.SOCK_STREAM)
try_(b.bind, ("127.0.0.1", BASE))
b.close()
# ... and a dual-stack v6 listener vs. a v4 wildcard bind on the same port
d6 = S.socket(S.AF_INET6, S.SOCK_STREAM)
d6.setsockopt(S.IPPROTO_IPV6, S.IPV6_V6ONLY, 0)
d6.bind(("::", BASE + 1))
d6.listen(8)
d4 = S.socket(S.AF_INET, S.SOCK_STREAM)
try_(d4.bind, ("0.0.0.0", BASE + 1))
d4.close()
d6.close()
a.close()

# --- EBADF: calls on fd 9999
libc.bind(9999, buf(sin(BASE + 2)), 16)
libc.listen(9999, 5)
libc.close(9999)
libc.connect(9999, buf(sin(BASE + 2)), 16)
libc.accept(9999, NULL, NULL)
libc.setsockopt(9999, S.SOL_SOCKET, S.SO_REUSEADDR, buf(struct.pack("i", 1)), 4)
try_(os.close, 9999)
libc.bind(-1, buf(sin(BASE + 2)), 16)

# --- EFAULT: bad and NULL pointers
s = S.socket(S.AF_INET, S.SOCK_STREAM)
fd = s.fileno()
libc.bind(fd, BAD, 16)
libc.bind(fd, NULL, 16)
libc.setsockopt(fd, S.SOL_SOCKET, S.SO_REUSEADDR, BAD, 4)
libc.setsockopt(fd, S.SOL_SOCKET, S.SO_LINGER, BAD, 8)
libc.setsockopt(fd, S.SOL_SOCKET, S.SO_BINDTODEVICE, BAD, 3)
libc.connect(fd, BAD, 16)
libc.connect(fd, NULL, 16)
libc.bind(fd, NULL, 0)                 # NULL with length 0
s.close()

# --- ECONNREFUSED: blocking connect to a closed loopback port (v4 and v6)
c = S.socket(S.AF_INET, S.SOCK_STREAM)
try_(c.connect, ("127.0.0.1", BASE + 3))
c.close()
c = S.socket(S.AF_INET6, S.SOCK_STREAM)
try_(c.connect, ("::1", BASE + 3))
c.close()

# --- EINPROGRESS: nonblocking connect to a loopback listener,
#     then EISCONN on a second connect once established
L = S.socket(S.AF_INET, S.SOCK_STREAM)
L.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
L.bind(("127.0.0.1", BASE + 4))
L.listen(1)
c = S.socket(S.AF_INET, S.SOCK_STREAM | S.SOCK_NONBLOCK)
c.connect_ex(("127.0.0.1", BASE + 4))
import select
select.select([], [c], [], 5)
c.connect_ex(("127.0.0.1", BASE + 4))     # completes: 0
c.connect_ex(("127.0.0.1", BASE + 4))     # EISCONN
c.close()
# ... and nonblocking connect to a closed port (EINPROGRESS, refused later)
c = S.socket(S.AF_INET6, S.SOCK_STREAM | S.SOCK_NONBLOCK)
c.connect_ex(("::1", BASE + 3))
select.select([], [c], [], 5)
c.connect_ex(("::1", BASE + 3))           # now reports ECONNREFUSED
c.close()
L.close()

# --- EINVAL / EOPNOTSUPP
u = S.socket(S.AF_INET, S.SOCK_DGRAM)
try_(u.listen, 5)                          # listen on UDP -> EOPNOTSUPP
try_(u.accept)                             # accept on UDP -> EOPNOTSUPP
u.close()
t = S.socket(S.AF_INET, S.SOCK_STREAM)
t.bind(("127.0.0.1", BASE + 5))
try_(t.bind, ("127.0.0.1", BASE + 6))      # bind twice -> EINVAL
libc.accept(t.fileno(), NULL, NULL)        # accept on non-listener -> EINVAL
t.close()

# --- ENOTSOCK: socket calls on a pipe
r, w = os.pipe()
libc.bind(r, buf(sin(BASE + 7)), 16)
libc.listen(w, 1)
libc.connect(r, buf(sin(BASE + 7)), 16)
libc.setsockopt(r, S.SOL_SOCKET, S.SO_REUSEADDR, buf(struct.pack("i", 1)), 4)
os.close(r)
os.close(w)

# --- family / length mismatches
s6 = S.socket(S.AF_INET6, S.SOCK_STREAM)
libc.bind(s6.fileno(), buf(sin(BASE + 8)), 16)          # AF_INET, len 16 -> EINVAL
libc.bind(s6.fileno(), buf(sin(BASE + 8) + b"\0" * 12), 28)  # AF_INET, len 28 -> EAFNOSUPPORT
s6.close()
s4 = S.socket(S.AF_INET, S.SOCK_STREAM)
libc.bind(s4.fileno(), buf(sin6(BASE + 8)), 28)         # AF_INET6 on v4 -> EAFNOSUPPORT
libc.connect(s4.fileno(), buf(sin6(BASE + 8)), 28)
s4.close()

# --- socket() failures
try_(S.socket, 255, S.SOCK_STREAM)                      # bad family
try_(S.socket, S.AF_INET, 99)                           # bad type
try_(S.socket, S.AF_INET, S.SOCK_STREAM, S.IPPROTO_UDP)  # bad protocol
try_(S.socket, S.AF_INET6, S.SOCK_DGRAM, S.IPPROTO_TCP)
libc.socket(S.AF_INET, S.SOCK_STREAM | 0x40000000, 0)   # unknown type flag
libc.socket(-1, S.SOCK_STREAM, 0)
