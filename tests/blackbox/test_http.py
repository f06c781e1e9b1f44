#!/usr/bin/env python3
"""Black-box tests of the http process: the real outpostd with http.listen on
loopback, tokens made by the real outpostctl, every response body validated
against doc/openapi.yaml (tests/lib/openapi_check.py), urllib only."""
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from outpost_test import (Daemon, TestFailure, check, eq, free_port, run_tests, test,  # noqa: E402
                          wait_for, SRCDIR)
from openapi_check import OpenAPI  # noqa: E402

API = OpenAPI(os.path.join(SRCDIR, "doc", "openapi.yaml"))


class Http:
    """A daemon with an http listener, and a client that checks every answer."""

    def __init__(self, extra="", sections=""):
        self.port = free_port()
        self.d = Daemon(conf_extra='http = { listen = "inet:127.0.0.1:%d"; web_root = "%s"; %s };\n%s'
                        % (self.port, os.path.join(SRCDIR, "web"), extra, sections), workers=1)

    def start(self):
        self.d.start()
        wait_for(lambda: self.ready(), 10, "the http listener")
        return self

    def ready(self):
        try:
            return self.raw("GET", "/healthz")[0] == 200
        except OSError:
            return False

    def token(self, name, scope, account=None):
        args = ["token", "add", name, "--scope", scope] + (["--account", account] if account else [])
        return self.d.ctl(*args, check_rc=0).stdout.strip().splitlines()[-1]

    def raw(self, method, path, body=None, token=None, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=body,
                                     method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.headers.get("Content-Type"), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read()

    def call(self, method, path, body=None, token=None, want=None, headers=None):
        """One request; the body checked against openapi.yaml; returns (status, json)."""
        status, ctype, data = self.raw(method, path, body, token, headers)
        parsed = data.decode()
        if ctype and "json" in ctype:
            parsed = json.loads(data)
        elif status == 204:
            parsed = None
        API.check(method, path, status, ctype, parsed)
        if want is not None and status != want:
            raise TestFailure("%s %s: %d, want %d: %s" % (method, path, status, want, data[:300]))
        return status, parsed

    def stop(self):
        self.d.cleanup()


def seeded():
    h = Http().start()
    d = h.d
    d.ctl("account", "add", "acme", check_rc=0)
    d.ctl("account", "add", "beta", check_rc=0)
    d.ctl("account", "pause", "beta", "--reason", "bounce rate 12%", check_rc=0)
    return h


def q(s):
    return urllib.parse.quote(s, safe="")


@test
def healthz_metrics_and_dashboard_need_no_token():
    h = seeded()
    try:
        h.call("GET", "/healthz", want=200)
        st, text = h.call("GET", "/metrics", want=200)
        check('outpost_accounts{state="paused"} 1' in text, text[:500])
        check('outpost_accounts{state="active"} 1' in text, text[:500])
        check("outpost_suppression_entries 0" in text and "outpost_store_used_bytes" in text)
        check('outpost_requests_total{process="http"}' in text)
        st, ct, page = h.raw("GET", "/")
        eq(st, 200, "dashboard")
        check(b"<html" in page.lower() and ct.startswith("text/html"), ct)
        st, ct, js = h.raw("GET", "/js/chart.js")
        eq(st, 200, "chart.js from libjs-chart.js")
        check(b"Chart" in js[:400])
        eq(h.raw("GET", "/../etc/passwd")[0], 404, "no way out of web_root")
    finally:
        h.stop()


@test
def metrics_closed_when_configured():
    h = Http("metrics_open = false;").start()
    try:
        h.call("GET", "/metrics", want=401)
        t = h.token("prom", "read")
        h.call("GET", "/metrics", token=t, want=200)
    finally:
        h.stop()


@test
def auth_failures():
    h = seeded()
    try:
        read = h.token("ro", "read")
        bound = h.token("acme-portal", "write", "acme")
        st, p = h.call("GET", "/v1/accounts", want=401)
        eq(p["status"], 401, "problem status")
        h.call("GET", "/v1/accounts", token="opk_" + "0" * 64, want=401)
        h.call("GET", "/v1/accounts", token="garbage", want=401)
        h.call("POST", "/v1/accounts/acme/pause", {"reason": "x"}, token=read, want=403)
        h.call("PUT", "/v1/suppression/a@b.test", {"reason": "manual"}, token=read, want=403)
        h.call("GET", "/v1/accounts/beta", token=bound, want=403)
        h.call("POST", "/v1/accounts/beta/resume", {}, token=bound, want=403)
        h.call("GET", "/v1/suppression?account=beta", token=bound, want=403)
        h.call("PUT", "/v1/suppression/x@y.test", {"account": "beta"}, token=bound, want=403)
        h.call("GET", "/v1/status", token=bound, want=403)
        st, who = h.call("GET", "/v1/token", token=bound, want=200)
        eq(who, {"name": "acme-portal", "scope": "write", "account": "acme"}, "token")
        st, body = h.call("GET", "/v1/accounts", token=bound, want=200)
        eq([a["account"] for a in body["accounts"]], ["acme"], "a bound token sees its account")
        h.call("GET", "/v1/accounts/acme", token=bound, want=200)
        h.d.ctl("token", "revoke", "ro", check_rc=0)
        h.call("GET", "/v1/accounts", token=read, want=401)
        lst = h.d.ctl_json("token", "list")
        eq([t["name"] for t in lst], ["acme-portal"], "token list after revoke")
        eq(lst[0]["account"], "acme", "bound account listed")
        check(read not in open(os.path.join(h.d.dir, "db", "data.mdb"), "rb").read().decode("latin-1"),
              "the token itself is not in the store")
    finally:
        h.stop()


@test
def accounts_read_and_state_changes_as_outpostctl_sees_them():
    h = seeded()
    try:
        w = h.token("ops", "write")
        st, body = h.call("GET", "/v1/accounts", token=w, want=200)
        states = {a["account"]: a["state"] for a in body["accounts"]}
        eq(states, {"acme": "active", "beta": "paused"}, "states")
        beta = [a for a in body["accounts"] if a["account"] == "beta"][0]
        eq(beta["reason"], "bounce rate 12%", "reason")
        check("eligible" in beta["reputation"]["evidence"], beta["reputation"]["evidence"])
        st, body = h.call("GET", "/v1/accounts?state=paused", token=w, want=200)
        eq([a["account"] for a in body["accounts"]], ["beta"], "state filter")
        h.call("GET", "/v1/accounts?state=bogus", token=w, want=400)
        st, acct = h.call("GET", "/v1/accounts/beta", token=w, want=200)
        eq(acct["history"][-1]["to"], "paused", "history")
        h.call("GET", "/v1/accounts/nobody", token=w, want=404)
        st, p = h.call("GET", "/v1/accounts/bad%20name", token=w, want=400)
        eq(p.get("field"), "account", "the 400 names the field")
        st, p = h.call("POST", "/v1/accounts/acme/pause", {}, token=w, want=400)
        eq(p.get("field"), "reason", "reason required")
        st, p = h.call("POST", "/v1/accounts/acme/pause", {"reason": 5}, token=w, want=400)
        eq(p.get("field"), "reason", "wrong type")
        st, p = h.call("POST", "/v1/accounts/acme/pause", b"{not json", token=w, want=400,
                       headers={"Content-Type": "application/json"})
        eq(p.get("field"), "body", "malformed JSON")
        st, acct = h.call("POST", "/v1/accounts/acme/pause", {"reason": "api test"}, token=w, want=200)
        eq(acct["state"], "paused", "after pause")
        show = h.d.ctl_json("account", "show", "acme")[0]
        eq((show["state"], show["reason"], show["history"][-1]["by"]), ("paused", "api test", "api:ops"),
           "outpostctl sees the API's change")
        h.call("POST", "/v1/accounts/acme/pause", {"reason": "again"}, token=w, want=409)
        h.call("POST", "/v1/accounts/acme/review", {"reason": "looking"}, token=w, want=200)
        h.call("POST", "/v1/accounts/acme/resume", {}, token=w, want=200)
        eq(h.d.ctl_json("account", "show", "acme")[0]["state"], "active", "resumed")
        h.call("POST", "/v1/accounts/nobody/resume", {}, token=w, want=404)
        st, stats = h.call("GET", "/v1/accounts/acme/stats?from=2d&step=6h", token=w, want=200)
        check(8 <= len(stats["series"]) <= 10, len(stats["series"]))
        eq(stats["step_seconds"], 21600, "step")
        st, p = h.call("GET", "/v1/accounts/acme/stats?step=90m", token=w, want=400)
        eq(p.get("field"), "step", "bad step")
        h.call("GET", "/v1/accounts/acme/stats?from=yesterday", token=w, want=400)
        st, status = h.call("GET", "/v1/status", token=w, want=200)
        check("http" in [x["kind"] for x in status["workers"]], status["workers"])
    finally:
        h.stop()


@test
def suppression_put_get_delete_and_bad_input():
    h = seeded()
    try:
        w = h.token("ops", "write")
        st, e = h.call("PUT", "/v1/suppression/" + q("Jo@Example.TEST"),
                       {"account": "acme", "reason": "complaint", "expires": "30d", "note": "n"},
                       token=w, want=201)
        eq((e["address"], e["account"], e["reason"]), ("jo@example.test", "acme", "complaint"), "entry")
        h.call("PUT", "/v1/suppression/jo@example.test", {"account": "acme"}, token=w, want=200)
        h.call("PUT", "/v1/suppression/" + q("@spam.test"), {}, token=w, want=201)
        show = h.d.ctl_json("suppress", "show", "jo@example.test", "--account", "acme")
        eq(show[0]["reason"], "manual", "outpostctl sees the API's entry")
        st, got = h.call("GET", "/v1/suppression/jo@example.test", token=w, want=200)
        eq(len(got["entries"]), 1, "one scope")
        h.call("GET", "/v1/suppression/jo@example.test?account=beta", token=w, want=404)
        h.d.ctl("suppress", "add", "cli@example.test", check_rc=0)
        h.call("GET", "/v1/suppression/cli@example.test", token=w, want=200)
        st, p = h.call("PUT", "/v1/suppression/not-an-address", {}, token=w, want=400)
        eq(p.get("field"), "address", "invalid address")
        st, p = h.call("PUT", "/v1/suppression/a@b.test", {"reason": "because"}, token=w, want=400)
        eq(p.get("field"), "reason", "bad reason")
        st, p = h.call("PUT", "/v1/suppression/a@b.test", {"expires": "soon"}, token=w, want=400)
        eq(p.get("field"), "expires", "bad expiry")
        st, p = h.call("PUT", "/v1/suppression/a@b.test", {"account": ["x"]}, token=w, want=400)
        eq(p.get("field"), "account", "wrong type")
        st, p = h.call("PUT", "/v1/suppression/a@b.test", b"[1,2]", token=w, want=400,
                       headers={"Content-Type": "application/json"})
        h.call("DELETE", "/v1/suppression/jo@example.test?account=acme", token=w, want=204)
        h.call("DELETE", "/v1/suppression/jo@example.test?account=acme", token=w, want=404)
        h.d.ctl("suppress", "show", "jo@example.test", "--account", "acme", check_rc=1)
        big = b'{"reason": "' + b"x" * (10 << 20) + b'"}'
        st, p = h.call("PUT", "/v1/suppression/a@b.test", big, token=w, want=413,
                       headers={"Content-Type": "application/json"})
    finally:
        h.stop()


@test
def suppression_list_pages_neither_skip_nor_repeat_while_inserting():
    h = seeded()
    try:
        w = h.token("ops", "write")
        rows = "".join("user%04d@list.test,bounce,acme\n" % i for i in range(0, 1000, 2))
        st, res = h.call("POST", "/v1/suppression/import?format=csv", rows.encode(), token=w, want=200,
                         headers={"Content-Type": "text/csv"})
        eq(res["imported"], 500, "imported")
        seen, cursor, pages, added = [], None, 0, 0
        while pages < 100:
            path = "/v1/suppression?account=acme&limit=37" + ("&cursor=" + cursor if cursor else "")
            st, page = h.call("GET", path, token=w, want=200)
            seen += [e["address"] for e in page["entries"]]
            pages += 1
            # insert before and after the cursor while paging
            for i in (added * 2 + 1, 999 - added * 2):
                h.call("PUT", "/v1/suppression/user%04d@list.test" % i, {"account": "acme"}, token=w)
            added += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        eq(len(seen), len(set(seen)), "no entry repeated")
        original = {"user%04d@list.test" % i for i in range(0, 1000, 2)}
        eq(original - set(seen), set(), "no original entry skipped")
        eq(seen, sorted(seen), "key order")
        st, page = h.call("GET", "/v1/suppression?account=acme&reason=complaint", token=w, want=200)
        eq(page["entries"], [], "reason filter")
        st, page = h.call("GET", "/v1/suppression?since=1h&limit=5", token=w, want=200)
        eq(len(page["entries"]), 5, "since + limit over every scope")
        h.call("GET", "/v1/suppression?limit=0", token=w, want=400)
        st, p = h.call("GET", "/v1/suppression?cursor=zz", token=w, want=400)
        eq(p.get("field"), "cursor", "bad cursor")
    finally:
        h.stop()


@test
def import_jsonl_csv_bad_lines_bound_token_and_limits():
    h = seeded()
    try:
        w = h.token("ops", "write")
        bound = h.token("acme-portal", "write", "acme")
        body = b'{"address": "a@imp.test", "reason": "bounce"}\n{"address": 5}\nnot json\n' \
               b'{"address": "b@imp.test", "account": "beta"}'
        st, res = h.call("POST", "/v1/suppression/import?account=acme", body, token=w, want=200,
                         headers={"Content-Type": "application/x-ndjson"})
        eq((res["imported"], res["skipped"]), (2, 2), "jsonl result")
        eq([e["line"] for e in res["errors"]], [2, 3], "bad lines reported")
        h.d.ctl("suppress", "show", "a@imp.test", "--account", "acme", check_rc=0)
        h.d.ctl("suppress", "show", "b@imp.test", "--account", "beta", check_rc=0)
        st, res = h.call("POST", "/v1/suppression/import", b"address,reason,account\nc@imp.test,manual,\n"
                         b"d@imp.test,manual,beta\n", token=bound, want=200,
                         headers={"Content-Type": "text/csv"})
        eq((res["imported"], res["skipped"]), (1, 1), "bound token imports only its account")
        h.d.ctl("suppress", "show", "c@imp.test", "--account", "acme", check_rc=0)
        st, p = h.call("POST", "/v1/suppression/import?format=xml", b"", token=w, want=400)
        eq(p.get("field"), "format", "bad format")
        rows = b"".join(b"big%07d@imp.test,bounce\n" % i for i in range(420000))  # ~10.5 MB
        check(len(rows) > 10 << 20, len(rows))
        start = time.time()
        st, res = h.call("POST", "/v1/suppression/import?account=acme", rows, token=w, want=200)
        eq(res["imported"], 420000, "a 10 MB import is allowed")
        print("  import of 420,000 rows: %.1fs" % (time.time() - start))
    finally:
        h.stop()


@test
def rate_limit_answers_429():
    h = Http('rate_limit = "5/m";').start()
    try:
        t = h.token("ro", "read")
        codes = [h.call("GET", "/v1/accounts", token=t)[0] for _ in range(7)]
        eq(codes, [200] * 5 + [429] * 2, "codes")
        h.call("GET", "/healthz", want=200)
    finally:
        h.stop()


@test
def sigterm_exit_zero_restart_and_reload():
    h = seeded()
    try:
        t = h.token("ro", "read")

        def http_pid():
            return [w["pid"] for w in h.d.status()["workers"] if w["kind"] == "http"]
        pid = wait_for(http_pid, 10, "the http process")[0]
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: http_pid() and http_pid()[0] not in (0, pid), 10, "a new http process")
        wait_for(lambda: h.ready(), 10, "http back")
        h.call("GET", "/v1/accounts", token=t, want=200)
        # reload with a rate limit: the new http process has it
        text = open(h.d.conf).read().split("\n")
        text = [l for l in text if not l.startswith("http =")]
        text.append('http = { listen = "inet:127.0.0.1:%d"; web_root = "%s"; rate_limit = "1/m"; };'
                    % (h.port, os.path.join(SRCDIR, "web")))
        open(h.d.conf, "w").write("\n".join(text) + "\n")
        h.d.ctl("reload", check_rc=0)

        def limited():
            try:
                codes = [h.call("GET", "/v1/accounts", token=t)[0] for _ in range(2)]
            except OSError:  # the old http process closed the connection as it exited
                return False
            return 429 in codes
        wait_for(limited, 10, "the reloaded rate limit")
        eq(h.d.stop(), 0, "outpostd exit status")
        tail = h.d.logtext().split("stopping")[-1]
        check("http" not in tail or ("exited with" not in tail and "killed" not in tail), tail)
    finally:
        h.stop()


