#!/usr/bin/env python3
"""Target for `dualstack trace -p PID`: started before the tracer.

It calls close(9999) (EBADF) every 50 ms as a heartbeat the test can wait
for in the trace, until the file named by argv[1] exists.  Then it binds
and listens on 127.0.0.1:BASE, forks a child that binds and listens on
::1:BASE+1, waits for it and exits.

Ports: DUALSTACK_TEST_PORT (default 47000) + 0..1.
"""
import os
import socket
import sys
import time

BASE = int(os.environ.get("DUALSTACK_TEST_PORT", "47000"))
go = sys.argv[1]
print("ready", flush=True)
deadline = time.monotonic() + 30
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit(3)
    try:
        os.close(9999)
    except OSError:
        pass
    time.sleep(0.05)

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", BASE))
s.listen(4)
pid = os.fork()
if pid == 0:
    c = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.bind(("::1", BASE + 1))
    c.listen(4)
    c.close()
    os._exit(0)
os.waitpid(pid, 0)
s.close()
