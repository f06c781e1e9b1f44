#!/usr/bin/python3
"""Black-box tests of the DNS checks: blocklists and bounce prevention.

The real outpostd and outpostctl against a real DNS server: NSD, started on
a free loopback port with the zones of tests/dns/ (tests/lib/dns_fixture.py),
and a loopback socket that never answers for the dead-server cases.  Every
config pins dns.servers to one of those; only .test names are asked.
"""
import json
import os
import re
import shutil
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from outpost_test import (Daemon, PolicyConn, TestFailure, check, eq, run_tests, test,  # noqa: E402
                          wait_for)
import dns_fixture  # noqa: E402

NSD = None  # one server for the whole file (started in main)

LISTS = """
dnsbl = (
  { name = "zen"; zone = "bl.test"; query = "client"; action = "%(zen_action)s";
    codes = [ "127.0.0.2-127.0.0.3=SBL", "127.0.0.4-7=XBL", "127.0.0.9=DROP" ]; },
  { name = "zen-pbl"; zone = "bl.test"; query = "client"; action = "reject";
    codes = [ "127.0.0.10-11=PBL" ]; skip_authenticated = true; },
  { name = "dbl"; zone = "dbl.test"; query = "sender_domain"; action = "reject";
    codes = [ "127.0.1.2=spam domain", "127.0.1.4=phish domain" ]; },
  { name = "uribl"; zone = "uribl.test"; query = "sender_domain"; action = "log";
    bitmask = [ "2=black", "4=grey", "8=red" ]; }
);
"""


def dns_conf(servers=None, timeout="2s", fail="open", zen_action="tempfail", lists=True, extra=""):
    servers = servers or NSD.server
    text = 'dns = { servers = [ "%s" ]; timeout = "%s"; fail = "%s"; %s };\n' % (
        servers, timeout, fail, extra)
    if lists:
        text += LISTS % {"zen_action": zen_action}
    return text


def daemon(conf_extra, workers=1):
    return Daemon(conf_extra, workers=workers).start()


def mapped(d):
    """An account whose mail is identified by its sender domain, not a SASL login."""
    d.ctl("account", "add", "acme", check_rc=0)
    d.ctl("account", "map", "acme", "domain:app.test", check_rc=0)


@test
def listed_client_refused_per_list_action_naming_the_list():
    d = daemon(dns_conf())
    try:
        r = d.ask(sasl_username="acme", client_address="192.0.2.2", recipient="a@good.mx.test")
        eq(r, "450 4.7.1 Client address 192.0.2.2 is listed on zen (SBL)", "tempfail list")
        r = d.ask(sasl_username="acme", client_address="192.0.2.24", recipient="a@good.mx.test")
        check(r.startswith("450 4.7.1 ") and "SBL, XBL" in r, r)
        eq(d.ask(sasl_username="acme", client_address="192.0.2.1", recipient="a@good.mx.test"),
           "DUNNO", "unlisted client")
        # IPv6: the nibble query.
        r = d.ask(sasl_username="acme", client_address="2001:db8::2", recipient="a@good.mx.test")
        eq(r, "450 4.7.1 Client address 2001:db8::2 is listed on zen (SBL)", "IPv6 client")
        # The refusal is logged once with the rule.
        wait_for(lambda: "rule=dnsbl" in d.logtext(), 5, "decision log line")
    finally:
        d.cleanup()
    d = daemon(dns_conf(zen_action="reject"))
    try:
        r = d.ask(sasl_username="acme", client_address="192.0.2.4", recipient="a@good.mx.test")
        eq(r, "554 5.7.1 Client address 192.0.2.4 is listed on zen (XBL)", "reject list")
    finally:
        d.cleanup()


@test
def pbl_skipped_for_authenticated_submitters_only():
    d = daemon(dns_conf())
    try:
        mapped(d)
        # Authenticated: zen-pbl has skip_authenticated, zen has no PBL code.
        eq(d.ask(sasl_username="acme", client_address="192.0.2.10", recipient="a@good.mx.test"),
           "DUNNO", "authenticated on a PBL address")
        # Not authenticated (identified by sender domain): PBL applies.
        r = d.ask(sender="news@app.test", client_address="192.0.2.11", recipient="a@good.mx.test")
        eq(r, "554 5.7.1 Client address 192.0.2.11 is listed on zen-pbl (PBL)", "unauthenticated")
    finally:
        d.cleanup()


@test
def sender_domain_lists_and_bitmask_log_action():
    d = daemon(dns_conf())
    try:
        r = d.ask(sasl_username="acme", sender="x@spammy.test", client_address="192.0.2.1",
                  recipient="a@good.mx.test")
        eq(r, "554 5.7.1 Sender domain spammy.test is listed on dbl (spam domain)", "dbl")
        # uribl (bitmask, action log): passes, and the listing is logged.
        r = d.ask(sasl_username="acme", sender="x@multi.test", client_address="192.0.2.1",
                  recipient="a@good.mx.test")
        eq(r, "DUNNO", "log-only list")
        wait_for(lambda: "multi.test is listed on uribl (black, grey, red) action=log"
                 in d.logtext(), 5, "log-only listing in the log")
    finally:
        d.cleanup()


