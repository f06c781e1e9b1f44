#!/usr/bin/python3
"""Black-box tests of outpostd's feedback process: it follows a Postfix log
(feedback.maillog) through appends, partial lines, rotation, truncation,
restarts and kill -9, counting every delivery result exactly once, and moves
accounts by their bounce rate (review, then paused; resume starts afresh)."""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from outpost_test import SRCDIR, Daemon, check, eq, run_tests, test, wait_for  # noqa: E402

RULES = os.path.join(SRCDIR, "etc", "outpost-bounce.rules")
_qid = [0x10000]


def stamp():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())


def message(account, rcpt, bounce=False):
    """The four lines Postfix 3.7 logs for one message of ACCOUNT to RCPT."""
    _qid[0] += 1
    q = "%X" % (0xA000000000 + _qid[0])
    t = stamp()
    if bounce:
        result = ("dsn=5.1.1, status=bounced (host sink.test[127.0.0.1] said: 550 5.1.1 <%s>: "
                  "Recipient address rejected: user unknown (in reply to RCPT TO command))" % rcpt)
    else:
        result = "dsn=2.0.0, status=sent (250 2.0.0 Ok: delivered to sink)"
    return ("%s mx postfix/smtpd[100]: %s: client=app.test[192.0.2.10], sasl_method=PLAIN, "
            "sasl_username=%s\n"
            "%s mx postfix/qmgr[102]: %s: from=<a@app.test>, size=1200, nrcpt=1 (queue active)\n"
            "%s mx postfix/smtp[103]: %s: to=<%s>, relay=sink.test[127.0.0.1]:25, delay=0.1, "
            "delays=0/0/0/0.1, %s\n"
            "%s mx postfix/qmgr[102]: %s: removed\n"
            % (t, q, account, t, q, t, q, rcpt, result, t, q))


def messages(account, n_ok, n_bounce, tag):
    return "".join([message(account, "ok-%s-%d@dest.test" % (tag, i)) for i in range(n_ok)] +
                   [message(account, "bounce-%s-%d@dest.test" % (tag, i), True)
                    for i in range(n_bounce)])


class Feedback:
    def __init__(self, min_volume=10):
        self.d = Daemon('feedback = { rules = "%s"; maillog = "maillog"; poll_interval = "100ms"; '
                        'min_volume = %d; };' % (RULES, min_volume), workers=1)
        self.log = os.path.join(self.d.dir, "maillog")
        self.d.ctl("account", "add", "acct1", check_rc=0)

    def append(self, text, path=None):
        with open(path or self.log, "a") as f:
            f.write(text)

    def stats(self, account="acct1"):
        return self.d.ctl_json("account", "stats", account)[0]

    def counts(self, account="acct1"):
        w = self.stats(account)["windows"]["24h"]
        return (w["delivered"], w["hard_bounces"])

    def wait_counts(self, want, account="acct1", timeout=15):
        try:
            wait_for(lambda: self.counts(account) == want, timeout, "counts %r" % (want,))
        except Exception:
            raise AssertionError("counts %r, want %r\n%s" % (self.counts(account), want,
                                                               self.d.logtext()[-3000:]))

    def feedback_pid(self):
        for w in self.d.status()["workers"]:
            if w["kind"] == "feedback" and w["pid"]:
                return w["pid"]
        return None

    def lag(self):
        return self.d.status()["live"]["feedback_lag_bytes"]

    def state(self, account="acct1"):
        return self.d.ctl_json("account", "show", account)[0]["state"]


@test
def follows_appends_and_partial_lines():
    fb = Feedback()
    try:
        fb.append(messages("acct1", 3, 0, "a"))
        fb.d.start()
        check(wait_for(fb.feedback_pid, 10, "a feedback process in status"), "feedback pid")
        fb.wait_counts((3, 0))
        # A line written in two pieces is counted once it is whole.
        text = messages("acct1", 0, 1, "b")
        cut = text.index("status=bounced") + 10  # inside the delivery line
        fb.append(text[:cut])
        time.sleep(0.5)  # several polls see the partial line (not an assertion)
        eq(fb.counts(), (3, 0), "nothing counted from a partial line")
        with open(fb.log, "rb") as f:
            data = f.read()
        partial = len(data) - (data.rindex(b"\n") + 1)
        check(partial > 0, "a partial line at the end")
        wait_for(lambda: fb.lag() == partial, 10, "feedback lag = the partial line's bytes")
        fb.append(text[cut:])
        fb.wait_counts((3, 1))
        wait_for(lambda: fb.lag() == 0, 10, "feedback lag 0 at the end of the log")
        text_m = fb.d.ctl("status", check_rc=0).stdout
        check("feedback: 0 bytes of the log behind" in text_m, text_m)
        e = fb.d.ctl_json("suppress", "show", "bounce-b-0@dest.test", "--account", "acct1")[0]
        eq(e["reason"], "bounce", "the hard bounce is suppressed")
    finally:
        fb.d.cleanup()


