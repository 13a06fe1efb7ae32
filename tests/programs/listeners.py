#!/usr/bin/env python3
"""Listener shapes: dual-stack, sshd-style split pair, v6-only, v4-only,
specific addresses, v4-mapped, port 0, UDP.  Loopback / wildcard only.

Ports: DUALSTACK_TEST_PORT (default 47000) + 0..19.
"""
import os
import socket

BASE = int(os.environ.get("DUALSTACK_TEST_PORT", "47000"))
S = socket

socks = []


def mk(family, type_=S.SOCK_STREAM, proto=0):
    s = S.socket(family, type_, proto)
    socks.append(s)
    return s


# 1. dual-stack listener, IPV6_V6ONLY=0 set explicitly
s = mk(S.AF_INET6)
s.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
s.setsockopt(S.IPPROTO_IPV6, S.IPV6_V6ONLY, 0)
s.bind(("::", BASE + 0))
s.listen(128)

# 2. dual-stack listener relying on the sysctl default (bindv6only=0)
s = mk(S.AF_INET6)
s.bind(("::", BASE + 1))
s.listen(128)

# 3. sshd-style pair: AF_INET 0.0.0.0 + AF_INET6 :: with IPV6_V6ONLY=1,
#    created with an explicit IPPROTO_TCP like getaddrinfo() results.
s4 = mk(S.AF_INET, S.SOCK_STREAM, S.IPPROTO_TCP)
s4.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
s4.bind(("0.0.0.0", BASE + 2))
s4.listen(128)
s6 = mk(S.AF_INET6, S.SOCK_STREAM, S.IPPROTO_TCP)
s6.setsockopt(S.IPPROTO_IPV6, S.IPV6_V6ONLY, 1)
s6.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
s6.bind(("::", BASE + 2))
s6.listen(128)

# 4. v6-only listener on its own
s = mk(S.AF_INET6)
s.setsockopt(S.IPPROTO_IPV6, S.IPV6_V6ONLY, 1)
s.bind(("::", BASE + 3))
s.listen(64)

# 5. v4-only listener on loopback
s = mk(S.AF_INET)
s.bind(("127.0.0.1", BASE + 4))
s.listen(5)

# 6. specific IPv6 address ::1
s = mk(S.AF_INET6)
s.bind(("::1", BASE + 5))
s.listen(5)

# 7. v4-mapped ::ffff:127.0.0.1 on an AF_INET6 socket
s = mk(S.AF_INET6)
s.bind(("::ffff:127.0.0.1", BASE + 6))
s.listen(5)

# 8. port 0 (kernel-chosen ephemeral port), v4 and v6
s = mk(S.AF_INET)
s.bind(("127.0.0.1", 0))
s.listen(1)
s = mk(S.AF_INET6)
s.bind(("::", 0))
s.listen(0)

# 9. UDP sockets
u = mk(S.AF_INET, S.SOCK_DGRAM)
u.bind(("127.0.0.1", BASE + 7))
u = mk(S.AF_INET6, S.SOCK_DGRAM)
u.setsockopt(S.IPPROTO_IPV6, S.IPV6_V6ONLY, 0)
u.bind(("::", BASE + 8))
u = mk(S.AF_INET6, S.SOCK_DGRAM, S.IPPROTO_UDP)
u.setsockopt(S.IPPROTO_IPV6, S.IPV6_V6ONLY, 1)
u.bind(("::1", BASE + 9))
u = mk(S.AF_INET, S.SOCK_DGRAM, S.IPPROTO_UDP)
u.bind(("0.0.0.0", 0))

# 10. listen() with a huge backlog (kernel clamps silently) and negative one
s = mk(S.AF_INET)
s.bind(("127.0.0.1", BASE + 10))
s.listen(65535)
s = mk(S.AF_INET6)
s.bind(("::1", BASE + 11))
s.listen(-1)  # Python clamps negative backlogs to 0 before the syscall
# a genuinely negative backlog, straight through libc
import ctypes
libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.listen.argtypes = [ctypes.c_int, ctypes.c_int]
libc.listen(s.fileno(), -1)

# close everything, in creation order
for s in socks:
    s.close()