@test
def error_answers_fail_open_with_a_warning():
    d = daemon(dns_conf())
    try:
        for ip, why in (("192.0.2.254", "public or open resolver"),
                        ("192.0.2.252", "typing error"),
                        ("192.0.2.255", "excessive number of queries"),
                        ("192.0.2.66", "outside 127.0.0.0/8")):
            r = d.ask(sasl_username="acme", client_address=ip, recipient="a@good.mx.test")
            eq(r, "DUNNO", "error answer for %s" % ip)
            wait_for(lambda: why in d.logtext(), 5, "warning '%s'" % why)
        # DBL's 127.0.1.255 and URIBL's 127.0.0.1 are errors too, never listings.
        eq(d.ask(sasl_username="acme", sender="x@iperror.test", client_address="192.0.2.1",
                 recipient="a@good.mx.test"), "DUNNO", "127.0.1.255")
        eq(d.ask(sasl_username="acme", sender="x@blocked.test", client_address="192.0.2.1",
                 recipient="a@good.mx.test"), "DUNNO", "bitmask 127.0.0.1")
        log = d.logtext()
        check("answers 127.0.1.255" in log and "answers 127.0.0.1" in log, log[-2000:])
        check("rule=dnsbl" not in log, "an error answer was taken for a listing")
    finally:
        d.cleanup()
    # dns.fail = closed: the same answer tempfails, saying why.
    d = daemon(dns_conf(fail="closed"))
    try:
        r = d.ask(sasl_username="acme", client_address="192.0.2.254", recipient="a@good.mx.test")
        eq(r, "451 4.4.3 Blocklist zen could not be checked, try again later", "fail closed")
    finally:
        d.cleanup()


@test
def refused_zone_is_a_failed_lookup_not_a_listing():
    conf = dns_conf(lists=False) + """
dnsbl = ( { name = "dq"; zone = "key.zen.refused.test"; action = "reject"; } );
"""
    d = daemon(conf)
    try:
        eq(d.ask(sasl_username="acme", client_address="192.0.2.2", recipient="a@good.mx.test"),
           "DUNNO", "REFUSED zone, fail open")
        wait_for(lambda: "SERVFAIL or REFUSED" in d.logtext(), 5, "warning for REFUSED")
    finally:
        d.cleanup()


@test
def recipient_domains_that_cannot_receive_mail_are_refused():
    d = daemon(dns_conf(lists=False))
    try:
        want = {
            "u@nullmx.mx.test": "556 5.1.10 <u@nullmx.mx.test>: recipient domain nullmx.mx.test "
                                "does not accept mail (null MX); not sent",
            "u@nx.mx.test": "550 5.1.2 <u@nx.mx.test>: recipient domain nx.mx.test does not "
                            "exist; not sent",
            "u@nothing.mx.test": "550 5.1.2 <u@nothing.mx.test>: recipient domain "
                                 "nothing.mx.test has no MX and no address; not sent",
            "u@badmx.mx.test": "550 5.4.4 <u@badmx.mx.test>: no mail exchanger of recipient "
                               "domain badmx.mx.test has an address; not sent",
        }
        for rcpt, reply in want.items():
            eq(d.ask(sasl_username="acme", recipient=rcpt), reply, rcpt)
        # Deliverable: MX (unsorted), A only, AAAA only, one good MX of two,
        # and every transient failure (REFUSED MX host, REFUSED domain).
        for rcpt in ("u@good.mx.test", "u@aonly.mx.test", "u@aaaaonly.mx.test",
                     "u@halfmx.mx.test", "u@refusedmx.mx.test", "u@x.refused.test",
                     "u@[192.0.2.1]"):
            eq(d.ask(sasl_username="acme", recipient=rcpt), "DUNNO", rcpt)
        # Mail of no account (inbound) is not checked.
        eq(d.ask(recipient="u@nx.mx.test"), "DUNNO", "unmatched mail")
    finally:
        d.cleanup()
    d = daemon(dns_conf(lists=False, extra="bounce_prevention = false;"))
    try:
        eq(d.ask(sasl_username="acme", recipient="u@nx.mx.test"), "DUNNO", "bounce prevention off")
    finally:
        d.cleanup()


@test
def cached_answers_make_no_query_at_the_server():
    d = daemon(dns_conf())
    try:
        attrs = dict(sasl_username="acme", client_address="192.0.2.2", sender="x@spammy.test",
                     recipient="u@nullmx.mx.test")
        before = NSD.queries()
        first = d.ask(**attrs)
        mid = NSD.queries()
        check(mid - before >= 3, "first request: %d queries (want zen, zen-pbl, dbl, uribl, MX)"
              % (mid - before))
        eq(d.ask(**attrs), first, "same answer from the cache")
        eq(NSD.queries() - mid, 0, "queries for the second identical request")
        # Negative answers are cached as well (dns.negative_ttl).
        d.ask(sasl_username="acme", client_address="192.0.2.1", recipient="u@nx.mx.test")
        mid = NSD.queries()
        d.ask(sasl_username="acme", client_address="192.0.2.1", recipient="u@nx.mx.test")
        eq(NSD.queries() - mid, 0, "queries for a repeated NXDOMAIN / not-listed request")
        # The answer's own TTL is honoured: 1 s for 192.0.2.31 (zen and zen-pbl ask it).
        attrs = dict(sasl_username="acme", client_address="192.0.2.31", recipient="u@good.mx.test")
        r = d.ask(**attrs)
        check(r.startswith("450 4.7.1 "), r)
        mid = NSD.queries()
        eq(d.ask(**attrs), r, "within the TTL")
        eq(NSD.queries() - mid, 0, "queries within the record's TTL")
        time.sleep(2.1)
        eq(d.ask(**attrs), r, "after the TTL")
        check(NSD.queries() - mid >= 1, "the expired answer was not asked again")
        # The recipient domain's verdict is one cache entry, kept no longer than the
        # shortest-lived answer it was drawn from (mx.shortttl's A: 1 s).
        attrs = dict(sasl_username="acme", client_address="192.0.2.1",
                     recipient="u@shortttl.mx.test")
        eq(d.ask(**attrs), "DUNNO", "deliverable domain")
        mid = NSD.queries()
        eq(d.ask(**dict(attrs, recipient="v@shortttl.mx.test")), "DUNNO", "cached verdict")
        eq(NSD.queries() - mid, 0, "queries for a second recipient at the domain")
        time.sleep(2.1)
        eq(d.ask(**attrs), "DUNNO", "after the host address's TTL")
        check(NSD.queries() - mid >= 1, "the domain's verdict outlived its MX host's address")
    finally:
        d.cleanup()
    # max_ttl = 0: nothing positive is kept; every request asks again.
    d = daemon(dns_conf(extra='max_ttl = 0; negative_ttl = 0;'))
    try:
        attrs = dict(sasl_username="acme", client_address="192.0.2.2", recipient="u@good.mx.test")
        d.ask(**attrs)
        mid = NSD.queries()
        d.ask(**attrs)
        check(NSD.queries() - mid >= 2, "no cache: the second request must ask again")
    finally:
        d.cleanup()


