#!/usr/bin/env python3
"""Knock on a service guarded by alfwrapper's "knocking" filter.

The filter tells knocks apart by their SOURCE port: each knock is one TCP SYN
(or, with --udp, one datagram) sent to the service's own port from source
port KNOCK. This client binds each knock port in turn, sends that one packet
and closes the socket, waiting --delay seconds between knocks so that they
arrive in order. Then connect as usual, from any source port, before the
filter's open_ms runs out.

    examples/knock.py server.example 2222 7001 7002 7003 && ssh -p 2222 server.example

Binding source ports below 1024 needs root. Knocks must reach the server with
their source ports unchanged: a NAT that rewrites source ports defeats them.
"""

import argparse
import errno
import socket
import sys
import time


def knock_once(family, kind, source, port, destination):
    with socket.socket(family, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((source, port))
        if kind == socket.SOCK_DGRAM:
            s.sendto(b"knock", destination)
            return
        # A non-blocking connect sends the SYN before it returns; closing a
        # socket that is still connecting sends nothing more (no RST).
        s.setblocking(False)
        err = s.connect_ex(destination)
        if err not in (0, errno.EINPROGRESS):
            raise OSError(err, f"knock from port {port}: {errno.errorcode.get(err, err)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("host", help="the server's name or address")
    parser.add_argument("port", type=int, help="the service's port")
    parser.add_argument("knocks", type=int, nargs="+", metavar="KNOCK", help="source ports, in order")
    parser.add_argument("--udp", action="store_true", help="knock with datagrams (the service is UDP)")
    parser.add_argument("--source", help="local address to knock from (default: chosen by routing)")
    parser.add_argument("--delay", type=float, default=0.2, help="seconds between knocks (default 0.2)")
    args = parser.parse_args()

    kind = socket.SOCK_DGRAM if args.udp else socket.SOCK_STREAM
    try:
        family, _, _, _, destination = socket.getaddrinfo(args.host, args.port, type=kind)[0]
        source = args.source or ("::" if family == socket.AF_INET6 else "0.0.0.0")
        for i, port in enumerate(args.knocks):
            if i:
                time.sleep(args.delay)
            knock_once(family, kind, source, port, destination)
    except OSError as e:
        print(f"knock.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
