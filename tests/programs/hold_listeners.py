"""Opens the sockets named on the command line and holds them until stdin closes.

Each argument is PROTO:ADDRESS:PORT[:OPTION...]:

    tcp6:[::]:39001:v6only=0    AF_INET6 TCP listener on ::, IPV6_V6ONLY set to 0
    tcp6:[::]:39002             the same without setsockopt: the netns default applies
    tcp4:0.0.0.0:39003          AF_INET TCP listener
    tcp6:[::ffff:127.0.0.1]:39004
    tcp6:[::]:0                 port 0: the kernel picks one
    udp6:[::]:39005:v6only=1    AF_INET6 UDP socket, bound (UDP sockets do not listen)
    udp4:127.0.0.1:39006
    tcp4:127.0.0.1:39007:listen=0   bound, never listening (it still blocks the port)

For each socket it prints one JSON line: the spec, its fd, family, the bound address and port
(getsockname) and IPV6_V6ONLY as getsockopt reads it (null for AF_INET). Then it prints
"ready" and sleeps until stdin closes or it is killed.
"""

import json
import socket
import sys

KINDS = {
    "tcp4": (socket.AF_INET, socket.SOCK_STREAM),
    "tcp6": (socket.AF_INET6, socket.SOCK_STREAM),
    "udp4": (socket.AF_INET, socket.SOCK_DGRAM),
    "udp6": (socket.AF_INET6, socket.SOCK_DGRAM),
}


def parse(spec):
    kind, rest = spec.split(":", 1)
    if rest.startswith("["):
        address, rest = rest[1:].split("]:", 1)
    else:
        address, rest = rest.split(":", 1)
    port, *options = rest.split(":")
    return kind, address, int(port), options


def open_socket(spec):
    kind, address, port, options = parse(spec)
    family, sock_type = KINDS[kind]
    sock = socket.socket(family, sock_type)
    listen = sock_type == socket.SOCK_STREAM
    for option in options:
        name, value = option.split("=")
        if name == "v6only":
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(value))
        elif name == "listen":
            listen = listen and value != "0"
        else:
            raise SystemExit(f"unknown option {option!r} in {spec!r}")
    sock.bind((address, port))
    if listen:
        sock.listen(16)
    bound = sock.getsockname()
    v6only = None
    if family == socket.AF_INET6:
        v6only = sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
    print(json.dumps({
        "spec": spec,
        "fd": sock.fileno(),
        "family": "AF_INET6" if family == socket.AF_INET6 else "AF_INET",
        "address": bound[0],
        "port": bound[1],
        "v6only": v6only,
    }))
    return sock


def main():
    sockets = [open_socket(spec) for spec in sys.argv[1:]]
    print("ready", flush=True)
    sys.stdin.read()
    for sock in sockets:
        sock.close()


if __name__ == "__main__":
    main()