@test
def status_counts_dns_queries_cache_hits_and_dns_rules():
    d = daemon(dns_conf())
    try:
        dns = lambda: d.status()["live"]["dns"]  # noqa: E731
        attrs = dict(sasl_username="acme", client_address="192.0.2.2", recipient="a@good.mx.test")
        eq(dns()["queries"], 0, "no query before the first request")
        before = NSD.queries()
        check(d.ask(**attrs).startswith("450 4.7.1 "), "listed on zen")
        asked = NSD.queries() - before
        got = dns()
        eq(got["queries"], asked, "queries counted = queries the server saw")
        eq(got["cache_hits"], 0, "nothing from the cache yet")
        d.ask(**attrs)
        got = dns()
        eq(got["queries"], asked, "the repeated request asked no server")
        check(got["cache_hits"] >= 1, "cache hits for the repeated request: %r" % got)
        check(0 < got["cache_hit_ratio"] < 1, "hit ratio %r" % got)
        r = d.ask(sasl_username="acme", client_address="192.0.2.1", recipient="u@nx.mx.test")
        check(r.startswith("550 5.1.2 "), r)
        dec = d.status()["live"]["policy"]["decisions"]
        eq(dec, {"dnsbl": {"4xx": 2}, "recipient_domain": {"5xx": 1}}, "decisions by DNS rule")
    finally:
        d.cleanup()


def conns_on_two_workers(d, limit=24):
    """Two open connections that two different policy workers serve (and their pids).

    A connection is told apart by which worker's open_connections grows when it
    opens; the kernel picks the worker, so keep opening (at most LIMIT)."""
    by_worker = {}
    opened = []
    try:
        for _ in range(limit):  # bounded
            before = {w["pid"]: w["open_connections"] for w in d.status()["workers"]
                      if w["kind"] == "policy"}
            c = d.conn()
            opened.append(c)
            eq(c.ask(protocol_state="END-OF-MESSAGE", queue_id="PROBE"), "DUNNO", "probe")
            after = {w["pid"]: w["open_connections"] for w in d.status()["workers"]
                     if w["kind"] == "policy"}
            grown = [p for p in after if after[p] > before.get(p, 0)]
            if len(grown) == 1 and grown[0] not in by_worker:
                by_worker[grown[0]] = c
            if len(by_worker) == 2:
                break
        check(len(by_worker) == 2, "no two connections on two workers in %d tries" % limit)
        return list(by_worker.items())
    finally:
        for c in opened:
            if c not in by_worker.values():
                c.close()


@test
def cache_is_shared_by_all_workers_and_the_milter():
    port = dns_fixture.free_udp_tcp_port()
    d = daemon(dns_conf() + 'milter = { listen = "inet:%d@127.0.0.1"; feedback_id = ""; };\n'
               % port, workers=2)
    try:
        (pid_a, a), (pid_b, b) = conns_on_two_workers(d)
        rcpts = lambda pid: [w["rcpt_requests"] for w in d.status()["workers"]  # noqa: E731
                             if w["pid"] == pid][0]
        attrs = dict(sasl_username="acme", client_address="192.0.2.2", sender="x@spammy.test",
                     recipient="u@good.mx.test")
        before = NSD.queries()
        first = a.ask(**attrs)
        mid = NSD.queries()
        check(mid - before >= 4, "worker %d: %d queries (want the lists, MX, A, AAAA)"
              % (pid_a, mid - before))
        served = rcpts(pid_b)
        eq(b.ask(**attrs), first, "the same answer from the other worker")
        eq(rcpts(pid_b), served + 1, "the second request was served by worker %d" % pid_b)
        eq(NSD.queries() - mid, 0, "queries by worker %d for what worker %d asked"
           % (pid_b, pid_a))
        # The milter (a process of its own) is answered from the same cache.
        wait_for(lambda: _can_connect(port), 10, "the milter to listen")
        m = MilterClient(port)
        m.step(b"C", b"client.test\0" + b"4" + struct.pack(">H", 4000) + b"192.0.2.2\0")
        eq(m.step(b"M", b"<x@spammy.test>\0", {"{auth_authen}": "acme"}),
           "450 4.7.1 Client address 192.0.2.2 is listed on zen (SBL)", "milter, listed client")
        m.close()
        eq(NSD.queries() - mid, 0, "queries by the milter for what a worker asked")
        # A worker killed and restarted by the master finds the cache warm.
        os.kill(pid_a, 9)
        a.close()
        wait_for(lambda: pid_a not in d.worker_pids() and all(d.worker_pids()), 10,
                 "the killed worker to be replaced")
        for _ in range(4):  # whichever worker takes them: no query
            c = d.conn()
            eq(c.ask(**attrs), first, "after a worker restart")
            c.close()
        eq(NSD.queries() - mid, 0, "queries after a worker restart")
        b.close()
    finally:
        d.cleanup()


