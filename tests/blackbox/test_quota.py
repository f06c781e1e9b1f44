#!/usr/bin/python3
"""Black-box tests of quotas and rates: the real outpostd and outpostctl, the
shared quota table, Postfix policy requests over loopback.  A transaction is
RCPT requests with one `instance`, then END-OF-MESSAGE with the queue id and
the recipient count Postfix accepted."""
import datetime
import os
import re
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from outpost_test import Daemon, check, eq, run_tests, test, wait_for  # noqa: E402

_seq = [0]


def instance():
    _seq[0] += 1
    return "7f3a.%08x.%05x.0" % (os.getpid(), _seq[0])


def rcpt(c, account, to, inst, sender="app@app.test"):
    return c.ask(sasl_username=account, recipient=to, instance=inst, sender=sender)


def eom(c, account, inst, count, qid, sender="app@app.test"):
    return c.ask(protocol_state="END-OF-MESSAGE", sasl_username=account, recipient="",
                 instance=inst, queue_id=qid, recipient_count=str(count), sender=sender)


def send(c, account, rcpts, qid, sender="app@app.test"):
    """One transaction: RCPT each, END-OF-MESSAGE with those accepted; the replies."""
    inst = instance()
    replies = [rcpt(c, account, r, inst, sender) for r in rcpts]
    ok = sum(1 for r in replies if r == "DUNNO")
    if ok:
        eq(eom(c, account, inst, ok, qid, sender), "DUNNO", "END-OF-MESSAGE")
    return replies


