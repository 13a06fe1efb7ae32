#!/usr/bin/env python3
"""The seed scenario: what each listener accepts.

1. dual-stack listener: one AF_INET6 socket on :: (IPV6_V6ONLY not set)
2. sshd-style pair: AF_INET 0.0.0.0 + AF_INET6 :: with IPV6_V6ONLY=1
3. v6-only listener (IPV6_V6ONLY=1 on ::)
4. v4-only listener (AF_INET on 127.0.0.1)
5. dual-stack listener with IPV6_V6ONLY=0 set explicitly
6. a failed bind: EADDRINUSE on the port of 4.
7. a forked child renamed (prctl PR_SET_NAME) to "dsseedchild" that
   opens a listener of its own on ::1.

Ports: DUALSTACK_TEST_PORT (default 47000) + 0..9.  Loopback / wildcard only.
"""
import ctypes
import os
import socket

BASE = int(os.environ.get("DUALSTACK_TEST_PORT", "47000"))
S = socket
keep = []


def listener(family, addr, port, v6only=None, backlog=16):
    s = S.socket(family, S.SOCK_STREAM)
    keep.append(s)
    s.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
    if v6only is not None:
        s.setsockopt(S.IPPROTO_IPV6, S.IPV6_V6ONLY, v6only)
    s.bind((addr, port))
    s.listen(backlog)
    return s


listener(S.AF_INET6, "::", BASE + 0)                 # 1. dual-stack
listener(S.AF_INET, "0.0.0.0", BASE + 1)             # 2. sshd pair, v4 half
listener(S.AF_INET6, "::", BASE + 1, v6only=1)       # 2. sshd pair, v6 half
listener(S.AF_INET6, "::", BASE + 2, v6only=1)       # 3. v6-only
listener(S.AF_INET, "127.0.0.1", BASE + 3)           # 4. v4-only
listener(S.AF_INET6, "::", BASE + 4, v6only=0)       # 5. explicit dual-stack

b = S.socket(S.AF_INET, S.SOCK_STREAM)               # 6. EADDRINUSE
try:
    b.bind(("127.0.0.1", BASE + 3))
except OSError:
    pass
b.close()

pid = os.fork()                                      # 7. renamed child
if pid == 0:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(15, b"dsseedchild", 0, 0, 0)          # PR_SET_NAME
    c = S.socket(S.AF_INET6, S.SOCK_STREAM)
    c.bind(("::1", BASE + 5))
    c.listen(4)
    c.close()
    os._exit(0)
os.waitpid(pid, 0)

for s in keep:
    s.close()
