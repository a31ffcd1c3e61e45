"""fail2ban bans in a service's own filter: a real fail2ban-server (its own
configuration, socket, pid file and database in the test's directory) runs
the action of examples/fail2ban/ on a jail that watches a log the test
writes. A failed login logged for an address makes the service drop that
address (its connections time out) while an admitted peer of the same
service is served; fail2ban-client unban admits it again, also when its rule
is already gone. Bans a new run of the service lost (it takes its rules from
its command line) come back when the jail restarts."""

import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import harness
from harness import ECHO, TIMEOUT, AlfTestCase, LoopbackNetns, alfctl, require, source_path, wait_until

ACTION = source_path("examples", "fail2ban", "action.d", "alfwrapper.conf")
PORT = 7007  # in a namespace of the test's own: any port is free

ADMITTED_V4, BANNED_V4 = "127.0.0.1", "127.0.0.2"
ADMITTED_V6, BANNED_V6 = "2001:db8::5", "2001:db8::6"

# fail2ban's polling backend looks at the log every second; a ban is its
# action's alfctl run after that.
BAN_TIMEOUT = 15.0


class Fail2ban(AlfTestCase):
    def setUp(self):
        super().setUp()
        for tool in ("fail2ban-server", "fail2ban-client"):
            require(shutil.which(tool), f"{tool} is missing (Debian's fail2ban; scripts/setup installs it)")
        self.net = self.enterContext(LoopbackNetns([ADMITTED_V6, BANNED_V6]))
        # The jail is named after the service: the action's default service name.
        self.name = f"f2b-{uuid.uuid4().hex[:8]}"
        self.conf = self.path("fail2ban")
        self.log = self.write("auth.log", "")

    def configure(self):
        os.makedirs(self.path("fail2ban", "action.d"))
        shutil.copy(ACTION, self.path("fail2ban", "action.d"))
        self.write("fail2ban/fail2ban.conf", f"""
            [Definition]
            loglevel = INFO
            logtarget = {self.path("fail2ban.log")}
            socket = {self.path("fail2ban.sock")}
            pidfile = {self.path("fail2ban.pid")}
            dbfile = {self.path("fail2ban.sqlite3")}
            dbpurgeage = 1d
            syslogsocket = auto
            allowipv6 = auto
            """)
        self.write("fail2ban/filter.d/alf-test-auth.conf", """
            [Definition]
            failregex = ^auth failure from <HOST>$
            datepattern = {NONE}
            """)
        self.write("fail2ban/jail.local", f"""
            [{self.name}]
            enabled = true
            backend = polling
            logpath = {self.log}
            filter = alf-test-auth
            maxretry = 1
            findtime = 10m
            bantime = 10m
            action = alfwrapper[alfctl="{os.path.abspath(harness.ALFCTL)}"]
            """)

    def client(self, *args, check=True):
        p = subprocess.run(["fail2ban-client", "-c", self.conf, *args], capture_output=True, text=True, timeout=30)
        if check:
            self.assertEqual(p.returncode, 0, f"fail2ban-client {' '.join(args)}: {p.stdout}{p.stderr}")
        return p

    def start_fail2ban(self):
        self.configure()
        with open(self.path("fail2ban.out"), "w") as out:
            self.server = subprocess.Popen(["fail2ban-server", "-f", "-x", "-c", self.conf], stdin=subprocess.DEVNULL,
                                           stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.addCleanup(self.stop_fail2ban)

        def jail_runs():
            if self.server.poll() is not None:
                raise AssertionError(f"fail2ban-server exited with {self.server.returncode}:\n{self.fail2ban_log()}")
            return f"Jail '{self.name}' started" in self.fail2ban_log()
        wait_until(jail_runs, 20, 0.1, f"fail2ban's jail {self.name} to start")

    def stop_fail2ban(self):
        harness.stop_process_group(self.server, lambda: self.client("stop", check=False), timeout=10)

    def fail2ban_log(self):
        text = ""
        for name in ("fail2ban.log", "fail2ban.out"):
            try:
                with open(self.path(name)) as f:
                    text += f.read()
            except FileNotFoundError:
                pass
        return text

    def assert_no_errors(self):
        log = self.fail2ban_log()
        self.assertEqual([line for line in log.splitlines() if " ERROR " in line or " CRITICAL " in line], [], log)

    def failed_login(self, address):
        with open(self.log, "a") as f:
            f.write(f"auth failure from {address}\n")

    def denied(self):
        r = alfctl("rules", self.name, "show", "--json")
        self.assertEqual(r.returncode, 0, r)
        return sorted(rule["prefix"] for rule in json.loads(r.stdout)["rules"] if rule["verdict"] == "deny")

    def start_service(self):
        return self.serve(["--name", self.name, "--port", str(PORT), "--allow", "127.0.0.0/8",
                           "--allow", "2001:db8::/64"], netns=self.net.name)

    def wait_banned(self, *peers):
        try:
            for peer in peers:
                wait_until(lambda: peer.exchange().kind == TIMEOUT, BAN_TIMEOUT, what=f"{peer} to be banned")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.fail2ban_log()}") from None

    def test_a_failed_login_bans_the_address_in_the_service_and_unban_admits_it_again(self):
        started = time.monotonic()
        self.start_service()
        admitted_v4, banned_v4 = self.net.peer(ADMITTED_V4, PORT), self.net.peer(BANNED_V4, PORT)
        admitted_v6, banned_v6 = self.net.peer(ADMITTED_V6, PORT), self.net.peer(BANNED_V6, PORT)
        self.assert_served(admitted_v4, banned_v4, admitted_v6, banned_v6)
        self.start_fail2ban()

        self.failed_login(BANNED_V4)
        self.failed_login(BANNED_V6)
        self.wait_banned(banned_v4, banned_v6)
        self.assert_dropped((admitted_v4, admitted_v6), banned_v4, banned_v6)
        self.assertEqual(self.denied(), [f"{BANNED_V4}/32", f"{BANNED_V6}/128"])

        # The IPv6 rule goes by hand (as a restart of the service would drop
        # it): its unban has nothing to remove and is no error to fail2ban.
        r = alfctl("rules", self.name, "remove", BANNED_V6)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(self.client("unban", BANNED_V4, BANNED_V6).stdout.strip(), "2")
        wait_until(lambda: banned_v4.exchange().kind == ECHO, 5, what=f"{banned_v4} to be served after the unban")
        self.assert_served(banned_v6, admitted_v4, admitted_v6)
        self.assertEqual(self.denied(), [])
        log = self.fail2ban_log()
        self.assertIn(f"[{self.name}] Ban {BANNED_V4}", log)
        self.assertIn(f"[{self.name}] Unban {BANNED_V6}", log)
        self.assert_no_errors()
        print(f"\nban and unban under fail2ban: {time.monotonic() - started:.1f} s", file=sys.stderr)

    def test_bans_a_restarted_service_lost_are_restored_by_restarting_the_jail(self):
        service = self.start_service()
        admitted, banned = self.net.peer(ADMITTED_V4, PORT), self.net.peer(BANNED_V4, PORT)
        self.start_fail2ban()
        self.failed_login(BANNED_V4)
        self.wait_banned(banned)
        # A new run of the service takes its rules from its command line alone.
        service.stop()
        self.start_service()
        self.assert_served(banned)
        self.client("reload", "--restart", self.name)
        self.wait_banned(banned)
        self.assert_dropped(admitted, banned)
        self.assertEqual(self.denied(), [f"{BANNED_V4}/32"])
        self.assertIn(f"[{self.name}] Restore Ban {BANNED_V4}", self.fail2ban_log())
        self.assert_no_errors()  # the unban as the jail stopped found no rule: no error