RULES = os.path.join(SRCDIR, "etc", "outpost-bounce.rules")


@test
def events_read_from_the_event_log():
    h = Http(sections='feedback = { rules = "%s"; event_log = "events.jsonl"; };' % RULES)
    d = h.d
    try:
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "add", "beta", check_rc=0)
        d.ctl("account", "pause", "beta", "--reason", "bounce rate 12%", check_rc=0)
        d.ctl("event", "bounce", "--account", "acme", "--recipient", "gone@x.test", "--dsn", "5.1.1",
              "--reason", "550 5.1.1 user unknown", check_rc=0)
        d.ctl("event", "complaint", "--account", "beta", "--recipient", "angry@x.test", check_rc=0)
        # a refusal as the policy workers write it (the same schema, one line)
        with open(os.path.join(d.dir, "events.jsonl"), "a") as f:
            f.write(json.dumps({"ts": time.strftime("%Y-%m-%dT%H:%M:%S.999Z", time.gmtime()),
                                "type": "refusal", "account": "acme", "recipient": "x@spam.test",
                                "queue_id": None, "node": "mx1", "reason": "suppressed"},
                               separators=(",", ":")) + "\n")
        h.start()
        w = h.token("ops", "write")
        bound = h.token("acme-portal", "read", "acme")
        st, body = h.call("GET", "/v1/events", token=w, want=200)
        eq((body["enabled"], body["truncated"]), (True, False), "flags")
        evs = body["events"]
        eq([(e["type"], e["account"]) for e in evs],
           [("state", "beta"), ("bounce", "acme"), ("suppress", "acme"), ("complaint", "beta"),
            ("suppress", "beta"), ("refusal", "acme")], "every event, oldest first")
        eq((evs[0]["from"], evs[0]["to"], evs[0]["reason"]), ("active", "paused", "bounce rate 12%"),
           "the state event")
        eq((evs[1]["recipient"], evs[1]["dsn"]), ("gone@x.test", "5.1.1"), "the bounce event")
        with open(os.path.join(d.dir, "events.jsonl")) as f:
            eq(evs, [json.loads(line) for line in f], "the lines of the log, in its order")
        st, body = h.call("GET", "/v1/events?account=acme", token=w, want=200)
        eq([e["type"] for e in body["events"]], ["bounce", "suppress", "refusal"], "account filter")
        st, body = h.call("GET", "/v1/events?type=bounce,complaint", token=w, want=200)
        eq([e["type"] for e in body["events"]], ["bounce", "complaint"], "type filter")
        st, body = h.call("GET", "/v1/events?limit=2", token=w, want=200)
        eq([e["type"] for e in body["events"]], ["suppress", "refusal"], "the newest two")
        st, body = h.call("GET", "/v1/events?since=1h", token=w, want=200)
        eq(len(body["events"]), 6, "since a duration")
        future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        st, body = h.call("GET", "/v1/events?since=" + future, token=w, want=200)
        eq(body["events"], [], "since an RFC 3339 time")
        # an account-bound token sees its own account's events only
        st, body = h.call("GET", "/v1/events", token=bound, want=200)
        eq({e["account"] for e in body["events"]}, {"acme"}, "bound token")
        eq(len(body["events"]), 3, "bound token: every acme event")
        h.call("GET", "/v1/events?account=beta", token=bound, want=403)
        # the API's own state change is an event too
        h.call("POST", "/v1/accounts/acme/pause", {"reason": "api pause"}, token=w, want=200)
        st, body = h.call("GET", "/v1/events?account=acme&type=state", token=w, want=200)
        eq([(e["to"], e["reason"]) for e in body["events"]], [("paused", "api pause")], "API event")
        for bad, field in (("type=bogus", "type"), ("limit=0", "limit"), ("limit=1001", "limit"),
                           ("since=yesterday", "since"), ("account=bad%20name", "account")):
            st, p = h.call("GET", "/v1/events?" + bad, token=w, want=400)
            eq(p.get("field"), field, bad)
        h.call("GET", "/v1/events", want=401)
    finally:
        h.stop()


