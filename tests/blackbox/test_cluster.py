#!/usr/bin/python3
"""Black-box tests of the fleet: three real outpostd nodes on loopback (own ports,
own stores) sharing one real redis-server that the test starts on a free loopback
port (Debian's redis-server, no persistence) and stops by PID."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from outpost_test import OUTPOSTD, Daemon, TestFailure, check, eq, free_port, run_tests, test, wait_for  # noqa: E402

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class Redis:
    """A throwaway redis-server on 127.0.0.1:PORT; restartable on the same port."""

    def __init__(self):
        if not os.path.exists(REDIS_SERVER):
            raise TestFailure("redis-server is not installed (apt-get install redis-server)")
        self.dir = tempfile.mkdtemp(prefix="outpost-redis-")
        self.port = free_port()
        self.proc = None

    def start(self, *extra):
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--protected-mode", "no"] + list(extra),
            stdout=open(os.path.join(self.dir, "redis.log"), "ab"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        wait_for(lambda: self.cmd("PING") == "PONG", 10, "redis-server to answer")
        return self

    def cmd(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.port), "--no-auth-warning"] + list(args),
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip()

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
            self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def node(name, redis_url, extra=""):
    d = Daemon('cluster = { redis = "%s"; node = "%s"; heartbeat_interval = "200ms"; '
               'reconnect_max = "300ms"; timeout = "1s"; %s };' % (redis_url, name, extra),
               workers=1)
    return d


def fleet(r, names=("a", "b", "c"), extra=""):
    nodes = [node(n, "redis://127.0.0.1:%d" % r.port, extra) for n in names]
    for d in nodes:
        d.start()
    for d in nodes:
        wait_for(lambda d=d: cstatus(d).get("connected"), 10, "node to connect")
    return nodes


def cstatus(d):
    r = d.ctl("cluster", "status", "--json")
    return json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else {}


def reply(d, account, rcpt):
    return d.ask(sasl_username=account, recipient=rcpt)


def until(d, account, rcpt, prefix, timeout=10.0):
    """Wait until D answers ACCOUNT -> RCPT with a reply starting with PREFIX; seconds taken."""
    start = time.time()
    wait_for(lambda: reply(d, account, rcpt).startswith(prefix), timeout,
             "%s to answer %s for %s" % (d.conf, prefix, rcpt))
    return time.time() - start


def cleanup(r, nodes):
    for d in nodes:
        d.cleanup()
    r.cleanup()


@test
def suppress_pause_resume_reach_every_node():
    r = Redis().start()
    nodes = []
    try:
        nodes = a, b, c = fleet(r)
        a.ctl("account", "add", "acct1", check_rc=0)
        for d in nodes:
            eq(reply(d, "acct1", "gone@dest.test"), "DUNNO", "before")
        delays = []
        for i in range(5):
            rcpt = "gone%d@dest.test" % i
            a.ctl("suppress", "add", rcpt, "--account", "acct1", "--reason", "bounce", check_rc=0)
            delays.append(max(until(b, "acct1", rcpt, "550 5.7.1 "),
                              until(c, "acct1", rcpt, "550 5.7.1 ")))
        delays.sort()
        print("propagation delay A -> B and C (suppress, 5 samples, incl. polling): "
              "p50 %.0f ms, max %.0f ms" % (delays[2] * 1000, delays[-1] * 1000))
        b.ctl("account", "pause", "acct1", "--reason", "fleet test", check_rc=0)
        until(a, "acct1", "ok@dest.test", "450 4.7.1 ")
        until(c, "acct1", "ok@dest.test", "450 4.7.1 ")
        # The history entry travelled with the state.
        hist = a.ctl_json("account", "show", "acct1")[0]
        check("fleet test" in json.dumps(hist), "pause history on A: %s" % hist)
        c.ctl("account", "resume", "acct1", "--reason", "fixed", check_rc=0)
        for d in nodes:
            until(d, "acct1", "ok@dest.test", "DUNNO")
        st = cstatus(a)
        eq(sorted(n["node"] for n in st["nodes"]), ["a", "b", "c"], "nodes seen")
        eq(st["outbox"], 0, "outbox")
        check(all(0 <= n["heartbeat_age_ms"] < 5000 for n in st["nodes"]), st)
        text = a.ctl("cluster", "status", check_rc=0).stdout
        check("connected to redis://127.0.0.1:%d" % r.port in text, text)
    finally:
        cleanup(r, nodes)


@test
def partition_keeps_enforcing_and_catches_up():
    r = Redis().start()
    nodes = []
    try:
        nodes = a, b, c = fleet(r)
        # The account the test mails from exists everywhere: no auto-creation (itself a
        # change) lands in an outbox by surprise.
        a.ctl("account", "add", "x", check_rc=0)
        a.ctl("suppress", "add", "old@dest.test", "--reason", "bounce", check_rc=0)
        b.ctl("account", "add", "acct2", check_rc=0)
        b.ctl("account", "pause", "acct2", "--reason", "before", check_rc=0)
        for d in nodes:
            until(d, "x", "old@dest.test", "550 5.7.1 ")
            until(d, "acct2", "ok@dest.test", "450 4.7.1 ")
        wait_for(lambda: all(cstatus(d).get("outbox") == 0 for d in nodes), 10, "all pushed")
        r.stop()
        for d in nodes:
            wait_for(lambda d=d: not cstatus(d).get("connected", True), 10, "disconnect seen")
        text = a.ctl("cluster", "status", check_rc=0).stdout
        check("disconnected since" in text, text)
        check("disconnected from redis://" in a.logtext(), "no log line on A")
        for d in nodes:  # everything still enforced from LMDB
            check(reply(d, "x", "old@dest.test").startswith("550 5.7.1 "), "suppression")
            check(reply(d, "acct2", "ok@dest.test").startswith("450 4.7.1 "), "pause")
        a.ctl("suppress", "add", "new@dest.test", "--reason", "complaint", check_rc=0)
        c.ctl("suppress", "add", "fromc@dest.test", "--reason", "bounce", check_rc=0)
        eq(cstatus(a)["outbox"], 1, "A's outbox while cut off")
        eq(reply(b, "x", "new@dest.test"), "DUNNO", "B can't know yet")
        r.start()
        for d in (b, c):
            until(d, "x", "new@dest.test", "550 5.7.1 ", timeout=15)
        for d in (a, b):
            until(d, "x", "fromc@dest.test", "550 5.7.1 ", timeout=15)
        wait_for(lambda: all(cstatus(d).get("outbox") == 0 for d in nodes), 10, "outboxes empty")
        # Nothing applied twice: each node applied each other node's change once.
        n = int(r.cmd("XLEN", "outpost:changes"))
        eq(n, 2, "changes in the (new, empty) Redis")
        for d in nodes:
            st = cstatus(d)
            eq(st["duplicates"], 0, "duplicates on %s" % st["node"])
    finally:
        cleanup(r, nodes)


@test
def wiped_node_bootstraps_from_the_log():
    r = Redis().start()
    nodes = []
    try:
        nodes = a, b, c = fleet(r)
        a.ctl("account", "add", "acct1", check_rc=0)
        a.ctl("suppress", "add", "gone@dest.test", "--account", "acct1", check_rc=0)
        until(c, "acct1", "gone@dest.test", "550 5.7.1 ")
        b.ctl("suppress", "add", "@blocked.test", "--reason", "complaint", check_rc=0)
        b.ctl("account", "add", "acct3", check_rc=0)
        b.ctl("account", "pause", "acct3", "--reason", "abuse", check_rc=0)
        c.ctl("account", "map", "acct1", "sender:app@app.test", check_rc=0)
        a.ctl("suppress", "add", "removed@dest.test", check_rc=0)
        a.ctl("suppress", "remove", "removed@dest.test", check_rc=0)
        until(c, "acct3", "ok@dest.test", "450 4.7.1 ")
        wait_for(lambda: all(cstatus(d).get("outbox") == 0 for d in nodes), 10, "all pushed")
        c.stop()
        shutil.rmtree(os.path.join(c.dir, "db"))
        c.start()
        until(c, "acct1", "gone@dest.test", "550 5.7.1 ")
        until(c, "acct9", "x@blocked.test", "550 5.7.1 ")
        until(c, "acct3", "ok@dest.test", "450 4.7.1 ")
        eq(reply(c, "acct1", "removed@dest.test"), "DUNNO", "removed stays removed")
        # C's own mapping, from before the wipe, came back too.
        got = c.ask(sender="app@app.test", recipient="gone@dest.test")
        check(got.startswith("550 5.7.1 "), "mapping sender -> acct1 on C: %r" % got)
    finally:
        cleanup(r, nodes)


@test
def concurrent_add_wins_over_remove():
    r = Redis().start()
    nodes = []
    try:
        nodes = a, b = fleet(r, ("a", "b"))
        a.ctl("account", "add", "x", check_rc=0)
        a.ctl("suppress", "add", "both@dest.test", check_rc=0)
        until(b, "x", "both@dest.test", "550 5.7.1 ")
        r.stop()
        for d in nodes:
            wait_for(lambda d=d: not cstatus(d).get("connected", True), 10, "disconnect seen")
        # Cut off from each other: B adds the entry again (a refresh A never sees), then,
        # later by the clock, A removes the entry it saw.  Last-writer-wins alone would
        # drop it; the add must win because A's remove never saw B's add.
        b.ctl("suppress", "add", "both@dest.test", "--reason", "complaint", check_rc=0)
        time.sleep(0.05)
        a.ctl("suppress", "remove", "both@dest.test", check_rc=0)
        eq(reply(a, "x", "both@dest.test"), "DUNNO", "removed on A meanwhile")
        r.start()
        wait_for(lambda: all(cstatus(d).get("outbox") == 0 and cstatus(d).get("connected")
                             for d in nodes), 10, "outboxes pushed")
        time.sleep(0.5)
        for d in nodes:
            check(reply(d, "x", "both@dest.test").startswith("550 5.7.1 "),
                  "the add must win on %s" % d.conf)
    finally:
        cleanup(r, nodes)


SNAP = 'stream_max = 20; snapshot_interval = "1h";'


def stream_ids(r):
    """(first id, XLEN) of the change log."""
    out = subprocess.run(["redis-cli", "-p", str(r.port), "--no-auth-warning", "XRANGE",
                          "outpost:changes", "-", "+", "COUNT", "1"],
                         capture_output=True, timeout=10).stdout.decode("latin-1").splitlines()
    return (out[0] if out else ""), int(r.cmd("XLEN", "outpost:changes") or 0)


def id_key(i):
    ms, _, seq = i.partition("-")
    return (int(ms or 0), int(seq or 0))


def snapshot_manifest(r):
    gen = r.cmd("GET", "outpost:snapshot")
    if not gen:
        return {}
    out = r.cmd("HGETALL", "outpost:snapshot:" + gen).splitlines()
    return dict(zip(out[0::2], out[1::2]))


def many_changes(d, tag, n):
    for i in range(n):
        d.ctl("suppress", "add", "%s%d@many.test" % (tag, i), check_rc=0)


@test
def snapshot_trims_the_stream_and_nodes_bootstrap_from_it():
    r = Redis().start()
    nodes = []
    try:
        nodes = a, b, c = fleet(r, extra=SNAP)
        a.ctl("account", "add", "x", check_rc=0)
        a.ctl("suppress", "add", "removed@dest.test", check_rc=0)
        a.ctl("suppress", "add", "kept@dest.test", check_rc=0)
        b.ctl("account", "add", "acct3", check_rc=0)
        b.ctl("account", "pause", "acct3", "--reason", "abuse", check_rc=0)
        for d in nodes:
            until(d, "x", "removed@dest.test", "550 5.7.1 ")
            until(d, "acct3", "ok@dest.test", "450 4.7.1 ")
        # B stops, holding removed@ as suppressed; its position falls behind.
        b_pos = caught_up(r, b)
        b.stop()
        a.ctl("suppress", "remove", "removed@dest.test", check_rc=0)
        until(c, "x", "removed@dest.test", "DUNNO")
        # B's heartbeat expires (10 heartbeats): the trim no longer waits for it.
        wait_for(lambda: r.cmd("EXISTS", "outpost:node:b") == "0", 10, "B's heartbeat to expire")
        eq(r.cmd("GET", "outpost:snapshot"), "", "no snapshot below stream_max")
        written = int(r.cmd("XLEN", "outpost:changes")) + 30
        many_changes(a, "m", 30)
        wait_for(lambda: snapshot_manifest(r).get("id"), 15, "a snapshot")
        # The stream is trimmed past B's position (more changes while A may still have B's
        # last heartbeat in hand); XLEN dropped below what was written.
        extra = 0
        deadline = time.time() + 20
        while id_key(stream_ids(r)[0]) <= id_key(b_pos):
            check(time.time() < deadline and extra < 100,
                  "the stream trimmed past B's position %s: %r" % (b_pos, stream_ids(r)))
            a.ctl("suppress", "add", "extra%d@many.test" % extra, check_rc=0)
            extra += 1
            written += 1
            time.sleep(0.05)
        first, xlen = stream_ids(r)
        check(xlen < written, "XLEN after the trim: %d of %d written" % (xlen, written))
        m = snapshot_manifest(r)
        check(int(m["records"]) >= 10 and m["checksum"] and int(m["chunks"]) >= 1, m)
        check(int(r.cmd("EXISTS", "outpost:snapshot:%s:0" % m["generation"])) == 1, m)
        eq(r.cmd("TTL", "outpost:snapshot:" + m["generation"]), "-1", "manifest persistent")
        check("outpost:snapshot:lock" not in r.cmd("KEYS", "outpost:snapshot:lock"), "lock kept")
        check("snapshot %s as of " % m["generation"] in "".join(d.logtext() for d in nodes),
              "no snapshot log line")
        # C still enforces everything; a change after the snapshot.
        a.ctl("suppress", "add", "after@dest.test", check_rc=0)
        for rcpt in ("kept@dest.test", "m0@many.test", "m29@many.test", "after@dest.test"):
            until(c, "x", rcpt, "550 5.7.1 ")
        # B comes back behind the stream's first entry: it loads the snapshot (its delete of
        # removed@ included: a tombstone) and follows on.
        b.start()
        wait_for(lambda: "bootstrapped from snapshot" in cstatus(b).get("bootstrap", ""), 15,
                 "B to bootstrap from the snapshot")
        check("older than the change log's first entry" in b.logtext(), b.logtext())
        until(b, "x", "removed@dest.test", "DUNNO")
        for rcpt in ("kept@dest.test", "m0@many.test", "m29@many.test", "after@dest.test"):
            until(b, "x", rcpt, "550 5.7.1 ")
        until(b, "acct3", "ok@dest.test", "450 4.7.1 ")
        # A wiped C bootstraps too: everything, the removal, the change after the snapshot.
        wait_for(lambda: cstatus(c).get("outbox") == 0, 10, "C pushed")
        c.stop()
        shutil.rmtree(os.path.join(c.dir, "db"))
        c.start()
        wait_for(lambda: "bootstrapped from snapshot" in cstatus(c).get("bootstrap", ""), 15,
                 "C to bootstrap from the snapshot")
        text = c.ctl("cluster", "status", check_rc=0).stdout
        check("snapshot:     bootstrapped from snapshot " in text, text)
        for rcpt in ("kept@dest.test", "m0@many.test", "m29@many.test", "after@dest.test"):
            until(c, "x", rcpt, "550 5.7.1 ")
        until(c, "acct3", "ok@dest.test", "450 4.7.1 ")
        eq(reply(c, "x", "removed@dest.test"), "DUNNO", "removed stays removed on C")
        # The conflict rules hold after a bootstrap: a remove on C reaches A.
        c.ctl("suppress", "remove", "kept@dest.test", check_rc=0)
        until(a, "x", "kept@dest.test", "DUNNO")
    finally:
        cleanup(r, nodes)


@test
def snapshot_interval_makes_snapshots_of_a_quiet_stream():
    r = Redis().start()
    nodes = []
    try:
        nodes = a, b = fleet(r, ("a", "b"), extra='snapshot_interval = "1s";')
        a.ctl("suppress", "add", "one@dest.test", check_rc=0)
        wait_for(lambda: snapshot_manifest(r).get("id"), 10, "a snapshot after the interval")
        m1 = snapshot_manifest(r)
        check(int(m1["records"]) >= 1, m1)
        # Nothing new: no new snapshot (a negative: looked at after 1.5 intervals and 7
        # heartbeats).  Something new: the next one, the older expiring.
        time.sleep(1.5)
        eq(snapshot_manifest(r).get("generation"), m1["generation"], "no snapshot of nothing")
        b.ctl("suppress", "add", "two@dest.test", check_rc=0)
        wait_for(lambda: snapshot_manifest(r).get("generation", m1["generation"]) !=
                 m1["generation"], 10, "the next snapshot")
        m2 = snapshot_manifest(r)
        check(id_key(m2["id"]) > id_key(m1["id"]), (m1, m2))
        ttl = int(r.cmd("PTTL", "outpost:snapshot:" + m1["generation"]))
        check(0 < ttl <= 60000, "the older manifest expires: PTTL %d" % ttl)
        eq(r.cmd("PTTL", "outpost:snapshot:" + m2["generation"]), "-1", "the current stays")
        check(int(r.cmd("XLEN", "outpost:changes")) <= 2, "trimmed to the snapshot's entry or "
              "the other node's position")
    finally:
        cleanup(r, nodes)


def caught_up(r, d):
    """Wait until D has pushed everything and applied up to the stream's head: its id."""
    def head():
        out = subprocess.run(["redis-cli", "-p", str(r.port), "--no-auth-warning", "XREVRANGE",
                              "outpost:changes", "+", "-", "COUNT", "1"], capture_output=True,
                             timeout=10).stdout.decode("latin-1").splitlines()
        return out[0] if out else ""

    def done():
        st = cstatus(d)
        return st.get("outbox") == 0 and st.get("last_applied_id") == head() != ""
    wait_for(done, 10, "%s to catch up with the stream" % d.conf)
    return head()


