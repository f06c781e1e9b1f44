#!/usr/bin/python3
"""Black-box tests of outpostctl: the suppression list, accounts and identity
mappings on the store, the usage and exit-code conventions, and status/reload
against a real outpostd.

The command shapes and exit codes tested here are the contract of
/work/shared/CONTRACTS.md ("Suppression", "outpostctl conventions"):
0 ok; 1 absent; 2 usage; 3 store or daemon unavailable; 4 bad input.

Run: /usr/bin/python3 tests/blackbox/test_ctl.py [TEST_NAME...]
"""
import contextlib
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from outpost_test import (OUTPOSTCTL, Daemon, TestFailure, check, eq,  # noqa: E402
                          run_tests, test)

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
ENTRY_TIMES = ("first_seen", "last_seen")


# ---------------------------------------------------------------- helpers

@contextlib.contextmanager
def store(**kw):
    """A Daemon() used only for its config and store (no process started)."""
    d = Daemon(**kw)
    try:
        yield d
    finally:
        d.cleanup()


def ts(s, what="time"):
    """Parse an RFC 3339 time into an aware datetime; fail if it is not one."""
    check(isinstance(s, str) and RFC3339.match(s), "%s: %r is not RFC 3339" % (what, s))
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def near_now(t, what="time", slack=120):
    delta = abs((ts(t, what) - now()).total_seconds())
    check(delta <= slack, "%s %s is %.0fs away from now" % (what, t, delta))


def jlines(r, what="output"):
    """stdout of a --json list: every line one JSON object; returns the objects."""
    out = []
    for i, line in enumerate(r.stdout.splitlines()):
        try:
            o = json.loads(line)
        except ValueError as e:
            raise TestFailure("%s line %d is not JSON (%s): %r" % (what, i + 1, e, line))
        check(isinstance(o, dict), "%s line %d is not a JSON object: %r" % (what, i + 1, line))
        out.append(o)
    return out


def one_obj(r, what="show --json"):
    objs = jlines(r, what)
    eq(len(objs), 1, "%s: number of objects printed" % what)
    return objs[0]


def lst(d, *args):
    """suppress list --json [ARGS] -> list of entry objects."""
    return jlines(d.ctl("suppress", "list", "--json", *args, check_rc=0), "suppress list")


def key(o):
    """The identity and content of an entry, without its times."""
    return (o["address"], o["scope"], o.get("account"), o["reason"], o.get("expires"))


def keys(objs):
    return sorted(key(o) for o in objs)


def absent_or_null(o, field, what):
    check(o.get(field) is None, "%s: %s should be absent, is %r" % (what, field, o.get(field)))


def acct(d, name):
    return one_obj(d.ctl("account", "show", name, "--json", check_rc=0), "account show --json")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def stderr_lines(r):
    return [l for l in r.stderr.splitlines() if l.strip()]


# ------------------------------------------------------ suppress add/show/remove

@test
def test_suppress_global_add_show_remove():
    with store() as d:
        d.ctl("suppress", "add", "a@x.test", check_rc=0)
        o = one_obj(d.ctl("suppress", "show", "a@x.test", "--json", check_rc=0))
        eq(o["address"], "a@x.test", "address")
        eq(o["scope"], "global", "scope")
        eq(o["reason"], "manual", "default reason")
        absent_or_null(o, "account", "global entry")
        absent_or_null(o, "expires", "entry without --expires")
        near_now(o["first_seen"], "first_seen")
        near_now(o["last_seen"], "last_seen")
        check(ts(o["last_seen"]) >= ts(o["first_seen"]), "last_seen before first_seen")
        # the global --json flag before the command works the same
        eq(key(one_obj(d.ctl("--json", "suppress", "show", "a@x.test", check_rc=0))), key(o),
           "--json before the command")
        # human output names the address
        r = d.ctl("suppress", "show", "a@x.test", check_rc=0)
        check("a@x.test" in r.stdout, "show prints the address: %r" % r.stdout)
        d.ctl("suppress", "remove", "a@x.test", check_rc=0)
        r = d.ctl("suppress", "show", "a@x.test", "--json", check_rc=1)
        eq(r.stdout, "", "stdout of show of an absent address")
        d.ctl("suppress", "remove", "a@x.test", check_rc=1)
        eq(lst(d), [], "list after remove")


@test
def test_suppress_absent_on_fresh_store():
    with store() as d:
        d.ctl("suppress", "show", "nobody@x.test", check_rc=1)
        d.ctl("suppress", "show", "nobody@x.test", "--account", "acme", check_rc=1)
        d.ctl("suppress", "remove", "nobody@x.test", check_rc=1)
        d.ctl("suppress", "remove", "nobody@x.test", "--account", "acme", check_rc=1)
        eq(lst(d), [], "list of a fresh store")


@test
def test_suppress_account_scope():
    with store() as d:
        d.ctl("suppress", "add", "b@x.test", "--account", "acme", "--reason", "bounce", check_rc=0)
        o = one_obj(d.ctl("suppress", "show", "b@x.test", "--account", "acme", "--json",
                          check_rc=0))
        eq((o["address"], o["scope"], o["account"], o["reason"]),
           ("b@x.test", "account", "acme", "bounce"), "account entry")
        ts(o["first_seen"], "first_seen")
        ts(o["last_seen"], "last_seen")
        absent_or_null(o, "expires", "entry without --expires")
        # only that account's list holds it
        d.ctl("suppress", "show", "b@x.test", "--account", "other", check_rc=1)
        eq(key(one_obj(d.ctl("suppress", "show", "b@x.test", "--json", check_rc=0))), key(o),
           "show without --account finds the account entry")
        # not on the global list: remove without --account is "absent"
        d.ctl("suppress", "remove", "b@x.test", check_rc=1)
        d.ctl("suppress", "remove", "b@x.test", "--account", "other", check_rc=1)
        eq(len(lst(d)), 1, "entries after failed removes")
        d.ctl("suppress", "remove", "b@x.test", "--account", "acme", check_rc=0)
        d.ctl("suppress", "show", "b@x.test", check_rc=1)
        d.ctl("suppress", "show", "b@x.test", "--account", "acme", check_rc=1)


@test
def test_suppress_show_every_scope():
    with store() as d:
        d.ctl("suppress", "add", "c@x.test", "--reason", "complaint", check_rc=0)
        d.ctl("suppress", "add", "c@x.test", "--account", "acme", "--reason", "bounce", check_rc=0)
        d.ctl("suppress", "add", "c@x.test", "--account", "beta", "--reason", "unsubscribe",
              check_rc=0)
        d.ctl("suppress", "add", "other@x.test", "--account", "acme", check_rc=0)
        objs = jlines(d.ctl("suppress", "show", "c@x.test", "--json", check_rc=0))
        eq(sorted((o["scope"], o.get("account"), o["reason"]) for o in objs),
           [("account", "acme", "bounce"), ("account", "beta", "unsubscribe"),
            ("global", None, "complaint")], "scopes shown without --account")
        for o in objs:
            eq(o["address"], "c@x.test", "address")
        # with --account: exactly that scope, one object
        o = one_obj(d.ctl("suppress", "show", "c@x.test", "--account", "beta", "--json",
                          check_rc=0))
        eq((o["scope"], o["account"], o["reason"]), ("account", "beta", "unsubscribe"),
           "show --account beta")
        r = d.ctl("suppress", "show", "c@x.test", check_rc=0)
        eq(len([l for l in r.stdout.splitlines() if "c@x.test" in l]), 3,
           "human show: one line per scope\n" + r.stdout)