def alive(pid):
    """PID runs (a zombie nobody reaped yet has let go of everything)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            return not re.search(r"^State:\s+Z", f.read(), re.M)
    except OSError:
        return False


def quota(d, account):
    return d.ctl_json("account", "show", account)[0]["quota"]


def daemon(conf_extra=""):
    return Daemon(conf_extra).start()


@test
def daily_quota_counts_recipients_committed_at_eom():
    d = daemon()
    try:
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "set", "acme", "daily-quota=5", check_rc=0)
        c = d.conn()
        r = send(c, "acme", ["a%d@dest.test" % i for i in range(3)], "3F1A2B4C5D")
        eq(r, ["DUNNO"] * 3, "first three recipients")
        eq(quota(d, "acme")["daily"], {"limit": 5, "used": 3}, "daily after 3")
        r = send(c, "acme", ["b%d@dest.test" % i for i in range(3)], "3F1A2B4C5E")
        eq(r[:2], ["DUNNO", "DUNNO"], "4th and 5th recipients")
        m = re.match(r"452 4\.5\.3 Daily sending quota exceeded \(5 recipients per 24 h\); "
                     r"retry after (\d{4}-\d\d-\d\d) (\d\d):(\d\d) UTC$", r[2])
        check(m, "6th recipient: %r" % r[2])
        # It frees up 24 h after the first recipients, within one 5-minute bucket.
        now = datetime.datetime.now(datetime.timezone.utc)
        want = now + datetime.timedelta(days=1)
        got = datetime.datetime.fromisoformat(m.group(1)).replace(
            hour=int(m.group(2)), minute=int(m.group(3)), tzinfo=datetime.timezone.utc)
        check(abs((got - want).total_seconds()) <= 6 * 60,
              "retry after %s, want about %s" % (r[2], want.strftime("%H:%M")))
        q = quota(d, "acme")
        eq(q["daily"]["used"], 5, "daily used")
        eq(q["in_flight"], 0, "nothing reserved after END-OF-MESSAGE")
        check("daily_quota" in d.logtext() and "rule=daily_quota" in d.logtext(),
              "the refusal is logged with its rule")
        c.close()
    finally:
        d.cleanup()


@test
def aborted_and_refused_transactions_consume_nothing():
    d = daemon()
    try:
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "set", "acme", "daily-quota=2", check_rc=0)
        d.ctl("suppress", "add", "gone@dest.test", "--account", "acme", check_rc=0)
        c = d.conn()
        # Two recipients reserved, then the client gives up (RSET): a new instance.
        inst = instance()
        eq(rcpt(c, "acme", "a@dest.test", inst), "DUNNO", "1st")
        eq(rcpt(c, "acme", "b@dest.test", inst), "DUNNO", "2nd")
        # Meanwhile another connection finds the quota taken by those in flight.
        c2 = d.conn()
        r = rcpt(c2, "acme", "x@dest.test", instance())
        check(r.startswith("452 4.5.3 "), "in-flight reservations count: %r" % r)
        eq(quota(d, "acme")["in_flight"], 2, "in flight")
        # New transaction on the first connection: the old one is released.
        r = send(c, "acme", ["c@dest.test", "d@dest.test"], "4A1B2C3D4E")
        eq(r, ["DUNNO", "DUNNO"], "after an aborted transaction")
        eq(quota(d, "acme")["daily"]["used"], 2, "only the sent message counts")
        c.close()
        c2.close()
        # A suppressed recipient is rejected and consumes nothing.
        d.ctl("account", "set", "acme", "daily-quota=3", check_rc=0)
        c = d.conn()
        inst = instance()
        check(rcpt(c, "acme", "gone@dest.test", inst).startswith("550"), "suppressed")
        eq(rcpt(c, "acme", "e@dest.test", inst), "DUNNO", "the 3rd may go")
        c.close()  # disconnect without END-OF-MESSAGE: released (when the worker sees it)
        wait_for(lambda: quota(d, "acme")["in_flight"] == 0, 10, "the disconnect to release")
        c = d.conn()
        eq(send(c, "acme", ["f@dest.test"], "4A1B2C3D4F"), ["DUNNO"], "after a disconnect")
        q = quota(d, "acme")
        eq((q["daily"]["used"], q["in_flight"]), (3, 0), "used and in flight")
        c.close()
    finally:
        d.cleanup()


@test
def end_of_message_on_another_connection_commits_the_reservation():
    # Postfix gives a restriction list with other settings (contrib's fail-open
    # end-of-data check) a policy client and connection of its own.
    d = daemon()
    try:
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "set", "acme", "daily-quota=3", check_rc=0)
        c1, c2 = d.conn(), d.conn()
        inst = instance()
        eq([rcpt(c1, "acme", "%s@dest.test" % x, inst) for x in "ab"], ["DUNNO"] * 2, "RCPTs")
        eq(eom(c2, "acme", inst, 2, "5C1D2E3F40"), "DUNNO", "END-OF-MESSAGE on c2")
        q = quota(d, "acme")
        eq((q["daily"]["used"], q["in_flight"]), (2, 0), "used, in flight")
        # c1's next transaction has the one place left, and releases nothing twice.
        inst = instance()
        eq(rcpt(c1, "acme", "c@dest.test", inst), "DUNNO", "3rd")
        check(rcpt(c1, "acme", "d@dest.test", inst).startswith("452 "), "4th")
        c1.close()
        c2.close()
        wait_for(lambda: quota(d, "acme")["in_flight"] == 0, 10, "the closes to release")
        eq(quota(d, "acme")["daily"]["used"], 2, "used after both connections closed")
    finally:
        d.cleanup()


@test
def limits_change_at_once_without_reload():
    d = daemon()
    try:
        d.ctl("account", "add", "acme", check_rc=0)
        c = d.conn()
        eq(send(c, "acme", ["a@dest.test"], "5B1C2D3E4F"), ["DUNNO"], "no limit")
        d.ctl("account", "set", "acme", "hourly-quota=1", check_rc=0)
        r = send(c, "acme", ["b@dest.test"], "5B1C2D3E50")
        check(r[0].startswith("452 4.5.3 Hourly sending quota exceeded (1 recipients per hour)"),
              r[0])
        d.ctl("account", "set", "acme", "hourly-quota=none", check_rc=0)
        eq(send(c, "acme", ["b@dest.test"], "5B1C2D3E51"), ["DUNNO"], "limit lifted")
        d.ctl("account", "set", "acme", "monthly-quota=2", check_rc=0)
        r = send(c, "acme", ["c@dest.test"], "5B1C2D3E52")
        check(r[0].startswith("452 4.5.3 Monthly sending quota exceeded (2 recipients per "
                              "calendar month); retry after "), r[0])
        first = (datetime.date.today().replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
        check(first.isoformat() + " 00:00 UTC" in r[0], "retry at the next month: %r" % r[0])
        # Bad values are refused with a reason; nothing changes.
        r = d.ctl("account", "set", "acme", "daily-quota=lots")
        check(r.returncode != 0 and "daily-quota" in r.stderr, r.stderr)
        r = d.ctl("account", "set", "acme", "max-rate=5/x")
        check(r.returncode != 0 and "max-rate" in r.stderr, r.stderr)
        eq(quota(d, "acme")["daily"]["limit"], None, "daily limit unchanged")
        c.close()
    finally:
        d.cleanup()


@test
def rate_with_burst_and_review_factor():
    d = daemon()
    try:
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "set", "acme", "max-rate=2/m", "max-rate-burst=2", check_rc=0)
        c = d.conn()
        r = send(c, "acme", ["a@dest.test", "b@dest.test", "c@dest.test"], "6C1D2E3F40")
        eq(r[:2], ["DUNNO", "DUNNO"], "the burst")
        m = re.match(r"450 4\.7\.1 Maximum sending rate exceeded \(2 recipients/min, burst 2\); "
                     r"retry in (\d+) s$", r[2])
        check(m and 25 <= int(m.group(1)) <= 31, "3rd recipient: %r" % r[2])
        q = quota(d, "acme")
        eq((q["max_rate"], q["rate_available"]), ("2/m", 0), "rate in account show")
        # Under review the rate is halved (limits.review_rate_factor 0.5): 1 a minute.
        d.ctl("account", "add", "slow", check_rc=0)
        d.ctl("account", "set", "slow", "max-rate=60/h", "max-rate-burst=1", check_rc=0)
        d.ctl("account", "review", "slow", "--reason", "test", check_rc=0)
        r = send(c, "slow", ["a@dest.test", "b@dest.test"], "6C1D2E3F41")
        eq(r[0], "DUNNO", "first")
        m = re.match(r"450 4\.7\.1 Maximum sending rate exceeded \(60 recipients/h, burst 1, "
                     r"reduced: account under review\); retry in (\d+) s$", r[1])
        check(m and 115 <= int(m.group(1)) <= 120, "review halves the rate: %r" % r[1])
        eq(quota(d, "slow")["rate_factor"], 0.5, "rate factor shown")
        c.close()
    finally:
        d.cleanup()


@test
def counts_survive_a_restart():
    d = daemon()
    try:
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "set", "acme", "daily-quota=4", check_rc=0)
        c = d.conn()
        eq(send(c, "acme", ["a%d@dest.test" % i for i in range(3)], "7D1E2F3A40"), ["DUNNO"] * 3,
           "three")
        c.close()
        eq(d.stop(), 0, "exit status")
        d.start()
        c = d.conn()
        r = send(c, "acme", ["b@dest.test", "c@dest.test"], "7D1E2F3A41")
        eq(r[0], "DUNNO", "the 4th after the restart")
        check(r[1].startswith("452 4.5.3 "), "the 5th after the restart: %r" % r[1])
        c.close()
        # kill -9 of the master: the counts are in the file, not in a process.  Its
        # workers see it gone and stop; wait for them to let go of the port.
        workers = d.worker_pids()
        d.proc.kill()
        d.proc.wait()
        d.proc = None
        d.logf.close()
        wait_for(lambda: not any(alive(p) for p in workers), 10,
                 "the workers of the killed master to exit")
        d.start()
        eq(quota(d, "acme")["daily"]["used"], 4, "after kill -9")
    finally:
        d.cleanup()


@test
def two_clients_hammering_one_account_get_exactly_the_quota():
    d = Daemon("", workers=2).start()
    try:
        limit, per_client = 50, 80
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "set", "acme", "daily-quota=%d" % limit, check_rc=0)
        admitted = [0, 0]
        errors = []

        def client(n):
            try:
                c = d.conn()
                for i in range(per_client):  # bounded
                    inst = "c%d.%d.0" % (n, i)
                    r1 = rcpt(c, "acme", "r%d.%d@dest.test" % (n, i), inst)
                    r2 = rcpt(c, "acme", "s%d.%d@dest.test" % (n, i), inst)
                    ok = [r1, r2].count("DUNNO")
                    for r in (r1, r2):
                        if r != "DUNNO" and not r.startswith("452 4.5.3 "):
                            errors.append(r)
                    if ok:
                        eom(c, "acme", inst, ok, "%X%05X" % (10 + n, i))
                    admitted[n] += ok
                c.close()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(n,)) for n in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        check(not errors, "unexpected replies: %r" % errors[:3])
        eq(sum(admitted), limit, "recipients admitted by two clients (%d + %d)" % tuple(admitted))
        q = quota(d, "acme")
        eq((q["daily"]["used"], q["in_flight"]), (limit, 0), "committed and in flight")
        print("    admitted %d + %d of %d requested, quota %d"
              % (admitted[0], admitted[1], 4 * per_client, limit), flush=True)
    finally:
        d.cleanup()


@test
def monitor_mode_logs_would_refuse_and_explain_consumes_nothing():
    d = daemon()
    try:
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "set", "acme", "daily-quota=1", check_rc=0)
        c = d.conn()
        eq(send(c, "acme", ["a@dest.test"], "8E1F2A3B40"), ["DUNNO"], "first")
        r = d.ctl("explain", "acme", "b@dest.test", "--json")
        eq(r.returncode, 1, "explain exit status: refused")
        o = __import__("json").loads(r.stdout)
        eq((o["verdict"], o["rule"]), ("tempfail", "daily_quota"), "explain")
        check(o["reply"].startswith("452 4.5.3 Daily sending quota exceeded"), o["reply"])
        d.ctl("account", "set", "acme", "daily-quota=2", check_rc=0)
        eq(d.ctl("explain", "acme", "b@dest.test").returncode, 0, "explain: would pass")
        eq(d.ctl("explain", "acme", "b@dest.test").returncode, 0, "explain consumed nothing")
        eq(quota(d, "acme")["in_flight"], 0, "explain reserved nothing")
        d.ctl("account", "set", "acme", "daily-quota=1", "mode=monitor", check_rc=0)
        eq(send(c, "acme", ["b@dest.test"], "8E1F2A3B41"), ["DUNNO"], "monitor mode")
        check(re.search(r"rule=daily_quota action=would_tempfail", d.logtext()),
              "would_tempfail logged")
        eq(quota(d, "acme")["daily"]["used"], 2, "monitor mode still counts")
        c.close()
    finally:
        d.cleanup()


@test
def host_and_sender_domain_caps():
    d = daemon('limits = { domain_daily_quota = 2; host_hourly_quota = 3; };')
    try:
        for a in ("one", "two"):
            d.ctl("account", "add", a, check_rc=0)
        c = d.conn()
        eq(send(c, "one", ["a@dest.test"], "9F1A2B3C40", sender="x@shared.test"), ["DUNNO"], "1")
        eq(send(c, "two", ["b@dest.test"], "9F1A2B3C41", sender="y@Shared.TEST"), ["DUNNO"], "2")
        r = send(c, "two", ["c@dest.test"], "9F1A2B3C42", sender="z@shared.test")
        check(r[0].startswith("452 4.5.3 Daily sending quota of sender domain shared.test "
                              "exceeded (2 recipients per 24 h)"), r[0])
        eq(send(c, "two", ["d@dest.test"], "9F1A2B3C43", sender="z@other.test"), ["DUNNO"], "3")
        r = send(c, "one", ["e@dest.test"], "9F1A2B3C44", sender="z@third.test")
        check(r[0].startswith("452 4.5.3 Hourly sending quota of this host exceeded "
                              "(3 recipients per hour)"), r[0])
        c.close()
    finally:
        d.cleanup()


@test
def milter_front_door_leaves_the_policy_service_uncounted():
    d = daemon('quota = { front_door = "milter"; };\nmilter = { listen = ""; };')
    try:
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "set", "acme", "daily-quota=1", check_rc=0)
        c = d.conn()
        r = send(c, "acme", ["a@dest.test", "b@dest.test"], "AF1B2C3D40")
        eq(r, ["DUNNO", "DUNNO"], "the policy service does not count")
        eq(quota(d, "acme")["daily"]["used"], 0, "nothing counted")
        c.close()
    finally:
        d.cleanup()


@test
def bad_limits_in_the_config_are_refused_with_file_and_line():
    d = Daemon('limits = {\n  max_rate = "5/x";\n};')
    try:
        r = d.ctl("account", "list")
        check(r.returncode != 0 and re.search(r"outpost\.conf:\d+: limits\.max_rate", r.stderr),
              "outpostctl: %r" % r.stderr)
        d2 = Daemon('limits = { review_rate_factor = 2.0; };')
        r = d2.ctl("account", "list")
        check(r.returncode != 0 and "review_rate_factor" in r.stderr, r.stderr)
        d2.cleanup()
    finally:
        d.cleanup()


if __name__ == "__main__":
    sys.exit(run_tests())