@test
def rotation_truncation_and_restart_count_exactly():
    fb = Feedback()
    try:
        fb.append(messages("acct1", 5, 0, "a"))
        fb.d.start()
        fb.wait_counts((5, 0))
        # Rotation: renamed, the writer finishes the old file, then a new one.
        old = open(fb.log, "a")
        os.rename(fb.log, fb.log + ".1")
        old.write(messages("acct1", 2, 0, "b"))
        old.close()
        fb.append(messages("acct1", 1, 1, "c"))
        fb.wait_counts((8, 1))
        # Truncation (copytruncate): read again from the start.
        with open(fb.log, "w") as f:
            f.write(messages("acct1", 2, 0, "d"))
        fb.wait_counts((10, 1))
        # Restart: appended while stopped, counted once after.
        eq(fb.d.stop(), 0, "SIGTERM: exit 0")
        fb.append(messages("acct1", 3, 0, "e"))
        fb.d.start()
        fb.wait_counts((13, 1))
        # Rotated while stopped: the rest of maillog.1, then the new file.
        eq(fb.d.stop(), 0, "SIGTERM: exit 0")
        fb.append(messages("acct1", 1, 0, "f"))
        os.rename(fb.log, fb.log + ".1")
        fb.append(messages("acct1", 2, 0, "g"))
        fb.d.start()
        fb.wait_counts((16, 1))
        check("rotated while stopped" in fb.d.logtext(), "resumed in maillog.1")
        # A second restart with nothing new counts nothing.
        eq(fb.d.stop(), 0, "SIGTERM: exit 0")
        # (The child may log before the master's "started:" line: count, don't split.)
        resumed = fb.d.logtext().count("feedback: resuming")
        fb.d.start()
        wait_for(fb.feedback_pid, 10, "feedback process")
        wait_for(lambda: fb.d.logtext().count("feedback: resuming") > resumed, 10,
                 "the resumed process")
        time.sleep(0.5)
        eq(fb.counts(), (16, 1), "unchanged after a restart")
    finally:
        fb.d.cleanup()


@test
def kill_9_mid_log_counts_nothing_twice():
    fb = Feedback(min_volume=1000000)
    try:
        # 4 lines a message, in chunks of 1024 lines: a kill never falls inside a message.
        fb.append(messages("acct1", 3800, 200, "k0"))
        fb.d.start()
        fb.wait_counts((3800, 200), timeout=30)
        kills = 0
        for batch in range(1, 4):
            pid = wait_for(fb.feedback_pid, 20, "a feedback process")
            fb.append(messages("acct1", 3800, 200, "k%d" % batch))
            os.kill(pid, signal.SIGKILL)  # at once: mid-batch, or before it has seen it
            kills += 1
            wait_for(lambda: fb.feedback_pid() not in (None, pid), 20, "a restarted feedback")
            # ... and resumed (a slow start, e.g. under valgrind, must not be killed before it
            # read its position: the check below counts one resume per kill).
            wait_for(lambda: fb.d.logtext().count("feedback: resuming") >= kills, 30,
                     "the restarted feedback process to resume")
        n_ok, n_bounce = 4 * 3800, 4 * 200
        fb.wait_counts((n_ok, n_bounce), timeout=60)
        check("killed by signal 9" in fb.d.logtext(), "the master saw the kills")
        # Each restart resumed where the last commit left it, never before the previous one.
        offsets = [int(x) for x in re.findall(r"feedback: resuming \S+ at offset (\d+)",
                                              fb.d.logtext())]
        eq(len(offsets), kills, "one resume per kill: %s" % offsets)
        check(all(0 < a <= b for a, b in zip(offsets, offsets[1:])), "offsets: %s" % offsets)
        r = fb.d.ctl("suppress", "list", "--account", "acct1", "--json", check_rc=0)
        eq(len([l for l in r.stdout.splitlines() if l.strip()]), n_bounce, "suppressed once each")
    finally:
        fb.d.cleanup()


