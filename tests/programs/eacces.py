#!/usr/bin/env python3
"""EACCES: an unprivileged child (uid/gid 65534) binds port 80 on
127.0.0.1 and ::1.  The root parent only forks and waits.

Usage: run as root.  (Alternatively run the child part directly with
`setpriv --reuid=65534 --regid=65534 --clear-groups python3 eacces.py --child`.)
"""
import os
import socket
import sys


def child():
    for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            s.bind((addr, 80))
        except PermissionError:
            pass
        s.close()
    # UDP low port as well
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 53))
    except PermissionError:
        pass
    s.close()


if len(sys.argv) > 1 and sys.argv[1] == "--child":
    child()
    sys.exit(0)

pid = os.fork()
if pid == 0:
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
    child()
    os._exit(0)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
