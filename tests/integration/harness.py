"""Helpers for integration tests: run the real alfwrapper against the real
kernel, with real sockets, on loopback and in network namespaces the tests
create and remove themselves.

Test modules derive from AlfTestCase, which gives each test a temporary
directory of its own and starts filtered services with `serve`."""

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import uuid

ALFWRAPPER = os.environ.get("ALFWRAPPER", "alfwrapper")
ALFCTL = os.environ.get("ALFCTL", "alfctl")
PROBE = os.environ.get("ALF_PROBE", "probe")
SOURCE_DIR = os.environ.get("ALF_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
CONNECT_TIMEOUT = 1.0  # a dropped SYN is never answered: the client times out


def source_path(*parts):
    return os.path.join(SOURCE_DIR, *parts)


def require_root():
    """Integration tests load eBPF and create namespaces: they need root.
    With ALF_TESTS_MUST_RUN=1 (as in CI) a missing privilege fails instead."""
    if os.geteuid() != 0:
        reason = "needs root (CAP_BPF, CAP_NET_ADMIN) to load eBPF filters and create namespaces"
        if os.environ.get("ALF_TESTS_MUST_RUN") == "1":
            raise AssertionError(reason)
        raise unittest.SkipTest(reason)


def free_port(kind=socket.SOCK_STREAM):
    """A port free for TCP and UDP on IPv4 and IPv6 right now, below the
    ephemeral range: a port the kernel hands to clients may sit in TIME_WAIT
    and refuse a listener's bind a moment later."""
    low, _ = (int(v) for v in open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
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


def tcp_echo(dst, port, payload=b"ping\n", src=None, timeout=CONNECT_TIMEOUT):
    """Connects (from src if given), sends payload, returns what comes back,
    or None when the connection times out or is refused."""
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        if src:
            s.bind((src, 0))
        try:
            # "fe80::1%eth0": getaddrinfo turns the zone into a scope id.
            s.connect(socket.getaddrinfo(dst, port, family)[0][4] if "%" in dst else (dst, port))
            s.sendall(payload)
            data = b""
            while len(data) < len(payload):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            return data
        except (socket.timeout, ConnectionRefusedError, ConnectionResetError):
            return None


def udp_exchange(dst, port, payload=b"ping", src=None, timeout=CONNECT_TIMEOUT):
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.bind((src or ("::" if family == socket.AF_INET6 else "0.0.0.0"), 0))
        s.sendto(payload, (dst, port))
        try:
            return s.recv(65536)
        except socket.timeout:
            return None


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


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


class Service:
    """A long-running `[PREFIX...] alfwrapper ARGS -- PROBE ...`, stopped on
    exit. The probe (`probe`: another copy of it; None: ARGS name the
    program themselves) reports what it was handed into report() and logs
    the peers it served into peers()."""

    def __init__(self, args, probe=PROBE, binary=None, prefix=(), netns=None, env=None, pass_fds=(), cwd=SOURCE_DIR,
                 shared_dir=False):
        """binary: another alfwrapper file (a copy carrying a file capability);
        prefix: the command that starts alfwrapper (e.g. systemd-socket-activate ...);
        shared_dir: let a service that drops to another user write its report."""
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
        with open(os.path.join(self.dir, "stdout"), "w") as out, open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, start_new_session=True,
                                         pass_fds=pass_fds, cwd=cwd, stdin=subprocess.DEVNULL)

    def stderr(self):
        with open(self.stderr_path) as f:
            return f.read()

    def report(self, timeout=10.0):
        def ready():
            if self.proc.poll() is not None and not os.path.exists(self.report_path):
                raise AssertionError(f"service exited with {self.proc.returncode} before reporting:\n{self.stderr()}")
            return os.path.exists(self.report_path)
        wait_until(ready, timeout, what="the probe's report")
        with open(self.report_path) as f:
            return json.load(f)

    def wait_accepting(self, host, port, timeout=10.0, netns=None):
        """Waits until the port is bound (checked with ss, no traffic sent)."""
        def bound():
            if self.proc.poll() is not None:
                raise AssertionError(f"service exited with {self.proc.returncode}:\n{self.stderr()}")
            cmd = ["ss", "-Hltun", f"sport = :{port}"]
            if netns:
                cmd = ["ip", "netns", "exec", netns] + cmd
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip() != ""
        wait_until(bound, timeout, what=f"port {port} to be bound")

    def peers(self):
        try:
            with open(self.peers_path) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def stop(self):
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def sh(*cmd, check=True):
    return subprocess.run(list(cmd), capture_output=True, text=True, check=check)


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
                sh("ip", "-n", ns, "addr", "add", v4 + "/24", "dev", dev)
                sh("ip", "-n", ns, "addr", "add", v6 + "/64", "dev", dev, "nodad")
                sh("ip", "-n", ns, "link", "set", dev, "up")
        except Exception:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for ns in (self.server, self.client):
            sh("ip", "netns", "del", ns, check=False)

    def client_tcp_echo(self, dst, port, timeout=CONNECT_TIMEOUT, netns=None):
        """tcp_echo run inside a namespace (the client's by default)."""
        code = ("import sys; sys.path.insert(0, %r); import harness; r = harness.tcp_echo(%r, %d, timeout=%r); "
                "print('ECHO' if r == b'ping\\n' else 'NONE')") % (os.path.dirname(os.path.abspath(__file__)), dst, port, timeout)
        out = sh("ip", "netns", "exec", netns or self.client, sys.executable, "-c", code).stdout.strip()
        return out == "ECHO"



class Connection:
    """An established TCP connection that stays open, for showing that a
    filter does not cut connections it let in. echo() returns what came back,
    or None when nothing did within the timeout."""

    def __init__(self, dst, port, src=None, timeout=CONNECT_TIMEOUT):
        family = socket.AF_INET6 if ":" in dst else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if src:
            self.sock.bind((src, 0))
        self.sock.connect((dst, port))

    def echo(self, payload=b"ping\n"):
        try:
            self.sock.sendall(payload)
            data = b""
            while len(data) < len(payload):
                chunk = self.sock.recv(65536)
                if not chunk:
                    return None
                data += chunk
            return data
        except (socket.timeout, ConnectionResetError, BrokenPipeError):
            return None

    def close(self):
        self.sock.close()


class LoopbackNetns:
    """A network namespace of the test's own with only loopback, holding extra
    addresses (IPv6 ones added with nodad, usable at once) so that one
    namespace has many sources. Removed on exit."""

    def __init__(self, addresses=()):
        self.name = f"alf-l-{uuid.uuid4().hex[:6]}"
        self.addresses = list(addresses)

    def __enter__(self):
        try:
            sh("ip", "netns", "add", self.name)
            sh("ip", "-n", self.name, "link", "set", "lo", "up")
            for address in self.addresses:
                prefix = "/128" if ":" in address else "/32"
                sh("ip", "-n", self.name, "addr", "add", address + prefix, "dev", "lo",
                   *(["nodad"] if ":" in address else []))
        except Exception:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        sh("ip", "netns", "del", self.name, check=False)

    def tcp_echoes(self, port, sources, destination=None, timeout=CONNECT_TIMEOUT):
        """For each source, whether a connection from it to the port (on the
        source's own address family's loopback, or `destination`) got its echo."""
        code = ("import json, sys; sys.path.insert(0, %r); import harness\n"
                "results = {}\n"
                "for src in %r:\n"
                "    dst = %r or ('::1' if ':' in src else '127.0.0.1')\n"
                "    results[src] = harness.tcp_echo(dst, %d, src=src, timeout=%r) == b'ping\\n'\n"
                "print(json.dumps(results))\n") % (os.path.dirname(os.path.abspath(__file__)), list(sources),
                                                   destination, port, timeout)
        out = sh("ip", "netns", "exec", self.name, sys.executable, "-c", code).stdout
        return json.loads(out)


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

    def serve(self, args, report_timeout=10.0, **kw):
        """`alfwrapper ARGS -- probe --serve ...` (Service's keywords, cwd /
        unless given), stopped when the test ends; returns the Service once
        the probe has reported, i.e. the filters are attached and the
        program runs."""
        kw.setdefault("cwd", "/")
        service = Service(list(args), **kw)
        self.addCleanup(service.__exit__)
        if kw.get("probe", PROBE):
            service.report(report_timeout)
        return service
