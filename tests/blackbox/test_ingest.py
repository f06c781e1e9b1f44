#!/usr/bin/python3
"""Black-box tests of `outpostctl ingest log` and `outpostctl account stats`: real
Postfix 3.7 log lines in, counters and suppressions in the real store out."""
import calendar
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from outpost_test import SRCDIR, Daemon, check, eq, run_tests, test  # noqa: E402

RULES = os.path.join(SRCDIR, "etc", "outpost-bounce.rules")


def stamp(offset):
    """An RFC 3339 syslog time OFFSET seconds ago (inside the 24 h window)."""
    t = time.gmtime(time.time() - 3600 + offset)
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", t)


def log_lines():
    """Two messages as Postfix 3.7 logs them, and one with no account."""
    L = []

    def add(off, proc, text):
        L.append("%s mx postfix/%s: %s" % (stamp(off), proc, text))
    # acct1, by its SASL login: one delivered, one user unknown, one blocked, one deferred.
    add(0, "smtpd[100]", "4ABC1D2E3F: client=app.test[192.0.2.10], sasl_method=PLAIN, sasl_username=acct1")
    add(1, "cleanup[101]", "4ABC1D2E3F: message-id=<m1@app.test>")
    add(1, "qmgr[102]", "4ABC1D2E3F: from=<a@app.test>, size=1200, nrcpt=4 (queue active)")
    add(2, "smtp[103]", "4ABC1D2E3F: to=<good@dest.test>, relay=mx.dest.test[198.51.100.1]:25, delay=1.1, "
        "delays=0.1/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 99XYZ)")
    add(2, "smtp[103]", "4ABC1D2E3F: to=<Gone@Dest.test>, relay=mx.dest.test[198.51.100.1]:25, delay=1.1, "
        "delays=0.1/0/0.5/0.5, dsn=5.1.1, status=bounced (host mx.dest.test[198.51.100.1] said: "
        "550-5.1.1 The email account that you tried to reach does not exist. (in reply to RCPT TO command))")
    add(2, "smtp[103]", "4ABC1D2E3F: to=<blocked@dest.test>, relay=mx.dest.test[198.51.100.1]:25, delay=1.1, "
        "delays=0.1/0/0.5/0.5, dsn=5.7.1, status=bounced (host mx.dest.test[198.51.100.1] said: "
        "554 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using zen.spamhaus.org "
        "(in reply to RCPT TO command))")
    add(3, "smtp[103]", "4ABC1D2E3F: to=<later@dest.test>, relay=none, delay=30, delays=0.1/0/30/0, "
        "dsn=4.4.1, status=deferred (connect to mx.dest.test[198.51.100.1]:25: Connection timed out)")
    # acct2 through a sender mapping (no SASL login): a full mailbox (soft, final).
    add(4, "pickup[104]", "5DEF2A3B4C: uid=1000 from=<news>")
    add(4, "qmgr[102]", "5DEF2A3B4C: from=<news@tenant.test>, size=900, nrcpt=1 (queue active)")
    add(5, "smtp[103]", "5DEF2A3B4C: to=<full@dest.test>, relay=mx.dest.test[198.51.100.1]:25, delay=1, "
        "delays=0/0/0.5/0.5, dsn=5.2.2, status=bounced (host mx.dest.test[198.51.100.1] said: "
        "552 5.2.2 <full@dest.test>: Mailbox full (in reply to RCPT TO command))")
    add(5, "qmgr[102]", "5DEF2A3B4C: removed")
    # No account: inbound-like mail from an unmapped sender.
    add(6, "qmgr[102]", "6AAA3B4C5D: from=<x@elsewhere.test>, size=900, nrcpt=1 (queue active)")
    add(7, "local[105]", "6AAA3B4C5D: to=<root@mx.test>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, "
        "status=sent (delivered to mailbox)")
    # Noise: another program, a truncated line.
    L.append("%s mx dovecot[200]: imap-login: Login: user=<u>" % stamp(8))
    L.append("%s mx postfix/smtp[103]: 4ABC1D2E3F: to=<cut@dest.test>, relay=mx" % stamp(8))
    return "\n".join(L) + "\n"


def ingest_daemon():
    d = Daemon('feedback = { rules = "%s"; };' % RULES)
    d.ctl("account", "add", "acct1", check_rc=0)
    d.ctl("account", "add", "acct2", check_rc=0)
    d.ctl("account", "map", "acct2", "sender:news@tenant.test", check_rc=0)
    path = os.path.join(d.dir, "maillog")
    with open(path, "w") as f:
        f.write(log_lines())
    return d, path


