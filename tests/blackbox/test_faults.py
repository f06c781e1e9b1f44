#!/usr/bin/python3
"""Fault tests: kill -9 each kind of process of a running outpostd while
clients keep asking, and check from the outside that nothing hangs, clients
see nothing worse than a reset connection (Postfix reconnects) or the
configured fallback, every acknowledged change survives, and the store
opens clean."""
import json
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from outpost_test import (Daemon, PolicyConn, check, eq, free_port, run_tests, test,  # noqa: E402
                          wait_for)

SRCDIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
RULES = os.path.join(SRCDIR, "etc", "outpost-bounce.rules")
ALLOWED = ("DUNNO", "550 5.7.1 ", "452 4.5.3 ")


class Load:
    """N clients asking on persistent connections until stopped (at most LIMIT seconds)."""

    def __init__(self, d, n=4, limit=60.0):
        self.d, self.n, self.limit = d, n, limit
        self.stop = threading.Event()
        self.answers = self.resets = 0
        self.slowest = 0.0
        self.bad = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(n)]

    def run(self, i):
        end = time.time() + self.limit
        c = None
        seq = 0
        while not self.stop.is_set() and time.time() < end:
            try:
                if c is None:
                    c = PolicyConn(self.d.addr, timeout=10.0)
                seq += 1
                t0 = time.time()
                r = c.ask(sasl_username="acct%d" % (seq % 5), recipient="r%d@dest.test" % seq,
                          instance="f%d.%d.0" % (i, seq))
                took = time.time() - t0
                with self.lock:
                    self.answers += 1
                    self.slowest = max(self.slowest, took)
                    if not r.startswith(ALLOWED):
                        self.bad.append(r)
            except (OSError, AssertionError) as e:
                # A killed worker resets its connections; Postfix reconnects.
                with self.lock:
                    self.resets += 1
                    if isinstance(e, socket.timeout):
                        self.bad.append("timeout: %r" % e)
                if c is not None:
                    c.close()
                c = None
                time.sleep(0.05)
        if c is not None:
            c.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def answered_since(self, n, timeout=10.0):
        wait_for(lambda: self.answers >= n, timeout, "answers to go on (%d)" % n)


def kinds(d):
    return {w["kind"]: w for w in d.status()["workers"]}


def pid_of(d, kind):
    return [w["pid"] for w in d.status()["workers"] if w["kind"] == kind][0]


def restarted(d, kind, old):
    try:
        return pid_of(d, kind) not in (old, 0)
    except (IndexError, Exception):  # noqa: BLE001 - status unavailable for a moment
        return False


@test
def kill_9_each_child_under_load_loses_nothing():
    mport = free_port()
    d = Daemon('feedback = { rules = "%s"; maillog = "mail.log"; poll_interval = "100ms"; };\n'
               'milter = { listen = "inet:%d@127.0.0.1"; };' % (RULES, mport), workers=2)
    open(os.path.join(d.dir, "mail.log"), "w").close()
    d.start()
    try:
        d.ctl("suppress", "add", "gone@dest.test", "--reason", "bounce", check_rc=0)
        acked = []
        with Load(d) as load:
            load.answered_since(50)
            for kind in ("policy", "milter", "feedback"):
                old = pid_of(d, kind)
                # A change acknowledged just before the kill must survive it.
                addr = "acked-%s@dest.test" % kind
                d.ctl("suppress", "add", addr, check_rc=0)
                acked.append(addr)
                os.kill(old, signal.SIGKILL)
                wait_for(lambda: restarted(d, kind, old), 15, "%s restarted" % kind)
                before = load.answers
                load.answered_since(before + 50)
        check(not load.bad, "unexpected answers: %r" % load.bad[:5])
        check(load.slowest < 5.0, "a request waited %.1fs" % load.slowest)
        print("    %d answers, %d connection resets, slowest %.0f ms"
              % (load.answers, load.resets, load.slowest * 1000), flush=True)
        for addr in acked + ["gone@dest.test"]:
            r = d.ask(sasl_username="acct1", recipient=addr)
            check(r.startswith("550 5.7.1 "), "%s after the kills: %r" % (addr, r))
        restarts = {k: w["restarts"] for k, w in kinds(d).items()}
        check(all(restarts[k] >= 1 for k in ("milter", "feedback")), restarts)
        # kill -9 the master: the workers go too; a new daemon opens the store clean.
        workers = [w["pid"] for w in d.status()["workers"]]
        d.proc.kill()
        d.proc.wait()
        d.proc = None
        d.logf.close()

        def gone():
            for p in workers:
                try:
                    with open("/proc/%d/status" % p) as f:
                        if "\nState:\tZ" not in f.read():
                            return False
                except OSError:
                    pass
            return True
        wait_for(gone, 15, "the children of the killed master to exit")
        d.start()
        o = json.loads(d.ctl("db", "check", "--json").stdout)
        check(o["ok"], "db check after kill -9 of the master: %r" % o["problems"])
        for addr in acked:
            eq(d.ctl("suppress", "show", addr).returncode, 0, "%s still suppressed" % addr)
    finally:
        d.cleanup()


@test
def hostile_clients_do_not_stall_others():
    d = Daemon("", workers=1).start()
    try:
        socks = []
        # One byte a second, a 10 MB line, binary garbage, half a request left open.
        slow = socket.create_connection(d.addr)
        slow.sendall(b"r")
        socks.append(slow)
        big = socket.create_connection(d.addr)
        socks.append(big)
        garbage = socket.create_connection(d.addr)
        garbage.sendall(os.urandom(4096) + b"\n\n")
        socks.append(garbage)

        def flood():
            try:
                chunk = b"x" * 65536
                for _ in range(160):  # 10 MB, bounded
                    big.sendall(chunk)
            except OSError:
                pass  # closed by the server: what we want
        t = threading.Thread(target=flood)
        t.start()
        c = d.conn()
        t0 = time.time()
        for i in range(200):
            slow.sendall(b"e")
            eq(c.ask(recipient="ok%d@dest.test" % i), "DUNNO", "a good client's answer")
        took = time.time() - t0
        t.join(30)
        check(took < 5.0, "200 answers took %.1fs next to hostile clients" % took)
        st = d.status()["workers"][0]
        check(st["bad_requests"] >= 2, "oversized and garbage requests counted: %r" % st)
        c.close()
        for s in socks:
            s.close()
    finally:
        d.cleanup()


if __name__ == "__main__":
    sys.exit(run_tests())
