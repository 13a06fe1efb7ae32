#!/usr/bin/env python3
"""Address families and odd sockaddrs: AF_UNIX (path, abstract, unnamed,
autobind, non-NUL-terminated), AF_NETLINK, AF_PACKET, unknown families,
AF_UNSPEC, IPv6 flowinfo / scope_id, short and oversized addrlen.
Only loopback is touched.

Ports: DUALSTACK_TEST_PORT (default 47000) + 60..79.
"""
import ctypes
import os
import socket
import struct

BASE = int(os.environ.get("DUALSTACK_TEST_PORT", "47000")) + 60
S = socket
UNIX_PATH = "/tmp/dualstack-test-unix.sock"
LONG_PATH = ("/tmp/dualstack-test-" + "x" * 200)[:108]   # exactly 108 bytes

libc = ctypes.CDLL("libc.so.6", use_errno=True)
P = ctypes.c_void_p
for name, argt in {
    "bind": [ctypes.c_int, P, ctypes.c_uint],
    "connect": [ctypes.c_int, P, ctypes.c_uint],
}.items():
    getattr(libc, name).argtypes = argt
    getattr(libc, name).restype = ctypes.c_int


def buf(b):
    return ctypes.create_string_buffer(b, len(b))


def sin(port, addr="127.0.0.1", family=S.AF_INET):
    return struct.pack("<H", family) + struct.pack(">H", port) + \
        S.inet_aton(addr) + b"\0" * 8


def sin6(port, addr="::1", flowinfo=0, scope=0, family=S.AF_INET6):
    return struct.pack("<H", family) + struct.pack(">HI", port, flowinfo) + \
        S.inet_pton(S.AF_INET6, addr) + struct.pack("<I", scope)


def try_(fn, *args):
    try:
        fn(*args)
    except OSError:
        pass