@test
def ingest_counts_and_suppresses_hard_bounces():
    d, path = ingest_daemon()
    try:
        r = d.ctl("ingest", "log", path, "--json", check_rc=0)
        s = json.loads(r.stdout)
        eq(s["lines"], 15, "lines")
        eq(s["malformed"], 1, "the truncated line")
        eq((s["delivered"], s["hard_bounces"], s["soft_bounces"], s["blocks"], s["deferrals"]),
           (1, 1, 1, 1, 1), "counted")
        eq(s["unattributed"], 1, "mail with no account")
        eq(s["suppressed"], 1, "hard bounces suppressed")
        # The user-unknown address is suppressed for acct1 only, with the reason.
        e = d.ctl_json("suppress", "show", "gone@dest.test", "--account", "acct1")[0]
        eq(e["reason"], "bounce", "reason")
        check("user-unknown 5.1.1" in e.get("note", ""), e)
        eq(d.ctl("suppress", "show", "gone@dest.test").stdout.count("\n"), 1, "only one scope")
        # Blocks, full mailboxes and deferrals never suppress an address.
        for addr in ("blocked@dest.test", "full@dest.test", "later@dest.test"):
            eq(d.ctl("suppress", "show", addr).returncode, 1, addr + " not suppressed")
        st = d.ctl_json("account", "stats", "acct1")[0]
        w = st["windows"]["24h"]
        eq((w["delivered"], w["hard_bounces"], w["blocks"], w["deferrals"]), (1, 1, 1, 0 + 1),
           "acct1 24h")
        eq(round(w["bounce_rate"], 2), 50.0, "bounce rate = 1 hard / 2 eligible")
        w2 = d.ctl_json("account", "stats", "acct2")[0]["windows"]["24h"]
        eq((w2["soft_bounces"], w2["delivered"]), (1, 0), "acct2 via the sender mapping")
        # Reading the same lines again counts nothing twice.
        s2 = json.loads(d.ctl("ingest", "log", path, "--json", check_rc=0).stdout)
        eq(s2["duplicates"], 5, "results already counted (4 final, 1 deferral)")
        eq((s2["delivered"], s2["hard_bounces"], s2["deferrals"], s2["suppressed"]), (0, 0, 0, 0),
           "nothing new")
        w = d.ctl_json("account", "stats", "acct1")[0]["windows"]["24h"]
        eq((w["delivered"], w["hard_bounces"]), (1, 1), "unchanged after a second read")
        # From standard input too.
        with open(path) as f:
            r = d.ctl("ingest", "log", "-", "--json", input=f.read(), check_rc=0)
        eq(json.loads(r.stdout)["duplicates"], 5, "stdin")
    finally:
        d.cleanup()


@test
def policy_record_names_the_account():
    """A queue id the policy service recorded at END-OF-MESSAGE is attributed even
    without any login or mapping in the log."""
    d, path = ingest_daemon()
    try:
        d.start()
        d.ask(protocol_state="END-OF-MESSAGE", sasl_username="acct1", queue_id="7A1B2C3D4E",
              recipient_count="1", recipient="")
        time.sleep(0.5)  # the ledger commits every 100 ms
        line = ("%s mx postfix/smtp[103]: 7A1B2C3D4E: to=<nobody@dest.test>, relay=mx.dest.test"
                "[198.51.100.1]:25, delay=1, delays=0/0/0.5/0.5, dsn=5.1.1, status=bounced (host "
                "mx.dest.test[198.51.100.1] said: 550 5.1.1 User unknown (in reply to RCPT TO "
                "command))\n" % stamp(9))
        s = json.loads(d.ctl("ingest", "log", "-", "--json", input=line, check_rc=0).stdout)
        eq((s["hard_bounces"], s["unattributed"]), (1, 0), "attributed through the record")
        check(d.ask(sasl_username="acct1", recipient="nobody@dest.test").startswith("550"),
              "the daemon now refuses the bounced address")
    finally:
        d.cleanup()


@test
def errors():
    d, path = ingest_daemon()
    try:
        r = d.ctl("ingest", "log", os.path.join(d.dir, "missing"))
        eq(r.returncode, 4, "missing file")
        check(":0: cannot open" in r.stderr, r.stderr)
        eq(d.ctl("account", "stats", "nosuch").returncode, 1, "stats of an absent account")
        bad = Daemon('feedback = { rules = "%s"; };' % os.path.join(d.dir, "bad.rules"))
        with open(os.path.join(d.dir, "bad.rules"), "w") as f:
            f.write("5.1.1 no-such-class\n")
        try:
            r = bad.ctl("ingest", "log", path)
            eq(r.returncode, 4, "bad rule file")
            check("bad.rules:1: unknown class" in r.stderr, r.stderr)
        finally:
            bad.cleanup()
    finally:
        d.cleanup()


@test
def db_expire_drops_only_old_dedup_entries():
    d, _ = ingest_daemon()
    try:
        old = log_lines()  # today's lines, and the same messages 40 days ago (other queue ids)

        def shift(line):
            ts, rest = line.split(" ", 1)
            secs = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
            new = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime(secs - 40 * 86400))
            return new + " " + rest.replace("4ABC1D2E3F", "7ABC1D2E3F").replace("5DEF2A3B4C", "8DEF2A3B4C")
        aged = "\n".join(shift(l) for l in log_lines().splitlines() if l) + "\n"
        d.ctl("ingest", "log", "-", input=aged + old, check_rc=0)
        before = json.loads(d.ctl("db", "check", "--json", check_rc=0).stdout)["databases"]
        r = json.loads(d.ctl("db", "expire", "--json", check_rc=0).stdout)
        eq(r["older_than_seconds"], 30 * 86400, "default retention")
        after = json.loads(d.ctl("db", "check", "--json", check_rc=0).stdout)["databases"]
        gone = before["result"]["records"] - after["result"]["records"]
        check(r["results"] > 0 and gone == r["results"], "result entries deleted: %r, %d" % (r, gone))
        # Only the 40-day-old ones: today's results are still deduplicated.
        d.ctl("ingest", "log", "-", input=old, check_rc=0)
        eq(after["result"]["records"],
           json.loads(d.ctl("db", "check", "--json", check_rc=0).stdout)["databases"]["result"]["records"],
           "re-reading today's lines adds no entry")
        eq(d.ctl("db", "expire", "--older-than", "5m").returncode, 4, "too short a retention")
        r = json.loads(d.ctl("db", "expire", "--json", check_rc=0).stdout)
        eq((r["messages"], r["results"]), (0, 0), "a second run finds nothing")
    finally:
        d.cleanup()


if __name__ == "__main__":
    sys.exit(run_tests())