@test
def test_suppress_normalisation():
    with store() as d:
        d.ctl("suppress", "add", "Upper@Example.TEST", check_rc=0)
        o = one_obj(d.ctl("suppress", "show", "upper@example.test", "--json", check_rc=0))
        eq(o["address"], "upper@example.test", "stored address")
        for form in ("UPPER@EXAMPLE.TEST", "<upper@example.test>", "<Upper@Example.Test>",
                     " upper@example.test "):
            o = one_obj(d.ctl("suppress", "show", form, "--json", check_rc=0), "show " + form)
            eq(o["address"], "upper@example.test", "show %r" % form)
        # re-adding another spelling is the same entry
        d.ctl("suppress", "add", "<UPPER@example.Test>", check_rc=0)
        eq([o["address"] for o in lst(d)], ["upper@example.test"], "entries after re-add")
        # domain entries
        d.ctl("suppress", "add", "@Domain.TEST", "--account", "acme", check_rc=0)
        o = one_obj(d.ctl("suppress", "show", "@domain.test", "--account", "acme", "--json",
                          check_rc=0))
        eq(o["address"], "@domain.test", "domain entry")
        one_obj(d.ctl("suppress", "show", "<@DOMAIN.test>", "--json", check_rc=0))
        # a domain entry is not an address entry and vice versa
        d.ctl("suppress", "show", "@example.test", check_rc=1)
        # remove through another spelling
        d.ctl("suppress", "remove", "<UPPER@EXAMPLE.TEST>", check_rc=0)
        d.ctl("suppress", "remove", "@DOMAIN.test", "--account", "acme", check_rc=0)
        eq(lst(d), [], "list after removing both")


@test
def test_suppress_invalid_address():
    with store() as d:
        for bad in ("", "no-at-sign", "foo@", "@", "a@.test", "a@b c.test"):
            r = d.ctl("suppress", "add", bad, check_rc=4)
            check(r.stderr.strip(), "add %r: no message on stderr" % bad)
            d.ctl("suppress", "add", bad, "--account", "acme", check_rc=4)
            d.ctl("suppress", "show", bad, check_rc=4)
            d.ctl("suppress", "remove", bad, check_rc=4)
        eq(lst(d), [], "nothing stored")


@test
def test_suppress_reason():
    with store() as d:
        for bad in ("spam", "BOUNCES", ""):
            r = d.ctl("suppress", "add", "a@x.test", "--reason", bad, check_rc=4)
            check(r.stderr.strip(), "bad reason: no message")
        eq(lst(d), [], "nothing stored after bad reasons")
        for i, reason in enumerate(("bounce", "complaint", "manual", "unsubscribe")):
            addr = "r%d@x.test" % i
            d.ctl("suppress", "add", addr, "--reason", reason, check_rc=0)
            eq(one_obj(d.ctl("suppress", "show", addr, "--json", check_rc=0))["reason"], reason,
               "reason of " + addr)


@test
def test_suppress_expires_duration():
    with store() as d:
        for i, (arg, secs) in enumerate((("30d", 30 * 86400), ("12h", 12 * 3600),
                                         ("90m", 90 * 60), ("45s", 45))):
            addr = "e%d@x.test" % i
            # time(2) reads the kernel's coarse clock, which may still show
            # the previous second for a few ms after Python's clock moved on
            before = now().replace(microsecond=0) - datetime.timedelta(seconds=1)
            d.ctl("suppress", "add", addr, "--expires", arg, check_rc=0)
            after = now()
            o = one_obj(d.ctl("suppress", "show", addr, "--json", check_rc=0))
            exp = ts(o.get("expires"), "expires of --expires " + arg)
            lo = before + datetime.timedelta(seconds=secs)
            hi = after + datetime.timedelta(seconds=secs + 1)
            check(lo <= exp <= hi, "--expires %s gave %s, want between %s and %s"
                  % (arg, o["expires"], lo.isoformat(), hi.isoformat()))
            d_first = (exp - ts(o["first_seen"])).total_seconds()
            check(abs(d_first - secs) <= 1, "--expires %s: expires - first_seen = %ds"
                  % (arg, d_first))


@test
def test_suppress_expires_rfc3339():
    with store() as d:
        d.ctl("suppress", "add", "a@x.test", "--expires", "2030-01-02T03:04:05Z", check_rc=0)
        o = one_obj(d.ctl("suppress", "show", "a@x.test", "--json", check_rc=0))
        eq(o["expires"], "2030-01-02T03:04:05Z", "expires")
        # an offset is the same instant
        d.ctl("suppress", "add", "b@x.test", "--account", "acme",
              "--expires", "2030-01-02T03:04:05+02:00", check_rc=0)
        o = one_obj(d.ctl("suppress", "show", "b@x.test", "--json", check_rc=0))
        eq(ts(o["expires"]), ts("2030-01-02T01:04:05Z"), "expires given with +02:00")
        # shown in list and export too
        eq(sorted(x["expires"] for x in lst(d) if x.get("expires")),
           sorted([o["expires"], "2030-01-02T03:04:05Z"]), "expires in list")


@test
def test_suppress_bad_expires():
    with store() as d:
        for bad in ("foo", "30x", "-1d", "d", "2030-13-01T00:00:00Z", "2030-01-02T25:00:00Z", ""):
            r = d.ctl("suppress", "add", "a@x.test", "--expires", bad, check_rc=4)
            check(r.stderr.strip(), "bad --expires %r: no message" % bad)
        eq(lst(d), [], "nothing stored after bad --expires")


@test
def test_suppress_readd_keeps_first_seen():
    with store() as d:
        d.ctl("suppress", "add", "a@x.test", "--account", "acme", check_rc=0)
        o1 = one_obj(d.ctl("suppress", "show", "a@x.test", "--json", check_rc=0))
        time.sleep(1.1)
        d.ctl("suppress", "add", "A@X.test", "--account", "acme", "--reason", "bounce",
              check_rc=0)
        o2 = one_obj(d.ctl("suppress", "show", "a@x.test", "--json", check_rc=0))
        eq(o2["first_seen"], o1["first_seen"], "first_seen after re-add")
        check(ts(o2["last_seen"]) > ts(o1["last_seen"]),
              "last_seen not advanced: %s -> %s" % (o1["last_seen"], o2["last_seen"]))
        eq(o2["reason"], "bounce", "reason after re-add")
        eq(len(lst(d)), 1, "entries after re-add")


# ------------------------------------------------------------- suppress list

def populate_list(d):
    d.ctl("suppress", "add", "a@x.test", "--reason", "bounce", check_rc=0)
    d.ctl("suppress", "add", "@b.test", "--reason", "complaint", check_rc=0)
    d.ctl("suppress", "add", "c@x.test", "--account", "acme", "--reason", "bounce", check_rc=0)
    d.ctl("suppress", "add", "d@x.test", "--account", "acme", check_rc=0)
    d.ctl("suppress", "add", "e@x.test", "--account", "beta", "--reason", "unsubscribe",
          check_rc=0)