def trim_past(r, a, pos, tag):
    """Changes on A until the stream's first entry is past POS (bounded)."""
    deadline = time.time() + 20
    for i in range(200):
        if id_key(stream_ids(r)[0]) > id_key(pos):
            return i
        check(time.time() < deadline, "the stream trimmed past %s: %r" % (pos, stream_ids(r)))
        a.ctl("suppress", "add", "%s%d@many.test" % (tag, i), check_rc=0)
    raise TestFailure("the stream was not trimmed past %s" % pos)


@test
def stalled_node_bootstraps_when_the_stream_passed_it():
    r = Redis().start()
    nodes = []
    pid = None
    try:
        nodes = a, b = fleet(r, ("a", "b"), extra=SNAP)
        a.ctl("account", "add", "x", check_rc=0)
        a.ctl("suppress", "add", "gone@dest.test", check_rc=0)
        until(b, "x", "gone@dest.test", "550 5.7.1 ")
        b_pos = caught_up(r, b)
        # B's cluster process stalls (not a restart, not a reconnect): its heartbeat expires
        # and the stream is trimmed past it meanwhile.
        pid = cluster_pid(b)[0]
        os.kill(pid, signal.SIGSTOP)
        a.ctl("suppress", "remove", "gone@dest.test", check_rc=0)
        wait_for(lambda: r.cmd("EXISTS", "outpost:node:b") == "0", 10, "B's heartbeat to expire")
        trim_past(r, a, b_pos, "s")
        os.kill(pid, signal.SIGCONT)
        pid = None
        wait_for(lambda: "bootstrapped from snapshot" in cstatus(b).get("bootstrap", ""), 15,
                 "B to bootstrap after its stall")
        until(b, "x", "gone@dest.test", "DUNNO")
        until(b, "x", "s0@many.test", "550 5.7.1 ")
    finally:
        if pid is not None:
            os.kill(pid, signal.SIGCONT)
        cleanup(r, nodes)


