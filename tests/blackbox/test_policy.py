#!/usr/bin/python3
"""Black-box tests of outpostd's policy service: the real daemon, a real LMDB
store, the Postfix policy protocol over loopback TCP and unix sockets."""
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from outpost_test import (Daemon, PolicyConn, TestFailure, check, eq, run_tests, test,  # noqa: E402
                          wait_for)


def daemon(conf_extra="", **kw):
    return Daemon(conf_extra, **kw).start()


def seed(d):
    d.ctl("account", "add", "acct1", check_rc=0)
    d.ctl("account", "add", "acct2", check_rc=0)
    d.ctl("account", "pause", "acct2", "--reason", "bounce rate 10.2% over 2000 emails", check_rc=0)
    d.ctl("suppress", "add", "gone@dest.test", "--account", "acct1", "--reason", "bounce", check_rc=0)
    d.ctl("suppress", "add", "@globalblock.test", "--reason", "complaint", check_rc=0)


@test
def clean_mail_gets_dunno():
    d = daemon()
    try:
        seed(d)
        eq(d.ask(sasl_username="acct1", recipient="ok@dest.test"), "DUNNO", "clean recipient")
    finally:
        d.cleanup()


@test
def suppressed_recipient_rejected_with_reason_and_date():
    d = daemon()
    try:
        seed(d)
        r = d.ask(sasl_username="acct1", recipient="Gone@Dest.TEST")
        check(r.startswith("550 5.7.1 "), "want 550 5.7.1, got %r" % r)
        check("suppression list" in r and "acct1" in r and "bounce" in r, r)
        check(re.search(r"since \d{4}-\d\d-\d\d", r), "no date in %r" % r)
        # Account scope: another account may still mail that address.
        d.ctl("account", "add", "acct3", check_rc=0)
        eq(d.ask(sasl_username="acct3", recipient="gone@dest.test"), "DUNNO", "other account")
        # Global domain entry applies to every account, and to new ones.
        r = d.ask(sasl_username="acct3", recipient="x@globalblock.test")
        check(r.startswith("550 5.7.1 ") and "global" in r and "complaint" in r, r)
        r = d.ask(sasl_username="brandnew", recipient="x@GLOBALBLOCK.test")
        check(r.startswith("550 5.7.1 "), r)
    finally:
        d.cleanup()


@test
def paused_account_tempfailed_with_reason():
    d = daemon()
    try:
        seed(d)
        r = d.ask(sasl_username="acct2", recipient="ok@dest.test")
        check(r.startswith("450 4.7.1 "), "want 450 4.7.1, got %r" % r)
        check("paused" in r and "bounce rate 10.2% over 2000 emails" in r, r)
        d.ctl("account", "resume", "acct2", "--reason", "fixed", check_rc=0)
        eq(d.ask(sasl_username="acct2", recipient="ok@dest.test"), "DUNNO", "after resume")
        d.ctl("account", "review", "acct2", "--reason", "watch", check_rc=0)
        eq(d.ask(sasl_username="acct2", recipient="ok@dest.test"), "DUNNO", "under review")
    finally:
        d.cleanup()


@test
def paused_action_reject_and_hold():
    for action, want in (("reject", "554 5.7.1 "), ("hold", "HOLD ")):
        d = daemon('accounts = { paused_action = "%s"; };' % action)
        try:
            seed(d)
            r = d.ask(sasl_username="acct2", recipient="ok@dest.test")
            check(r.startswith(want), "%s: got %r" % (action, r))
        finally:
            d.cleanup()