@test
def test_suppress_list_json_and_filters():
    with store() as d:
        populate_list(d)
        r = d.ctl("suppress", "list", "--json", check_rc=0)
        objs = jlines(r)
        eq(len(r.stdout.splitlines()), 5, "lines of list --json")
        eq(sorted((o["address"], o.get("account")) for o in objs),
           [("@b.test", None), ("a@x.test", None), ("c@x.test", "acme"), ("d@x.test", "acme"),
            ("e@x.test", "beta")], "all entries")
        for o in objs:
            for f in ("address", "scope", "reason", "first_seen", "last_seen"):
                check(f in o, "list entry without %s: %r" % (f, o))
            ts(o["first_seen"])

        def addrs(*args):
            return sorted(o["address"] for o in lst(d, *args))
        eq(addrs("--account", "acme"), ["c@x.test", "d@x.test"], "--account acme")
        eq(addrs("--global"), ["@b.test", "a@x.test"], "--global")
        eq(addrs("--reason", "bounce"), ["a@x.test", "c@x.test"], "--reason bounce")
        eq(addrs("--account", "acme", "--reason", "bounce"), ["c@x.test"],
           "--account acme --reason bounce")
        eq(addrs("--global", "--reason", "complaint"), ["@b.test"], "--global --reason complaint")
        eq(addrs("--account", "nosuch"), [], "--account without entries")
        eq(len(lst(d, "--limit", "2")), 2, "--limit 2")
        eq(len(lst(d, "--limit", "1", "--account", "acme")), 1, "--limit 1 --account acme")
        eq(len(lst(d, "--limit", "100")), 5, "--limit 100")
        for bad in (("--limit", "0"), ("--limit", "-1"), ("--limit", "x"), ("--reason", "spam")):
            d.ctl("suppress", "list", *bad, check_rc=4)
        # human form: one line per entry
        r = d.ctl("suppress", "list", check_rc=0)
        eq(len([l for l in r.stdout.splitlines() if "@" in l]), 5, "human list lines")


@test
def test_suppress_list_account_and_global_exclusive():
    # The grammar is [--account A | --global]: both at once is a usage error.
    with store() as d:
        populate_list(d)
        r = d.ctl("suppress", "list", "--account", "acme", "--global", "--json")
        eq(r.returncode, 2, "exit of list --account acme --global (stdout %r)" % r.stdout)
        r = d.ctl("suppress", "export", "-", "--account", "acme", "--global")
        eq(r.returncode, 2, "exit of export --account acme --global (stdout %r)" % r.stdout)


# ------------------------------------------------------------ suppress import

CSV_GOOD = (
    "address,reason,account,expires\n"
    "one@a.test,bounce,,\n"
    "\"two@a.test\",complaint,acme,2030-01-01T00:00:00Z\n"
    "\n"
    "three@a.test\n"
    "\"q,1@a.test\",unsubscribe\n"
    "\"\"\"john\"\"@a.test\",bounce,\"acme\",\"\"\n"
    "\n"
    "@Whole.TEST,,beta\n"
)
CSV_GOOD_WANT = sorted([
    ("one@a.test", "global", None, "bounce", None),
    ("two@a.test", "account", "acme", "complaint", "2030-01-01T00:00:00Z"),
    ("three@a.test", "global", None, "manual", None),
    ("q,1@a.test", "global", None, "unsubscribe", None),
    ('"john"@a.test', "account", "acme", "bounce", None),
    ("@whole.test", "account", "beta", "manual", None),
])


@test
def test_import_csv():
    with store() as d:
        f = write(os.path.join(d.dir, "in.csv"), CSV_GOOD)
        r = d.ctl("suppress", "import", f, check_rc=0)
        eq(stderr_lines(r), [], "stderr of a clean import (piped: no progress)")
        eq(keys(lst(d)), CSV_GOOD_WANT, "imported entries")
        for o in lst(d):
            near_now(o["first_seen"], "first_seen of imported " + o["address"])


@test
def test_import_csv_without_header_crlf():
    with store() as d:
        f = write(os.path.join(d.dir, "in.csv"),
                  "x@a.test,bounce\r\ny@a.test,manual,acme\r\n\r\nz@a.test\r\n")
        d.ctl("suppress", "import", f, check_rc=0)
        eq(keys(lst(d)), sorted([("x@a.test", "global", None, "bounce", None),
                                 ("y@a.test", "account", "acme", "manual", None),
                                 ("z@a.test", "global", None, "manual", None)]),
           "imported entries")


@test
def test_import_csv_bad_rows():
    with store() as d:
        text = ("address,reason,account,expires\n"   # 1
                "good1@a.test,bounce\n"              # 2
                "not an address,manual\n"            # 3  bad address
                "good2@a.test,,acme\n"               # 4
                "\n"                                 # 5
                "bad@a.test,badreason\n"             # 6  bad reason
                "bad2@a.test,manual,\"ac\"\"me\"\n"  # 7  bad account name
                "bad3@a.test,manual,,notadate\n"     # 8  bad expires
                "bad4@a.test,manual,acme,2030-01-01T00:00:00Z,extra\n"  # 9 too many fields
                "good3@a.test,complaint,,2031-01-01T00:00:00Z\n")       # 10
        f = write(os.path.join(d.dir, "bad.csv"), text)
        r = d.ctl("suppress", "import", f, check_rc=4)
        errs = stderr_lines(r)
        for line in (3, 6, 7, 8, 9):
            check(any(l.startswith("%s:%d:" % (f, line)) or ("%s:%d:" % (f, line)) in l
                      for l in errs), "no %s:%d: message in stderr:\n%s" % (f, line, r.stderr))
        eq(len([l for l in errs if re.search(r"bad\.csv:\d+:", l)]), 5,
           "file:line: messages\n" + r.stderr)
        for line in (1, 2, 4, 5, 10):
            check("%s:%d:" % (f, line) not in r.stderr, "good line %d reported:\n%s"
                  % (line, r.stderr))
        eq(keys(lst(d)), sorted([("good1@a.test", "global", None, "bounce", None),
                                 ("good2@a.test", "account", "acme", "manual", None),
                                 ("good3@a.test", "global", None, "complaint",
                                  "2031-01-01T00:00:00Z")]), "good rows imported")


@test
def test_import_stdin():
    with store() as d:
        r = d.ctl("suppress", "import", "-", input="s1@a.test,bounce\nnope\ns2@a.test,,acme\n")
        eq(r.returncode, 4, "exit with one bad line on stdin\n" + r.stderr)
        check(re.search(r"\S+:2:", r.stderr), "stdin bad line reported as NAME:2:\n" + r.stderr)
        eq(keys(lst(d)), sorted([("s1@a.test", "global", None, "bounce", None),
                                 ("s2@a.test", "account", "acme", "manual", None)]),
           "imported from stdin")
        d.ctl("suppress", "import", "-", input="s3@a.test\n", check_rc=0)
        eq(len(lst(d)), 3, "entries after a clean stdin import")
        # empty input is fine
        d.ctl("suppress", "import", "-", input="", check_rc=0)