@test
def host_with_existing_data_publishes_it_when_it_joins():
    r = Redis().start()
    nodes = []
    try:
        nodes = a, b = fleet(r, ("a", "b"), extra=SNAP)
        # D runs alone first: what it holds was never captured.
        d = Daemon("", workers=1)
        nodes.append(d)
        d.start()
        d.ctl("account", "add", "x", check_rc=0)
        d.ctl("suppress", "add", "fromd@dest.test", "--reason", "bounce", check_rc=0)
        d.ctl("suppress", "add", "contested@dest.test", check_rc=0)
        d.ctl("account", "add", "acctd", check_rc=0)
        d.ctl("account", "pause", "acctd", "--reason", "before joining", check_rc=0)
        time.sleep(1.1)  # the fleet's remove is later than D's add, by the second
        a.ctl("account", "add", "x", check_rc=0)
        a.ctl("suppress", "add", "contested@dest.test", check_rc=0)
        a.ctl("suppress", "remove", "contested@dest.test", check_rc=0)
        d.stop()
        d.write_conf('cluster = { redis = "redis://127.0.0.1:%d"; node = "d"; '
                     'heartbeat_interval = "200ms"; reconnect_max = "300ms"; timeout = "1s"; '
                     '%s };' % (r.port, SNAP), workers=1)
        d.start()
        wait_for(lambda: cstatus(d).get("connected"), 10, "D to connect")
        check("before it joined the fleet are published" in d.logtext(), d.logtext())
        for n in (a, b):
            until(n, "x", "fromd@dest.test", "550 5.7.1 ")
            until(n, "acctd", "ok@dest.test", "450 4.7.1 ")
        # The normal rule: the fleet's later remove beats D's older entry, everywhere.
        until(d, "x", "contested@dest.test", "DUNNO")
        for n in (a, b):
            eq(reply(n, "x", "contested@dest.test"), "DUNNO", "contested on %s" % n.conf)
        # Once: a restart of D publishes nothing again.
        wait_for(lambda: cstatus(d).get("outbox") == 0, 10, "D pushed")
        before = int(r.cmd("XLEN", "outpost:changes"))
        d.stop()
        d.start()
        wait_for(lambda: cstatus(d).get("connected"), 10, "D to reconnect")
        time.sleep(0.5)
        eq(int(r.cmd("XLEN", "outpost:changes")), before, "nothing published twice")
        eq(d.logtext().count("before it joined the fleet are published"), 1, "published once")
    finally:
        cleanup(r, nodes)


