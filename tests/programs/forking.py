#!/usr/bin/env python3
"""Processes: the parent forks 3 children one at a time (each does
socket/bind/listen/close on its own port and exits), then a 4th child that
runs another python via subprocess which binds a port.  The parent waits
for each child before starting the next one.

Ports: DUALSTACK_TEST_PORT (default 47000) + 120..139.
"""
import os
import socket
import subprocess
import sys

BASE = int(os.environ.get("DUALSTACK_TEST_PORT", "47000")) + 120
S = socket

CHILD_SRC = (
    "import socket, sys\n"
    "s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)\n"
    "s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)\n"
    "s.bind(('::', int(sys.argv[1])))\n"
    "s.listen(4)\n"
    "s.close()\n"
)


def child(i):
    fam, addr = ((S.AF_INET, "127.0.0.1"), (S.AF_INET6, "::1"),
                 (S.AF_INET6, "::"))[i]
    s = S.socket(fam, S.SOCK_STREAM)
    s.bind((addr, BASE + i))
    s.listen(8)
    s.close()


# parent's own listener, kept open across the forks (inherited fd)
P = S.socket(S.AF_INET, S.SOCK_STREAM)
P.bind(("127.0.0.1", BASE + 10))
P.listen(8)

for i in range(3):
    pid = os.fork()
    if pid == 0:
        child(i)
        os._exit(0)
    os.waitpid(pid, 0)

pid = os.fork()
if pid == 0:
    rc = subprocess.call([sys.executable, "-c", CHILD_SRC, str(BASE + 3)],
                         close_fds=True)
    os._exit(rc)
_, status = os.waitpid(pid, 0)

P.close()
sys.exit(os.waitstatus_to_exitcode(status))