@test
def test_import_jsonl():
    with store() as d:
        text = ('{"address":"J1@C.test","reason":"bounce"}\n'                        # 1
                '{bad\n'                                                             # 2
                '{"address":"j2@c.test","account":"acme",'
                '"expires":"2031-01-01T00:00:00Z"}\n'                               # 3
                '\n'                                                                 # 4
                '{"address":"j3@c.test","reason":"nope"}\n'                          # 5
                '[1,2]\n'                                                            # 6
                '{"address":"@jdom.test","reason":"unsubscribe","account":"beta"}\n')  # 7
        f = write(os.path.join(d.dir, "in.jsonl"), text)
        r = d.ctl("suppress", "import", f, check_rc=4)
        for line in (2, 5, 6):
            check("%s:%d:" % (f, line) in r.stderr, "no %s:%d: in stderr:\n%s"
                  % (f, line, r.stderr))
        for line in (1, 3, 4, 7):
            check("%s:%d:" % (f, line) not in r.stderr, "good line %d reported" % line)
        want = sorted([("j1@c.test", "global", None, "bounce", None),
                       ("j2@c.test", "account", "acme", "manual", "2031-01-01T00:00:00Z"),
                       ("@jdom.test", "account", "beta", "unsubscribe", None)])
        eq(keys(lst(d)), want, "imported from .jsonl")
        # --format jsonl: stdin, and a file whose name says nothing
        d.ctl("suppress", "import", "-", "--format", "jsonl",
              input='{"address":"k1@c.test"}\n', check_rc=0)
        g = write(os.path.join(d.dir, "rows.txt"), '{"address":"k2@c.test","reason":"complaint"}\n')
        d.ctl("suppress", "import", g, "--format", "jsonl", check_rc=0)
        got = {o["address"]: o["reason"] for o in lst(d, "--global")}
        eq((got.get("k1@c.test"), got.get("k2@c.test")), ("manual", "complaint"),
           "entries imported with --format jsonl")


@test
def test_import_default_account():
    with store() as d:
        d.ctl("suppress", "import", "-", "--account", "acme",
              input="d1@a.test,bounce\nd2@a.test,manual,beta\n", check_rc=0)
        d.ctl("suppress", "import", "-", "--account", "acme", "--format", "jsonl",
              input='{"address":"d3@a.test"}\n{"address":"d4@a.test","account":"beta"}\n',
              check_rc=0)
        eq(keys(lst(d)), sorted([("d1@a.test", "account", "acme", "bounce", None),
                                 ("d2@a.test", "account", "beta", "manual", None),
                                 ("d3@a.test", "account", "acme", "manual", None),
                                 ("d4@a.test", "account", "beta", "manual", None)]),
           "scopes with import --account")
        eq(lst(d, "--global"), [], "nothing global")


@test
def test_import_100k():
    with store() as d:
        f = os.path.join(d.dir, "big.csv")
        reasons = ("bounce", "complaint", "manual", "unsubscribe")
        with open(f, "w") as out:
            out.write("address,reason,account,expires\n")
            for i in range(100000):
                out.write("user%d@bulk%d.test,%s,%s,\n"
                          % (i, i % 97, reasons[i % 4], "acct%d" % (i % 5) if i % 2 else ""))
        start = time.time()
        r = d.ctl("suppress", "import", f, check_rc=0)
        print("    import of 100000 CSV rows: %.2fs" % (time.time() - start), flush=True)
        eq(r.stderr, "", "stderr of a piped import (no progress when piped)")
        r = subprocess.run("'%s' -c '%s' suppress list --json | wc -l" % (OUTPOSTCTL, d.conf),
                           shell=True, capture_output=True, text=True, timeout=120)
        eq(r.stdout.strip(), "100000", "suppress list --json | wc -l")
        r = subprocess.run("'%s' -c '%s' suppress list --json --global | wc -l"
                           % (OUTPOSTCTL, d.conf),
                           shell=True, capture_output=True, text=True, timeout=120)
        eq(r.stdout.strip(), "50000", "global entries")
        eq(len(lst(d, "--account", "acct3")), 10000, "entries of acct3")


# ---------------------------------------------------------------- export

def populate_roundtrip(d):
    d.ctl("suppress", "add", "plain@x.test", check_rc=0)
    d.ctl("suppress", "add", "@whole.test", "--reason", "complaint",
          "--expires", "2030-01-02T03:04:05Z", check_rc=0)
    d.ctl("suppress", "add", "b@x.test", "--account", "acme", "--reason", "bounce", check_rc=0)
    d.ctl("suppress", "add", "b@x.test", "--reason", "unsubscribe", "--expires", "30d",
          check_rc=0)
    d.ctl("suppress", "add", '"q,uoted"@x.test', "--account", "beta", check_rc=0)
    d.ctl("suppress", "add", '"say ""hi"""@x.test', "--account", "acme.co-1_2", check_rc=0)
    d.ctl("suppress", "add", "@dom.test", "--account", "beta", "--reason", "bounce",
          "--expires", "2031-06-30T23:59:59Z", check_rc=0)


def roundtrip(fmt, suffix):
    with store() as a, store() as b:
        populate_roundtrip(a)
        src = lst(a)
        eq(len(src), 7, "entries in the source store")
        f = os.path.join(a.dir, "export." + suffix)
        a.ctl("suppress", "export", f, "--format", fmt, check_rc=0)
        # stdout export is the same text
        r = a.ctl("suppress", "export", "-", "--format", fmt, check_rc=0)
        with open(f) as fh:
            ftext = fh.read()
        eq(r.stdout, ftext, "export to - and to a file")
        b.ctl("suppress", "import", f, "--format", fmt, check_rc=0)
        eq(keys(lst(b)), keys(src), "entries after %s export | import" % fmt)
        # and exporting the copy gives the same text again
        eq(b.ctl("suppress", "export", "-", "--format", fmt, check_rc=0).stdout, ftext,
           "export of the imported copy")
        # piped through stdin as well, with the format taken from the suffix for files
        with store() as c:
            c.ctl("suppress", "import", "-", "--format", fmt, input=ftext, check_rc=0)
            eq(keys(lst(c)), keys(src), "entries after export | import -")
        return a, ftext


@test
def test_export_import_roundtrip_csv():
    roundtrip("csv", "csv")


@test
def test_export_import_roundtrip_jsonl():
    roundtrip("jsonl", "jsonl")


@test
def test_export_filters_and_shapes():
    with store() as d:
        populate_roundtrip(d)
        r = d.ctl("suppress", "export", "-", "--format", "jsonl", "--account", "acme", check_rc=0)
        objs = jlines(r, "export jsonl")
        eq(sorted((o["address"], o.get("account")) for o in objs), [("b@x.test", "acme")],
           "export --account acme (not acme.co-1_2)")
        for o in objs:
            check(set(o) <= {"address", "reason", "account", "expires"},
                  "export jsonl has only import fields: %r" % o)
        r = d.ctl("suppress", "export", "-", "--format", "jsonl", "--global", check_rc=0)
        eq(sorted(o["address"] for o in jlines(r)), ["@whole.test", "b@x.test", "plain@x.test"],
           "export --global")
        for o in jlines(r):
            check(not o.get("account"), "global export row with an account: %r" % o)
        # CSV: the import shape (header address,reason,account,expires)
        r = d.ctl("suppress", "export", "-", "--format", "csv", "--global", check_rc=0)
        lines = r.stdout.splitlines()
        rows = [l for l in lines if not l.startswith("address,")]
        eq(len(rows), 3, "global CSV rows\n" + r.stdout)
        check("@whole.test,complaint,,2030-01-02T03:04:05Z" in rows,
              "CSV row of @whole.test\n" + r.stdout)
        check("plain@x.test,manual,," in rows or "plain@x.test,manual" in rows,
              "CSV row of plain@x.test\n" + r.stdout)


# ---------------------------------------------------------------- accounts

ACCOUNT_FIELDS = {"account", "state", "reason", "by", "since", "created", "settings", "mappings",
                  "history"}