@test
def bad_redis_address_and_wrong_password():
    r = Redis().start()
    nodes = []
    try:
        r.cmd("ACL", "SETUSER", "outpost", "on", ">right-secret", "~*", "&*", "+@all")
        good = os.path.join(r.dir, "good.secret")
        bad = os.path.join(r.dir, "bad.secret")
        with open(good, "w") as f:
            f.write("outpost\nright-secret\n")
        with open(bad, "w") as f:
            f.write("outpost\nwrong\n")
        closed = free_port()
        n1 = node("x1", "redis://127.0.0.1:%d" % closed)
        n2 = node("x2", "redis://127.0.0.1:%d" % r.port, 'password_file = "%s";' % bad)
        n3 = node("x3", "redis://127.0.0.1:%d" % r.port, 'password_file = "%s";' % good)
        nodes = [n1, n2, n3]
        for d in nodes:
            d.start()
        wait_for(lambda: "cannot connect" in cstatus(n1).get("error", ""), 10, "x1 error")
        wait_for(lambda: "authentication failed" in cstatus(n2).get("error", ""), 10, "x2 error")
        check("WRONGPASS" in cstatus(n2)["error"] or "invalid" in cstatus(n2)["error"],
              cstatus(n2))
        wait_for(lambda: cstatus(n3).get("connected"), 10, "x3 connects with the right password")
        for d in (n1, n2):
            check("enforcing from the local store" in d.logtext(), d.logtext())
            d.ctl("suppress", "add", "local@dest.test", check_rc=0)
            check(reply(d, "x", "local@dest.test").startswith("550 5.7.1 "), "local enforcement")
            check("secret" not in d.logtext() and "wrong\n" not in d.logtext(), "no password in log")
        # A malformed address is refused when the config is checked (outpostd -n).
        bad_conf = node("x4", "redis://127.0.0.1:notaport")
        nodes.append(bad_conf)
        out = subprocess.run([OUTPOSTD, "-n", "-c", bad_conf.conf], capture_output=True, text=True)
        check(out.returncode != 0 and "cluster.redis" in out.stderr, out.stderr)
    finally:
        cleanup(r, nodes)


@test
def no_cluster_section_records_nothing():
    d = Daemon()
    try:
        d.start()
        d.ctl("suppress", "add", "one@dest.test", check_rc=0)
        d.ctl("account", "add", "acct1", check_rc=0)
        out = d.ctl("db", "check", "--json", check_rc=0).stdout
        dbs = json.loads(out)["databases"]
        eq(dbs["outbox"]["records"], 0, "outbox without a cluster section")
        eq(dbs["repl"]["records"], 0, "versions without a cluster section")
        eq(d.ctl("cluster", "status").returncode, 1, "cluster status exit without a cluster")
        check("cluster" not in [w["kind"] for w in d.status()["workers"]], "no cluster process")
    finally:
        d.cleanup()


DAILY_100 = "452 4.5.3 Daily sending quota exceeded (100 recipients per 24 h)"


