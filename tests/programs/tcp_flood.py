"""A flood of silent TCP connections, as a local user could make: COUNT connections to
HOST:PORT that never send anything, each replaced as soon as the other side drops it, for at
most SECONDS. Prints `ready` once COUNT connections are open, and `made N` at the end.

usage: tcp_flood.py HOST PORT COUNT SECONDS
"""

import selectors
import socket
import sys
import time

host, port, count, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
sel = selectors.DefaultSelector()
made = 0


def open_one():
    global made
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect((host, port))
    except BlockingIOError:
        pass
    except OSError:
        s.close()
        return
    sel.register(s, selectors.EVENT_READ)
    made += 1


for _ in range(count):
    open_one()
print("ready", flush=True)

deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    for key, _ in sel.select(0.05):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if data:
            continue  # an error line: its end follows
        sel.unregister(s)
        s.close()
        open_one()
    # Connections that could not even be opened are retried.
    for _ in range(count - len(sel.get_map())):
        open_one()

print(f"made {made}", flush=True)
