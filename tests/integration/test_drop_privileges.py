"""Running the service as another user (-u/-g): the sockets (a privileged port
too) and the filter are set up as root, then the program runs without any
privilege; -E, --dry-run and the exec's exit codes."""

import errno
import grp
import json
import os
import pwd
import random
import socket
import unittest

from harness import AlfTestCase, Peer, Run, free_port, source_path

WHITELIST = ["--set", "allow4,0,127.0.0.1/32", "--set", "allow6,0,::1/128", source_path("filters", "whitelist.c")]
NO_CAPABILITIES = "0000000000000000"


def free_privileged_port():
    """A TCP port below 1024 that nothing listens on (IPv4 and IPv6)."""
    for port in random.sample(range(600, 1024), 424):
        try:
            for family, host in ((socket.AF_INET6, "::"), (socket.AF_INET, "127.0.0.1")):
                with socket.socket(family, socket.SOCK_STREAM) as s:
                    s.bind((host, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port below 1024")


def ids(status_line):
    """'65534\\t65534\\t65534\\t65534' -> the four ids (real, effective, saved, filesystem)."""
    return [int(x) for x in status_line.split()]


class DropPrivileges(AlfTestCase):
    def setUp(self):
        super().setUp()
        self.nobody = pwd.getpwnam("nobody")

    def start(self, args, **kw):
        service = self.serve(args, shared_dir=True, **kw)
        return service, service.report()

    def test_nobody_without_capabilities_still_accepts_on_a_privileged_port(self):
        port = free_privileged_port()
        _, report = self.start(["-u", "nobody", "-l", f"tcp:{port},name=web"] + WHITELIST)
        status = report["status"]
        self.assertEqual(ids(status["Uid"]), [self.nobody.pw_uid] * 4)
        self.assertEqual(ids(status["Gid"]), [self.nobody.pw_gid] * 4)
        self.assertEqual(ids(status["Groups"]), os.getgrouplist("nobody", self.nobody.pw_gid))
        for field in ("CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd"):
            self.assertEqual(status[field], NO_CAPABILITIES, field)
        self.assertEqual(status["NoNewPrivs"], "1")
        self.assertEqual((report["env"]["HOME"], report["env"]["USER"], report["env"]["LOGNAME"]),
                         (self.nobody.pw_dir, "nobody", "nobody"))
        self.assertEqual(sorted(report["fds"], key=int), ["0", "1", "2", "3"])
        self.assertEqual(report["env"]["LISTEN_FDNAMES"], "web")
        self.assertEqual(report["fds"]["3"]["socket"]["get_filter_errno"], errno.EACCES)
        self.assertEqual(report["detach_errno"], errno.EPERM, "a locked filter stays, whoever the program runs as")
        self.assert_served(Peer("::1", port))
        self.assert_dropped(Peer("127.0.0.1", port), Peer("127.0.0.1", port, src="127.0.0.2"))

    def test_user_and_group_by_number_and_group_alone(self):
        nogroup = grp.getgrgid(self.nobody.pw_gid)
        _, report = self.start(["-u", str(self.nobody.pw_uid), "-g", "0", "--port", str(free_port())] + WHITELIST)
        self.assertEqual(ids(report["status"]["Uid"]), [self.nobody.pw_uid] * 4)
        self.assertEqual(ids(report["status"]["Gid"]), [0] * 4)
        _, report = self.start(["-g", nogroup.gr_name, "--port", str(free_port())] + WHITELIST)
        self.assertEqual(ids(report["status"]["Uid"]), [0] * 4)
        self.assertEqual(ids(report["status"]["Gid"]), [nogroup.gr_gid] * 4)
        self.assertEqual(ids(report["status"]["Groups"]), [nogroup.gr_gid])
        self.assertEqual(report["status"]["CapEff"], NO_CAPABILITIES)
        self.assertEqual(report["status"]["CapBnd"], NO_CAPABILITIES)
        self.assertEqual(report["status"]["NoNewPrivs"], "1")

    def test_setenv(self):
        env = dict(os.environ, ALF_COPIED="from alfwrapper", ALF_OVERRIDDEN="old")
        _, report = self.start(["-E", "ALF_SET=a=b", "-E", "ALF_COPIED", "-E", "ALF_OVERRIDDEN=new",
                                "-E", "ALF_EMPTY=", "--port", str(free_port())] + WHITELIST, env=env)
        environ = report["environ"]
        self.assertEqual(environ["ALF_SET"], "a=b")
        self.assertEqual(environ["ALF_COPIED"], "from alfwrapper")
        self.assertEqual(environ["ALF_OVERRIDDEN"], "new")
        self.assertEqual(environ["ALF_EMPTY"], "")

    def refused(self, *args, status=1):
        r = Run(list(args) + ["--port", str(free_port())] + WHITELIST + ["--", "touch", self.marker])
        self.assertFalse(os.path.exists(self.marker), f"the program must not start:\n{r}")
        self.assertEqual(r.returncode, status, r)
        self.assertTrue(r.stderr.startswith("alfwrapper: ") and r.stderr.count("\n") == 1, r)
        return r.stderr

    def test_unknown_user_or_group(self):
        self.assertIn("--user 'alf-no-such-user': no such user", self.refused("-u", "alf-no-such-user"))
        self.assertIn("--group 'alf-no-such-group': no such group", self.refused("-g", "alf-no-such-group"))
        self.assertIn("has no entry in the user database", self.refused("-u", "3999999"))
        self.assertIn("is not set in alfwrapper's environment", self.refused("-E", "ALF_SURELY_UNSET_VARIABLE"))

    def test_program_the_user_may_not_execute_exits_126(self):
        script = self.write("root-only.sh", f"#!/bin/sh\ntouch '{self.marker}'\n", mode=0o700)
        r = Run(["-u", "nobody", "--port", str(free_port())] + WHITELIST + [script])
        self.assertEqual(r.returncode, 126, r)
        self.assertIn("cannot execute", r.stderr)
        self.assertFalse(os.path.exists(self.marker))

    def test_dry_run_prints_the_hand_off_and_starts_nothing(self):
        web, dns = free_port(), free_port(socket.SOCK_DGRAM)
        args = ["--dry-run", "-u", "nobody", "-E", "ALF_X=1", "-l", f"tcp:{web},name=web", "-l", f"udp4:{dns}"] + \
            WHITELIST + ["--", "touch", self.marker]
        r = Run(args)
        self.assertEqual(r.returncode, 0, r)
        self.assertFalse(os.path.exists(self.marker))
        self.assertIn("would start: /usr/bin/touch " + self.marker, r.stdout)
        self.assertIn(f"as: user nobody (uid {self.nobody.pw_uid})", r.stdout)
        self.assertIn(f"fd 3: tcp [::]:{web} (name web)", r.stdout)
        self.assertIn(f"fd 4: udp 0.0.0.0:{dns} (name udp)", r.stdout)
        self.assertIn("map allow4: hash, 1 entries (max 1024)", r.stdout)
        self.assertIn("LISTEN_FDNAMES=web:udp", r.stdout)

        # The same ports again: the dry run released them.
        j = json.loads(Run(["--json"] + args).stdout)
        self.assertEqual(j["argv"], ["touch", self.marker])
        self.assertEqual([(s["fd"], s["name"], s["socket"]) for s in j["sockets"]],
                         [(3, "web", f"tcp [::]:{web}"), (4, "udp", f"udp 0.0.0.0:{dns}")])
        self.assertEqual(j["credentials"]["uid"], self.nobody.pw_uid)
        self.assertEqual(j["credentials"]["user"], "nobody")
        self.assertEqual({m["name"]: m["entries"] for m in j["filter"]["maps"] if not m["name"].startswith("alf_")},
                         {"allow4": 1, "allow6": 1})
        self.assertEqual(j["filter"]["program"], "filter")
        self.assertIn("ALF_X=1", j["environment"])
        self.assertIn("LISTEN_FDS=2", j["environment"])
        self.assertFalse(os.path.exists(self.marker))


if __name__ == "__main__":
    unittest.main()
