#!/usr/bin/python3
"""Black-box tests of the rest of the reputation loop: bounces and complaints
that arrive as mail (`outpostctl ingest dsn|arf`), events injected by hand
(`outpostctl event ...`), status=expired, the event log and the hook, and the
mailbox simulator -- through the real outpostctl and outpostd."""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from outpost_test import SRCDIR, Daemon, check, eq, run_tests, test, wait_for  # noqa: E402

RULES = os.path.join(SRCDIR, "etc", "outpost-bounce.rules")
FIX = os.path.join(SRCDIR, "tests", "fixtures")


def fixture(kind, name):
    with open(os.path.join(FIX, kind, name)) as f:
        return f.read()


def stamp(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime(t))


HOOK = """#!/bin/sh
# writes what it got: argv, env, stdin
out=%(out)s
{ echo "argv=$1"; echo "type=$OUTPOST_EVENT_TYPE"; echo "account=$OUTPOST_ACCOUNT";
  echo "path=$PATH"; echo "stdin=$(cat)"; } > "$out.tmp"
mv "$out.tmp" "$out.$$"
%(tail)s
"""


class Env:
    """A config with an event log and a hook; outpostctl alone, or with outpostd."""

    def __init__(self, extra="", hook_tail="", min_volume=10, **kw):
        self.d = Daemon(
            'feedback = { rules = "%s"; event_log = "events.jsonl"; hook = "hook.sh"; '
            'hook_timeout = "1s"; min_volume = %d; %s };' % (RULES, min_volume, extra), **kw)
        self.hook_out = os.path.join(self.d.dir, "hook.out")
        hook = os.path.join(self.d.dir, "hook.sh")
        with open(hook, "w") as f:
            f.write(HOOK % {"out": self.hook_out, "tail": hook_tail})
        os.chmod(hook, 0o755)
        self.events_path = os.path.join(self.d.dir, "events.jsonl")

    def events(self, path=None):
        try:
            with open(path or self.events_path) as f:
                return [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []

    def hook_runs(self):
        d = os.path.dirname(self.hook_out)
        runs = []
        for n in sorted(os.listdir(d)):
            if n.startswith("hook.out.") and not n.endswith(".tmp"):
                with open(os.path.join(d, n)) as f:
                    runs.append(dict(l.split("=", 1) for l in f.read().splitlines()))
        return runs

    def stats(self, account="acct1"):
        return self.d.ctl_json("account", "stats", account)[0]

    def counts(self, account="acct1"):
        return self.stats(account)["windows"]["24h"]


COMMON_KEYS = ["ts", "type", "account", "recipient", "queue_id", "node"]


def check_schema(ev):
    eq(list(ev)[:6], COMMON_KEYS, "the common keys, in order")
    check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", ev["ts"]), ev["ts"])
    check(set(ev) - set(COMMON_KEYS) <= {"class", "dsn", "reason", "from", "to", "rate",
                                          "window", "recipients"}, "only schema keys: %s" % list(ev))


@test
def ingest_dsn_counts_suppresses_once_and_logs_events():
    e = Env()
    try:
        d = e.d
        d.ctl("account", "add", "acct1", check_rc=0)
        dsn = fixture("dsn", "postfix-user-unknown.eml")
        r = d.ctl("ingest", "dsn", "--json", input=dsn, check_rc=0)
        o = json.loads(r.stdout)
        eq((o["account"], o["attributed_by"], o["counted"], o["suppressed"]),
           ("acct1", "verp", 1, 1), "first report")
        eq(o["results"][0]["class"], "user-unknown", "classified by the rule table")
        s = d.ctl_json("suppress", "show", "bob@example.org", "--account", "acct1")[0]
        eq(s["reason"], "bounce", "suppressed for the account")
        o = json.loads(d.ctl("ingest", "dsn", "--json", input=dsn, check_rc=0).stdout)
        eq((o["counted"], o["duplicates"]), (0, 1), "the same report twice counts once")
        eq(e.counts()["hard_bounces"], 1, "one hard bounce in the stats")
        # The envelope recipient (pipe transport ${recipient}) is VERP too.
        plain = dsn.replace("bounces+acct1=bob=example.org@bounce.platform.test",
                            "postmaster@platform.test")
        plain = plain.replace("C3CD21F3E90", "0FFFFFFFF1")
        eq(d.ctl("ingest", "dsn", input=plain).returncode, 5, "no handle left: exit 5")
        o = json.loads(d.ctl("ingest", "dsn", "--json", "--envelope",
                             "bounces+acct1=bob=example.org@bounce.platform.test",
                             input=plain, check_rc=0).stdout)
        eq(o["attributed_by"], "verp", "--envelope")
        evs = e.events()
        eq([x["type"] for x in evs][:2], ["bounce", "suppress"], "event types")
        for x in evs:
            check_schema(x)
        eq((evs[0]["account"], evs[0]["recipient"], evs[0]["class"], evs[0]["dsn"]),
           ("acct1", "bob@example.org", "user-unknown", "5.1.1"), "bounce event")
        eq(evs[1]["reason"], "bounce", "suppress event reason")
    finally:
        d.cleanup()


@test
def ingest_exit_codes_and_sysexits():
    e = Env()
    try:
        d = e.d
        d.ctl("account", "add", "acct1", check_rc=0)
        gmail = fixture("dsn", "gmail-5.1.1.eml")  # no handle of ours
        r = d.ctl("ingest", "dsn", input=gmail)
        eq(r.returncode, 5, "unattributable")
        check("cannot tie it to an account" in r.stderr, r.stderr)
        eq(d.ctl("ingest", "dsn", "--sysexits", input=gmail).returncode, 67, "EX_NOUSER")
        bad = fixture("dsn", "not-a-bounce.eml")
        eq(d.ctl("ingest", "dsn", input=bad).returncode, 4, "not a bounce")
        eq(d.ctl("ingest", "dsn", "--sysexits", input=bad).returncode, 65, "EX_DATAERR")
        eq(d.ctl("ingest", "arf", input=bad).returncode, 4, "not a complaint")
        eq(d.ctl("ingest", "dsn", "extra").returncode, 2, "usage")
        eq(e.events(), [], "nothing happened, nothing logged")
    finally:
        d.cleanup()


@test
def dsn_attributed_by_queue_id_recorded_at_end_of_message():
    e = Env(workers=1)
    try:
        d = e.d
        d.ctl("account", "add", "acct1", check_rc=0)
        d.start()
        c = d.conn()
        eq(c.ask(protocol_state="END-OF-MESSAGE", sasl_username="acct1", recipient="",
                 instance="q.1", queue_id="4B1D2C3E7F", recipient_count="1"), "DUNNO", "EOM")
        c.close()
        dsn = fixture("dsn", "postfix-user-unknown.eml")
        dsn = dsn.replace("bounces+acct1=bob=example.org@bounce.platform.test",
                          "postmaster@platform.test").replace("C3CD21F3E90", "4B1D2C3E7F")

        def attributed():
            r = d.ctl("ingest", "dsn", "--json", input=dsn)
            return r.returncode == 0 and json.loads(r.stdout)

        o = wait_for(attributed, 10, "the ledger to record the message")
        eq((o["account"], o["attributed_by"], o["counted"]), ("acct1", "queue-id", 1), "by qid")
        # A Feedback-ID in the returned headers (milter.feedback_id "%a:outpost").
        fb = dsn.replace("4B1D2C3E7F", "0EEEEEEEE2").replace(
            "From: Shop <news@shop.example>", "Feedback-ID: acct1:outpost\nFrom: Shop <news@shop.example>")
        o = json.loads(d.ctl("ingest", "dsn", "--json", input=fb, check_rc=0).stdout)
        eq(o["attributed_by"], "feedback-id", "by Feedback-ID")
    finally:
        d.cleanup()


@test
def arf_complaints_pause_account_and_run_hook():
    e = Env()
    try:
        d = e.d
        d.ctl("account", "add", "acct1", check_rc=0)
        for i in range(100):
            d.ctl("event", "delivery", "--account", "acct1", "--recipient", "r%d@dest.test" % i,
                  check_rc=0)
        eq(e.counts()["delivered"], 100, "100 deliveries injected")
        arf = fixture("arf", "yahoo-cfl.eml")
        o = json.loads(d.ctl("ingest", "arf", "--json", input=arf, check_rc=0).stdout)
        eq((o["account"], o["counted"], o["suppressed"]), ("acct1", 1, 1), "complaint")
        eq(o["state_change"][:len("active -> paused")], "active -> paused", "1 % >= 0.5 %")
        s = d.ctl_json("suppress", "show", "someone@yahoo.com", "--account", "acct1")[0]
        eq(s["reason"], "complaint", "complainant suppressed")
        o = json.loads(d.ctl("ingest", "arf", "--json", input=arf, check_rc=0).stdout)
        eq((o["counted"], o["duplicates"]), (0, 1), "the same complaint twice counts once")
        eq(e.counts()["complaints"], 1, "one complaint")
        eq(d.ctl_json("account", "show", "acct1")[0]["by"], "rule:complaint-rate", "by")
        runs = wait_for(e.hook_runs, 10, "the hook to run")
        eq(len(runs), 1, "one hook run (state change)")
        h = runs[0]
        eq((h["argv"], h["type"], h["account"]), ("state", "state", "acct1"), "argv and env")
        eq(h["path"], "/usr/local/bin:/usr/bin:/bin", "a fixed PATH")
        ev = json.loads(h["stdin"])
        check_schema(ev)
        eq((ev["type"], ev["account"], ev["from"], ev["to"], ev["class"]),
           ("state", "acct1", "active", "paused", "complaint-rate"), "the event on stdin")
        eq(round(ev["rate"], 2), 1.0, "complaint rate")
        eq((ev["window"]["delivered"], ev["window"]["complaints"]), (100, 1), "window")
        types = [x["type"] for x in e.events()]
        eq(types.count("delivery"), 100, "delivery events")
        eq(types[100:], ["complaint", "suppress", "state"], "then complaint, suppress, state")
        # An operator's resume is a state event too (and runs the hook).
        d.ctl("account", "resume", "acct1", "--reason", "list cleaned", check_rc=0)
        st = e.events()[-1]
        eq((st["type"], st["from"], st["to"], st["class"], st["reason"]),
           ("state", "paused", "active", "operator", "list cleaned"), "resume event")
        wait_for(lambda: len(e.hook_runs()) == 2, 10, "the hook for the resume")
    finally:
        d.cleanup()


@test
def event_command_injects_through_the_same_path():
    e = Env()
    try:
        d = e.d
        d.ctl("account", "add", "acct1", check_rc=0)
        eq(d.ctl("event", "bounce", "--account", "acct1").returncode, 2, "no --recipient")
        eq(d.ctl("event", "bounce", "--account", "nobody", "--recipient", "a@x.test").returncode,
           1, "unknown account")
        eq(d.ctl("event", "bounce", "--account", "acct1", "--recipient", "a@x.test",
                 "--class", "nonsense").returncode, 2, "unknown class")
        d.ctl("event", "bounce", "--account", "acct1", "--recipient", "full@x.test",
              "--class", "mailbox-full", check_rc=0)
        eq(d.ctl("suppress", "show", "full@x.test", "--account", "acct1").returncode, 1,
           "a soft bounce suppresses nothing")
        d.ctl("event", "bounce", "--account", "acct1", "--recipient", "gone@x.test",
              "--dsn", "5.1.1", "--reason", "550 5.1.1 user unknown", check_rc=0)
        eq(d.ctl_json("suppress", "show", "gone@x.test", "--account", "acct1")[0]["reason"],
           "bounce", "classified by the rules: user-unknown, suppressed")
        d.ctl("event", "complaint", "--account", "acct1", "--recipient", "angry@x.test",
              check_rc=0)
        w = e.counts()
        eq((w["soft_bounces"], w["hard_bounces"], w["complaints"]), (1, 1, 1), "counted")
        evs = e.events()
        eq([x["type"] for x in evs], ["bounce", "bounce", "suppress", "complaint", "suppress"],
           "events")
        eq((evs[0]["class"], evs[1]["class"], evs[1]["dsn"]),
           ("mailbox-full", "user-unknown", "5.1.1"), "classes")
    finally:
        d.cleanup()


@test
def expired_counts_once_as_final_soft_failure():
    e = Env()
    try:
        d = e.d
        d.ctl("account", "add", "acct1", check_rc=0)
        t, t2 = stamp(time.time() - 60), stamp()
        q = "5E1A2B3C4D"
        log = ("%(t)s mx postfix/smtpd[1]: %(q)s: client=a.test[192.0.2.1], sasl_method=PLAIN, "
               "sasl_username=acct1\n"
               "%(t)s mx postfix/qmgr[2]: %(q)s: from=<a@app.test>, size=10, nrcpt=2 "
               "(queue active)\n"
               "%(t)s mx postfix/smtp[3]: %(q)s: to=<slow@dest.test>, relay=none, delay=1, "
               "delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to dest.test: timed out)\n"
               "%(t)s mx postfix/smtp[3]: %(q)s: to=<ok@dest.test>, relay=x[192.0.2.2]:25, "
               "delay=1, delays=0/0/1/0, dsn=2.0.0, status=sent (250 ok)\n"
               "%(t2)s mx postfix/smtp[3]: %(q)s: to=<slow@dest.test>, relay=none, delay=9, "
               "delays=0/0/9/0, dsn=4.4.1, status=deferred (connect to dest.test: timed out)\n"
               % {"t": t, "t2": t2, "q": q})
        expiry = ("%(t)s mx postfix/qmgr[2]: %(q)s: from=<a@app.test>, status=expired, "
                  "returned to sender\n%(t)s mx postfix/qmgr[2]: %(q)s: removed\n"
                  % {"t": t, "q": q})
        path = os.path.join(d.dir, "maillog")
        with open(path, "w") as f:
            f.write(log)
        d.ctl("ingest", "log", path, check_rc=0)
        with open(path, "a") as f:
            f.write(expiry)
        # A separate run: the deferrals are found in the store, not in memory.
        r = d.ctl("ingest", "log", "-", input=expiry, check_rc=0)
        check("with no account" in r.stdout, r.stdout)  # the sender is unknown there
        d.ctl("account", "map", "acct1", "sender:a@app.test", check_rc=0)
        d.ctl("ingest", "log", "-", input=expiry, check_rc=0)
        d.ctl("ingest", "log", path, check_rc=0)  # everything again
        w = e.counts()
        eq((w["delivered"], w["soft_bounces"], w["deferrals"]), (1, 1, 2),
           "the deferred recipient made final once")
        st = e.stats()["reputation"]["window"]
        eq(st["eligible"], 2, "expired counts as eligible")
        b = [x for x in e.events() if x["type"] == "bounce"]
        eq([(x["recipient"], x["class"]) for x in b], [("slow@dest.test", "expired")], "event")
    finally:
        d.cleanup()


_qid = [0xB00000000]


def bounce_lines(account, n, tag):
    out = []
    for i in range(n):
        _qid[0] += 1
        q = "%X" % _qid[0]
        t = stamp()
        out.append(
            "%s mx postfix/smtpd[1]: %s: client=a.test[192.0.2.1], sasl_method=PLAIN, "
            "sasl_username=%s\n%s mx postfix/smtp[3]: %s: to=<%s-%d@dest.test>, "
            "relay=x[192.0.2.2]:25, delay=1, delays=0/0/1/0, dsn=5.1.1, status=bounced "
            "(host x said: 550 5.1.1 user unknown)\n%s mx postfix/qmgr[2]: %s: removed\n"
            % (t, q, account, t, q, tag, i, t, q))
    return "".join(out)


@test
def feedback_process_writes_events_rotation_safe_and_kills_slow_hooks():
    e = Env(extra='maillog = "maillog"; poll_interval = "100ms";', hook_tail="sleep 30",
            min_volume=2, workers=1)
    try:
        d = e.d
        d.ctl("account", "add", "acct1", check_rc=0)
        d.start()
        log = os.path.join(d.dir, "maillog")
        with open(log, "a") as f:
            f.write(bounce_lines("acct1", 1, "a"))
        wait_for(lambda: any(x["type"] == "suppress" for x in e.events()), 15, "events")
        os.rename(e.events_path, e.events_path + ".1")  # rotated away
        time.sleep(1.2)
        with open(log, "a") as f:
            f.write(bounce_lines("acct1", 2, "b"))
        wait_for(lambda: any(x["type"] == "state" for x in e.events()), 15, "the new file")
        old = [x["type"] for x in e.events(e.events_path + ".1")]
        eq(old, ["bounce", "suppress"], "the rotated file kept its lines")
        st = [x for x in e.events() if x["type"] == "state"][0]
        eq((st["from"], st["to"], st["class"]), ("active", "paused", "bounce-rate"), "state")
        runs = wait_for(e.hook_runs, 10, "the hook to start")
        eq(runs[0]["type"], "state", "hook env")
        wait_for(lambda: "killed after 1s" in d.logtext(), 10, "the slow hook killed")
        eq(d.stop(), 0, "clean stop")
    finally:
        d.cleanup()


@test
def mailbox_simulator_outcomes_never_count():
    e = Env(workers=2, top_extra='limits = { daily_quota = 2; };')
    try:
        d = e.d
        d.ctl("account", "add", "acct1", check_rc=0)
        d.start()
        c, c2 = d.conn(), d.conn()
        ask = lambda rcpt, inst: c.ask(sasl_username="acct1", recipient=rcpt, instance=inst)
        check(ask("bounce@simulator.invalid", "s.1").startswith("550 5.1.1"), "bounce@")
        check(ask("Bounce+label@Simulator.Invalid", "s.1").startswith("550 5.1.1"), "label")
        r = ask("suppressionlist@simulator.invalid", "s.1")
        check(r.startswith("550 5.7.1") and "suppression list" in r, r)
        for rc in ("success@simulator.invalid", "complaint@simulator.invalid",
                   "complaint+x@simulator.invalid", "success+y@simulator.invalid"):
            eq(ask(rc, "s.1"), "DUNNO", rc)
        # END-OF-MESSAGE on another connection: 4 accepted, all simulator.
        eq(c2.ask(protocol_state="END-OF-MESSAGE", sasl_username="acct1", recipient="",
                  instance="s.1", queue_id="51A1B2C3D4", recipient_count="4"), "DUNNO", "EOM")
        comp = wait_for(lambda: [x for x in e.events() if x["type"] == "complaint"], 10,
                        "complaint events")
        time.sleep(0.3)
        comp = [x for x in e.events() if x["type"] == "complaint"]
        eq(len(comp), 2, "one complaint event per complaint@ recipient")
        eq((comp[0]["account"], comp[0]["recipient"], comp[0]["queue_id"]),
           ("acct1", "complaint@simulator.invalid", "51A1B2C3D4"), "complaint event")
        check_schema(comp[0])
        q = d.ctl_json("account", "show", "acct1")[0]["quota"]
        eq(q["daily"]["used"], 0, "simulator mail is not in the daily quota")
        # Real recipients still count (and the quota of 2 holds).
        eq(ask("a@dest.test", "s.2"), "DUNNO", "real 1")
        eq(ask("b@dest.test", "s.2"), "DUNNO", "real 2")
        check(ask("c@dest.test", "s.2").startswith("452"), "quota of 2 reached")
        eq(e.counts()["complaints"], 0, "simulator complaints are not counted")
        c.close()
        c2.close()
    finally:
        d.cleanup()


@test
def front_doors_log_refusals_and_sends_off_the_request_path():
    e = Env()
    e.d.start()
    try:
        e.d.ctl("account", "add", "acct1", check_rc=0)
        e.d.ctl("suppress", "add", "gone@dest.test", "--account", "acct1", check_rc=0)
        c = e.d.conn()
        r = c.ask(sasl_username="acct1", recipient="gone@dest.test", instance="ev1.0.0.0")
        check(r.startswith("550 5.7.1 "), r)
        eq(c.ask(sasl_username="acct1", recipient="ok@dest.test", instance="ev1.0.0.0"), "DUNNO",
           "a good recipient")
        eq(c.ask(protocol_state="END-OF-MESSAGE", sasl_username="acct1", recipient="",
                 instance="ev1.0.0.0", queue_id="4EVA1B2C3D", recipient_count="1"), "DUNNO", "EOM")
        c.close()

        def mine():
            return [ev for ev in e.events() if ev["type"] in ("refusal", "send")]
        wait_for(lambda: len(mine()) >= 2, 10, "the refusal and the send in the event log")
        evs = mine()
        eq([ev["type"] for ev in evs], ["refusal", "send"], "event types, in order")
        for ev in evs:
            check_schema(ev)
        ref, snd = evs
        eq((ref["account"], ref["recipient"], ref["class"], ref["dsn"]),
           ("acct1", "gone@dest.test", "suppressed", "5.7.1"), "the refusal")
        check("suppression list" in ref["reason"], ref["reason"])
        eq((snd["account"], snd["queue_id"], snd["recipients"], snd["recipient"]),
           ("acct1", "4EVA1B2C3D", 1, None), "the send")
    finally:
        e.d.cleanup()


if __name__ == "__main__":
    sys.exit(run_tests())