def hammer(nodes, account, per_node, tag, refusal=DAILY_100):
    """Every node at once, one client each, PER_NODE transactions of 2 recipients (bounded):
    RCPT, RCPT, END-OF-MESSAGE with those admitted.  Recipients admitted per node; any
    reply but DUNNO and one starting with REFUSAL is an error."""
    admitted = [0] * len(nodes)
    errors = []

    def client(k, d):
        try:
            c = d.conn()
            for i in range(per_node):
                inst = "%s.%d.%d" % (tag, k, i)
                rs = [c.ask(sasl_username=account, recipient="r%d.%d.%d@dest.test" % (k, i, j),
                            instance=inst, sender="app@app.test") for j in (0, 1)]
                ok = rs.count("DUNNO")
                errors.extend(r for r in rs if r != "DUNNO" and not r.startswith(refusal))
                if ok:
                    c.ask(protocol_state="END-OF-MESSAGE", sasl_username=account, recipient="",
                          instance=inst, queue_id="%X%04X%04X" % (k + 10, len(tag), i),
                          recipient_count=str(ok), sender="app@app.test")
                admitted[k] += ok
            c.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(k, d)) for k, d in enumerate(nodes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    check(not errors, "unexpected replies: %r" % errors[:3])
    return admitted


def daily_used(d, account):
    return d.ctl_json("account", "show", account)[0]["quota"]["daily"]["used"]


def quota_limit(d, account):
    r = d.ctl("account", "show", account, "--json")
    return json.loads(r.stdout)["quota"]["daily"].get("limit") if r.returncode == 0 else None


def leased(r, account, key="outpost:lease:"):
    """The allowances in Redis: node -> units."""
    flat = r.cmd("HGETALL", key + account).split("\n")
    return {flat[i]: int(flat[i + 1].split(":")[0]) for i in range(0, len(flat) - 1, 2)}


@test
def daily_quota_holds_across_the_fleet():
    r = Redis().start()
    nodes = []
    try:
        nodes = a, b, c = fleet(r)
        a.ctl("account", "add", "q", check_rc=0)
        a.ctl("account", "set", "q", "daily-quota=100", check_rc=0)
        for d in nodes:
            wait_for(lambda d=d: quota_limit(d, "q") == 100, 10, "the quota on every node")
        wait_for(lambda: all(len(cstatus(d).get("nodes", [])) == 3 for d in nodes), 10,
                 "every node sees three")
        st = cstatus(a)
        eq(st["quota_bound"]["connected"], 0, "printed bound while connected")
        text = a.ctl("cluster", "status", check_rc=0).stdout
        check("over-admission bound 0 recipients while connected" in text, text)
        check("limit/3 per node cut off" in text, text)
        t0 = time.time()
        admitted, waves, idle = [0, 0, 0], 0, 0
        # Waves of 5 transactions (2 recipients each) through the three nodes at once, as
        # Postfix retries after a 4xx; until 3 waves in a row admit nothing (at most 60).
        while waves < 60 and idle < 3:
            got = hammer(nodes, "q", 5, "h%d" % waves)
            admitted = [x + y for x, y in zip(admitted, got)]
            idle = idle + 1 if sum(got) == 0 else 0
            waves += 1
            time.sleep(0.05)
        took = time.time() - t0
        total = sum(admitted)
        print("    fleet quota 100, 3 nodes hammered at once: admitted %s = %d in %d waves "
              "(%.1f s; %d recipients asked); leases in Redis %s"
              % (admitted, total, waves, took, waves * 30, leased(r, "q")), flush=True)
        check(total <= 100 + st["quota_bound"]["connected"],
              "admitted %d > quota 100 + bound" % total)
        eq(total, 100, "admitted across the fleet while connected")
        eq(sum(daily_used(d, "q") for d in nodes), 100, "committed on the three nodes")
        check(sum(leased(r, "q").values()) <= 100, "leases in Redis: %s" % leased(r, "q"))

        # Cut off: with partition_quota share each node may go up to 100 / 3 beyond its lease.
        used = [daily_used(d, "q") for d in nodes]
        r.stop()
        for d in nodes:
            wait_for(lambda d=d: not cstatus(d).get("connected", True), 10, "disconnect seen")
        time.sleep(0.7)  # 3 heartbeats: the nodes' leases count as cut off
        cut = hammer(nodes, "q", 30, "h3")
        expect = [max(0, 33 - u) for u in used]
        print("    cut off (share): used %s, admitted %s more, at most %s"
              % (used, cut, expect), flush=True)
        eq(cut, expect, "each node up to its share (33) beyond its lease")
        check(100 + sum(cut) <= 100 + 2 * 33, "bound: limit/3 per node cut off, 2 of 3")
    finally:
        cleanup(r, nodes)


def hammer_until_idle(nodes, account, tag, refusal):
    """Waves of 5 transactions through every node at once until 3 waves in a row admit
    nothing (at most 60 waves): the recipients admitted per node."""
    admitted, waves, idle = [0] * len(nodes), 0, 0
    while waves < 60 and idle < 3:
        got = hammer(nodes, account, 5, "%s%d" % (tag, waves), refusal)
        admitted = [x + y for x, y in zip(admitted, got)]
        idle = idle + 1 if sum(got) == 0 else 0
        waves += 1
        time.sleep(0.05)
    return admitted


def limit_of(d, account, kind):
    """The account's limit KIND ("daily", "hourly", "monthly", "max_rate_burst") on D."""
    r = d.ctl("account", "show", account, "--json")
    if r.returncode != 0:
        return None
    q = json.loads(r.stdout)["quota"][kind]
    return q.get("limit") if isinstance(q, dict) else q


@test
def hourly_and_monthly_quotas_hold_across_the_fleet():
    r = Redis().start()
    nodes = []
    try:
        nodes = fleet(r)
        a = nodes[0]
        now = time.gmtime()
        month = (now.tm_year * 12 + now.tm_mon - 1)
        cases = [("hq", "hourly-quota=60", "hourly", 60,
                  "452 4.5.3 Hourly sending quota exceeded (60 recipients per hour)",
                  "outpost:lease-hourly:"),
                 ("mq", "monthly-quota=40", "monthly", 40,
                  "452 4.5.3 Monthly sending quota exceeded (40 recipients per calendar month)",
                  "outpost:lease-monthly:%d:" % month)]
        for account, setting, kind, limit, refusal, key in cases:
            a.ctl("account", "add", account, check_rc=0)
            a.ctl("account", "set", account, setting, check_rc=0)
            for d in nodes:
                wait_for(lambda d=d: limit_of(d, account, kind) == limit, 10,
                         "the %s quota on every node" % kind)
        wait_for(lambda: all(len(cstatus(d).get("nodes", [])) == 3 for d in nodes), 10,
                 "every node sees three")
        for account, setting, kind, limit, refusal, key in cases:
            admitted = hammer_until_idle(nodes, account, account, refusal)
            held = leased(r, account, key)
            print("    fleet %s quota %d, 3 nodes hammered at once: admitted %s = %d; "
                  "leases in Redis %s" % (kind, limit, admitted, sum(admitted), held),
                  flush=True)
            eq(sum(admitted), limit, "%s quota: admitted across the fleet" % kind)
            check(sum(held.values()) <= limit, "%s leases in Redis: %s" % (kind, held))
            check(len(held) >= 1, "%s leases under %s" % (kind, key))
    finally:
        cleanup(r, nodes)


@test
def rate_holds_across_the_fleet():
    r = Redis().start()
    nodes = []
    try:
        nodes = fleet(r)
        a = nodes[0]
        a.ctl("account", "add", "rq", check_rc=0)
        a.ctl("account", "set", "rq", "max-rate=60/h", "max-rate-burst=20", check_rc=0)
        for d in nodes:
            wait_for(lambda d=d: limit_of(d, "rq", "max_rate_burst") == 20, 10,
                     "the rate on every node")
        wait_for(lambda: all(len(cstatus(d).get("nodes", [])) == 3 for d in nodes), 10,
                 "every node sees three")
        # 60/h releases one unit a minute: within the test only the burst can pass.  Each
        # node alone would let 20 through (60 in all); the fleet's shares add up to the
        # burst, each node rounded up to at least 1.
        admitted = hammer_until_idle(nodes, "rq", "rq", "450 4.7.1 Maximum sending rate")
        held = leased(r, "rq", "outpost:lease-rate:")
        print("    fleet rate 60/h burst 20, 3 nodes hammered at once: admitted %s = %d; "
              "shares in Redis (per mille) %s" % (admitted, sum(admitted), held), flush=True)
        check(sum(admitted) <= 20 + 2, "admitted %d > burst 20 + 2" % sum(admitted))
        check(sum(admitted) >= 10, "shares flow to the nodes: only %d admitted" % sum(admitted))
        check(sum(held.values()) <= 1000, "shares in Redis: %s" % held)
    finally:
        cleanup(r, nodes)


@test
def daily_quota_partition_tempfail_admits_nothing_beyond_the_lease():
    r = Redis().start()
    nodes = []
    try:
        nodes = a, b = fleet(r, ("a", "b"), 'partition_quota = "tempfail";')
        a.ctl("account", "add", "q", check_rc=0)
        a.ctl("account", "set", "q", "daily-quota=100", check_rc=0)
        for d in nodes:
            wait_for(lambda d=d: quota_limit(d, "q") == 100, 10, "the quota on every node")
        hammer([a], "q", 5, "t1")  # A takes a lease
        time.sleep(0.5)  # its last ask answered
        held = leased(r, "q").get("a", 0)
        check(held > 0, "A holds a lease: %s" % leased(r, "q"))
        r.stop()
        for d in nodes:
            wait_for(lambda d=d: not cstatus(d).get("connected", True), 10, "disconnect seen")
        time.sleep(0.7)
        cut = hammer(nodes, "q", 30, "t2")
        eq(cut[1], 0, "B had no lease: nothing while cut off")
        eq(daily_used(a, "q"), held, "A used exactly its lease, nothing beyond")
        text = a.ctl("cluster", "status", check_rc=0).stdout
        check("bound 0 (partition_quota tempfail)" in text, text)
    finally:
        cleanup(r, nodes)


REP_HOOK = """#!/bin/sh
[ "$1" = state ] || { cat > /dev/null; exit 0; }
out=%s
{ echo "account=$OUTPOST_ACCOUNT"; cat; } > "$out.$$.tmp"
mv "$out.$$.tmp" "$out.$$"
"""


def rep_fleet(r, names=("a", "b", "c")):
    """Nodes following their own maillog: min_volume 10, paused at a bounce rate of 20%."""
    from test_feedback import RULES
    nodes = []
    for n in names:
        d = Daemon('cluster = { redis = "redis://127.0.0.1:%d"; node = "%s"; '
                   'heartbeat_interval = "200ms"; reconnect_max = "300ms"; timeout = "1s"; };\n'
                   'feedback = { rules = "%s"; maillog = "maillog"; poll_interval = "100ms"; '
                   'min_volume = 10; bounce_review = 0; bounce_pause = 20; '
                   'event_log = "events.jsonl"; hook = "hook.sh"; };' % (r.port, n, RULES),
                   workers=1)
        with open(os.path.join(d.dir, "hook.sh"), "w") as f:
            f.write(REP_HOOK % os.path.join(d.dir, "hook.out"))
        os.chmod(os.path.join(d.dir, "hook.sh"), 0o755)
        nodes.append(d)
    for d in nodes:
        d.start()
    for d in nodes:
        wait_for(lambda d=d: cstatus(d).get("connected"), 10, "node to connect")
    return nodes


def maillog_append(d, text):
    with open(os.path.join(d.dir, "maillog"), "a") as f:
        f.write(text)


def rep_window(d, account):
    return d.ctl_json("account", "stats", account)[0]["reputation"]["window"]


def rep_fields(r, account):
    return r.cmd("HKEYS", "outpost:rep:%s" % account).split()


def state_events(d, account):
    try:
        with open(os.path.join(d.dir, "events.jsonl")) as f:
            evs = [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []
    return [e for e in evs if e["type"] == "state" and e["account"] == account]


def hook_runs(d):
    return [n for n in os.listdir(d.dir) if n.startswith("hook.out.") and not n.endswith(".tmp")]


@test
def fleet_reputation_one_transition_per_crossing():
    """No host alone crosses (each below min_volume), the fleet does: one transition in all;
    a host whose own slice would cross is not moved when the fleet's rate is below."""
    from test_feedback import messages
    r = Redis().start()
    nodes = []
    try:
        nodes = a, b, c = rep_fleet(r)
        for acct in ("spread", "diluted"):
            a.ctl("account", "add", acct, check_rc=0)
        for d in nodes:
            wait_for(lambda d=d: d.ctl("account", "show", "diluted").returncode == 0 and
                     d.ctl("account", "show", "spread").returncode == 0, 10, "the accounts")
        # diluted: B and C deliver 20 each, then A 7 delivered + 3 bounced (30% of 10 alone).
        maillog_append(b, messages("diluted", 20, 0, "b"))
        maillog_append(c, messages("diluted", 20, 0, "c"))
        wait_for(lambda: {f.split("/")[0] for f in rep_fields(r, "diluted")} == {"b", "c"}, 15,
                 "B's and C's counters in Redis")
        maillog_append(a, messages("diluted", 7, 3, "a"))
        wait_for(lambda: (rep_window(a, "diluted")["eligible"],
                          rep_window(a, "diluted")["hard_bounces"]) == (50, 3), 15,
                 "A's merged window of diluted: 50 eligible, 3 bounced")
        # spread: 4 delivered + 4 bounced on each host (8 < min_volume), 24 at 50% in the fleet.
        for d, tag in ((a, "a"), (b, "b"), (c, "c")):
            maillog_append(d, messages("spread", 4, 4, "s" + tag))
        for d in nodes:
            wait_for(lambda d=d: d.ctl_json("account", "show", "spread")[0]["state"] ==
                     "paused", 15, "spread paused on %s" % d.conf)
            wait_for(lambda d=d: rep_window(d, "spread")["eligible"] == 24, 15,
                     "the fleet's 24 on %s" % d.conf)
        for d in nodes:
            hist = [h for h in d.ctl_json("account", "show", "spread")[0]["history"]
                    if h["by"].startswith("rule:")]
            eq(len(hist), 1, "rule transitions of spread on %s: %s" % (d.conf, hist))
            eq((hist[0]["from"], hist[0]["to"]), ("active", "paused"), "the transition")
            # Judged on at least two hosts' counters (one alone, 8, is below min_volume).
            check(re.search(r"over the last (16|24) eligible", hist[0]["reason"]),
                  hist[0]["reason"])
            eq(d.ctl_json("account", "show", "diluted")[0]["state"], "active",
               "diluted on %s" % d.conf)
        wait_for(lambda: sum(len(state_events(d, "spread")) for d in nodes) >= 1, 10,
                 "the state event")
        wait_for(lambda: sum(len(hook_runs(d)) for d in nodes) >= 1, 10, "the hook run")
        eq(sum(len(state_events(d, "spread")) for d in nodes), 1, "state events of spread")
        eq(sum(len(state_events(d, "diluted")) for d in nodes), 0, "state events of diluted")
        eq(sum(len(hook_runs(d)) for d in nodes), 1, "hook runs")
        claims = r.cmd("KEYS", "outpost:rep:claim:*").split()
        eq(len(claims), 1, "claims in Redis: %s" % claims)
        check(":spread:" in claims[0], claims)
        ttl = int(r.cmd("PTTL", "outpost:rep:spread"))
        check(90 * 86400 * 1000 < ttl <= (90 * 86400 + 3600) * 1000, "counter expiry %d" % ttl)
    finally:
        cleanup(r, nodes)


@test
def fleet_reputation_cut_off_judges_local_counters():
    """Redis out of reach: a host judges on its own counters (and pauses on them alone)."""
    from test_feedback import messages
    r = Redis().start()
    nodes = []
    try:
        nodes = a, b = rep_fleet(r, ("a", "b"))
        a.ctl("account", "add", "solo", check_rc=0)
        wait_for(lambda: b.ctl("account", "show", "solo").returncode == 0, 10, "the account")
        r.stop()
        wait_for(lambda: not cstatus(a).get("connected", True), 10, "disconnect seen")
        maillog_append(a, messages("solo", 8, 4, "x"))
        wait_for(lambda: a.ctl_json("account", "show", "solo")[0]["state"] == "paused", 15,
                 "solo paused on A's own counters")
        check("(this host's counters)" in a.logtext(), a.logtext()[-2000:])
        eq(len(state_events(a, "solo")), 1, "state events on A")
    finally:
        cleanup(r, nodes)


REDIS_SENTINEL = shutil.which("redis-sentinel") or "/usr/bin/redis-sentinel"


class Sentinel:
    """A throwaway redis-sentinel on 127.0.0.1:PORT watching MASTER (quorum 1, fast failover)."""

    def __init__(self, master, primary_port):
        if not os.path.exists(REDIS_SENTINEL):
            raise TestFailure("redis-sentinel is not installed (apt-get install redis-sentinel)")
        self.dir = tempfile.mkdtemp(prefix="outpost-sentinel-")
        self.port = free_port()
        self.master = master
        conf = os.path.join(self.dir, "sentinel.conf")  # Sentinel rewrites it: its own copy
        with open(conf, "w") as f:
            f.write("port %d\nbind 127.0.0.1\nprotected-mode no\ndir %s\n"
                    "sentinel monitor %s 127.0.0.1 %d 1\n"
                    "sentinel down-after-milliseconds %s 500\n"
                    "sentinel failover-timeout %s 5000\n"
                    "sentinel parallel-syncs %s 1\n"
                    % (self.port, self.dir, master, primary_port, master, master, master))
        self.proc = subprocess.Popen(
            [REDIS_SENTINEL, conf], stdout=open(os.path.join(self.dir, "sentinel.log"), "ab"),
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(lambda: self.cmd("PING") == "PONG", 10, "redis-sentinel to answer")

    def cmd(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip()

    def primary_port(self):
        out = self.cmd("SENTINEL", "get-master-addr-by-name", self.master).split("\n")
        return int(out[1]) if len(out) == 2 and out[1].isdigit() else None

    def log(self):
        with open(os.path.join(self.dir, "sentinel.log"), errors="replace") as f:
            return f.read()

    def cleanup(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


@test
def sentinel_failover_is_followed_without_a_restart():
    primary = Redis().start()
    replica = Redis().start("--replicaof", "127.0.0.1", str(primary.port))
    sentinel, nodes = None, []
    try:
        wait_for(lambda: "master_link_status:up" in replica.cmd("INFO", "replication"), 15,
                 "the replica to sync")
        sentinel = Sentinel("outpostm", primary.port)
        # Sentinel learns the replica from the primary's INFO (every 10 s at first, then 1 s).
        wait_for(lambda: str(replica.port) in sentinel.cmd("SENTINEL", "replicas", "outpostm"),
                 20, "Sentinel to see the replica")
        url = "sentinel://127.0.0.1:%d/outpostm" % sentinel.port
        nodes = a, b = [node(n, url) for n in ("a", "b")]
        for d in nodes:
            d.start()
        for d in nodes:
            wait_for(lambda d=d: cstatus(d).get("connected"), 10, "node to connect")
        a.ctl("account", "add", "x", check_rc=0)
        a.ctl("suppress", "add", "before@dest.test", "--reason", "bounce", check_rc=0)
        until(b, "x", "before@dest.test", "550 5.7.1 ")
        wait_for(lambda: all(cstatus(d).get("outbox") == 0 for d in nodes), 10, "all pushed")
        # Asynchronous replication: what is in the primary must be in the replica before
        # the kill, or the failover itself loses it (see README "Fleet").
        wait_for(lambda: replica.cmd("XLEN", "outpost:changes") ==
                 primary.cmd("XLEN", "outpost:changes"), 10, "the replica to have the stream")
        seen = [d.logtext().count("disconnected from sentinel://") for d in nodes]
        t0 = time.time()
        primary.proc.send_signal(signal.SIGKILL)
        primary.proc.wait(10)
        primary.proc = None
        # The log, not the status: the status may show "disconnected" for less time than
        # one poll takes when Sentinel promotes quickly (0.6 s here).
        for d, n in zip(nodes, seen):
            wait_for(lambda d=d, n=n: d.logtext().count("disconnected from sentinel://") > n,
                     10, "disconnect seen")
        wait_for(lambda: sentinel.primary_port() == replica.port, 30,
                 "Sentinel to promote the replica")
        promoted = time.time() - t0
        wait_for(lambda: "role:master" in replica.cmd("INFO", "replication"), 10,
                 "the replica to become a primary")
        for d in nodes:  # the same processes: no restart
            wait_for(lambda d=d: cstatus(d).get("connected"), 15, "reconnect to the new primary")
        back = time.time() - t0
        a.ctl("suppress", "add", "after@dest.test", "--reason", "complaint", check_rc=0)
        until(b, "x", "after@dest.test", "550 5.7.1 ", timeout=15)
        check(reply(b, "x", "before@dest.test").startswith("550 5.7.1 "), "kept before")
        n = int(replica.cmd("XLEN", "outpost:changes") or 0)
        check(n >= 3, "account + 2 suppressions (+ B's auto-created account) in the stream: %d" % n)
        wait_for(lambda: cstatus(a).get("outbox") == 0, 10, "A's outbox pushed")
        for d in nodes:
            eq(cstatus(d)["duplicates"], 0, "duplicates")
            check("disconnected from sentinel://" in d.logtext(), "no disconnect log line")
            eq(d.proc.poll(), None, "outpostd still running")
        print("    failover: Sentinel promoted in %.1f s, both nodes back in %.1f s "
              "(down-after 500 ms)" % (promoted, back), flush=True)
    finally:
        for d in nodes:
            d.cleanup()
        if sentinel:
            sentinel.cleanup()
        replica.cleanup()
        primary.cleanup()


@test
def wait_replicas_keeps_changes_until_a_replica_holds_them():
    primary = Redis().start()
    replica = Redis().start("--replicaof", "127.0.0.1", str(primary.port))
    nodes, stopped = [], False
    try:
        wait_for(lambda: "master_link_status:up" in replica.cmd("INFO", "replication"), 15,
                 "the replica to sync")
        url = "redis://127.0.0.1:%d" % primary.port
        nodes = a, b = [node(n, url, "wait_replicas = 1;") for n in ("a", "b")]
        for d in nodes:
            d.start()
        for d in nodes:
            wait_for(lambda d=d: cstatus(d).get("connected"), 10, "node to connect")
        a.ctl("account", "add", "x", check_rc=0)
        a.ctl("suppress", "add", "one@dest.test", "--reason", "bounce", check_rc=0)
        until(b, "x", "one@dest.test", "550 5.7.1 ")
        wait_for(lambda: cstatus(a).get("outbox") == 0, 10, "A's outbox empty: the replica has it")
        # The replica stops answering: the primary takes the change (B enforces it) but A
        # keeps it in its outbox, as a failover now would lose it.
        replica.proc.send_signal(signal.SIGSTOP)
        stopped = True
        a.ctl("suppress", "add", "two@dest.test", "--reason", "bounce", check_rc=0)
        until(b, "x", "two@dest.test", "550 5.7.1 ")
        wait_for(lambda: cstatus(a).get("awaiting_replicas") == 1, 10, "A awaiting the replica")
        time.sleep(0.5)
        eq(cstatus(a).get("outbox"), 1, "A's outbox while the replica is stopped")
        text = a.ctl("cluster", "status", check_rc=0).stdout
        check("waiting for cluster.wait_replicas replicas" in text, text)
        replica.proc.send_signal(signal.SIGCONT)
        stopped = False
        wait_for(lambda: cstatus(a).get("outbox") == 0, 10, "A's outbox empty again")
        wait_for(lambda: cstatus(a).get("awaiting_replicas") == 0, 10, "nothing awaiting")
        eq(cstatus(b)["duplicates"], 0, "duplicates applied on B")
        eq(replica.cmd("XLEN", "outpost:changes"), primary.cmd("XLEN", "outpost:changes"),
           "the replica's stream")
    finally:
        if stopped:
            replica.proc.send_signal(signal.SIGCONT)
        for d in nodes:
            d.cleanup()
        replica.cleanup()
        primary.cleanup()


class BadRedis:
    """A TCP server on 127.0.0.1 that reads RESP commands and answers per MODE:
    "garbage" (bytes that are no RESP), "integers" (":7" to every command), "shapes"
    (XADD an array, the lease script a status), "xread" (XADD acknowledged, XREAD the
    right outer shape with integers for entries; no reputation changes) or "silent" (announces a bulk string it
    never sends)."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.commands = []
        self.accepts = 0
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def answer(self, cmd):
        name = cmd[0].upper() if cmd else b""
        if self.mode == "garbage":
            return b"HTTP/1.1 400 Bad Request\r\n\r\n"
        if self.mode == "integers":
            return b":7\r\n"
        if self.mode == "silent":
            return b"$100\r\nabc"
        if name == b"XREAD":
            return b"*1\r\n*2\r\n$15\r\noutpost:changes\r\n*2\r\n:1\r\n:2\r\n"
        if name == b"XADD":
            return b"$3\r\n9-9\r\n" if self.mode == "xread" else b"*1\r\n:1\r\n"
        if name in (b"EVAL", b"EVALSHA"):
            return b"+OK\r\n"
        if name == b"ZRANGEBYSCORE":  # the fleet's reputation changes: none
            return b"*0\r\n"
        return b":1\r\n"

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.accepts += 1
            threading.Thread(target=self.conn, args=(c,), daemon=True).start()

    def conn(self, c):
        buf = b""
        c.settimeout(0.2)
        while not self.stopping:
            try:
                data = c.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            buf += data
            while True:
                cmd, buf = resp_command(buf)
                if cmd is None:
                    break
                self.commands.append(cmd[0].upper() if cmd else b"")
                try:
                    c.sendall(self.answer(cmd))
                except OSError:
                    break
        c.close()

    def close(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


def resp_command(buf):
    """One RESP array of bulk strings from the front of BUF: (args, rest) or (None, buf)."""
    if not buf.startswith(b"*") or b"\r\n" not in buf:
        return None, buf
    head, rest = buf.split(b"\r\n", 1)
    args = []
    for _ in range(int(head[1:])):
        if b"\r\n" not in rest:
            return None, buf
        h, rest = rest.split(b"\r\n", 1)
        n = int(h[1:])
        if len(rest) < n + 2:
            return None, buf
        args.append(rest[:n])
        rest = rest[n + 2:]
    return args, rest


def cluster_pid(d):
    return [w["pid"] for w in d.status()["workers"] if w["kind"] == "cluster"]


@test
def bad_redis_replies_keep_the_node_enforcing():
    expect = {"garbage": "Protocol error", "integers": "XADD: unexpected reply type 3",
              "shapes": "XADD: unexpected reply type 2", "xread": "XREAD: malformed stream entry",
              "silent": "XADD: no reply within cluster.timeout"}
    servers, nodes = [], []
    try:
        for mode in expect:
            s = BadRedis(mode)
            servers.append(s)
            d = node("bad-" + mode, "redis://127.0.0.1:%d" % s.port)
            nodes.append(d)
            d.ctl("suppress", "add", "stays@dest.test", "--reason", "bounce", check_rc=0)
            d.start()
        for mode, s, d in zip(expect, servers, nodes):
            wait_for(lambda d=d, m=mode: expect[m] in cstatus(d).get("error", ""), 15,
                     "%s: the error in cluster status (%s)" % (mode, cstatus(d).get("error")))
            pid = cluster_pid(d)
            eq(len(pid), 1, "one cluster process")
            print("    %-8s -> %s" % (mode, cstatus(d)["error"]), flush=True)
            wait_for(lambda s=s: s.accepts >= 3, 10, "%s: reconnects with a backoff" % mode)
            # Each retry connects for a moment (xread: until the first XREAD), so the
            # status alternates: wait for it between two attempts.
            text = wait_for(lambda d=d, m=mode: (lambda t: t if "disconnected since" in t and
                                                 expect[m] in t else None)(
                d.ctl("cluster", "status", check_rc=0).stdout), 10,
                "%s: disconnected with the error in cluster status" % mode)
            log = d.logtext()
            check("cluster: disconnected from redis://127.0.0.1:%d: " % s.port in log, log)
            check("enforcing from the local store" in log, log)
            # Enforcing from LMDB: the entry made before the start (in the outbox, never
            # acknowledged by the bad server) and one made now; a clean address passes.
            d.ctl("suppress", "add", "now@dest.test", check_rc=0)
            for rcpt in ("stays@dest.test", "now@dest.test"):
                got = reply(d, "x", rcpt)
                check(got.startswith("550 5.7.1 "), "%s: %s -> %r" % (mode, rcpt, got))
            eq(reply(d, "x", "clean@dest.test"), "DUNNO", "%s: clean recipient" % mode)
            if mode != "xread":  # the others never acknowledged an XADD
                check(cstatus(d)["outbox"] >= 1, "%s: changes kept in the outbox" % mode)
            # No crash: the same cluster process (it retries, it is not restarted) and the
            # same master; nothing in the log of a restart.
            eq(cluster_pid(d), pid, "%s: cluster process pid" % mode)
            eq(d.proc.poll(), None, "%s: outpostd running" % mode)
            check("exited" not in log and "signal" not in log, "%s: a child died: %s" % (mode, log))
        eq(cstatus(nodes[0])["applied"], 0, "nothing applied from garbage")
    finally:
        for d in nodes:
            d.cleanup()
        for s in servers:
            s.close()


if __name__ == "__main__":
    sys.exit(run_tests())