@test
def dead_server_answers_within_deadline_and_others_keep_being_served():
    dead = dns_fixture.DeadServer()
    d = daemon(dns_conf(servers=dead.server, timeout="1500ms"), workers=1)
    try:
        slow = d.conn()
        fast = d.conn()
        start = time.time()
        slow.send_raw(PolicyConn.encode(dict(sasl_username="acme", client_address="192.0.2.2",
                                             recipient="u@nullmx.mx.test")))
        # Meanwhile the same (only) worker answers other connections at once.
        wait_for(lambda: dead.received > 0, 5, "the query to reach the dead server")
        worst = 0.0
        for i in range(10):
            t = time.time()
            eq(fast.ask(protocol_state="END-OF-MESSAGE", sasl_username="acme",
                        queue_id="Q%d" % i), "DUNNO", "other connection")
            worst = max(worst, time.time() - t)
            check(worst < 0.5, "other connection waited %.2fs" % worst)
        check(time.time() - start < 1.4, "the other requests were not served during the wait")
        reply = slow.read_reply()
        took = time.time() - start
        eq(reply, "DUNNO", "dead DNS: fail open, never refused")
        check(1.3 <= took <= 2.5, "answer after %.2fs, want about dns.timeout (1.5s)" % took)
        print("  dead server: answered after %.2fs (dns.timeout 1.5s); meanwhile 10 requests on "
              "another connection, slowest %.1f ms" % (took, worst * 1000))
        # The connection is still usable, and pipelined requests are answered in order.
        slow.send_raw(PolicyConn.encode(dict(protocol_state="END-OF-MESSAGE", queue_id="A")) +
                      PolicyConn.encode(dict(protocol_state="END-OF-MESSAGE", queue_id="B")))
        eq(slow.read_reply(), "DUNNO", "first pipelined")
        eq(slow.read_reply(), "DUNNO", "second pipelined")
        # Logged as failed: by the deadline, or by c-ares's own retries ending at the same time.
        wait_for(lambda: re.search(r"zen \(bl\.test\): lookup of 192\.0\.2\.2 failed: (no answer within "
                                   r"dns\.timeout|DNS server did not answer)", d.logtext()),
                 5, "deadline warning")
        slow.close()
        fast.close()
    finally:
        d.cleanup()
        dead.cleanup()


@test
def config_errors_name_file_and_line():
    d = Daemon(dns_conf(lists=False) + 'dnsbl = ( { zone = "bl.test"; codes = [ "127.0.0.x=bad" ]; } );\n')
    try:
        r = d.ctl("dnsbl", "check", "192.0.2.2")
        eq(r.returncode, 4, "bad config exit")
        check(re.search(r"outpost\.conf:\d+: dnsbl: codes: '127\.0\.0\.x=bad'", r.stderr), r.stderr)
        d.write_conf(dns_conf(lists=False) + 'dnsbl = ( { zone = "bl.test"; colour = "red"; } );\n')
        r = d.ctl("dnsbl", "check", "192.0.2.2")
        check(r.returncode == 4 and "unknown setting 'colour'" in r.stderr, r.stderr)
    finally:
        d.cleanup()


@test
def ctl_dnsbl_check_reports_each_list():
    d = Daemon(dns_conf())
    try:
        r = d.ctl("dnsbl", "check", "192.0.2.24")
        eq(r.returncode, 1, "listed exit code")
        check(re.search(r"^zen +LISTED +SBL, XBL -> tempfail$", r.stdout, re.M), r.stdout)
        check(re.search(r"^zen-pbl +LISTED +PBL -> reject$", r.stdout, re.M), r.stdout)
        check(re.search(r"^dbl +not asked", r.stdout, re.M), r.stdout)
        r = d.ctl("dnsbl", "check", "192.0.2.1")
        eq(r.returncode, 0, "not listed exit code")
        r = d.ctl("dnsbl", "check", "192.0.2.254")
        eq(r.returncode, 3, "failed exit code")
        check("answers 127.255.255.254: you are querying through a public or open resolver"
              in r.stdout, r.stdout)
        rows = [json.loads(l) for l in d.ctl("dnsbl", "check", "spammy.test", "--json")
                .stdout.splitlines()]
        eq([(x["list"], x["result"]) for x in rows],
           [("zen", "skipped"), ("zen-pbl", "skipped"), ("dbl", "listed"),
            ("uribl", "not_listed")], "JSON results")
        eq(rows[2]["detail"], "spam domain", "JSON detail")
        eq(d.ctl("dnsbl", "check", "not a domain").returncode, 4, "bad input")
    finally:
        d.cleanup()
    dead = dns_fixture.DeadServer()
    d = Daemon(dns_conf(servers=dead.server, timeout="500ms"))
    try:
        t = time.time()
        r = d.ctl("dnsbl", "check", "192.0.2.2")
        took = time.time() - t
        eq(r.returncode, 3, "dead server exit code")
        check(re.search(r"^zen +lookup failed +(DNS server did not answer|no answer within "
                        r"dns.timeout)$", r.stdout, re.M), r.stdout)
        check(took < 2.0, "outpostctl took %.2fs with dns.timeout 500ms" % took)
    finally:
        d.cleanup()
        dead.cleanup()