@test
def bounce_rate_moves_account_to_review_then_paused():
    fb = Feedback()
    try:
        fb.d.start()
        fb.append(messages("acct1", 10, 0, "a"))
        fb.wait_counts((10, 0))
        eq(fb.state(), "active", "0 % bounces")
        fb.append(messages("acct1", 0, 1, "b"))  # 1 / 11 = 9.09 %
        wait_for(lambda: fb.state() == "review", 15, "review")
        st = fb.stats()
        eq(st["reputation"]["window"]["eligible"], 11, "eligible")
        eq(round(st["reputation"]["bounce_rate"], 2), 9.09, "bounce rate")
        fb.append(messages("acct1", 0, 1, "c"))  # 2 / 12 = 16.7 %
        wait_for(lambda: fb.state() == "paused", 15, "paused")
        show = fb.d.ctl_json("account", "show", "acct1")[0]
        eq(show["by"], "rule:bounce-rate", "by")
        check(show["reason"].startswith("bounce rate 16.67% over the last 12 eligible emails "
                                        "spanning "), show["reason"])
        eq([h["to"] for h in show["history"]][-2:], ["review", "paused"], "history")
        check("state review -> paused by=rule:bounce-rate" in fb.d.logtext(), "logged")
        # Resume: a fresh window; the old bounces don't pause it again.
        fb.d.ctl("account", "resume", "acct1", "--reason", "list cleaned", check_rc=0)
        fb.append(messages("acct1", 1, 0, "d"))
        fb.wait_counts((11, 2))
        st = fb.stats()
        eq(st["reputation"]["window"]["eligible"], 1, "fresh window")
        check(st["reputation"]["window"]["fresh_since"], "fresh_since shown")
        eq(st["state"], "active", "still active")
        eq(st["reputation"]["judged"], False, "below the minimum volume")
        # The figures and thresholds are in the human output too.
        out = fb.d.ctl("account", "stats", "acct1", check_rc=0).stdout
        check("bounce rate:" in out and "pause at 10%" in out, out)
    finally:
        fb.d.cleanup()


@test
def per_account_thresholds_and_auto_enforce_off():
    fb = Feedback()
    try:
        d = fb.d
        for bad in ("bounce-pause=abc", "bounce-pause=150", "min-volume=0", "complaint-review=-1"):
            r = d.ctl("account", "set", "acct1", bad)
            eq(r.returncode, 4, bad)
        d.ctl("account", "set", "acct1", "bounce-review=50", "bounce-pause=60", "min-volume=20",
              check_rc=0)
        d.ctl("account", "add", "acct2", check_rc=0)
        d.ctl("account", "set", "acct2", "auto-enforce=off", check_rc=0)
        d.start()
        fb.append(messages("acct1", 8, 3, "a") + messages("acct2", 8, 3, "a"))
        fb.wait_counts((8, 3))
        fb.wait_counts((8, 3), "acct2")
        st = fb.stats()["reputation"]
        eq((st["thresholds"]["bounce_review"], st["thresholds"]["min_volume"]), (50.0, 20),
           "per-account thresholds")
        eq(st["judged"], False, "11 < min-volume=20")
        wait_for(lambda: "would move active -> paused" in d.logtext(), 10, "would-transition log")
        eq(fb.state("acct2"), "active", "auto-enforce=off: no change")
        fb.append(messages("acct1", 9, 0, "b"))  # 3 / 20 = 15 %: below 50
        fb.wait_counts((17, 3))
        eq(fb.state("acct1"), "active", "15 % < bounce-review=50")
        d.ctl("account", "set", "acct1", "bounce-review=default", "bounce-pause=default",
              check_rc=0)
        fb.append(messages("acct1", 1, 0, "c"))  # 3 / 21 = 14.3 % >= 10
        wait_for(lambda: fb.state() == "paused", 15, "paused under the defaults")
    finally:
        fb.d.cleanup()


if __name__ == "__main__":
    sys.exit(run_tests())