@test
def test_account_add_show():
    with store() as d:
        d.ctl("account", "add", "acme", "--reason", "new customer", check_rc=0)
        r = d.ctl("account", "add", "acme", check_rc=4)
        check(r.stderr.strip(), "add existing: no message")
        o = acct(d, "acme")
        check(ACCOUNT_FIELDS <= set(o), "account show --json fields: %r" % sorted(o))
        eq(o["account"], "acme", "account")
        eq(o["state"], "active", "state")
        eq(o["reason"], "new customer", "reason")
        check(isinstance(o["by"], str) and o["by"], "by: %r" % o["by"])
        near_now(o["since"], "since")
        near_now(o["created"], "created")
        eq(o["settings"], {}, "settings of a new account")
        eq(o["mappings"], [], "mappings of a new account")
        check(isinstance(o["history"], list) and o["history"], "history: %r" % o["history"])
        for h in o["history"]:
            eq(set(h), {"time", "from", "to", "by", "reason"}, "history entry fields")
            ts(h["time"], "history time")
        eq(o["history"][-1]["to"], "active", "last history state")
        d.ctl("account", "add", "plain", check_rc=0)
        eq(acct(d, "plain")["state"], "active", "state of plain")
        # absent
        r = d.ctl("account", "show", "nosuch", "--json", check_rc=1)
        eq(r.stdout, "", "stdout of show of an absent account")
        d.ctl("account", "show", "nosuch", check_rc=1)
        r = d.ctl("account", "show", "acme", check_rc=0)
        check("acme" in r.stdout and "active" in r.stdout, "human show:\n" + r.stdout)


@test
def test_account_invalid_names():
    with store() as d:
        for bad in ("bad name", "a/b", "", 'x"y', "a" * 200, "tab\there"):
            r = d.ctl("account", "add", bad, check_rc=4)
            check(r.stderr.strip(), "add %r: no message" % bad)
            d.ctl("account", "show", bad, check_rc=4)
            d.ctl("suppress", "add", "a@x.test", "--account", bad, check_rc=4)
        eq(jlines(d.ctl("account", "list", "--json", check_rc=0)), [], "accounts")
        eq(lst(d), [], "suppression entries")
        d.ctl("account", "add", "ok.name-1_2@x+y", check_rc=0)


@test
def test_account_state_transitions():
    with store() as d:
        d.ctl("account", "add", "acme", check_rc=0)
        n0 = len(acct(d, "acme")["history"])
        r = d.ctl("account", "pause", "acme", check_rc=2)
        check(r.stderr.strip(), "pause without --reason: no message")
        d.ctl("account", "review", "acme", check_rc=2)
        eq(acct(d, "acme")["state"], "active", "state after refused pause")
        eq(len(acct(d, "acme")["history"]), n0, "history after refused pause")
        time.sleep(1.05)
        d.ctl("account", "pause", "acme", "--reason", "bounces high", check_rc=0)
        o = acct(d, "acme")
        eq((o["state"], o["reason"]), ("paused", "bounces high"), "after pause")
        check(ts(o["since"]) > ts(o["created"]), "since not updated by pause: %s / %s"
              % (o["since"], o["created"]))
        eq([a["account"] for a in jlines(d.ctl("account", "list", "--state", "paused", "--json",
                                               check_rc=0))], ["acme"], "list --state paused")
        d.ctl("account", "review", "acme", "--reason", "looking into it", check_rc=0)
        eq(acct(d, "acme")["state"], "review", "after review")
        d.ctl("account", "resume", "acme", "--reason", "ok now", check_rc=0)
        o = acct(d, "acme")
        eq((o["state"], o["reason"]), ("active", "ok now"), "after resume")
        hist = o["history"][n0:]
        eq([(h["from"], h["to"], h["reason"]) for h in hist],
           [("active", "paused", "bounces high"), ("paused", "review", "looking into it"),
            ("review", "active", "ok now")], "history of the transitions")
        times = [ts(h["time"]) for h in o["history"]]
        eq(times, sorted(times), "history in time order")
        for h in hist:
            check(h["by"], "history entry without by: %r" % h)
        eq(jlines(d.ctl("account", "list", "--state", "paused", "--json", check_rc=0)), [],
           "list --state paused after resume")
        # resume without --reason is allowed
        d.ctl("account", "pause", "acme", "--reason", "again", check_rc=0)
        d.ctl("account", "resume", "acme", check_rc=0)
        eq(acct(d, "acme")["state"], "active", "after plain resume")
        # absent accounts
        d.ctl("account", "pause", "nosuch", "--reason", "x", check_rc=1)
        d.ctl("account", "review", "nosuch", "--reason", "x", check_rc=1)
        d.ctl("account", "resume", "nosuch", check_rc=1)


@test
def test_account_list_state_filter():
    with store() as d:
        for n in ("a1", "b2", "c3"):
            d.ctl("account", "add", n, check_rc=0)
        d.ctl("account", "pause", "b2", "--reason", "p", check_rc=0)
        d.ctl("account", "review", "c3", "--reason", "r", check_rc=0)
        r = d.ctl("account", "list", "--json", check_rc=0)
        objs = jlines(r)
        eq(len(r.stdout.splitlines()), 3, "lines of account list --json")
        eq(sorted((o["account"], o["state"]) for o in objs),
           [("a1", "active"), ("b2", "paused"), ("c3", "review")], "account list")
        for st, want in (("active", ["a1"]), ("paused", ["b2"]), ("review", ["c3"])):
            eq(sorted(o["account"] for o in
                      jlines(d.ctl("account", "list", "--state", st, "--json", check_rc=0))),
               want, "list --state " + st)
        d.ctl("account", "list", "--state", "bogus", check_rc=4)
        r = d.ctl("account", "list", check_rc=0)
        eq(len([l for l in r.stdout.splitlines() if l.strip()]), 3, "human list lines")


@test
def test_account_set():
    with store() as d:
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "set", "acme", "mode=monitor", check_rc=0)
        eq(acct(d, "acme")["settings"], {"mode": "monitor"}, "settings after mode=monitor")
        d.ctl("account", "set", "acme", "auto-enforce=off", "note=hello world", check_rc=0)
        want = {"mode": "monitor", "auto-enforce": "off", "note": "hello world"}
        eq(acct(d, "acme")["settings"], want, "settings after three")
        for bad in ("colour=blue", "mode=fast", "auto-enforce=maybe", "auto-enforce=yes"):
            r = d.ctl("account", "set", "acme", bad, check_rc=4)
            check(r.stderr.strip(), "set %s: no message" % bad)
        # a bad pair refuses the whole command
        d.ctl("account", "set", "acme", "mode=enforce", "colour=blue", check_rc=4)
        eq(acct(d, "acme")["settings"], want, "settings after refused sets")
        d.ctl("account", "set", "acme", "mode=default", check_rc=0)
        eq(acct(d, "acme")["settings"], {"auto-enforce": "off", "note": "hello world"},
           "settings after mode=default")
        d.ctl("account", "set", "acme", "mode=enforce", "auto-enforce=default", check_rc=0)
        eq(acct(d, "acme")["settings"], {"mode": "enforce", "note": "hello world"},
           "settings after mode=enforce auto-enforce=default")
        d.ctl("account", "set", "nosuch", "mode=monitor", check_rc=1)
        d.ctl("account", "set", "acme", check_rc=2)


