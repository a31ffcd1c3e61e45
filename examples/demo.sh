#!/bin/sh
# The demo: an echo service on port 4242 behind a filter that admits 127.0.0.1
# only. A client from 127.0.0.1 gets its echo; a client from 127.0.0.2 is
# refused (its SYN is dropped by the kernel, so it times out).
#
# It runs from the source tree after ./scripts/build, or installed (in
# share/doc/alfwrapper/examples/, the filter library in share/alfwrapper/).
set -eu
examples=$(cd "$(dirname "$0")" && pwd)
if [ -x "$examples/../build/alfwrapper" ]; then
    cd "$examples/.."
    alfwrapper=${ALFWRAPPER:-build/alfwrapper}
    filter=filters/whitelist.c
    echod=examples/echod.sh
else
    alfwrapper=${ALFWRAPPER:-alfwrapper}
    filter=$(cd "$examples/../../../alfwrapper/filters" && pwd)/whitelist.c
    echod=$examples/echod.sh
fi

echo "$ $alfwrapper --port 4242 --set allow4,0,127.0.0.1/32 $filter $echod &"
"$alfwrapper" --port 4242 --set allow4,0,127.0.0.1/32 "$filter" "$echod" 2>/dev/null &
service=$!
trap 'kill $service 2>/dev/null || true' EXIT

python3 - <<'PY'
import socket, time

def echo(source, timeout=2.0):
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((source, 0))
    try:
        s.connect(("127.0.0.1", 4242))
        s.sendall(b"hello from " + source.encode() + b"\n")
        return s.recv(100).decode().strip()
    except (socket.timeout, ConnectionRefusedError) as e:
        return None
    finally:
        s.close()

deadline = time.monotonic() + 10
while True:  # wait for the service
    try:
        socket.create_connection(("127.0.0.1", 4242), timeout=1).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            raise SystemExit("demo: the service did not start")
        time.sleep(0.05)

ok = echo("127.0.0.1")
print(f"client 127.0.0.1: {'echo: ' + ok if ok else 'refused'}")
refused = echo("127.0.0.2")
print(f"client 127.0.0.2: {'echo: ' + refused if refused else 'refused (timed out: the filter dropped its SYN)'}")
raise SystemExit(0 if ok and not refused else 1)
PY
