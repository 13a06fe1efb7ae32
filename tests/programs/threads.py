#!/usr/bin/env python3
"""Threads: 4 threads each doing socket/bind/listen/close on distinct ports
(started and joined one after another so the order is deterministic), then
a server thread blocked in accept() while the main thread connects, which
produces strace's "<unfinished ...>" / "<... accept4 resumed>" pair.

Ports: DUALSTACK_TEST_PORT (default 47000) + 100..119.
"""
import os
import socket
import threading
import time

BASE = int(os.environ.get("DUALSTACK_TEST_PORT", "47000")) + 100
S = socket


def worker(i):
    fam, addr = ((S.AF_INET, "127.0.0.1"), (S.AF_INET6, "::1"))[i % 2]
    s = S.socket(fam, S.SOCK_STREAM)
    s.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
    s.bind((addr, BASE + i))
    s.listen(8)
    s.close()


for i in range(4):
    t = threading.Thread(target=worker, args=(i,))
    t.start()
    t.join()

# blocking accept in a thread, connect from the main thread
L = S.socket(S.AF_INET6, S.SOCK_STREAM)
L.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)   # TIME_WAIT on reruns
L.bind(("::1", BASE + 10))
L.listen(1)


def server():
    conn, _ = L.accept()
    conn.close()


t = threading.Thread(target=server)
t.start()
time.sleep(0.3)              # let the server thread block in accept4()
c = S.socket(S.AF_INET6, S.SOCK_STREAM)
c.connect(("::1", BASE + 10))
t.join()
c.close()
L.close()
