#!/usr/bin/python3
"""Fault tests: kill -9 each kind of process of a running outpostd while
clients keep asking, and check from the outside that nothing hangs, clients
see nothing worse than a reset connection (Postfix reconnects) or the
configured fallback, every acknowledged change survives, and the store
opens clean.  Then the environment's faults: the LMDB map full, the disk full
(a small tmpfs, root only), reader slots left by killed readers, 5,000 idle
connections next to the load, and no DNS server at all."""
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from outpost_test import (OUTPOSTCTL, Daemon, PolicyConn, check, eq, free_port,  # noqa: E402
                          run_tests, test, wait_for)

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


MIB = 1 << 20
_qid = [0x20000]


def delivery_lines(account, rcpt, bounce):
    """The four lines Postfix logs for one message of ACCOUNT to RCPT (as in test_feedback)."""
    _qid[0] += 1
    q = "%X" % (0xB000000000 + _qid[0])
    t = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())
    result = ("dsn=5.1.1, status=bounced (host sink.test[127.0.0.1] said: 550 5.1.1 user unknown)"
              if bounce else "dsn=2.0.0, status=sent (250 2.0.0 Ok)")
    return ("%s mx postfix/smtpd[100]: %s: client=app.test[192.0.2.10], sasl_method=PLAIN, "
            "sasl_username=%s\n"
            "%s mx postfix/qmgr[102]: %s: from=<a@app.test>, size=1200, nrcpt=1 (queue active)\n"
            "%s mx postfix/smtp[103]: %s: to=<%s>, relay=sink.test[127.0.0.1]:25, delay=0.1, "
            "delays=0/0/0/0.1, %s\n"
            "%s mx postfix/qmgr[102]: %s: removed\n"
            % (t, q, account, t, q, t, q, rcpt, result, t, q))


def feedback_daemon(map_size="1M", store_path="db", workers=1, extra=""):
    """A daemon whose feedback process writes what it reads from maillog, with a small map."""
    d = Daemon('feedback = { rules = "%s"; maillog = "maillog"; poll_interval = "100ms"; '
               'min_volume = 1000000; };\n%s' % (RULES, extra), workers=workers)
    with open(d.conf) as f:
        text = f.read()
    text = text.replace('store = { path = "db"; map_size = "64M"; };',
                        'store = { path = "%s"; map_size = "%s"; };' % (store_path, map_size))
    with open(d.conf, "w") as f:
        f.write(text)
    open(os.path.join(d.dir, "maillog"), "w").close()
    return d


def append_messages(d, tag, n, bounce_every=2):
    """N messages of acct1 to the log; every BOUNCE_EVERY-th bounces (and is suppressed)."""
    with open(os.path.join(d.dir, "maillog"), "a") as f:
        for i in range(n):
            f.write(delivery_lines("acct1", "%s-%d@dest.test" % (tag, i), i % bounce_every == 0))


def counted(d):
    w = d.ctl_json("account", "stats", "acct1")[0]["windows"]["24h"]
    return w["delivered"] + w["hard_bounces"]


def store_figures(d):
    return d.status().get("store", {})


