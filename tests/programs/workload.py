#!/usr/bin/env python3
"""Workload for the daemon tests: a known number of socket calls, started paused.

Usage: workload.py LOOPS BASE

Prints "ready PID" and waits for a line on stdin, so that clients can connect with a
filter on its pid first. Then, in this order:
- LOOPS times: socket(AF_INET, SOCK_STREAM), bind(127.0.0.1:0), close; a 1 ms pause
  every 10 loops keeps the event rate steady;
- 4 IPv4 listeners: socket, setsockopt(SO_REUSEADDR), bind(127.0.0.1:BASE+i),
  listen, for i in 0..4;
- 3 IPv6-only listeners: socket(AF_INET6), setsockopt(IPV6_V6ONLY, 1),
  bind([::1]:BASE+10+i), listen, for i in 0..3;
- 2 failing binds: socket(AF_INET), bind(127.0.0.1:BASE+i) -> EADDRINUSE, close,
  for i in 0..2;
- close of the 7 listeners.
Then prints "done" and waits for a second line (or EOF) before exiting, so that the
interpreter's teardown stays out of the counts.

Totals: socket LOOPS+9, setsockopt 7, bind LOOPS+9 (2 failed), listen 7,
close LOOPS+9; AF_INET6: 15 events.
"""
import os
import socket
import sys
import time

loops, base = int(sys.argv[1]), int(sys.argv[2])
print(f"ready {os.getpid()}", flush=True)
sys.stdin.readline()

for i in range(loops):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.close()
    if i % 10 == 9:
        time.sleep(0.001)

listeners = []
for i in range(4):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", base + i))
    s.listen(8)
    listeners.append(s)
for i in range(3):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::1", base + 10 + i))
    s.listen(8)
    listeners.append(s)
for i in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", base + i))
    except OSError:
        pass
    s.close()
for s in listeners:
    s.close()

print("done", flush=True)
sys.stdin.readline()