@test
def explain_runs_the_dns_checks_too():
    d = Daemon(dns_conf(zen_action="reject"))
    try:
        r = d.ctl("explain", "acme", "u@nullmx.mx.test")
        eq(r.returncode, 1, "explain exit for a null-MX recipient")
        check(re.search(r"rule: +recipient_domain", r.stdout), r.stdout)
        check("556 5.1.10 <u@nullmx.mx.test>" in r.stdout, r.stdout)
        r = d.ctl("explain", "acme", "u@good.mx.test", "--client", "192.0.2.2", "--json")
        eq(r.returncode, 1, "explain exit for a listed client")
        o = json.loads(r.stdout)
        eq((o["rule"], o["reply"]), ("dnsbl", "554 5.7.1 Client address 192.0.2.2 is listed on "
                                             "zen (SBL)"), "listed client")
        eq(d.ctl("explain", "acme", "u@good.mx.test", "--client", "192.0.2.1").returncode, 0,
           "deliverable, unlisted")
        eq(d.ctl("explain", "acme", "u@nx.mx.test", "--no-dns").returncode, 0,
           "--no-dns: no DNS step")
    finally:
        d.cleanup()
    # A dead server: the same deadline, and a failure never refuses (dns.fail = open).
    dead = dns_fixture.DeadServer()
    d = Daemon(dns_conf(servers=dead.server, timeout="1s"))
    try:
        start = time.time()
        r = d.ctl("explain", "acme", "u@nullmx.mx.test", "--client", "192.0.2.2")
        took = time.time() - start
        eq(r.returncode, 0, "dead DNS: accepted")
        check(took < 3.0, "explain took %.1fs with dns.timeout = 1s" % took)
    finally:
        d.cleanup()
        dead.cleanup()


@test
def status_shows_broken_lists_with_the_reason():
    d = daemon(dns_conf())
    try:
        st = {l["name"]: l for l in d.status()["dnsbl"]}
        eq(sorted(st), ["dbl", "uribl", "zen", "zen-pbl"], "lists in status")
        eq(st["zen"]["state"], "unknown", "before any lookup")
        eq(d.ask(sasl_username="acme", client_address="192.0.2.254", recipient="a@good.mx.test"),
           "DUNNO", "error answer")
        st = {l["name"]: l for l in d.status()["dnsbl"]}
        eq(st["zen"]["state"], "broken", "zen after an error answer")
        eq(st["zen"]["last_error"],
           "answers 127.255.255.254: you are querying through a public or open resolver",
           "reason")
        check(re.match(r"\d{4}-\d\d-\d\dT", st["zen"]["failing_since"]), st["zen"])
        eq(st["dbl"]["state"], "ok", "dbl answered")
        r = d.ctl("status", check_rc=0)
        check(re.search(r"^dnsbl zen: broken, 1 lookups, 0 listed, 1 failed -- since .*: answers "
                        r"127\.255\.255\.254", r.stdout, re.M), r.stdout)
        time.sleep(1.1)  # a later good answer heals it
        d.ask(sasl_username="acme", client_address="192.0.2.2", recipient="a@good.mx.test")
        st = {l["name"]: l for l in d.status()["dnsbl"]}
        eq((st["zen"]["state"], st["zen"]["listed"], st["zen"]["failures"]), ("ok", 1, 1),
           "zen after a listing")
    finally:
        d.cleanup()


SMFIP_NOHDRS, SMFIP_NOEOH, SMFIP_NR_HDR = 0x20, 0x40, 0x80


