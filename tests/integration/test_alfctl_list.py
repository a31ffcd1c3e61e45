"""alfctl list: the filters alfwrapper attached, found in the kernel itself."""

import json

from harness import ALFCTL, AlfTestCase, Peer, alfctl, free_port, sh, source_path, wait_until


class AlfctlList(AlfTestCase):
    def listed(self, *args):
        r = alfctl("list", "--json", *args)
        self.assertEqual(r.returncode, 0, r)
        return json.loads(r.stdout)

    def test_a_running_service_is_listed_until_it_is_gone(self):
        port = free_port()
        name = f"web-{port}"
        service = self.serve(["--name", name, "--port", str(port), "--set", "allow4,0,127.0.0.1/32",
                              "--set", "allow4,1,127.0.0.3/32", source_path("filters", "whitelist.c")])
        self.assert_dropped(Peer("127.0.0.1", port), Peer("127.0.0.1", port, src="127.0.0.2"))
        (entry,) = self.listed(name)
        self.assertEqual(entry["pid"], service.proc.pid, "alfwrapper executes the service in place")
        self.assertTrue(entry["service_running"])
        self.assertEqual(entry["backend"], "eBPF")
        self.assertEqual([s["socket"] for s in entry["sockets"]], [f"tcp [::]:{port}"])
        maps = {m["name"]: m for m in entry["maps"]}
        self.assertEqual(maps["allow4"]["entries"], 2)
        self.assertEqual(maps["allow6"]["entries"], 0)
        text = alfctl("list", name).stdout
        self.assertIn(f"{name}  pid {service.proc.pid}", text)
        self.assertIn(f"sockets: tcp [::]:{port}", text)
        self.assertIn("allow4 2/", text)
        # Two services of one name are both listed.
        other = self.serve(["--name", name, "--port", str(free_port()), "-f", "private"])
        self.assertEqual(sorted(e["pid"] for e in self.listed(name)), sorted([service.proc.pid, other.proc.pid]))
        # Nothing is kept on disk: with the sockets gone, so is the entry.
        service.stop()
        other.stop()
        wait_until(lambda: self.listed(name) == [], timeout=10, what="the entries to go with the services")

    def test_services_of_another_pid_namespace_are_not_this_ones(self):
        # A container's services (here: a pid namespace of the test's own) are
        # its own: they neither show up nor collide by name on the host.
        port = free_port()
        name = f"contained-{port}"
        service = self.serve(["--name", name, "--port", str(port), "--allow", "127.0.0.1"],
                             prefix=["unshare", "--pid", "--fork", "--mount-proc"])
        self.assertEqual(service.report()["pid"], 1, "the first process of its pid namespace")
        self.assert_served(Peer("127.0.0.1", port))  # it runs, filtered
        self.assertEqual(self.listed(name), [])
        r = alfctl("rules", name)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn(f"no running service is named {name}", r.stderr)
        # From inside its namespace, it is there.
        # unshare's child is the namespace's first process: alfwrapper, now the service.
        (inside,) = sh("pgrep", "-P", str(service.proc.pid)).stdout.split()
        r = sh("nsenter", "--target", inside, "--pid", "--mount", ALFCTL, "list", name, "--json", check=False)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual([e["name"] for e in json.loads(r.stdout)], [name])

    def test_usage(self):
        r = alfctl("list", "a", "b")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("unexpected argument 'b'", r.stderr)
        self.assertIn("--json", alfctl("list", "--help").stdout)