@test
def test_account_delete():
    with store() as d:
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "set", "acme", "mode=monitor", check_rc=0)
        d.ctl("account", "map", "acme", "sasl:acmeuser", "domain:acme.test", check_rc=0)
        d.ctl("account", "pause", "acme", "--reason", "x", check_rc=0)
        d.ctl("account", "delete", "acme", check_rc=0)
        d.ctl("account", "show", "acme", check_rc=1)
        d.ctl("account", "delete", "acme", check_rc=1)
        eq(jlines(d.ctl("account", "list", "--json", check_rc=0)), [], "accounts after delete")
        # its mappings went with it
        d.ctl("account", "unmap", "sasl:acmeuser", check_rc=1)
        # a new account of that name starts afresh
        d.ctl("account", "add", "acme", check_rc=0)
        o = acct(d, "acme")
        eq((o["state"], o["settings"], o["mappings"], len(o["history"])),
           ("active", {}, [], 1), "re-created account")


# ---------------------------------------------------------------- mappings

@test
def test_account_map_specs():
    with store() as d:
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "map", "acme", "sasl:alice", "sender:bob@Example.TEST",
              "domain:Example.ORG", "cidr:192.0.2.77/24", "cidr:2001:DB8::1/32",
              "cidr:198.51.100.5", check_rc=0)
        eq(sorted(acct(d, "acme")["mappings"]),
           sorted(["sasl:alice", "sender:bob@example.test", "domain:example.org",
                   "cidr:192.0.2.0/24", "cidr:2001:db8::/32", "cidr:198.51.100.5/32"]),
           "mappings")
        r = d.ctl("account", "show", "acme", check_rc=0)
        for m in ("sasl:alice", "domain:example.org", "cidr:192.0.2.0/24"):
            check(m in r.stdout, "human show lacks %s:\n%s" % (m, r.stdout))
        # mapping the same thing again is harmless
        d.ctl("account", "map", "acme", "domain:EXAMPLE.org", check_rc=0)
        eq(len(acct(d, "acme")["mappings"]), 6, "mappings after re-map")


@test
def test_account_map_errors():
    with store() as d:
        d.ctl("account", "add", "acme", check_rc=0)
        for bad in ("foo:bar", "sasl:", "cidr:300.1.1.1/24", "cidr:10.0.0.0/33", "cidr:nonsense",
                    "domain:", "domain:bad domain", "sender:nobody", "nocolon"):
            r = d.ctl("account", "map", "acme", bad, check_rc=4)
            check(r.stderr.strip(), "map %s: no message" % bad)
        # one bad spec refuses the whole command
        d.ctl("account", "map", "acme", "sasl:good", "foo:bar", check_rc=4)
        eq(acct(d, "acme")["mappings"], [], "mappings after refused maps")
        r = d.ctl("account", "map", "nosuch", "sasl:zed", check_rc=1)
        check(r.stderr.strip(), "map to a missing account: no message")
        d.ctl("account", "map", "acme", check_rc=2)


@test
def test_account_unmap():
    with store() as d:
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "map", "acme", "sasl:alice", "cidr:192.0.2.0/24", "domain:acme.test",
              check_rc=0)
        d.ctl("account", "unmap", "acme", "sasl:nobody", check_rc=1)
        # one absent mapping: nothing removed
        d.ctl("account", "unmap", "acme", "sasl:alice", "sasl:nobody", check_rc=1)
        eq(len(acct(d, "acme")["mappings"]), 3, "mappings after refused unmap")
        # specs are normalised as in map
        d.ctl("account", "unmap", "acme", "cidr:192.0.2.99/24", check_rc=0)
        d.ctl("account", "unmap", "acme", "domain:ACME.test", check_rc=0)
        # without NAME
        d.ctl("account", "unmap", "sasl:alice", check_rc=0)
        eq(acct(d, "acme")["mappings"], [], "mappings after unmaps")
        d.ctl("account", "unmap", "sasl:alice", check_rc=1)
        d.ctl("account", "unmap", "acme", "bogus:x", check_rc=4)


@test
def test_account_unmap_other_accounts_mapping():
    # "account unmap NAME SPEC" removes NAME's mapping; a SPEC that belongs to
    # another account is "not there" for NAME (exit 1) and stays.
    with store() as d:
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "add", "beta", check_rc=0)
        d.ctl("account", "map", "acme", "sender:bob@acme.test", check_rc=0)
        r = d.ctl("account", "unmap", "beta", "sender:bob@acme.test")
        eq(r.returncode, 1, "exit of unmap beta of acme's mapping (stdout %r)" % r.stdout)
        eq(acct(d, "acme")["mappings"], ["sender:bob@acme.test"], "acme's mappings")


# ---------------------------------------------------------------- usage

@test
def test_usage_errors():
    with store() as d:
        cases = [
            [],
            ["bogus"],
            ["suppress"],
            ["suppress", "bogus"],
            ["account", "bogus"],
            ["suppress", "add"],
            ["suppress", "add", "a@x.test", "--bogus"],
            ["suppress", "add", "a@x.test", "--account"],
            ["suppress", "add", "a@x.test", "b@x.test"],
            ["suppress", "show"],
            ["suppress", "remove"],
            ["suppress", "list", "--limit"],
            ["suppress", "import"],
            ["account", "add"],
            ["account", "show"],
            ["account", "map", "acme"],
            ["account", "unmap"],
            ["account", "list", "extra"],
            ["account", "set", "acme", "mode"],
            ["status", "extra"],
            ["reload", "--bogus"],
            ["--bogus", "suppress", "list"],
        ]
        for args in cases:
            r = d.ctl(*args)
            eq(r.returncode, 2, "exit of outpostctl %s (stderr %r)" % (" ".join(args), r.stderr))
            check(r.stderr.strip(), "outpostctl %s: no message on stderr" % " ".join(args))
        eq(lst(d), [], "nothing stored by usage errors")


@test
def test_help():
    r = subprocess.run([OUTPOSTCTL, "--help"], capture_output=True, text=True, timeout=30)
    eq(r.returncode, 0, "exit of --help")
    for cmd in ("suppress add", "suppress remove", "suppress show", "suppress list",
                "suppress import", "suppress export", "account add", "account show",
                "account list", "account set", "account pause", "account resume",
                "account review", "account delete", "account map", "account unmap",
                "status", "reload"):
        check(re.search(r"(^|\s)%s\b" % re.escape(cmd), r.stdout),
              "--help does not list %r:\n%s" % (cmd, r.stdout))
    for args in (["suppress", "add", "--help"], ["account", "map", "--help"],
                 ["suppress", "list", "--help"]):
        r = subprocess.run([OUTPOSTCTL] + args, capture_output=True, text=True, timeout=30)
        eq(r.returncode, 0, "exit of outpostctl %s" % " ".join(args))
        check(r.stdout.startswith("usage: outpostctl " + " ".join(args[:-1])),
              "outpostctl %s output:\n%s" % (" ".join(args), r.stdout))
    # NOUN --help: every verb of the noun (on stdout or stderr), exit 0
    for noun, verbs in (("suppress", ("add", "remove", "show", "list", "import", "export")),
                        ("account", ("add", "show", "list", "set", "pause", "resume", "review",
                                     "delete", "map", "unmap"))):
        r = subprocess.run([OUTPOSTCTL, noun, "--help"], capture_output=True, text=True,
                           timeout=30)
        eq(r.returncode, 0, "exit of outpostctl %s --help" % noun)
        for v in verbs:
            check("outpostctl %s %s" % (noun, v) in r.stdout + r.stderr,
                  "outpostctl %s --help lacks %s" % (noun, v))