@test
def map_full_grows_the_map_and_carries_on():
    d = feedback_daemon(map_size="1M")
    try:
        d.ctl("account", "add", "acct1", check_rc=0)
        d.start()
        eq(store_figures(d)["map_size"], MIB, "map size at start")
        fb = pid_of(d, "feedback")
        n = 0
        for batch in range(12):  # bounded: 12 x 500 messages
            append_messages(d, "b%d" % batch, 500)
            n += 500
            wait_for(lambda: counted(d) >= n, 60, "%d results counted" % n)
            if store_figures(d)["used_bytes"] > 1.5 * MIB:
                break
        # The feedback process mapped 1 MiB: data past it means its map grew.
        st = store_figures(d)
        check(st["used_bytes"] > MIB, "the store did not grow past 1 MiB: %r" % st)
        eq(pid_of(d, "feedback"), fb, "the feedback process survived MAP_FULL")
        eq(counted(d), n, "every result counted once")
        check("MDB_MAP_FULL" not in d.logtext(), d.logtext()[-2000:])
        # The workers mapped 1 MiB: they adopt the grown map (MDB_MAP_RESIZED) and
        # see what was written past their old end.
        r = d.ask(sasl_username="acct1", recipient="b%d-0@dest.test" % batch)
        check(r.startswith("550 5.7.1 "), "a recipient suppressed after the growth: %r" % r)
        r = d.ask(sasl_username="acct1", recipient="b%d-1@dest.test" % batch)
        eq(r, "DUNNO", "a delivered recipient")
        print("    %d results counted; map_size 1 MiB, %d bytes used" % (n, st["used_bytes"]),
              flush=True)
        o = json.loads(d.ctl("db", "check", "--json").stdout)
        check(o["ok"], "db check after growth: %r" % o["problems"])
    finally:
        d.cleanup()


def tmpfs_mount(path, size):
    """Mount a tmpfs of SIZE at PATH; the reason it cannot be done, or None."""
    if os.geteuid() != 0:
        return "not root: cannot mount a small tmpfs"
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs", path],
                       capture_output=True, text=True)
    return None if r.returncode == 0 else "mount tmpfs: %s" % r.stderr.strip()


@test
def disk_full_fails_writes_clearly_and_recovers():
    # Quotas on: the workers write the shared quota table (5 MiB with 1,024 slots, its blocks
    # reserved at start) on every request while the store has no room left.
    d = feedback_daemon(map_size="1M", extra='quota = { table_size = 1024; };\n'
                        'limits = { max_rate = "1000/s"; daily_quota = 1000000; };\n'
                        'accounts = { auto_create = true; };')
    mnt = os.path.join(d.dir, "small")
    why = tmpfs_mount(mnt, "8m")
    if why:
        print("    SKIP disk_full: %s" % why, flush=True)
        d.cleanup()
        return
    try:
        with open(d.conf) as f:
            text = f.read()
        with open(d.conf, "w") as f:
            f.write(text.replace('path = "db";', 'path = "%s/db";' % mnt))
        d.ctl("account", "add", "acct1", check_rc=0)
        d.ctl("suppress", "add", "before@dest.test", check_rc=0)
        d.start()
        fb = pid_of(d, "feedback")
        # LMDB says EIO for a short write: the store says what it means.
        full = "No space left on device (the store's file system is full)"
        n = 0
        while full not in d.logtext() and n < 40000:  # bounded: 40 x 1,000 messages
            append_messages(d, "full%d" % n, 1000)
            n += 1000
            wait_for(lambda: counted(d) >= n or full in d.logtext(), 60,
                     "%d results counted or the disk full" % n)
        wait_for(lambda: full in d.logtext(), 10, "a clear error about the full disk")
        # A write refused now says why; reads and the decision path go on.
        # (A small write may still fit in pages LMDB freed; a bulk import does not.)
        rows = "".join("during%d@dest.test,manual\n" % i for i in range(5000))
        r = d.ctl("suppress", "import", "-", input=rows)
        check(r.returncode != 0 and "No space left on device" in r.stderr,
              "outpostctl on a full disk: exit %d, %r" % (r.returncode, r.stderr[-500:]))
        for i in range(200):  # new accounts too: their auto-creation cannot be committed
            eq(d.ask(sasl_username="acct%d" % (i % 50), recipient="ok%d@dest.test" % i),
               "DUNNO", "answers while the disk is full")
        check(d.ask(sasl_username="acct1", recipient="before@dest.test").startswith("550 5.7.1 "),
              "suppressions still read")
        # The feedback process exits on a store failure and the master restarts it with
        # backoff; it resumes at the log position of its last commit.
        check(restarted(d, "feedback", fb) or "feedback: store failure" in d.logtext(),
              d.logtext()[-2000:])
        check(not re.search(r"policy \d+ \(pid \d+\) (killed|exited)|master.*fatal", d.logtext()),
              "only the writer may stop: %s" % d.logtext()[-2000:])
        # Space comes back: the feedback process carries on from where it stopped.
        subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True)
        t0 = time.time()
        wait_for(lambda: counted(d) == n, 90, "all %d results counted after the disk has room" % n)
        print("    disk full after %d messages: writes refused with a clear error, answers "
              "went on; all counted %.1fs after the disk had room" % (n, time.time() - t0),
              flush=True)
        d.ctl("suppress", "add", "after@dest.test", check_rc=0)
        d.stop()
        o = json.loads(d.ctl("db", "check", "--json").stdout)
        check(o["ok"], "db check after the disk was full: %r" % o["problems"])
    finally:
        if d.proc is not None:
            d.stop()
        subprocess.run(["umount", "-l", mnt], capture_output=True)
        shutil.rmtree(d.dir, ignore_errors=True)