class MilterClient:
    """Just enough of the MTA side of the milter protocol (version 6) for these tests."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.send(b"O", struct.pack(">III", 6, 0x1ff, 0x1fffff))  # every step, NR_* included
        cmd, data = self.read()
        eq(cmd, b"O", "option negotiation reply")
        self.steps = struct.unpack(">III", data[:12])[2]  # what the filter asked for

    def header(self, name, value):
        """One header; no reply is read if the filter asked for none (SMFIP_NR_HDR)."""
        check(not self.steps & SMFIP_NOHDRS, "a header sent, but the filter asked for none")
        self.send(b"L", name.encode() + b"\0" + value.encode() + b"\0")
        if self.steps & SMFIP_NR_HDR:
            return "continue"
        rcmd, _ = self.read()
        return "continue" if rcmd == b"c" else "reply %r" % rcmd

    def send(self, cmd, data=b""):
        self.sock.sendall(struct.pack(">I", len(data) + 1) + cmd + data)

    def read(self):
        def exact(n):
            buf = b""
            while len(buf) < n:
                chunk = self.sock.recv(n - len(buf))
                if not chunk:
                    raise TestFailure("milter closed the connection")
                buf += chunk
            return buf
        n = struct.unpack(">I", exact(4))[0]
        pkt = exact(n)
        return pkt[:1], pkt[1:]

    def step(self, cmd, data, macros=None):
        """Send one SMTP step (with its macros); returns 'continue' or the reply text."""
        if macros:
            self.send(b"D", cmd + b"".join(k.encode() + b"\0" + v.encode() + b"\0"
                                           for k, v in macros.items()))
        self.send(cmd, data)
        rcmd, rdata = self.read()
        if rcmd == b"c":
            return "continue"
        if rcmd == b"y":
            return rdata.rstrip(b"\0").decode()
        return "reply %r" % rcmd

    def close(self):
        try:
            self.send(b"Q")
        finally:
            self.sock.close()


@test
def milter_runs_the_same_checks_synchronously():
    port = dns_fixture.free_udp_tcp_port()
    d = daemon(dns_conf() + 'milter = { listen = "inet:%d@127.0.0.1"; feedback_id = ""; };\n'
               % port)
    try:
        wait_for(lambda: _can_connect(port), 10, "the milter to listen")
        m = MilterClient(port)
        eq(m.steps & (SMFIP_NOHDRS | SMFIP_NOEOH), SMFIP_NOHDRS | SMFIP_NOEOH,
           "no from_domain list: headers negotiated away")
        eq(m.step(b"C", b"client.test\0" + b"4" + struct.pack(">H", 4000) + b"192.0.2.1\0"),
           "continue", "connect")
        eq(m.step(b"M", b"<s@app.test>\0", {"{auth_authen}": "acme", "i": "Q1"}), "continue",
           "MAIL from an unlisted sender domain")
        eq(m.step(b"R", b"<u@nullmx.mx.test>\0", {"i": "Q1"}),
           "556 5.1.10 <u@nullmx.mx.test>: recipient domain nullmx.mx.test does not accept "
           "mail (null MX); not sent", "null MX recipient")
        eq(m.step(b"R", b"<u@good.mx.test>\0", {"i": "Q1"}), "continue", "good recipient")
        m.close()
        # A listed client: refused at MAIL already.
        m = MilterClient(port)
        m.step(b"C", b"client.test\0" + b"4" + struct.pack(">H", 4000) + b"192.0.2.2\0")
        eq(m.step(b"M", b"<s@app.test>\0", {"{auth_authen}": "acme"}),
           "450 4.7.1 Client address 192.0.2.2 is listed on zen (SBL)", "listed client")
        m.close()
    finally:
        d.cleanup()


FROM_LISTS = """
dnsbl = (
  { name = "zen"; zone = "bl.test"; query = "client"; action = "tempfail";
    codes = [ "127.0.0.2-127.0.0.3=SBL" ]; },
  { name = "dbl-from"; zone = "dbl.test"; query = "from_domain"; action = "%s";
    codes = [ "127.0.1.2=spam domain", "127.0.1.4=phish domain" ]; }
);
milter = { listen = "inet:%d@127.0.0.1"; feedback_id = ""; };
feedback = { event_log = "events.jsonl"; };
"""


def from_daemon(action="reject", extra=""):
    port = dns_fixture.free_udp_tcp_port()
    d = daemon(dns_conf(lists=False) + FROM_LISTS % (action, port) + extra)
    wait_for(lambda: _can_connect(port), 10, "the milter to listen")
    return d, port


def from_message(m, headers, sasl="acme", qid="QF1"):
    """MAIL, RCPT, HEADERS; returns the reply at end of headers."""
    eq(m.step(b"M", b"<s@app.test>\0", {"{auth_authen}": sasl, "i": qid}), "continue", "MAIL")
    eq(m.step(b"R", b"<u@good.mx.test>\0", {"i": qid}), "continue", "RCPT")
    for name, value in headers:
        eq(m.header(name, value), "continue", "header %s" % name)
    return m.step(b"N", b"", {"i": qid})


def from_conn(port):
    m = MilterClient(port)
    eq(m.steps & (SMFIP_NOHDRS | SMFIP_NOEOH), 0, "a from_domain list: headers negotiated")
    eq(m.steps & SMFIP_NR_HDR, SMFIP_NR_HDR, "headers without a reply each")
    eq(m.step(b"C", b"client.test\0" + b"4" + struct.pack(">H", 4000) + b"192.0.2.1\0"),
       "continue", "connect")
    return m


@test
def from_header_domain_listed_refused_at_end_of_headers():
    d, port = from_daemon()
    try:
        m = from_conn(port)
        # Listed: the whole message is refused with the list's action, naming the From: domain.
        folded = '"Spammy, Inc." (x@good.test)\n <News@Spammy.TEST>'
        eq(from_message(m, [("Subject", "hi"), ("From", folded), ("To", "u@good.mx.test")]),
           "554 5.7.1 From domain spammy.test is listed on dbl-from (spam domain)", "listed")
        # The next message on the same connection: unlisted, accepted through end of message.
        eq(from_message(m, [("From", "Good <a@good.test>")], qid="QF2"), "continue", "unlisted")
        eq(m.step(b"E", b"", {"i": "QF2"}), "continue", "end of message")
        # Group syntax; the first mailbox decides; only the first From: header counts.
        eq(from_message(m, [("From", "Team: x@phish.test, y@good.test;")], qid="QF3"),
           "554 5.7.1 From domain phish.test is listed on dbl-from (phish domain)", "group")
        eq(from_message(m, [("From", "a@good.test, b@spammy.test"), ("From", "c@spammy.test")],
                        qid="QF4"), "continue", "first mailbox, first header")
        m.close()
        # The refusal is logged and an event like any DNSBL refusal; asked once, then cached.
        wait_for(lambda: "rule=dnsbl" in d.logtext() and "door=milter" in d.logtext(), 5,
                 "decision log line")
        wait_for(lambda: [e for e in watch_events(d) if e["type"] == "refusal"
                          and e.get("class") == "dnsbl"], 10, "the refusal event")
        ev = [e for e in watch_events(d) if e["type"] == "refusal"][0]
        eq((ev["account"], ev["dsn"], ev["reason"]),
           ("acme", "5.7.1", "From domain spammy.test is listed on dbl-from (spam domain)"),
           "refusal event")
        before = NSD.queries()
        m = from_conn(port)
        eq(from_message(m, [("From", "news@spammy.test")], qid="QF5"),
           "554 5.7.1 From domain spammy.test is listed on dbl-from (spam domain)", "again")
        m.close()
        eq(NSD.queries() - before, 0, "queries for a cached From: domain")
    finally:
        d.cleanup()
    # tempfail as the list's action.
    d, port = from_daemon("tempfail")
    try:
        m = from_conn(port)
        eq(from_message(m, [("From", "x@spammy.test")]),
           "450 4.7.1 From domain spammy.test is listed on dbl-from (spam domain)", "tempfail")
        m.close()
    finally:
        d.cleanup()


@test
def from_header_without_domain_or_error_answer_is_accepted():
    d, port = from_daemon()
    try:
        m = from_conn(port)
        # MAIL and RCPT look up the client and the recipient domain: cached after the first.
        eq(from_message(m, [], qid="QW"), "continue", "no headers at all")
        before = NSD.queries()
        for i, headers in enumerate(([("From", "<>")], [("From", "John Smith")],
                                     [("From", "user@[192.0.2.1]")], [("Subject", "no From")],
                                     [("From", "undisclosed-recipients:;")])):
            eq(from_message(m, headers, qid="QN%d" % i), "continue", "no domain: %r" % headers)
        eq(NSD.queries() - before, 0, "queries for messages without a From: domain")
        # DBL's 127.0.1.255 is an error (dns.fail open), never a listing.
        eq(from_message(m, [("From", "x@iperror.test")], qid="QE"), "continue", "error code")
        m.close()
        wait_for(lambda: "answers 127.0.1.255" in d.logtext(), 5, "the error warning")
        check("rule=dnsbl" not in d.logtext(), "an error answer was taken for a listing")
    finally:
        d.cleanup()


@test
def from_domain_list_skipped_for_policy_requests_and_monitor_mode():
    d, port = from_daemon(extra='mode = "monitor";\n')
    try:
        # The client and the recipient domain, looked up once (the cache is shared).
        m = from_conn(port)
        eq(from_message(m, [], qid="QW"), "continue", "warm-up")
        # The policy service never sees headers: the list is not asked, nothing logged.
        before = NSD.queries()
        eq(d.ask(sasl_username="acme", sender="x@spammy.test", client_address="192.0.2.1",
                 recipient="u@good.mx.test"), "DUNNO", "policy request, listed sender domain")
        eq(NSD.queries() - before, 0, "names the policy request asked beyond the cache")
        check("dbl-from" not in d.logtext(), d.logtext()[-2000:])
        # Monitor mode: would_reject, the message passes.
        eq(from_message(m, [("From", "x@spammy.test")]), "continue", "monitor mode")
        m.close()
        wait_for(lambda: "action=would_reject" in d.logtext(), 5, "would_reject in the log")
        # outpostctl dnsbl check DOMAIN asks the from_domain list too.
        r = d.ctl("dnsbl", "check", "spammy.test", "--json", check_rc=1)
        rows = {o["list"]: o for o in map(json.loads, r.stdout.splitlines())}
        eq((rows["dbl-from"]["query"], rows["dbl-from"]["result"]), ("from_domain", "listed"),
           "dnsbl check of a domain")
        eq(rows["zen"]["result"], "skipped", "the client list is not asked about a domain")
    finally:
        d.cleanup()


WATCH_ZONE = """$ORIGIN watch.test.
$TTL 1
@\tSOA\tns.watch.test. hostmaster.watch.test. %(serial)d 3600 600 86400 1
@\tNS\tns.watch.test.
ns\tA\t127.0.0.1
%(records)s
"""
WATCH_HOOK = """#!/bin/sh
out=%s
{ echo "argv=$1"; echo "type=$OUTPOST_EVENT_TYPE"; echo "account=$OUTPOST_ACCOUNT";
  echo "stdin=$(cat)"; } > "$out.$$.tmp"
