"""Helpers for integration tests: run the real alfwrapper against the real
kernel, with real sockets, on loopback and in network namespaces the tests
create and remove themselves.

Test modules derive from AlfTestCase, which gives each test a temporary
directory of its own, starts filtered services with `serve` and judges
traffic with `assert_served` / `assert_dropped`."""

import contextlib
import ctypes
import dataclasses
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import threading
import time
import unittest
import uuid

ALFWRAPPER = os.environ.get("ALFWRAPPER", "alfwrapper")
ALFCTL = os.environ.get("ALFCTL", "alfctl")
PROBE = os.environ.get("ALF_PROBE", "probe")
SOURCE_DIR = os.environ.get("ALF_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
CONNECT_TIMEOUT = 1.0  # a dropped SYN is never answered: the client times out

AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
NO_CAPABILITIES = "0000000000000000"


def source_path(*parts):
    return os.path.join(SOURCE_DIR, *parts)


def require(condition, reason):
    """The one gate for a test that cannot run here: skips it, or, with
    ALF_TESTS_MUST_RUN=1 (as in CI), fails it. Returns nothing when
    `condition` holds."""
    if condition:
        return
    if os.environ.get("ALF_TESTS_MUST_RUN") == "1":
        raise AssertionError(f"cannot run here, and ALF_TESTS_MUST_RUN=1: {reason}")
    raise unittest.SkipTest(reason)


def require_root():
    require(os.geteuid() == 0, "needs root (CAP_BPF, CAP_NET_ADMIN) to load eBPF filters and create namespaces")


def free_port(kind=socket.SOCK_STREAM):
    """A port free for TCP and UDP on IPv4 and IPv6 right now, below the
    ephemeral range: a port the kernel hands to clients may sit in TIME_WAIT
    and refuse a listener's bind a moment later."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low, _ = (int(v) for v in f.read().split())
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(10000, min(low, 32768))
        try:
            for typ in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                with socket.socket(socket.AF_INET6, typ) as t:
                    t.bind(("::", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Polls `predicate` (something the test cannot be told about, like a
    file appearing) until it gives a true value, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def ids(status_line):
    """'65534\\t65534\\t65534\\t65534' from /proc/PID/status -> the four ids (real, effective, saved, filesystem)."""
    return [int(x) for x in status_line.split()]


# What one attempt to reach a service came to.
ECHO = "echo"                         # the payload came back, whole
TIMEOUT = "connect timeout"           # no answer to the SYN: what a socket filter's drop looks like on TCP
NO_REPLY = "no reply"                 # a datagram got no answer: what a socket filter's drop looks like on UDP
REFUSED = "refused"                   # RST to the SYN, ICMP port unreachable: nothing listens there
RESET = "reset"                       # connected, then reset
ERROR = "error"                       # anything else; the detail says what


@dataclasses.dataclass(frozen=True)
class Outcome:
    kind: str
    data: bytes = b""
    detail: str = ""

    def __str__(self):
        text = self.kind
        if self.data and self.kind != ECHO:
            text += f" after {self.data!r}"
        return text + (f" ({self.detail})" if self.detail else "")


def _wildcard(family):
    return "::" if family == socket.AF_INET6 else "0.0.0.0"


def _client_socket(dst, kind, src, sport, timeout):
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(family, kind)
    s.settimeout(timeout)
    if sport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if src or sport or kind == socket.SOCK_DGRAM:
        # A source that cannot be bound is the test's own set-up failing: it raises, it is no outcome.
        s.bind((src or _wildcard(family), sport))
    return s


def _address(dst, port):
    # "fe80::1%eth0": getaddrinfo turns the zone into a scope id.
    if "%" in dst:
        return socket.getaddrinfo(dst, port, socket.AF_INET6)[0][4]
    return (dst, port)


def tcp_echo(dst, port, payload=b"ping\n", src=None, sport=0, timeout=CONNECT_TIMEOUT):
    """Connects (from src and sport if given), sends payload and reads the
    echo: the Outcome of the attempt."""
    with _client_socket(dst, socket.SOCK_STREAM, src, sport, timeout) as s:
        try:
            s.connect(_address(dst, port))
        except socket.timeout:
            return Outcome(TIMEOUT, detail=f"{timeout} s")
        except ConnectionRefusedError:
            return Outcome(REFUSED)
        except ConnectionResetError:
            return Outcome(RESET, detail="during connect")
        except OSError as e:
            return Outcome(ERROR, detail=f"connect: {e}")
        data = b""
        try:
            s.sendall(payload)
            while len(data) < len(payload):
                chunk = s.recv(65536)
                if not chunk:
                    return Outcome(ERROR, data, "connected, closed before the echo")
                data += chunk
        except socket.timeout:
            return Outcome(ERROR, data, f"connected, no echo within {timeout} s")
        except (ConnectionResetError, BrokenPipeError):
            return Outcome(RESET, data)
        except OSError as e:
            return Outcome(ERROR, data, str(e))
        return Outcome(ECHO, data) if data == payload else Outcome(ERROR, data, "not the payload sent")


IP_RECVERR, IPV6_RECVERR = 11, 25  # <linux/in.h>, <linux/in6.h>; not in Python's socket module


def udp_exchange(dst, port, payload=b"ping", src=None, sport=0, timeout=CONNECT_TIMEOUT):
    """Sends one datagram (from src and sport if given) and waits for the
    reply, from whichever address the service answers: the Outcome."""
    with _client_socket(dst, socket.SOCK_DGRAM, src, sport, timeout) as s:
        # Without a connected socket the kernel reports an ICMP port
        # unreachable only with RECVERR: "refused" stays distinct from silence.
        if s.family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        else:
            s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        try:
            s.sendto(payload, _address(dst, port))
            data = s.recv(65536)
        except socket.timeout:
            return Outcome(NO_REPLY, detail=f"{timeout} s")
        except ConnectionRefusedError:
            return Outcome(REFUSED)
        except OSError as e:
            return Outcome(ERROR, detail=str(e))
        return Outcome(ECHO, data) if data == payload else Outcome(ERROR, data, "not the payload sent")


_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def netns_call(netns, function, *args, **kwargs):
    """function(*args, **kwargs), run in a thread that joined the network
    namespace `netns` (a namespace is a thread's own: the rest of the test
    process stays where it is; sockets made there stay in the namespace).
    Without netns, a plain call."""
    if netns is None:
        return function(*args, **kwargs)
    result = {}

    def run():
        try:
            fd = os.open(os.path.join("/run/netns", netns), os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into {netns}: {os.strerror(err)}")
            finally:
                os.close(fd)
            result["value"] = function(*args, **kwargs)
        except BaseException as e:  # noqa: B902 - handed to the caller's thread
            result["error"] = e

    thread = threading.Thread(target=run, name=f"in {netns}")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


@dataclasses.dataclass(frozen=True)
class Peer:
    """A client of a service: where it connects from and to, TCP or UDP,
    in which network namespace (the test's own process by default)."""
    dst: str
    port: int
    src: str = None
    sport: int = 0
    netns: str = None
    udp: bool = False

    def exchange(self, payload=None, timeout=CONNECT_TIMEOUT):
        function = udp_exchange if self.udp else tcp_echo
        kwargs = {"src": self.src, "sport": self.sport, "timeout": timeout}
        if payload is not None:
            kwargs["payload"] = payload
        return netns_call(self.netns, function, self.dst, self.port, **kwargs)

    def dropped_kind(self):
        """The Outcome a socket filter's drop gives this peer."""
        return NO_REPLY if self.udp else TIMEOUT

    def __str__(self):
        source = f"{self.src or 'any'}:{self.sport or '*'}"
        where = f" in {self.netns}" if self.netns else ""
        return f"{'udp' if self.udp else 'tcp'} {source} > {self.dst}:{self.port}{where}"


def exchange_all(peers, timeout=CONNECT_TIMEOUT, payloads=None):
    """The Outcomes of all peers' attempts, made at once (each waits for its
    own answer or timeout): refusals cost one timeout together."""
    outcomes = [None] * len(peers)

    def attempt(i):
        try:
            outcomes[i] = peers[i].exchange(None if payloads is None else payloads[i], timeout=timeout)
        except Exception as e:  # noqa: B902 - an attempt that could not be made is reported with the others
            outcomes[i] = Outcome(ERROR, detail=f"client failed: {e!r}")
    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(peers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


class Attempt:
    def __init__(self, peer, started):
        self.peer, self.started = peer, started
        self.outcome, self.took = None, None

    def __str__(self):
        return f"{self.peer}, made at {self.started:.2f} s (monotonic): {self.outcome} after {self.took:.2f} s"


class Load:
    """Admitted clients, one new connection every `interval` seconds (the
    load's pace) from each peer in turn, each waiting for its echo on its
    own (as long as `timeout`): every attempt is counted."""

    def __init__(self, peers, interval=0.02, timeout=10.0):
        self.peers, self.interval, self.timeout = peers, interval, timeout
        self.attempts, self.threads = [], []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.pacer = threading.Thread(target=self._pace)

    def start(self):
        self.pacer.start()

    def _pace(self):
        i = 0
        while not self.stopping.is_set():
            attempt = Attempt(self.peers[i % len(self.peers)], time.monotonic())
            thread = threading.Thread(target=self._attempt, args=(attempt, i))
            with self.lock:
                self.attempts.append(attempt)
                self.threads.append(thread)
            thread.start()
            i += 1
            self.stopping.wait(self.interval)

    def _attempt(self, attempt, i):
        try:
            attempt.outcome = attempt.peer.exchange(f"load {i}\n".encode(), timeout=self.timeout)
        except Exception as e:  # noqa: B902 - reported with the others
            attempt.outcome = Outcome(ERROR, detail=f"client failed: {e!r}")
        attempt.took = time.monotonic() - attempt.started

    def count(self):
        with self.lock:
            return sum(1 for a in self.attempts if a.outcome is not None)

    def count_started_after(self, moment):
        with self.lock:
            return sum(1 for a in self.attempts if a.outcome is not None and a.started > moment)

    def stop(self):
        self.stopping.set()
        self.pacer.join()
        for thread in self.threads:
            thread.join()

    def results(self):
        return list(self.attempts)


class Connection:
    """An established TCP connection that stays open, for showing that a
    filter does not cut connections it let in. exchange() gives the Outcome
    of one echo on it, as Peer.exchange() does for a new connection."""

    def __init__(self, dst, port, src=None, timeout=CONNECT_TIMEOUT):
        self.sock = _client_socket(dst, socket.SOCK_STREAM, src, 0, timeout)
        self.sock.connect(_address(dst, port))
        self.name = f"the connection from {self.sock.getsockname()[0]} established before"

    def exchange(self, payload=None, timeout=None):
        payload = payload or b"ping\n"
        data = b""
        try:
            self.sock.sendall(payload)
            while len(data) < len(payload):
                chunk = self.sock.recv(65536)
                if not chunk:
                    return Outcome(ERROR, data, "closed before the echo")
                data += chunk
        except socket.timeout:
            return Outcome(ERROR, data, "no echo")
        except (ConnectionResetError, BrokenPipeError):
            return Outcome(RESET, data)
        return Outcome(ECHO, data) if data == payload else Outcome(ERROR, data, "not the payload sent")

    def __str__(self):
        return self.name

    def close(self):
        self.sock.close()


class Run:
    """One of our programs (alfwrapper unless `binary` names another: alfctl,
    or a copy carrying a file capability) run to completion: exit status,
    stdout, stderr. `prefix` is the command that starts it (setpriv ...)."""

    def __init__(self, args, binary=None, prefix=(), netns=None, env=None, timeout=60, **kw):
        cmd = list(prefix) + [binary or ALFWRAPPER] + list(args)
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        kw.setdefault("cwd", SOURCE_DIR)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, **kw)
        self.returncode, self.stdout, self.stderr = p.returncode, p.stdout, p.stderr

    def __repr__(self):
        return f"exit {self.returncode}\nstdout: {self.stdout}\nstderr: {self.stderr}"


def alfctl(*args, **kw):
    return Run(list(args), binary=ALFCTL, **kw)


def sh(*cmd, check=True):
    return subprocess.run(list(cmd), capture_output=True, text=True, check=check)


def stop_process_group(proc, ask, timeout=5.0):
    """Stops `proc`, started in a session of its own, if it still runs:
    `ask()` asks it to end, and its whole group is killed if it has not
    within `timeout` seconds."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        ask()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class Service:
    """A long-running `[PREFIX...] alfwrapper ARGS -- PROBE ...`, stopped on
    exit. The probe (`probe`: another copy of it; None: ARGS name the
    program themselves) reports what it was handed into report() and logs
    the peers it served into peers()."""

    def __init__(self, args, probe=PROBE, binary=None, prefix=(), netns=None, env=None, pass_fds=(), cwd=SOURCE_DIR,
                 shared_dir=False):
        """shared_dir: let a service that drops to another user write its report."""
        self.dir = tempfile.mkdtemp(prefix="alf-test-")
        if shared_dir:
            os.chmod(self.dir, 0o1777)
        self.report_path = os.path.join(self.dir, "report.json")
        self.peers_path = os.path.join(self.dir, "peers.log")
        self.stderr_path = os.path.join(self.dir, "stderr")
        cmd = list(prefix) + [binary or ALFWRAPPER] + list(args)
        if probe:
            cmd += ["--", probe, "--serve", "--report", self.report_path, "--peers", self.peers_path]
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        self.netns = netns
        with open(os.path.join(self.dir, "stdout"), "w") as out, open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, start_new_session=True,
                                         pass_fds=pass_fds, cwd=cwd, stdin=subprocess.DEVNULL)

    def stderr(self):
        with open(self.stderr_path) as f:
            return f.read()

    def check_alive(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"service exited with {self.proc.returncode}:\n{self.stderr()}")

    def report(self, timeout=10.0):
        """The probe's report, written once alfwrapper has exec'd it: every
        filter is attached and locked by then."""
        def ready():
            if not os.path.exists(self.report_path):
                self.check_alive()
                return False
            return True
        wait_until(ready, timeout, what="the probe's report")
        with open(self.report_path) as f:
            return json.load(f)

    def wait_served(self, peer, timeout=30.0):
        """Waits until `peer`, one the filter admits, gets its echo: the
        service is up and judging. Nothing else answers: until alfwrapper
        has bound the port, the kernel refuses the connection."""
        last = []

        def served():
            self.check_alive()
            last[:] = [peer.exchange()]
            # Connected and nothing back yet: the kernel queued the
            # connection on the socket alfwrapper listens on, and the
            # program it started has not taken it yet (it is still
            # starting): asked again. Anything else, at once.
            starting = last[0].kind == ERROR and not last[0].data and last[0].detail.startswith("connected, no echo")
            if last[0].kind not in (ECHO, REFUSED) and not starting:
                raise AssertionError(f"{peer} while waiting for the service: {last[0]}")
            return last[0].kind == ECHO
        wait_until(served, timeout, what=f"{peer} to be served")

    def wait_listening(self, local, kind="tcp", timeout=10.0):
        """Waits until this service's own process (not any other) has a
        listening socket on `local`, as ss prints it ("*:7007",
        "127.0.0.1:7007", "[::1]:7007"): for sockets made by the command
        that starts alfwrapper, e.g. systemd-socket-activate."""
        cmd = ["ss", "-Hlnp", "-t" if kind == "tcp" else "-u"]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd

        def listening():
            self.check_alive()
            for line in sh(*cmd).stdout.splitlines():
                fields = line.split()
                if len(fields) >= 6 and fields[3] == local and f"pid={self.proc.pid}," in fields[5]:
                    return True
            return False
        wait_until(listening, timeout, what=f"pid {self.proc.pid} to listen on {kind} {local}")

    def peers(self):
        try:
            with open(self.peers_path) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def stop(self):
        stop_process_group(self.proc, lambda: os.killpg(self.proc.pid, signal.SIGTERM))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def add_address(netns, address, dev="lo", length=None):
    """Adds an address in a namespace (IPv6 with nodad: usable at once)."""
    length = length if length is not None else (128 if ":" in address else 32)
    sh("ip", "-n", netns, "addr", "add", f"{address}/{length}", "dev", dev, *(["nodad"] if ":" in address else []))


class Netns:
    """A network namespace of the test's own with loopback up, removed on exit."""

    def __init__(self, prefix="alf-n"):
        self.name = f"{prefix}-{uuid.uuid4().hex[:6]}"

    def __enter__(self):
        sh("ip", "netns", "add", self.name)
        try:
            sh("ip", "-n", self.name, "link", "set", "lo", "up")
            self.set_up()
        except Exception:
            self.__exit__()
            raise
        return self

    def set_up(self):
        pass


    def __exit__(self, *exc):
        sh("ip", "netns", "del", self.name, check=False)


class LoopbackNetns(Netns):
    """A namespace with only loopback, holding extra addresses so that one
    namespace has many sources."""

    def __init__(self, addresses=()):
        super().__init__("alf-l")
        self.addresses = list(addresses)

    def set_up(self):
        for address in self.addresses:
            add_address(self.name, address)

    def peer(self, src, port, **kw):
        """A client from `src` to the loopback of its own family."""
        return Peer("::1" if ":" in src else "127.0.0.1", port, src=src, netns=self.name, **kw)


class NetnsPair:
    """Two network namespaces of the test's own joined by a veth pair:
    server side 192.0.2.1/24 + 2001:db8::1/64, client side .2 / ::2
    (documentation ranges standing for public addresses). Removed on exit."""

    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.server, self.client = f"alf-s-{tag}", f"alf-c-{tag}"
        self.server_v4, self.client_v4 = "192.0.2.1", "192.0.2.2"
        self.server_v6, self.client_v6 = "2001:db8::1", "2001:db8::2"
        self.server_if, self.client_if = f"alfs{tag}", f"alfc{tag}"

    def __enter__(self):
        try:
            sh("ip", "netns", "add", self.server)
            sh("ip", "netns", "add", self.client)
            sh("ip", "link", "add", self.server_if, "type", "veth", "peer", "name", self.client_if)
            sh("ip", "link", "set", self.server_if, "netns", self.server)
            sh("ip", "link", "set", self.client_if, "netns", self.client)
            for ns, dev, v4, v6 in ((self.server, self.server_if, self.server_v4, self.server_v6),
                                    (self.client, self.client_if, self.client_v4, self.client_v6)):
                sh("ip", "-n", ns, "link", "set", "lo", "up")
                for address, length in ((v4, 24), (v6, 64)):
                    add_address(ns, address, dev, length)
                sh("ip", "-n", ns, "link", "set", dev, "up")
            # The kernel turns a veth's carrier on a moment later (its link
            # watch), and until then the device drops what is sent on it: a
            # first SYN lost that way timed out a control connection.
            for ns, dev in ((self.server, self.server_if), (self.client, self.client_if)):
                wait_until(lambda: "state UP" in sh("ip", "-n", ns, "-o", "link", "show", "dev", dev).stdout,
                           what=f"{dev} in {ns} up")
        except Exception:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for ns in (self.server, self.client):
            sh("ip", "netns", "del", ns, check=False)

    def from_client(self, dst, port, **kw):
        """A peer in the client namespace, reaching the server over the veth
        (a link-local `dst` gets the veth as its zone)."""
        if dst.startswith("fe80:"):
            dst += "%" + self.client_if
        return Peer(dst, port, netns=self.client, **kw)

    def local(self, dst, port, **kw):
        """A peer inside the server's namespace (over its loopback)."""
        return Peer(dst, port, netns=self.server, **kw)


class EchoServer:
    """An unfiltered TCP echo server in a namespace (or here): the control
    that shows a path works without any filter. Closed on exit."""

    def __init__(self, port, netns=None, host="::"):
        self.sock = netns_call(netns, socket.create_server, (host, port), family=socket.AF_INET6,
                               dualstack_ipv6=host == "::")
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                with contextlib.suppress(OSError):
                    conn.settimeout(CONNECT_TIMEOUT)
                    conn.sendall(conn.recv(65536))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(5)


class AlfTestCase(unittest.TestCase):
    """A test of the real binaries: needs root; has a temporary directory of
    its own (self.dir, removed afterwards) and starts services with serve()."""

    def setUp(self):
        require_root()
        self.dir = tempfile.mkdtemp(prefix="alf-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.marker = self.path("started")

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, name, text, mode=None):
        """Writes `text` to `name` in the test's directory, as written in a
        triple-quoted string (dedented, leading newlines dropped); returns the path."""
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text).lstrip("\n"))
        if mode is not None:
            os.chmod(path, mode)
        return path

    def reachable_by_everyone(self):
        """Makes the test's directory reachable by every user (mode 0755 down
        from /), as files that nobody runs or reads must be."""
        os.chmod(self.dir, 0o755)
        parent = self.dir
        while parent != "/":
            parent = os.path.dirname(parent)
            require(os.stat(parent).st_mode & 0o001,
                    f"{parent} is not searchable by other users: nobody cannot reach {self.dir} (set TMPDIR)")

    def serve(self, args, report_timeout=10.0, **kw):
        """`alfwrapper ARGS -- probe --serve ...` (Service's keywords), stopped
        when the test ends; returns once the probe has reported, i.e. the
        filters are attached and the program runs."""
        kw.setdefault("cwd", "/")
        service = Service(list(args), **kw)
        self.addCleanup(service.__exit__)
        if kw.get("probe", PROBE):
            service.report(report_timeout)
        return service

    def assert_outcome(self, peer, kind, msg=None, **kw):
        outcome = peer.exchange(**kw)
        self.assertEqual(outcome.kind, kind, f"{peer}: {outcome}" + (f": {msg}" if msg else ""))
        return outcome

    def assert_served(self, *peers, msg=None, payload=None):
        for peer in peers:
            outcome = self.assert_outcome(peer, ECHO, msg, payload=payload)
            if payload is not None:
                self.assertEqual(outcome.data, payload, str(peer))

    def assert_dropped(self, admitted, *refused, msg=None, timeout=CONNECT_TIMEOUT):
        """The filter drops each refused peer: its connection times out
        (TCP), its datagram gets no reply (UDP), exactly as a socket filter's
        drop looks; the refused peers try at once. `admitted` (a peer, a
        Connection, or a pair of them: one before, one after) is served by
        the same service just before and just after, so a dead, unready or
        vanished service cannot pass for a filter."""
        before, after = admitted if isinstance(admitted, tuple) else (admitted, admitted)
        self.assert_outcome(before, ECHO, "before the refusals: the service must be serving")
        for peer, outcome in zip(refused, exchange_all(refused, timeout)):
            self.assertEqual(outcome.kind, peer.dropped_kind(), f"{peer}: {outcome}" + (f": {msg}" if msg else ""))
        self.assert_outcome(after, ECHO, "after the refusals: the service must still be serving")

    def assert_sources(self, port, admitted, refused, netns=None, udp=False, msg=None):
        """Clients from each source address (bound on loopback, here or in
        `netns`) to the loopback of its family: the admitted ones served, the
        refused ones dropped, bracketed by the first admitted one."""
        def peer(src):
            return Peer("::1" if ":" in src else "127.0.0.1", port, src=src, netns=netns, udp=udp)
        self.assert_served(*map(peer, admitted), msg=msg)
        self.assert_dropped(peer(admitted[0]), *map(peer, refused), msg=msg)

    def assert_silent(self, service, listening, *refused, msg=None):
        """assert_dropped for a filter that admits no peer at all: the guard
        is the service's own process listening on `listening` (as ss prints
        it), before and after; a refused peer still sees a filter's drop,
        never the RST of a port nobody listens on."""
        service.wait_listening(listening, timeout=0)
        for peer, outcome in zip(refused, exchange_all(refused)):
            self.assertEqual(outcome.kind, peer.dropped_kind(), f"{peer}: {outcome}" + (f": {msg}" if msg else ""))
        service.wait_listening(listening, timeout=0)
