"""The units in examples/systemd, run as systemd would run them (these machines
do not run systemd as PID 1): the socket unit through systemd-socket-activate,
User=/AmbientCapabilities= through setpriv. Each runs in a network namespace
of its own, so the units' ports are used as written. The units name the
installed alfwrapper (the Debian package's) and built-in filters; installed
paths map to this tree; the service program becomes the probe, which reports
what it got."""

import errno
import os
import pwd
import shlex
import unittest

import harness
from harness import RESET, AlfTestCase, source_path

UNITS = source_path("examples", "systemd")
INSTALLED_ALFWRAPPER = "/usr/bin/alfwrapper"
INSTALLED_DATA = "/usr/share/alfwrapper/"
INSTALLED_CONFIG = "/etc/alfwrapper/"
NO_CAPABILITIES = "0000000000000000"


def read_unit(name):
    """{(section, key): [values]}, continuation lines joined."""
    entries, section, pending = {}, None, ""
    with open(os.path.join(UNITS, name)) as f:
        for raw in f:
            line = pending + raw.rstrip("\n")
            pending = ""
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            key, value = line.split("=", 1)
            entries.setdefault((section, key.strip()), []).append(value.strip())
    return entries


def alfwrapper_arguments(exec_start):
    """The ExecStart line's alfwrapper arguments up to PROGRAM (the probe
    takes its place), install paths mapped to this tree (a configuration
    file to the example beside the units)."""
    words = shlex.split(exec_start)
    if words[0] != INSTALLED_ALFWRAPPER:
        raise AssertionError(f"ExecStart does not start alfwrapper: {exec_start}")
    args = []
    for word in words[1:]:
        if word == "--":
            break
        if word.startswith(INSTALLED_DATA):
            word = source_path(word[len(INSTALLED_DATA):])
        elif word.startswith(INSTALLED_CONFIG):
            word = os.path.join(UNITS, os.path.basename(word))  # what the admin copies there
        args.append(word)
    return args


def setpriv_for(service_unit):
    """The credentials systemd gives a [Service] with User=, AmbientCapabilities=,
    CapabilityBoundingSet= and NoNewPrivileges=, set up by setpriv."""
    caps = lambda key: ",".join("+" + c.lower().removeprefix("cap_")  # noqa: E731
                                for c in " ".join(service_unit.get(("Service", key), [])).split())
    user = service_unit[("Service", "User")][0]
    cmd = ["setpriv", "--reuid", user, "--regid", str(pwd.getpwnam(user).pw_gid), "--init-groups"]
    if caps("AmbientCapabilities"):
        cmd += ["--inh-caps", caps("AmbientCapabilities"), "--ambient-caps", caps("AmbientCapabilities")]
    if caps("CapabilityBoundingSet"):
        cmd += ["--bounding-set", "-all," + caps("CapabilityBoundingSet")]
    if service_unit.get(("Service", "NoNewPrivileges")) == ["yes"]:
        cmd += ["--no-new-privs"]
    return cmd


def ids(status_line):
    return [int(x) for x in status_line.split()]


class SystemdExamples(AlfTestCase):
    def setUp(self):
        super().setUp()
        self.net = self.enterContext(harness.NetnsPair())

    def test_socket_unit_and_service_with_inherit(self):
        socket_unit, service_unit = read_unit("alf-echo.socket"), read_unit("alf-echo.service")
        (port,) = socket_unit[("Socket", "ListenStream")]
        (name,) = socket_unit[("Socket", "FileDescriptorName")]
        (exec_start,) = service_unit[("Service", "ExecStart")]
        self.assertIn("--inherit", exec_start)
        service = harness.Service(alfwrapper_arguments(exec_start), netns=self.net.server, shared_dir=True,
                                  prefix=["systemd-socket-activate", "-l", port, f"--fdname={name}"])
        self.addCleanup(service.__exit__)
        service.wait_listening(f"*:{port}")
        # The first connection starts the service; it comes from a refused
        # ("public") peer and arrives before the filter: alfwrapper judges it
        # once the filter is attached (given all the time a compile takes),
        # and destroys it: its client is reset.
        public = self.net.from_client(self.net.server_v4, int(port))
        self.assert_outcome(public, RESET, "the connection that started the service", timeout=30)
        report = service.report()
        self.assertEqual(report["env"]["LISTEN_FDNAMES"], name)
        self.assertEqual(report["env"]["LISTEN_FDS"], "1")
        self.assertEqual(sorted(report["fds"], key=int), ["0", "1", "2", "3"])
        self.assertEqual(report["fds"]["3"]["socket"]["local"], f"[::]:{port}")
        self.assertEqual(report["fds"]["3"]["socket"]["get_filter_errno"], errno.EACCES)
        self.assertEqual(report["detach_errno"], errno.EPERM)
        self.assertEqual(ids(report["status"]["Uid"]), [pwd.getpwnam("nobody").pw_uid] * 4)
        self.assertEqual(report["status"]["CapEff"], NO_CAPABILITIES)

        self.assert_served(self.net.local("::1", int(port)))
        self.assert_dropped(self.net.local("127.0.0.1", int(port)),
                            self.net.local("127.0.0.1", int(port), src="127.0.0.2"), public)
        self.assertFalse(any(self.net.client_v4 in line or "127.0.0.2" in line for line in service.peers()),
                         service.peers())

    def test_plain_service_run_as_its_user(self):
        unit = read_unit("alf-web.service")
        (exec_start,) = unit[("Service", "ExecStart")]
        user = pwd.getpwnam(unit[("Service", "User")][0])
        service = self.serve(alfwrapper_arguments(exec_start), netns=self.net.server, shared_dir=True,
                             prefix=setpriv_for(unit))
        report = service.report()
        status = report["status"]
        self.assertEqual(ids(status["Uid"]), [user.pw_uid] * 4)
        self.assertEqual(ids(status["Gid"]), [user.pw_gid] * 4)
        for field in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
            self.assertEqual(status[field], NO_CAPABILITIES, field)
        self.assertEqual(report["env"]["LISTEN_FDNAMES"], "http:https")
        self.assertEqual([report["fds"][fd]["socket"]["local"] for fd in ("3", "4")], ["[::]:80", "[::]:443"])
        for fd in ("3", "4"):
            self.assertEqual(report["fds"][fd]["socket"]["get_filter_errno"], errno.EACCES, fd)
            self.assertEqual(report["fds"][fd]["socket"]["lock_filter"], 1, fd)
        for port in (80, 443):
            self.assert_dropped(self.net.local("127.0.0.1", port), self.net.from_client(self.net.server_v4, port),
                                self.net.from_client(self.net.server_v6, port))


if __name__ == "__main__":
    unittest.main()