def readers(dbdir):
    """The pids in the store's reader table (mdb_stat -r)."""
    r = subprocess.run(["mdb_stat", "-r", dbdir], capture_output=True, text=True, timeout=30)
    pids = []
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) == 3 and f[0].isdigit() and f[1].startswith(("0", "7", "-")):
            pids.append(int(f[0]))
    return pids


def alive(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            return "\nState:\tZ" not in f.read()
    except OSError:
        return False


@test
def stale_reader_slots_of_killed_processes_are_reclaimed():
    d = Daemon("", workers=1)
    with open(d.conf) as f:
        text = f.read()
    with open(d.conf, "w") as f:
        f.write(text.replace('map_size = "64M";', 'map_size = "64M"; max_readers = 16;'))
    try:
        rows = "".join("held%d@dest.test,manual\n" % i for i in range(3000))
        d.ctl("suppress", "import", "-", input=rows, check_rc=0)
        d.start()
        db = os.path.join(d.dir, "db")
        kills = 40  # more than max_readers: each leaves a slot behind
        for i in range(kills):
            # An export into a pipe nobody reads blocks with its read transaction open.
            p = subprocess.Popen([OUTPOSTCTL, "-c", d.conf, "suppress", "export", "-"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            wait_for(lambda: p.pid in readers(db), 15, "export %d holding a reader slot" % i)
            p.kill()
            p.wait()
            p.stdout.close()
            eq(d.ask(sasl_username="acct1", recipient="r%d@dest.test" % i), "DUNNO",
               "answer after %d kills" % (i + 1))
        left = readers(db)
        dead = [p for p in left if not alive(p)]
        check(len(dead) <= 1, "slots of dead readers left: %r" % left)
        check(len(left) <= 4, "reader table: %r" % left)
        check(d.ask(sasl_username="acct1", recipient="held7@dest.test").startswith("550 5.7.1 "),
              "still reading the store")
        print("    %d readers killed with their slots held; reader table now %r" % (kills, left),
              flush=True)
    finally:
        d.cleanup()


@test
def five_thousand_idle_connections_do_not_slow_the_load():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 5000
    if hard < want + 500:
        print("    SKIP: RLIMIT_NOFILE hard limit %d < %d" % (hard, want + 500), flush=True)
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    d = Daemon("", workers=2).start()
    idle = []
    try:
        def timed(n, tag):
            c = d.conn()
            took = []
            for i in range(n):
                t0 = time.time()
                eq(c.ask(sasl_username="acct1", recipient="%s%d@dest.test" % (tag, i)), "DUNNO",
                   "answer")
                took.append(time.time() - t0)
            c.close()
            took.sort()
            return took[len(took) // 2], took[int(len(took) * 0.99)]
        base = timed(500, "base")
        for i in range(want):
            idle.append(socket.create_connection(d.addr, timeout=10))
        # Every idle connection is accepted and held by a worker, none refused or closed.
        wait_for(lambda: sum(w.get("open_connections", 0) for w in d.status()["workers"]
                             if w["kind"] == "policy") >= want, 60, "%d connections held" % want)
        with Load(d, n=4, limit=60.0) as load:
            loaded = timed(500, "loaded")
            load.answered_since(load.answers + 200)
        check(not load.bad, "unexpected answers: %r" % load.bad[:5])
        check(load.resets == 0, "%d connection resets under idle load" % load.resets)
        check(loaded[0] < max(base[0] * 5, 0.005) and loaded[1] < 0.25,
              "median/p99 %.1f/%.1f ms with %d idle connections, %.1f/%.1f ms without"
              % (loaded[0] * 1000, loaded[1] * 1000, want, base[0] * 1000, base[1] * 1000))
        # The idle connections still work.
        for s in idle[:: want // 10]:
            s.sendall(PolicyConn.encode(dict(request="smtpd_access_policy",
                                             protocol_state="RCPT", sasl_username="acct1",
                                             recipient="idle@dest.test")))
            check(s.recv(100).startswith(b"action=DUNNO"), "an idle connection answers")
        print("    median/p99 %.2f/%.2f ms alone, %.2f/%.2f ms next to %d idle connections "
              "and 4 busy clients (%d answers)"
              % (base[0] * 1000, base[1] * 1000, loaded[0] * 1000, loaded[1] * 1000, want,
                 load.answers), flush=True)
    finally:
        for s in idle:
            s.close()
        d.cleanup()


@test
def dns_server_gone_fails_open_or_closed_with_a_warning():
    # A dead (silent) server is covered by test_dns.py:
    # dead_server_answers_within_deadline_and_others_keep_being_served (fail open, warning,
    # other connections served).  Here the server is gone altogether (a closed port).
    lists = ('dnsbl = ( { name = "zen"; zone = "bl.test"; query = "client"; '
             'action = "reject"; } );\n')
    for fail, want in (("open", "DUNNO"),
                       ("closed", "451 4.4.3 Blocklist zen could not be checked, try again later")):
        d = Daemon('dns = { servers = [ "127.0.0.1:%d" ]; timeout = "1s"; fail = "%s"; };\n%s'
                   % (free_port(), fail, lists), workers=1).start()
        try:
            t0 = time.time()
            r = d.ask(sasl_username="acct1", client_address="192.0.2.2", recipient="a@dest.test")
            eq(r, want, "dns.fail = %s with no DNS server" % fail)
            check(time.time() - t0 < 3.0, "answer after %.1fs" % (time.time() - t0))
            wait_for(lambda: re.search(r"zen \(bl\.test\): lookup of 192\.0\.2\.2 failed",
                                       d.logtext()), 5, "a warning naming the list")
        finally:
            d.cleanup()


@test
def silent_control_clients_do_not_stall_the_master():
    d = Daemon().start()
    try:
        path = os.path.join(d.dir, "run", "outpostd.ctl")
        silent = []
        for _ in range(3):  # permitted peers (root) that never send their command
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(path)
            silent.append(c)
        t0 = time.time()
        st = d.status()  # outpostctl status, answered meanwhile
        took = time.time() - t0
        check(st.get("workers"), "status answered: %r" % st)
        for c in silent:  # still waiting for their command: nobody read them yet
            c.setblocking(False)
            try:
                got = c.recv(64)
                check(False, "a silent client was answered or closed (%r) before status "
                      "(%.2f s): the master waited on it" % (got, took))
            except BlockingIOError:
                pass
        for c in silent:  # the 2 s limit closes them, with no answer
            c.setblocking(True)
            c.settimeout(10)
            eq(c.recv(64), b"", "a silent client closed after the time limit")
            c.close()
        busy = []
        for _ in range(9):  # 8 waiting at once at most: the 9th is told so
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(path)
            busy.append(c)
        busy[-1].settimeout(10)
        eq(busy[-1].recv(64), b"error busy\n", "the ninth silent client")
        for c in busy:
            c.close()
        check(d.status().get("workers"), "status after the busy clients")
    finally:
        d.cleanup()


if __name__ == "__main__":
    sys.exit(run_tests())