@test
def events_without_an_event_log_and_an_unreadable_one():
    h = Http().start()
    try:
        t = h.token("ro", "read")
        st, body = h.call("GET", "/v1/events?account=acme", token=t, want=200)
        eq(body, {"events": [], "enabled": False, "truncated": False}, "no event log configured")
    finally:
        h.stop()
    h = Http(sections='feedback = { event_log = "evdir"; };')
    try:
        os.mkdir(os.path.join(h.d.dir, "evdir"))
        h.start()
        t = h.token("ro", "read")
        h.call("GET", "/v1/events", token=t, want=503)
    finally:
        h.stop()


# ---- /metrics: the exposition format, decisions by rule, latency ------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')


def parse_exposition(text):
    """Prometheus text format 0.0.4, line by line: {(name, labels): value}; raises on a bad line."""
    types, helps, samples = {}, set(), {}
    check(text.endswith("\n"), "the exposition ends with a newline")
    for n, line in enumerate(text.splitlines(), 1):
        where = "line %d %r" % (n, line)
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            check(len(parts) == 4 and parts[3], where)
            name = parts[2]
            if parts[1] == "HELP":
                check(name not in helps, "second HELP: " + where)
                helps.add(name)
            else:
                check(name not in types, "second TYPE: " + where)
                check(parts[3] in ("counter", "gauge", "histogram", "summary", "untyped"), where)
                check(not any(k[0] == name for k in samples), "TYPE after samples: " + where)
                types[name] = parts[3]
            continue
        check(not line.startswith("#") and line.strip(), "stray line: " + where)
        m = SAMPLE.match(line)
        check(m, "not a sample: " + where)
        name, labels = m.group(1), ()
        check(name.startswith("outpost_"), "outside the outpost_ namespace: " + where)
        if m.group(3):
            got = LABEL.findall(m.group(3))
            check("".join('%s="%s"%s' % g for g in got) == m.group(3), "labels: " + where)
            labels = tuple(sorted((k, v) for k, v, _ in got))
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
                family = name[:-len(suffix)]
        check(family in types and family in helps, "sample without HELP/TYPE: " + where)
        check(types[family] != "counter" or name.endswith("_total"), "counter name: " + where)
        value = float(m.group(4))
        check(types[family] not in ("counter", "histogram") or value >= 0, where)
        check((name, labels) not in samples, "duplicate series: " + where)
        samples[(name, labels)] = value
    return types, samples


