#!/usr/bin/env python3
"""setsockopt() argument shapes: int options, struct linger, strings,
unknown options, zero / short / long optlen, NULL optval.

Ports: DUALSTACK_TEST_PORT (default 47000) + 20..39.
"""
import os
import socket
import struct

BASE = int(os.environ.get("DUALSTACK_TEST_PORT", "47000")) + 20
S = socket


def try_(fn, *args):
    try:
        fn(*args)
    except OSError:
        pass


t4 = S.socket(S.AF_INET, S.SOCK_STREAM)
t6 = S.socket(S.AF_INET6, S.SOCK_STREAM)
u4 = S.socket(S.AF_INET, S.SOCK_DGRAM)
u6 = S.socket(S.AF_INET6, S.SOCK_DGRAM)

# --- SOL_SOCKET, int valued
t4.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
t4.setsockopt(S.SOL_SOCKET, S.SO_REUSEPORT, 1)
t4.setsockopt(S.SOL_SOCKET, S.SO_KEEPALIVE, 1)
t4.setsockopt(S.SOL_SOCKET, S.SO_KEEPALIVE, 0)
t4.setsockopt(S.SOL_SOCKET, S.SO_RCVBUF, 65536)
t4.setsockopt(S.SOL_SOCKET, S.SO_SNDBUF, 131072)
t4.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, -1)
u4.setsockopt(S.SOL_SOCKET, S.SO_BROADCAST, 1)

# --- SO_LINGER: struct linger
t4.setsockopt(S.SOL_SOCKET, S.SO_LINGER, struct.pack("ii", 1, 0))
t4.setsockopt(S.SOL_SOCKET, S.SO_LINGER, struct.pack("ii", 0, 30))
try_(t4.setsockopt, S.SOL_SOCKET, S.SO_LINGER, struct.pack("i", 1))   # short

# --- SO_RCVTIMEO: struct timeval (old 64-bit layout)
t4.setsockopt(S.SOL_SOCKET, S.SO_RCVTIMEO, struct.pack("ll", 5, 250000))

# --- SO_BINDTODEVICE: interface name string
t4.setsockopt(S.SOL_SOCKET, S.SO_BINDTODEVICE, b"lo")          # no NUL, len 2
t4.setsockopt(S.SOL_SOCKET, S.SO_BINDTODEVICE, b"lo\0")        # with NUL, len 3
t4.setsockopt(S.SOL_SOCKET, S.SO_BINDTODEVICE, b"lo" + b"\0" * 14)  # IFNAMSIZ
t4.setsockopt(S.SOL_SOCKET, S.SO_BINDTODEVICE, b"")            # optlen 0: unbind

# --- SOL_IP
t4.setsockopt(S.SOL_IP, 15, 1)                                  # IP_FREEBIND
t4.setsockopt(S.SOL_IP, 19, 1)                                  # IP_TRANSPARENT
t4.setsockopt(S.SOL_IP, S.IP_TOS, 0x10)
u4.setsockopt(S.SOL_IP, S.IP_TTL, 64)
u4.setsockopt(S.SOL_IP, S.IP_MULTICAST_TTL, 1)
u4.setsockopt(S.SOL_IP, S.IP_RECVTOS, 1)

# --- SOL_IPV6
t6.setsockopt(S.IPPROTO_IPV6, S.IPV6_V6ONLY, 0)
t6.setsockopt(S.IPPROTO_IPV6, S.IPV6_V6ONLY, 1)
u6.setsockopt(S.IPPROTO_IPV6, S.IPV6_RECVPKTINFO, 1)
u6.setsockopt(S.IPPROTO_IPV6, S.IPV6_UNICAST_HOPS, 64)
t6.setsockopt(S.IPPROTO_IPV6, S.IPV6_TCLASS, 0x20)

# --- SOL_TCP
t4.setsockopt(S.IPPROTO_TCP, S.TCP_NODELAY, 1)
t4.setsockopt(S.IPPROTO_TCP, S.TCP_KEEPIDLE, 60)
t4.setsockopt(S.IPPROTO_TCP, S.TCP_KEEPINTVL, 10)
t4.setsockopt(S.IPPROTO_TCP, S.TCP_KEEPCNT, 5)
t6.setsockopt(S.IPPROTO_TCP, S.TCP_NODELAY, 1)
t4.setsockopt(S.IPPROTO_TCP, S.TCP_CONGESTION, b"cubic")

# --- unknown option names / levels
try_(t4.setsockopt, S.SOL_SOCKET, 9999, 1)          # unknown SOL_SOCKET optname
try_(t4.setsockopt, S.SOL_IP, 9999, 1)              # unknown SOL_IP optname
try_(t4.setsockopt, S.IPPROTO_TCP, 9999, 1)         # unknown SOL_TCP optname
try_(t4.setsockopt, 9999, 1, 1)                     # unknown level
try_(t4.setsockopt, S.SOL_SOCKET, 9999, b"\x01\x02\x03\x04\x05\x06")  # raw bytes

# string quoting: octal escapes are 3 digits only when an octal digit
# follows; values longer than strace's -s limit (32) get a trailing "..."
try_(t4.setsockopt, S.SOL_SOCKET, 9999, b"\x017\x018\"q\\\t\x7f\xff")
try_(t4.setsockopt, S.SOL_SOCKET, 9999, bytes(range(0x41, 0x41 + 40)))
try_(t4.setsockopt, S.SOL_SOCKET, 9999, bytes(range(0x41, 0x41 + 32)))
try_(t4.setsockopt, S.SOL_SOCKET, 9999, bytes(range(0x41, 0x41 + 33)))

# --- optlen 0, short, long, NULL optval
try_(t4.setsockopt, S.SOL_SOCKET, S.SO_REUSEADDR, b"")            # optlen 0
try_(t4.setsockopt, S.SOL_SOCKET, S.SO_REUSEADDR, b"\x01\x00")    # optlen 2
t4.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, b"\x01\0\0\0\0\0\0\0")  # optlen 8
try_(t4.setsockopt, S.SOL_SOCKET, S.SO_REUSEADDR, None, 0)        # NULL, 0
try_(t4.setsockopt, S.SOL_SOCKET, S.SO_REUSEADDR, None, 4)        # NULL, 4
try_(t4.setsockopt, S.IPPROTO_TCP, S.TCP_NODELAY, b"")            # optlen 0

# bind one of them so the set of calls is a realistic server setup
t4.bind(("127.0.0.1", BASE))
t4.listen(16)

for s in (t4, t6, u4, u6):
    s.close()