# ---------------------------------------------------------------- store and config

@test
def test_store_unavailable():
    with store() as d:
        conf = write(os.path.join(d.dir, "proc.conf"),
                     'user = "";\nstore = { path = "/proc/1/outpost-db"; };\n'
                     'dns = { servers = [ "127.0.0.1:1" ]; };\n')
        for args in (["suppress", "list"], ["suppress", "add", "a@x.test"],
                     ["suppress", "show", "a@x.test"], ["account", "list"],
                     ["account", "add", "acme"]):
            r = subprocess.run([OUTPOSTCTL, "-c", conf] + args, capture_output=True, text=True,
                               timeout=30)
            eq(r.returncode, 3, "exit of %s with an unusable store (stderr %r)"
               % (" ".join(args), r.stderr))
            check(r.stderr.strip(), "no message for an unusable store")


@test
def test_missing_config():
    with store() as d:
        missing = os.path.join(d.dir, "nope", "outpost.conf")
        for args in (["suppress", "list"], ["account", "show", "acme"], ["status"]):
            r = subprocess.run([OUTPOSTCTL, "-c", missing] + args, capture_output=True,
                               text=True, timeout=30)
            eq(r.returncode, 3, "exit with a missing config for %s" % " ".join(args))
            check(missing in r.stderr, "message names the file: %r" % r.stderr)


@test
def test_invalid_config():
    with store() as d:
        syntax = write(os.path.join(d.dir, "syntax.conf"),
                       'user = "";\nstore = { path = "db"; };\nthis is not libconfig\n')
        typed = write(os.path.join(d.dir, "typed.conf"),
                      'user = "";\n\nstore = { path = 5; };\n')
        size = write(os.path.join(d.dir, "size.conf"),
                     'user = "";\nstore = {\n  path = "db";\n  map_size = "banana";\n};\n')
        for conf, line in ((syntax, 3), (typed, 3), (size, 4)):
            r = subprocess.run([OUTPOSTCTL, "-c", conf, "suppress", "list"], capture_output=True,
                               text=True, timeout=30)
            eq(r.returncode, 4, "exit with invalid %s (stderr %r)" % (conf, r.stderr))
            check("%s:%d:" % (conf, line) in r.stderr,
                  "want %s:%d: in stderr, got %r" % (conf, line, r.stderr))


# ---------------------------------------------------------------- status / reload

@test
def test_status_without_daemon():
    with store() as d:
        for args in (["status"], ["status", "--json"], ["reload"]):
            r = d.ctl(*args, check_rc=3)
            check(r.stderr.strip(), "%s without a daemon: no message" % " ".join(args))
            if args[-1] == "--json":
                eq(r.stdout, "", "stdout of status --json without a daemon")


@test
def test_status_json():
    with store(workers=2) as d:
        for i in range(3):
            d.ctl("suppress", "add", "s%d@x.test" % i, check_rc=0)
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "add", "beta", check_rc=0)
        d.start()
        r = d.ctl("status", "--json", check_rc=0)
        s = one_obj(r, "status --json")
        eq(s["pid"], d.proc.pid, "status pid")
        eq(s["pid"], d.pid(), "status pid vs pidfile")
        w = s["workers"]
        check(isinstance(w, list), "workers is not a list: %r" % w)
        eq(len(w), 2, "number of workers")
        pids = [x["pid"] for x in w]
        for p in pids:
            check(isinstance(p, int) and p > 0, "worker pid %r" % p)
            check(os.path.exists("/proc/%d" % p), "worker %d not running" % p)
            check(p != s["pid"], "worker pid is the master's")
        eq(len(set(pids)), 2, "distinct worker pids")
        st = s["store"]
        eq((st["suppression_entries"], st["accounts"]), (3, 2), "store figures")
        check(st["used_bytes"] > 0 and st["map_size"] >= st["used_bytes"],
              "store sizes: %r" % st)
        eq(d.ask(), "DUNNO", "policy answer")
        r = d.ctl("status", check_rc=0)
        check(str(s["pid"]) in r.stdout, "human status shows the pid:\n" + r.stdout)
        d.ctl("suppress", "add", "s9@x.test", check_rc=0)
        eq(d.status()["store"]["suppression_entries"], 4, "store figures after an add")


@test
def test_reload():
    with store() as d:
        d.start()
        before = d.status()
        held = d.conn()  # an idle persistent connection, as Postfix keeps one
        eq(held.ask(), "DUNNO", "before the reload")
        start = time.time()
        r = d.ctl("reload", check_rc=0)
        print("    reload: %.2fs" % (time.time() - start), flush=True)
        # The old worker drains: its idle connections close, so that the next request
        # goes to a worker that has the new config.
        check(held.closed(), "the draining worker closes an idle connection")
        held.close()
        eq(d.ask_as_postfix(), "DUNNO", "policy answer after reload")
        after = d.status()
        eq(after["pid"], before["pid"], "master pid after reload")
        eq(after.get("reloads"), (before.get("reloads") or 0) + 1, "reloads counter")
        check(d.proc.poll() is None, "daemon exited")


@test
def test_reload_returns_promptly():
    # The daemon answers "ok" at once; outpostctl must not hang on until its
    # socket timeout.
    with store() as d:
        d.start()
        start = time.time()
        d.ctl("reload", check_rc=0)
        took = time.time() - start
        check(took < 2.0, "outpostctl reload took %.2fs" % took)


@test
def test_reload_invalid_config_keeps_running():
    with store() as d:
        d.start()
        good = open(d.conf).read()
        nlines = good.count("\n")
        write(d.conf, good + "this is not libconfig\n")
        r = d.ctl("reload", check_rc=4)
        check("%s:%d:" % (d.conf, nlines + 1) in r.stderr,
              "want %s:%d: in stderr, got %r" % (d.conf, nlines + 1, r.stderr))
        eq(d.ask(), "DUNNO", "policy answer after a refused reload")
        # the daemon itself refuses the file on SIGHUP and keeps the running one
        os.kill(d.proc.pid, signal.SIGHUP)
        time.sleep(0.3)
        check(d.proc.poll() is None, "outpostd exited after SIGHUP with an invalid config:\n"
              + d.logtext())
        for _ in range(3):
            eq(d.ask(), "DUNNO", "policy answer after SIGHUP with an invalid config")
        write(d.conf, good)
        s = d.status()
        check(s.get("reload_failures", 0) >= 1, "reload_failures: %r" % s.get("reload_failures"))
        eq(len(s["workers"]), 2, "workers after a refused reload")


@test
def test_explain():
    with store() as d:
        d.ctl("account", "add", "acct1", check_rc=0)
        d.ctl("account", "add", "acct2", check_rc=0)
        d.ctl("account", "pause", "acct2", "--reason", "bounce rate 12%", check_rc=0)
        d.ctl("suppress", "add", "gone@dest.test", "--account", "acct1", "--reason", "bounce",
              check_rc=0)
        r = d.ctl("explain", "acct1", "ok@dest.test", check_rc=0)
        check("verdict:  accept" in r.stdout, r.stdout)
        r = d.ctl("explain", "acct1", "Gone@Dest.test", check_rc=1)
        check("rule:     suppressed" in r.stdout and "550 5.7.1" in r.stdout, r.stdout)
        r = d.ctl("explain", "acct2", "ok@dest.test", "--json", check_rc=1)
        o = json.loads(r.stdout)
        eq(o["verdict"], "tempfail", "paused verdict")
        eq(o["rule"], "paused", "paused rule")
        check(o["reply"].startswith("450 4.7.1 ") and "bounce rate 12%" in o["reply"], o["reply"])
        eq(o["identified_as"], "acct2", "account")
        # A sender mapping instead of a login; nothing matched; nothing created.
        d.ctl("account", "map", "acct2", "domain:paused.test", check_rc=0)
        r = d.ctl("explain", "nobody-login", "x@dest.test", "--json", check_rc=0)
        eq(json.loads(r.stdout)["verdict"], "accept", "unknown login, auto-create")
        eq(d.ctl("account", "show", "nobody-login").returncode, 1, "explain creates nothing")
        d.ctl("explain", "a", "b", "c", check_rc=2)
        d.ctl("explain", "acct1", check_rc=2)