def series(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def check_histogram(samples, name, door, want_count):
    buckets = sorted((float(dict(k[1])["le"]), v) for k, v in samples.items()
                     if k[0] == name + "_bucket" and dict(k[1])["door"] == door)
    check(len(buckets) >= 10 and buckets[-1][0] == float("inf"), "buckets up to +Inf")
    les = [dict(k[1])["le"] for k in samples if k[0] == name + "_bucket"]
    check(all(re.fullmatch(r"\+Inf|[0-9]+(\.[0-9]+)?", le) for le in les), "plain le: %r" % les)
    check(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), "cumulative buckets")
    eq(buckets[-1][1], want_count, "%s le=+Inf" % door)
    eq(series(samples, name + "_count", door=door), want_count, "%s _count" % door)
    check((series(samples, name + "_sum", door=door) > 0) == (want_count > 0), "%s _sum" % door)


@test
def metrics_count_decisions_by_rule_and_latency():
    h = Http(sections='accounts = { unmatched = "tempfail"; auto_create = false; '
                      'unknown = "reject"; };').start()
    d = h.d
    try:
        d.ctl("account", "add", "acme", check_rc=0)
        d.ctl("account", "add", "beta", check_rc=0)
        d.ctl("account", "pause", "beta", "--reason", "test", check_rc=0)
        d.ctl("suppress", "add", "gone@dest.test", "--reason", "bounce", check_rc=0)
        c = d.conn()
        asks = [({"sasl_username": "acme"}, "none", "dunno", "DUNNO")] * 3 + \
            [({"sasl_username": "acme", "recipient": "gone@dest.test"}, "suppressed", "5xx", "550 ")] * 2 + \
            [({"sasl_username": "beta"}, "paused", "4xx", "450 "),
             ({"sender": "x@nowhere.test"}, "unmatched", "4xx", "450 "),
             ({"sasl_username": "stranger"}, "unknown_account", "5xx", "554 ")]
        want = {}
        for attrs, rule, reply, prefix in asks:
            r = c.ask(**attrs)
            check(r.startswith(prefix), "%s: %r" % (rule, r))
            want[(rule, reply)] = want.get((rule, reply), 0) + 1
        c.close()
        st, text = h.call("GET", "/metrics", want=200)
        types, samples = parse_exposition(text)
        eq(types["outpost_decisions_total"], "counter", "decisions TYPE")
        eq(types["outpost_request_duration_seconds"], "histogram", "latency TYPE")
        got = {(dict(k[1])["rule"], dict(k[1])["reply"]): v for k, v in samples.items()
               if k[0] == "outpost_decisions_total" and dict(k[1])["door"] == "policy" and v}
        eq(got, want, "policy decisions by rule and reply")
        check(not any(v for k, v in samples.items() if k[0] == "outpost_decisions_total"
                      and dict(k[1])["door"] == "milter"), "no milter decisions")
        check_histogram(samples, "outpost_request_duration_seconds", "policy", len(asks))
        check_histogram(samples, "outpost_request_duration_seconds", "milter", 0)
        for name in ("outpost_dns_queries_total", "outpost_dns_cache_hits_total",
                     "outpost_dns_failures_total"):
            check((name, ()) in samples, name)
        eq(series(samples, "outpost_requests_total", process="policy"), len(asks), "requests")
        # outpostctl status carries the same live view.
        live = d.status()["live"]
        eq({(rule, reply): n for rule, cl in live["policy"]["decisions"].items()
            for reply, n in cl.items()}, want, "status --json decisions")
        eq(live["policy"]["latency"]["count"], len(asks), "status latency count")
        check(live["policy"]["latency"]["p50_ms"] > 0, "p50")
        check(live["policy"]["latency"]["p99_ms"] >= live["policy"]["latency"]["p50_ms"], "p99")
        eq(live["milter"]["latency"]["p50_ms"], None, "no milter requests: no p50")
        eq(live["feedback_lag_bytes"], None, "no log followed")
        out = d.ctl("status", check_rc=0).stdout
        check("policy suppressed 5xx: 2" in out and "policy unknown_account 5xx: 1" in out, out)
        check(re.search(r"^policy\s+8\s+\d+\.\d+\s+\d+\.\d+$", out, re.M), out)
    finally:
        h.stop()


@test
def status_watch_is_bounded():
    h = Http().start()
    try:
        r = h.d.ctl("status", "--watch", check_rc=None)
        check(r.returncode != 0 and "--count" in r.stderr, "no terminal, no --count: refused")
        r = h.d.ctl("status", "--watch=1", "--count=2", "--json", check_rc=0)
        lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        eq(len(lines), 2, "two refreshes")
        check(all("live" in o for o in lines), "live view in each")
        r = h.d.ctl("status", "--watch=0", check_rc=None)
        check(r.returncode != 0, "--watch=0 refused")
    finally:
        h.stop()


@test
def every_documented_path_was_called():
    eq(API.uncalled(), [], "paths of openapi.yaml no test called")


if __name__ == "__main__":
    sys.exit(run_tests())