def rm(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# --- AF_UNIX, filesystem path: listener + client + accept
rm(UNIX_PATH)
srv = S.socket(S.AF_UNIX, S.SOCK_STREAM)
srv.bind(UNIX_PATH)
srv.listen(4)
cli = S.socket(S.AF_UNIX, S.SOCK_STREAM)
cli.connect(UNIX_PATH)
conn, _ = srv.accept()
conn.close()
cli.close()
srv.close()
rm(UNIX_PATH)

# --- AF_UNIX, same path passed with the trailing NUL counted in addrlen
u = S.socket(S.AF_UNIX, S.SOCK_DGRAM)
sun = struct.pack("<H", S.AF_UNIX) + UNIX_PATH.encode() + b"\0"
libc.bind(u.fileno(), buf(sun), len(sun))
u.close()
rm(UNIX_PATH)

# --- AF_UNIX, abstract namespace
ab = S.socket(S.AF_UNIX, S.SOCK_STREAM)
ab.bind(b"\0dualstack-test")
ab.listen(1)
ac = S.socket(S.AF_UNIX, S.SOCK_STREAM)
ac.connect(b"\0dualstack-test")
ac.close()
ab.close()
# abstract name with embedded NUL and non-printable bytes
ab = S.socket(S.AF_UNIX, S.SOCK_DGRAM)
ab.bind(b"\0dual\0stack\x01\n")
ab.close()

# --- AF_UNIX autobind (addrlen == sizeof(sa_family_t))
au = S.socket(S.AF_UNIX, S.SOCK_DGRAM)
au.bind(b"")
au.close()

# --- AF_UNIX non-NUL-terminated 108-byte path (connect: ENOENT, no file made)
nn = S.socket(S.AF_UNIX, S.SOCK_STREAM)
sun = struct.pack("<H", S.AF_UNIX) + LONG_PATH.encode()
assert len(sun) == 110
libc.connect(nn.fileno(), buf(sun), 110)
nn.close()

# --- unnamed socketpairs
for t in (S.SOCK_STREAM, S.SOCK_DGRAM, S.SOCK_SEQPACKET):
    a, b = S.socketpair(S.AF_UNIX, t)
    a.close()
    b.close()

# --- AF_NETLINK
nl = S.socket(S.AF_NETLINK, S.SOCK_RAW, S.NETLINK_ROUTE)
nl.bind((0, 0))
nl.close()
nl = S.socket(S.AF_NETLINK, S.SOCK_DGRAM, S.NETLINK_ROUTE)
nl.bind((0, 1 | 0x10))             # RTMGRP_LINK | RTMGRP_IPV4_IFADDR
nl.close()
# Python leaves nl_pad uninitialised (strace then prints nl_pad=0x....);
# a clean struct sockaddr_nl via ctypes shows the usual form.
nl = S.socket(S.AF_NETLINK, S.SOCK_RAW, S.NETLINK_ROUTE)
snl = struct.pack("<HHII", S.AF_NETLINK, 0, 0, 0)
libc.bind(nl.fileno(), buf(snl), len(snl))
nl.close()
nl = S.socket(S.AF_NETLINK, S.SOCK_RAW, S.NETLINK_ROUTE)
snl = struct.pack("<HHII", S.AF_NETLINK, 0, 47000, 0xffffffff)
libc.bind(nl.fileno(), buf(snl), len(snl))
libc.bind(nl.fileno(), buf(snl), 8)          # short sockaddr_nl
nl.close()
nl = S.socket(S.AF_NETLINK, S.SOCK_RAW, 16)   # NETLINK_GENERIC
nl.close()
nl = S.socket(S.AF_NETLINK, S.SOCK_RAW, 15)   # NETLINK_KOBJECT_UEVENT
nl.close()

# --- AF_PACKET on lo (root), ETH_P_ALL and ETH_P_IP
ETH_P_ALL, ETH_P_IP, ETH_P_IPV6 = 0x0003, 0x0800, 0x86DD
pk = S.socket(S.AF_PACKET, S.SOCK_RAW, S.htons(ETH_P_ALL))
pk.bind(("lo", ETH_P_ALL))
pk.close()
pk = S.socket(S.AF_PACKET, S.SOCK_DGRAM, S.htons(ETH_P_IP))
pk.bind(("lo", ETH_P_IPV6))
pk.close()

# --- unknown / odd families in bind()
t4 = S.socket(S.AF_INET, S.SOCK_STREAM)
fam255 = struct.pack("<H", 255) + b"dualstack\x00\x01\x02\xff\x10"
libc.bind(t4.fileno(), buf(fam255), 16)
libc.bind(t4.fileno(), buf(fam255 + bytes(range(1, 113))), 128)   # long sa_data
atalk = struct.pack("<H", 5) + b"\0" * 14                # AF_APPLETALK
libc.bind(t4.fileno(), buf(atalk), 16)
unspec = struct.pack("<H", 0) + b"\0" * 14               # AF_UNSPEC, INADDR_ANY
libc.bind(t4.fileno(), buf(unspec), 16)
t4.close()
# AF_UNSPEC connect on UDP = "disconnect"
ud = S.socket(S.AF_INET, S.SOCK_DGRAM)
ud.connect(("127.0.0.1", BASE))
libc.connect(ud.fileno(), buf(struct.pack("<H", 0) + b"\0" * 14), 16)
ud.close()

# --- IPv6 flowinfo and scope_id
s6 = S.socket(S.AF_INET6, S.SOCK_STREAM)
try_(s6.bind, ("fe80::1", BASE + 1, 0x12345, 1))         # %lo -> EADDRNOTAVAIL
s6.close()
s6 = S.socket(S.AF_INET6, S.SOCK_DGRAM)
try_(s6.bind, ("fe80::1", BASE + 1, 0, 4242))            # no such ifindex
s6.close()
s6 = S.socket(S.AF_INET6, S.SOCK_DGRAM)
s6.bind(("::1", BASE + 2, 0xfffff, 0))                   # flowinfo on ::1
s6.close()
s6 = S.socket(S.AF_INET6, S.SOCK_DGRAM)
try_(s6.bind, ("ff02::1", BASE + 3, 0, 1))               # multicast %lo
s6.close()

# --- addrlen variants
s6 = S.socket(S.AF_INET6, S.SOCK_STREAM)
fd = s6.fileno()
full6 = sin6(BASE + 4)
libc.bind(fd, buf(full6), 8)                # short AF_INET6
libc.bind(fd, buf(full6), 2)                # family only
libc.bind(fd, buf(full6), 1)                # less than the family
libc.bind(fd, buf(full6), 24)               # RFC 2133 length, no scope_id
libc.bind(fd, buf(full6 + b"\0" * 200), 200)  # > sizeof(sockaddr_storage)
s6.close()
s4 = S.socket(S.AF_INET, S.SOCK_STREAM)
fd = s4.fileno()
full4 = sin(BASE + 5)
libc.bind(fd, buf(full4), 8)                # short AF_INET
libc.bind(fd, buf(full4 + b"\0" * 112), 128)  # == sizeof(sockaddr_storage)
libc.bind(fd, buf(full4 + b"\0" * 113), 129)  # one more
s4.close()
su = S.socket(S.AF_UNIX, S.SOCK_STREAM)
sun = struct.pack("<H", S.AF_UNIX) + b"/tmp/dualstack-test-nonexistent"
libc.connect(su.fileno(), buf(sun), 10)     # truncated path
su.close()
