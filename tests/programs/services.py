"""How real services start and share their sockets, one shape per mode.

    services.py double-fork PORT          daemonize (fork, setsid, fork), then bind [::]:PORT
                                          with IPV6_V6ONLY=1, listen, serve one connection
    services.py prefork PORT WORKERS      the master binds a dual-stack [::]:PORT and listens;
                                          each forked worker accepts one connection
    services.py pass PORT                 one process binds and listens, passes the listener over
                                          a Unix socket (SCM_RIGHTS) to a new process and closes
                                          it; the receiver accepts one connection
    services.py dup2 PORT                 dup2 an AF_INET socket over an AF_INET6 one, then bind
                                          and listen on the reused descriptor number
    services.py many COUNT PORT           COUNT AF_INET6 sockets on [::]:PORT+2k (IPV6_V6ONLY=0)
                                          and PORT+2k+1 (IPV6_V6ONLY=1), 500 per port with
                                          SO_REUSEPORT, all
                                          listening at once (over several processes when one
                                          may not hold that many descriptors)
    services.py thread-then-wait DIR      a thread that exits at once; its id goes to DIR/tid,
                                          then wait for DIR/go

Every mode writes `ready` lines to stderr where the test may connect, and exits 0 when done.
"""

import os
import resource
import socket
import sys
import threading
import time


def say(text):
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def serve_one(listener, label):
    conn, _ = listener.accept()
    conn.close()
    say(f"served {label}")


def double_fork(port):
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    # The daemon: no terminal, parent gone.
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::", port))
    s.listen(8)
    say(f"ready {os.getpid()}")
    serve_one(s, "daemon")
    s.close()
    # A daemon lives on: the trace must still be following it when its start command ends.
    time.sleep(1)


def prefork(port, workers):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(64)
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            serve_one(s, f"worker {os.getpid()}")
            os._exit(0)
        children.append(pid)
    say("ready")
    for pid in children:
        os.waitpid(pid, 0)
    s.close()


def pass_listener(port):
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        left.close()
        os.set_inheritable(right.fileno(), True)
        # A new program, as a real receiver would be: only the Unix socket is inherited.
        os.execv(sys.executable, [sys.executable, __file__, "receive", str(right.fileno())])
    right.close()
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::", port))
    s.listen(8)
    socket.send_fds(left, [b"x"], [s.fileno()])
    s.close()
    left.recv(1)
    os.waitpid(pid, 0)


def receive(fd):
    unix = socket.socket(fileno=fd)
    _, fds, _, _ = socket.recv_fds(unix, 1, 1)
    listener = socket.socket(fileno=fds[0])
    say("ready")
    serve_one(listener, "receiver")
    listener.close()
    unix.send(b"k")


def dup2_over(port):
    six = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    six.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    four = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fd = six.detach()
    # The AF_INET6 socket is closed by dup2; its descriptor number now names the AF_INET one.
    os.dup2(four.fileno(), fd)
    four.close()
    reused = socket.socket(fileno=fd)
    reused.bind(("127.0.0.1", port))
    reused.listen(8)
    say("ready")
    serve_one(reused, "dup2")
    reused.close()


def many(count, port):
    """COUNT sockets live at once: in this process when its descriptor limit allows, else
    spread over forked processes (raising the hard limit needs CAP_SYS_RESOURCE)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = count + 100
    if hard == resource.RLIM_INFINITY or hard >= want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        per_process = count
    else:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        per_process = hard - 100
    shares = [min(per_process, count - i) for i in range(0, count, per_process)]
    made = os.pipe()
    release = os.pipe()
    children = []
    first = 0
    for share in shares:
        pid = os.fork()
        if pid == 0:
            os.close(made[0])
            os.close(release[1])
            sockets = open_listeners(first, share, port)
            os.write(made[1], b"x")
            os.read(release[0], 1)
            for s in sockets:
                s.close()
            os._exit(0)
        children.append(pid)
        first += share
    os.close(made[1])
    os.close(release[0])
    for _ in shares:
        os.read(made[0], 1)
    say(f"ready {count} in {len(shares)} processes")
    os.close(release[1])
    for pid in children:
        os.waitpid(pid, 0)


def open_listeners(first, share, port):
    sockets = []
    for i in range(first, first + share):
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, i % 2)
        # Small SO_REUSEPORT groups: a group of tens of thousands needs one large kernel
        # allocation, which fails with ENOMEM on a fragmented machine.
        s.bind(("::", port + 2 * (i // 1000) + i % 2))
        s.listen(1)
        sockets.append(s)
    return sockets


def thread_then_wait(directory):
    ids = []
    t = threading.Thread(target=lambda: ids.append(threading.get_native_id()))
    t.start()
    t.join()
    # The thread is gone once join returns; give the kernel a moment to reap it.
    time.sleep(0.2)
    with open(os.path.join(directory, "tid.tmp"), "w") as f:
        f.write(str(ids[0]))
    os.rename(os.path.join(directory, "tid.tmp"), os.path.join(directory, "tid"))
    deadline = time.time() + 30
    while not os.path.exists(os.path.join(directory, "go")) and time.time() < deadline:
        time.sleep(0.05)


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "double-fork":
        double_fork(int(args[0]))
    elif mode == "prefork":
        prefork(int(args[0]), int(args[1]))
    elif mode == "pass":
        pass_listener(int(args[0]))
    elif mode == "receive":
        receive(int(args[0]))
    elif mode == "dup2":
        dup2_over(int(args[0]))
    elif mode == "many":
        many(int(args[0]), int(args[1]))
    elif mode == "thread-then-wait":
        thread_then_wait(args[0])
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