@test
def many_requests_on_one_connection_and_pipelined():
    d = daemon()
    try:
        seed(d)
        c = d.conn()
        for i in range(200):
            rcpt = "gone@dest.test" if i % 3 == 0 else "ok%d@dest.test" % i
            r = c.ask(sasl_username="acct1", recipient=rcpt)
            check(r.startswith("550") if i % 3 == 0 else r == "DUNNO", "request %d: %r" % (i, r))
        # Two requests in one write: two replies, in order.
        c.send_raw(PolicyConn.encode({"sasl_username": "acct2"}) +
                   PolicyConn.encode({"sasl_username": "acct1"}))
        check(c.read_reply().startswith("450"), "first pipelined")
        eq(c.read_reply(), "DUNNO", "second pipelined")
        # A request split across many writes.
        data = PolicyConn.encode({"sasl_username": "acct1", "recipient": "gone@dest.test"})
        for i in range(0, len(data), 7):
            c.send_raw(data[i:i + 7])
            time.sleep(0.001)
        check(c.read_reply().startswith("550"), "split request")
        c.close()
    finally:
        d.cleanup()


@test
def malformed_input_closes_only_that_connection():
    d = daemon()
    try:
        seed(d)
        good = d.conn()
        eq(good.ask(sasl_username="acct1"), "DUNNO", "before")
        cases = [
            b"request=smtpd_access_policy\nthis line has no equals\n\n",
            b"request=smtpd_access_policy\n=empty name\n\n",
            b"request=smtpd_access_policy\nsender=a\x00b@x.test\n\n",
            b"protocol_state=RCPT\n\n",
            b"\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03binary garbage\n\n",
        ]
        for raw in cases:
            bad = d.conn()
            bad.send_raw(raw)
            check(bad.closed(), "connection not closed after %r" % raw)
            bad.close()
        # Oversized request (no empty line): closed at the size cap.
        big = d.conn()
        try:
            big.send_raw(b"request=smtpd_access_policy\nsender=" + b"a" * 200000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        check(big.closed(), "oversized request not closed")
        eq(good.ask(sasl_username="acct2", recipient="x@dest.test")[:3], "450", "after bad input")
        st = d.status()
        bad_total = sum(w["bad_requests"] for w in st["workers"])
        check(bad_total >= len(cases) + 1, "bad_requests counted: %d" % bad_total)
        check("malformed request" in d.logtext(), "malformed input not logged")
    finally:
        d.cleanup()


@test
def every_protocol_state_answered():
    d = daemon()
    try:
        seed(d)
        c = d.conn()
        for state in ("CONNECT", "EHLO", "HELO", "MAIL", "RCPT", "DATA", "END-OF-MESSAGE",
                      "VRFY", "ETRN"):
            r = c.ask(protocol_state=state, sasl_username="acct1", recipient="gone@dest.test")
            want = "550" if state == "RCPT" else "DUNNO"
            check(r.startswith(want), "%s: %r" % (state, r))
        # Paused accounts are refused at MAIL too (smtpd_delay_reject=no) and at EOM.
        for state in ("MAIL", "RCPT", "END-OF-MESSAGE"):
            check(c.ask(protocol_state=state, sasl_username="acct2").startswith("450"), state)
        eq(c.ask(protocol_state="DATA", sasl_username="acct2"), "DUNNO", "DATA")
    finally:
        d.cleanup()


@test
def identity_sources_and_mappings():
    d = daemon()
    try:
        seed(d)
        d.ctl("account", "add", "tenant", check_rc=0)
        d.ctl("account", "pause", "tenant", "--reason", "mapped", check_rc=0)
        # No SASL login, no mapping: no account -> DUNNO (unmatched default).
        eq(d.ask(sender="a@tenant.test", client_address="192.0.2.7"), "DUNNO", "unmatched")
        d.ctl("account", "map", "tenant", "domain:Tenant.TEST", check_rc=0)
        check(d.ask(sender="a@tenant.test").startswith("450"), "domain mapping")
        d.ctl("account", "map", "acct1", "sender:vip@tenant.test", check_rc=0)
        eq(d.ask(sender="VIP@tenant.test", recipient="x@dest.test"), "DUNNO",
           "sender mapping beats domain mapping")
        d.ctl("account", "map", "tenant", "cidr:198.51.100.0/24", "cidr:2001:db8::/32", check_rc=0)
        d.ctl("account", "map", "acct1", "cidr:198.51.100.128/25", check_rc=0)
        check(d.ask(sender="", client_address="198.51.100.5").startswith("450"), "cidr v4")
        eq(d.ask(sender="", client_address="198.51.100.200"), "DUNNO", "longest prefix wins")
        check(d.ask(sender="", client_address="2001:db8::25").startswith("450"), "cidr v6")
        check(d.ask(sender="", client_address="::ffff:198.51.100.5").startswith("450"),
              "v4-mapped v6")
        # SASL first: a login beats every mapping; a sasl: mapping renames the login.
        eq(d.ask(sasl_username="acct1", sender="a@tenant.test"), "DUNNO", "sasl first")
        d.ctl("account", "map", "tenant", "sasl:smtp-user-17", check_rc=0)
        check(d.ask(sasl_username="smtp-user-17").startswith("450"), "sasl mapping")
        d.ctl("account", "unmap", "domain:tenant.test", check_rc=0)
        eq(d.ask(sender="a@tenant.test"), "DUNNO", "after unmap")
    finally:
        d.cleanup()


@test
def unmatched_and_unknown_policies():
    d = daemon('accounts = { unmatched = "tempfail"; auto_create = false; unknown = "reject"; };')
    try:
        seed(d)
        check(d.ask(sender="x@nowhere.test").startswith("450 4.7.1 "), "unmatched=tempfail")
        r = d.ask(sasl_username="stranger")
        check(r.startswith("554 5.7.1 ") and "not provisioned" in r, "unknown=reject: %r" % r)
        eq(d.ask(sasl_username="acct1"), "DUNNO", "known account")
        r = d.ctl("account", "show", "stranger")
        eq(r.returncode, 1, "no auto-create when auto_create=false")
    finally:
        d.cleanup()


@test
def auto_create_on_first_login():
    d = daemon()
    try:
        eq(d.ask(sasl_username="fresh.login@app.test", recipient="a@dest.test"), "DUNNO", "first")
        acct = wait_for(lambda: d.ctl("account", "show", "fresh.login@app.test", "--json").returncode == 0
                        and d.ctl_json("account", "show", "fresh.login@app.test")[0], 5,
                        "auto-created account")
        eq(acct["state"], "active", "state")
        eq(acct["by"], "auto-create", "by")
        eq(len(acct["history"]), 1, "history entries")
    finally:
        d.cleanup()


@test
def monitor_mode_global_and_per_account():
    d = daemon('mode = "monitor";')
    try:
        seed(d)
        eq(d.ask(sasl_username="acct2"), "DUNNO", "paused in monitor mode")
        eq(d.ask(sasl_username="acct1", recipient="gone@dest.test"), "DUNNO", "suppressed")
        log = wait_for(lambda: "would_tempfail" in d.logtext() and d.logtext(), 5, "log line")
        check(re.search(r"decision .*account=acct2 .*rule=paused action=would_tempfail", log), log)
        check(re.search(r"rule=suppressed action=would_reject", log), log)
        check(sum(w["would_refuse"] for w in d.status()["workers"]) == 2, "would_refuse counted")
        # Per account enforce beats global monitor.
        d.ctl("account", "set", "acct2", "mode=enforce", check_rc=0)
        check(d.ask(sasl_username="acct2").startswith("450"), "account mode=enforce")
    finally:
        d.cleanup()
    d = daemon()
    try:
        seed(d)
        d.ctl("account", "set", "acct1", "mode=monitor", check_rc=0)
        eq(d.ask(sasl_username="acct1", recipient="gone@dest.test"), "DUNNO", "account monitor")
        check(d.ask(sasl_username="acct2").startswith("450"), "others still enforced")
    finally:
        d.cleanup()


@test
def fold_plus_option():
    for fold, want in (("false", "DUNNO"), ("true", "550")):
        d = daemon("suppress = { fold_plus = %s; };" % fold)
        try:
            seed(d)
            r = d.ask(sasl_username="acct1", recipient="gone+news@dest.test")
            check(r.startswith(want), "fold_plus=%s: %r" % (fold, r))
        finally:
            d.cleanup()


@test
def expired_suppression_no_longer_applies():
    d = daemon()
    try:
        seed(d)
        d.ctl("suppress", "add", "temp@dest.test", "--expires", "2s", check_rc=0)
        check(d.ask(sasl_username="acct1", recipient="temp@dest.test").startswith("550"), "active")
        time.sleep(2.2)
        eq(d.ask(sasl_username="acct1", recipient="temp@dest.test"), "DUNNO", "expired")
    finally:
        d.cleanup()


@test
def end_of_message_is_recorded_once():
    d = daemon()
    try:
        seed(d)
        c = d.conn()
        for i in range(3):
            eq(c.ask(protocol_state="END-OF-MESSAGE", sasl_username="acct1", queue_id="4XYZ%d" % i,
                     recipient_count=str(i + 1), recipient=""), "DUNNO", "EOM")
        # The same queue id again (milter or retry): still one record.
        c.ask(protocol_state="END-OF-MESSAGE", sasl_username="acct1", queue_id="4XYZ0",
              recipient_count="9")
        dbdir = os.path.join(d.dir, "db")

        def records():
            """queue id -> (recipients, account) from mdb_dump's hex output."""
            out = subprocess.run(["mdb_dump", "-s", "message", dbdir], capture_output=True,
                                 text=True).stdout.split("HEADER=END\n", 1)[-1].splitlines()
            recs = {}
            for k, v in zip(out[0::2], out[1::2]):
                if k == "DATA=END":
                    break
                key, val = bytes.fromhex(k.strip()).decode(), bytes.fromhex(v.strip())
                eq(val[0], 1, "record version")
                recs[key] = (int.from_bytes(val[9:13], "little"), val[15:-1].decode())
            return recs
        recs = wait_for(lambda: len(records()) == 3 and records(), 5, "3 message records")
        eq(recs, {"4XYZ0": (1, "acct1"), "4XYZ1": (2, "acct1"), "4XYZ2": (3, "acct1")},
           "message records")
    finally:
        d.cleanup()


@test
def many_persistent_connections():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    d = daemon()
    conns = []
    try:
        seed(d)
        for i in range(2000):
            c = d.conn()
            conns.append(c)
            if i % 10 == 0:
                check(c.ask(sasl_username="acct2").startswith("450"), "connection %d" % i)
        # All of them stay open and each still answers.
        for i, c in enumerate(conns):
            if i % 7 == 0:
                check(c.ask(sasl_username="acct1", recipient="gone@dest.test").startswith("550"),
                      "old connection %d" % i)
        st = d.status()
        eq(sum(w["open_connections"] for w in st["workers"]), 2000, "open connections")
    finally:
        for c in conns:
            c.close()
        d.cleanup()


@test
def missing_end_of_message_wiring_is_reported():
    os.environ["OUTPOST_TEST_WIRING_SECS"] = "1"
    try:
        d = daemon()
    finally:
        del os.environ["OUTPOST_TEST_WIRING_SECS"]
    try:
        c = d.conn()
        for i in range(120):
            c.ask(sasl_username="acct1", recipient="r%d@dest.test" % i)
        st = wait_for(lambda: d.status().get("warnings") and d.status(), 5, "wiring warning")
        check("smtpd_end_of_data_restrictions" in st["warnings"][0], st["warnings"])
        eq(sum(w.get("rcpt_requests", 0) for w in st["workers"]), 120, "rcpt_requests")
        check("no END-OF-MESSAGE request" in d.logtext(), "warning logged")
        c.ask(protocol_state="END-OF-MESSAGE", sasl_username="acct1", queue_id="QEOM1",
              recipient_count="1")
        wait_for(lambda: "warnings" not in d.status(), 5, "warning cleared by an EOM request")
        check("WARNING" not in d.ctl("status").stdout, "human status clean")
    finally:
        d.cleanup()


@test
def unix_socket_listener_with_mode():
    d = Daemon(listen="unix:%s" % "/tmp/outpost-test-%d.sock" % os.getpid())
    try:
        d.write_conf('policy = { listen = "%s"; workers = 1; socket_mode = "0660"; };' % d.listen)
        d.start()
        seed(d)
        mode = os.stat(d.addr).st_mode & 0o777
        eq(mode, 0o660, "socket mode")
        check(d.ask(sasl_username="acct2").startswith("450"), "over unix socket")
    finally:
        d.cleanup()
        if os.path.exists(d.addr):
            os.unlink(d.addr)


@test
def idle_connections_closed_after_timeout():
    d = Daemon()
    try:
        d.write_conf('policy = { listen = "%s"; workers = 1; idle_timeout = "1s"; };' % d.listen)
        d.start()
        c = d.conn()
        eq(c.ask(), "DUNNO", "first")
        t0 = time.time()
        check(c.closed(timeout=5), "idle connection not closed")
        check(time.time() - t0 < 3, "closed too late")
    finally:
        d.cleanup()


@test
def reload_good_and_bad_config():
    d = daemon()
    try:
        seed(d)
        c = d.conn()
        check(c.ask(sasl_username="acct2").startswith("450"), "enforce")
        # A bad file is refused; the daemon keeps serving with the old config.
        with open(d.conf, "a") as f:
            f.write("no_such_key = 1;\n")
        os.kill(d.proc.pid, signal.SIGHUP)
        wait_for(lambda: "reload failed" in d.logtext(), 5, "reload failure logged")
        check(re.search(r"reload failed.*outpost\.conf:\d+: unknown setting 'no_such_key'",
                        d.logtext()), d.logtext())
        check(d.ask(sasl_username="acct2").startswith("450"), "still serving after bad reload")
        # A good file takes effect: monitor mode.
        d.write_conf(top_extra='mode = "monitor";')
        old = set(d.worker_pids())
        os.kill(d.proc.pid, signal.SIGHUP)
        wait_for(lambda: "configuration reloaded" in d.logtext(), 5, "reload")
        wait_for(lambda: d.ask_as_postfix(sasl_username="acct2") == "DUNNO", 5,
                 "monitor mode after reload")
        check(not (old & set(d.worker_pids())), "workers replaced after reload")
        eq(d.status()["reloads"], 1, "reload count")
        eq(d.stop(), 0, "exit status")
    finally:
        d.cleanup()


@test
def killed_worker_is_restarted():
    d = daemon()
    try:
        seed(d)
        pids = d.worker_pids()
        os.kill(pids[0], signal.SIGKILL)
        wait_for(lambda: pids[0] not in d.worker_pids() and all(d.worker_pids()), 10,
                 "replacement worker")
        for _ in range(20):
            check(d.ask(sasl_username="acct2").startswith("450"), "served after a worker died")
        check("killed by signal 9" in d.logtext(), "death logged")
    finally:
        d.cleanup()


@test
def workers_retire_after_max_requests():
    d = Daemon()
    try:
        d.write_conf('policy = { listen = "%s"; workers = 1; max_requests = 5; };' % d.listen)
        d.start()
        seed(d)
        answered = 0
        for i in range(23):
            try:
                c = d.conn()
                r = c.ask(sasl_username="acct2")
                c.close()
            except (OSError, TestFailure):
                time.sleep(0.1)
                continue
            check(r.startswith("450"), r)
            answered += 1
        check(answered >= 20, "answered %d of 23" % answered)
        st = d.status()
        check(st["workers"][0]["restarts"] >= 3, "restarts %d" % st["workers"][0]["restarts"])
        check("request limit reached" in d.logtext(), "retirement logged")
    finally:
        d.cleanup()


@test
def sigterm_drains_and_exits_zero():
    d = daemon()
    try:
        seed(d)
        c = d.conn()
        eq(c.ask(sasl_username="acct1"), "DUNNO", "before")
        # Half a request in flight when SIGTERM arrives: it is still answered.
        data = PolicyConn.encode({"sasl_username": "acct2"})
        c.send_raw(data[:40])
        time.sleep(0.1)
        d.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        c.send_raw(data[40:])
        r = c.read_reply()
        check(r is not None and r.startswith("450"), "request in flight answered: %r" % r)
        check(c.closed(), "connection closed after drain")
        eq(d.proc.wait(20), 0, "exit status")
        d.proc = None
        check(not os.path.exists(os.path.join(d.dir, "run", "outpostd.pid")), "pid file removed")
    finally:
        d.cleanup()


@test
def config_check_mode():
    d = Daemon()
    try:
        r = subprocess.run([d_bin(), "-n", "-c", d.conf], capture_output=True, text=True)
        eq(r.returncode, 0, "valid config: " + r.stderr)
        with open(d.conf, "a") as f:
            f.write('policy2 = { workers = 1; };\n')
        r = subprocess.run([d_bin(), "-n", "-c", d.conf], capture_output=True, text=True)
        eq(r.returncode, 1, "invalid config")
        check(re.search(r"outpost\.conf:\d+: unknown section 'policy2'", r.stderr), r.stderr)
        d.write_conf('accounts = { paused_action = "maybe"; };')
        r = subprocess.run([d_bin(), "-f", "-c", d.conf], capture_output=True, text=True, timeout=10)
        eq(r.returncode, 1, "daemon refuses a bad config")
        check(re.search(r"outpost\.conf:\d+: accounts\.paused_action: 'maybe' is not one of",
                        r.stderr), r.stderr)
        # The bundled configuration is valid.
        bundled = os.path.join(os.path.dirname(__file__), "..", "..", "etc", "outpost.conf")
        r = subprocess.run([d_bin(), "-n", "-c", bundled], capture_output=True, text=True)
        eq(r.returncode, 0, "bundled etc/outpost.conf: " + r.stderr)
    finally:
        d.cleanup()


def d_bin():
    from outpost_test import OUTPOSTD
    return OUTPOSTD


@test
def daemon_mode_pidfile_and_privilege_drop():
    if os.geteuid() != 0:
        print("skipped: needs root")
        return
    try:
        pwd.getpwnam("outpost")
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", "outpost"], check=True)
    d = Daemon(foreground=False)
    try:
        text = open(d.conf).read().replace('user = "";', 'user = "outpost";')
        open(d.conf, "w").write(text)
        d.start()
        pid = wait_for(lambda: os.path.exists(os.path.join(d.dir, "run", "outpostd.pid")) and d.pid(),
                       10, "pid file")
        outpost_uid = pwd.getpwnam("outpost").pw_uid

        def uid_of(p):
            with open("/proc/%d/status" % p) as f:
                return int(re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1))
        eq(uid_of(pid), outpost_uid, "master uid after the drop")
        eq(d.proc.wait(10), 0, "the starting process returns 0 after detaching")
        st = d.status()
        eq(st["pid"], pid, "status pid = pid file")
        for w in st["workers"]:
            eq(uid_of(w["pid"]), outpost_uid, "worker uid")
        dbdir = os.path.join(d.dir, "db")
        sb = os.stat(dbdir)
        eq(sb.st_uid, outpost_uid, "store directory owner")
        eq(sb.st_mode & 0o7777, 0o2770, "store directory mode")
        # outpostctl run as root creates nothing root-owned that locks the daemon out.
        seed(d)
        for f in ("data.mdb", "lock.mdb"):
            eq(os.stat(os.path.join(dbdir, f)).st_uid, outpost_uid, f + " owner")
        check(d.ask(sasl_username="acct2").startswith("450"), "daemon reads what root wrote")
        eq(d.ask(sasl_username="newacct"), "DUNNO", "daemon can write (auto-create)")
        wait_for(lambda: d.ctl("account", "show", "newacct").returncode == 0, 5, "auto-create write")
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not os.path.exists("/proc/%d" % pid), 20, "daemon exit")
        d.proc = None
    finally:
        d.cleanup()


if __name__ == "__main__":
    sys.exit(run_tests())