mv "$out.$$.tmp" "$out.$$"
"""


def write_watch_zone(path, serial, records):
    with open(path, "w") as f:
        f.write(WATCH_ZONE % {"serial": serial, "records": "\n".join(records)})


def watch_events(d):
    try:
        with open(os.path.join(d.dir, "events.jsonl")) as f:
            return [json.loads(l) for l in f if l.strip()]
    except FileNotFoundError:
        return []


def watch_hook_runs(d):
    runs = []
    for n in sorted(os.listdir(d.dir)):
        if n.startswith("hook.out.") and not n.endswith(".tmp"):
            with open(os.path.join(d.dir, n)) as f:
                runs.append(dict(l.split("=", 1) for l in f.read().splitlines()))
    return runs


def watch_status(d, want_rc):
    r = d.ctl("dnsbl", "status", "--json", check_rc=want_rc)
    return {(o["address"], o["list"]): o for o in map(json.loads, r.stdout.splitlines())}


@test
def own_addresses_monitored_listing_and_delisting_events_and_hook():
    zdir = tempfile.mkdtemp(prefix="outpost-watch-")
    zone = os.path.join(zdir, "watch.test.zone")
    # 198.51.100.7 listed (SBL), 2001:db8::7 listed (XBL), .8 not listed, .9 an error code.
    write_watch_zone(zone, 1, [
        "7.100.51.198\tA\t127.0.0.2",
        "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2\tA\t127.0.0.4",
        "9.100.51.198\tA\t127.255.255.254"])
    nsd = dns_fixture.NsdServer([("watch.test", zone)]).start()
    conf = ('dns = { servers = [ "%s" ]; monitor_interval = "1s"; monitor_addresses = '
            '[ "198.51.100.7", "198.51.100.8", "198.51.100.9", "2001:db8::7" ]; };\n'
            'dnsbl = ( { name = "watch"; zone = "watch.test"; query = "client"; '
            'codes = [ "127.0.0.2-3=SBL", "127.0.0.4-7=XBL" ]; },\n'
            '  { name = "dbl"; zone = "dbl.test"; query = "sender_domain"; } );\n'
            # no maillog: the feedback process runs for the monitor alone
            'feedback = { event_log = "events.jsonl"; hook = "hook.sh"; };\n' % nsd.server)
    d = Daemon(conf, workers=1)
    try:
        with open(os.path.join(d.dir, "hook.sh"), "w") as f:
            f.write(WATCH_HOOK % os.path.join(d.dir, "hook.out"))
        os.chmod(os.path.join(d.dir, "hook.sh"), 0o755)
        d.start()

        def of(kind, addr):
            return [e for e in watch_events(d) if e["type"] == kind and e["address"] == addr]
        wait_for(lambda: of("listing", "198.51.100.7") and of("listing", "2001:db8::7"), 15,
                 "listing events for both listed addresses")
        ev = of("listing", "198.51.100.7")[0]
        eq((ev["list"], ev["zone"], ev["code"], ev["meaning"], ev["account"]),
           ("watch", "watch.test", "127.0.0.2", "SBL", None), "listing event")
        eq(of("listing", "2001:db8::7")[0]["meaning"], "XBL", "IPv6 nibble query")
        runs = wait_for(lambda: len(watch_hook_runs(d)) >= 2 and watch_hook_runs(d), 10,
                        "the hook for both listings")
        eq(sorted(r["argv"] for r in runs), ["listing", "listing"], "hook argv")
        eq(sorted(json.loads(r["stdin"])["address"] for r in runs),
           ["198.51.100.7", "2001:db8::7"], "hook stdin")
        # Further rounds with the same answers announce nothing again; the error code is not a
        # listing; the sender_domain list is never asked.
        time.sleep(2.5)
        eq(len(watch_events(d)), 2, "events after more rounds: %r" % watch_events(d))
        st = watch_status(d, 1)
        eq(sorted(st), sorted([(a, "watch") for a in ("198.51.100.7", "198.51.100.8",
                                                       "198.51.100.9", "2001:db8::7")]),
           "status rows: every address, client lists only")
        eq((st[("198.51.100.7", "watch")]["state"], st[("198.51.100.7", "watch")]["code"]),
           ("listed", "127.0.0.2"), "status of a listed address")
        eq(st[("198.51.100.8", "watch")]["state"], "not_listed", "status of a clean address")
        check(st[("198.51.100.7", "watch")]["since"], "since when")
        eq(st[("198.51.100.9", "watch")]["state"], "failed", "an error code")
        check("public or open resolver" in st[("198.51.100.9", "watch")]["error"],
              st[("198.51.100.9", "watch")])
        # A restart remembers: no second listing event.
        d.stop()
        d.start()
        time.sleep(2.5)
        eq(len(of("listing", "198.51.100.7")), 1, "a restart does not announce again")
        # The zone changes: .7 delisted, .8 listed.
        write_watch_zone(zone, 2, [
            "8.100.51.198\tA\t127.0.0.3",
            "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2\tA\t127.0.0.4"])
        nsd.reload("watch.test")
        wait_for(lambda: of("delisting", "198.51.100.7") and of("listing", "198.51.100.8"), 15,
                 "delisting of .7 and listing of .8")
        ev = of("delisting", "198.51.100.7")[0]
        eq((ev["code"], ev["meaning"]), ("127.0.0.2", "SBL"), "a delisting names what ended")
        wait_for(lambda: "delisting" in [r["argv"] for r in watch_hook_runs(d)], 10,
                 "the hook for the delisting")
        st = watch_status(d, 1)
        eq(st[("198.51.100.7", "watch")]["state"], "not_listed", "delisted in status")
        eq((st[("198.51.100.8", "watch")]["state"], st[("198.51.100.8", "watch")]["meaning"]),
           ("listed", "SBL"), "newly listed in status")
        text = d.ctl("dnsbl", "status", check_rc=1).stdout
        check(re.search(r"198\.51\.100\.8\s+watch\s+LISTED\s+\S+\s+127\.0\.0\.3 \(SBL\)", text),
              text)
        eq(len(of("listing", "2001:db8::7")), 1, "unchanged listing not announced again")
    finally:
        d.cleanup()
        nsd.cleanup()
        shutil.rmtree(zdir, ignore_errors=True)


def _can_connect(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def main():
    global NSD
    if not dns_fixture.available():
        print("nsd is not installed (apt-get install nsd)")
        print("0 passed, 1 failed")
        return 1
    NSD = dns_fixture.NsdServer().start()
    try:
        return run_tests()
    finally:
        NSD.cleanup()


if __name__ == "__main__":
    sys.exit(main())