@test
def test_db_backup_online_and_restore():
    with store() as d:
        d.start()
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "pause", "acme", "--reason", "before the backup", check_rc=0)
        rows = "".join("u%d@x.test,bounce\n" % i for i in range(2000))
        d.ctl("suppress", "import", "-", input=rows, check_rc=0)
        # Writes go on while the copy is taken: the copy is one consistent snapshot.
        bk = os.path.join(d.dir, "backup")
        r = d.ctl("db", "backup", bk, check_rc=0)
        check("compacted" in r.stdout and "ok" in r.stdout, r.stdout)
        r = d.ctl("db", "backup", bk)
        eq(r.returncode, 3, "backup into an existing directory")
        check("exists" in r.stderr, r.stderr)
        # Restore: another daemon on the copy enforces what was there.
        d2 = Daemon("")
        shutil.copy(os.path.join(bk, "data.mdb"), os.path.join(d2.dir, "data.mdb.tmp"))
        os.makedirs(os.path.join(d2.dir, "db"))
        os.rename(os.path.join(d2.dir, "data.mdb.tmp"), os.path.join(d2.dir, "db", "data.mdb"))
        try:
            d2.start()
            r = d2.ask(sasl_username="acme", recipient="u1@x.test")
            check(r.startswith("450 4.7.1 ") and "before the backup" in r, r)
            eq(len(jlines(d2.ctl("suppress", "list", "--json", check_rc=0))), 2000,
               "suppressions restored")
        finally:
            d2.cleanup()


def mdb_put_raw(db, name, key, val):
    """Write one record with mdb_load (printable form), around Outpost."""
    text = "VERSION=3\nformat=print\ndatabase=%s\ntype=btree\nHEADER=END\n %s\n %s\nDATA=END\n" \
        % (name, key, val)
    r = subprocess.run(["mdb_load", "-s", name, db], input=text.encode(), capture_output=True)
    eq(r.returncode, 0, "mdb_load: %s" % r.stderr.decode())


@test
def test_suppression_filter_is_on_the_lookup_path():
    """The Bloom filter decides first: an entry written around Outpost is not seen until rebuilt."""
    with store() as d:
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("suppress", "add", "a@x.test", check_rc=0)
        o = json.loads(d.ctl("db", "filter", "--json", check_rc=0).stdout)
        check(o["present"] and o["entries"] == 1 and not o["stale"], o)
        # The value of a valid record, copied under another key with mdb_load.
        db = os.path.join(d.dir, "db")
        dump = subprocess.run(["mdb_dump", "-p", "-s", "suppress", db], capture_output=True,
                              text=True, check=True).stdout.split("HEADER=END\n")[1]
        lines = dump.split("\n")
        eq(lines[0].strip(), r"\00a@x.test", "the dumped key")
        mdb_put_raw(db, "suppress", r"\00sneaky@x.test", lines[1].strip())
        explain = lambda: d.ctl("explain", "acme", "sneaky@x.test").stdout
        check("suppress" not in explain(), "an entry missing from the filter is not found: "
              + explain())
        eq(d.ctl("db", "check").returncode, 4, "db check finds it")
        out = d.ctl("db", "filter", "--rebuild", check_rc=0).stdout
        check("rebuilt now" in out, out)
        check("suppress" in explain(), "found once the filter is rebuilt: " + explain())
        eq(d.ctl("db", "check").returncode, 0, "db check clean")
        # Deletes leave bits behind until a rebuild; db expire rebuilds a stale filter
        # (more than 1,000 deletes and more than a quarter of the list).
        rows = "".join("gone%d@x.test,bounce\n" % i for i in range(1200))
        d.ctl("suppress", "import", "-", input=rows, check_rc=0)
        t0 = time.time()
        for i in range(1001):
            d.ctl("suppress", "remove", "gone%d@x.test" % i, check_rc=0)
        print("    1001 removes in %.1f s" % (time.time() - t0), flush=True)
        o = json.loads(d.ctl("db", "filter", "--json", check_rc=0).stdout)
        check(o["stale"] and o["deletes"] == 1001 and o["entries"] == 201, o)
        out = d.ctl("db", "expire", check_rc=0).stdout
        check("rebuilt the suppression filter over 201 entries" in out, out)
        o = json.loads(d.ctl("db", "filter", "--json", check_rc=0).stdout)
        check(not o["stale"] and o["deletes"] == 0 and o["built_entries"] == 201, o)
        check("suppress" in d.ctl("explain", "acme", "gone1100@x.test").stdout, "kept entry")
        check("suppress" not in d.ctl("explain", "acme", "gone5@x.test").stdout, "removed")


@test
def test_db_check_finds_damaged_and_left_over_records():
    with store() as d:
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "set", "acme", "daily-quota=10", check_rc=0)
        d.ctl("suppress", "add", "a@x.test", check_rc=0)
        o = json.loads(d.ctl("db", "check", "--json", check_rc=0).stdout)
        check(o["ok"] and o["databases"]["suppress"]["records"] == 1, o)
        # Damage: a suppression record cut short, a setting nobody could have set,
        # a mapping to an account that does not exist (mdb_load's plain-text form).
        db = os.path.join(d.dir, "db")
        for name, key, val in (("suppress", r"\00bad@x.test", r"\01\02"),
                               ("acctset", r"acme\00daily-quota", "lots"),
                               ("identity", "sasl:ghost", "ghost")):
            text = "VERSION=3\nformat=print\ndatabase=%s\ntype=btree\nHEADER=END\n %s\n %s\nDATA=END\n" \
                % (name, key, val)
            r = subprocess.run(["mdb_load", "-s", name, db], input=text.encode(),
                               capture_output=True)
            eq(r.returncode, 0, "mdb_load: %s" % r.stderr.decode())
        r = d.ctl("db", "check", "--json")
        eq(r.returncode, 4, "exit status with problems")
        o = json.loads(r.stdout)
        # 4: the suppression record written around Outpost is also missing from the filter.
        eq((o["ok"], o["problems_total"]), (False, 4), "problems")
        what = " | ".join("%s %s: %s" % (p["db"], p["key"], p["problem"]) for p in o["problems"])
        for want in ("suppress /bad@x.test: record does not decode",
                     "suppress /bad@x.test: missing from the suppression filter",
                     "acctset acme/daily-quota: daily-quota: 'lots'",
                     "identity sasl:ghost: mapped to account ghost, which does not exist"):
            check(want in what, "want %r in %r" % (want, what))
        r = d.ctl("db", "check")
        eq(r.returncode, 4, "human form exit status")
        check("PROBLEMS" in r.stdout, r.stdout)


if __name__ == "__main__":
    sys.exit(run_tests())
