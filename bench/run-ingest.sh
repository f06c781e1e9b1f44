#!/bin/sh
# run-ingest.sh -- how fast `outpostctl ingest log` turns a Postfix log into
# counters and suppressions.  Generates a synthetic log of MESSAGES messages
# (default 200,000) from ACCOUNTS accounts (10,000), each as Postfix 3.7 logs
# it: smtpd client line with a SASL login, cleanup, qmgr from=, two delivery
# lines (90 % sent, 6 % user unknown, 2 % blocked, 2 % deferred) and removed:
# 6 lines a message.  Then ingests it into a fresh store, twice (the second
# read finds everything already counted), and prints lines/s for each.
#   bench/run-ingest.sh            MESSAGES=1000000 bench/run-ingest.sh
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
BUILD=${BUILD:-$TOP/build}
[ -x "$BUILD/src/outpostctl" ] || BUILD=$TOP
MESSAGES=${MESSAGES:-200000}
PORT=${PORT:-20070}
ACCOUNTS=${ACCOUNTS:-10000}
T=$(mktemp -d /tmp/outpost-ingest.XXXXXX)
trap 'rm -rf "$T"' EXIT
CTL="$BUILD/src/outpostctl -c $T/outpost.conf"
cat >"$T/outpost.conf" <<CONF
store = { path = "db"; };
policy = { listen = "inet:127.0.0.1:$PORT"; workers = 1; };
milter = { listen = ""; };
http = { listen = ""; };
user = ""; pidfile = "outpostd.pid"; control_socket = "";
dns = { servers = [ "127.0.0.1:1" ]; };
feedback = { rules = "$TOP/etc/outpost-bounce.rules"; };
CONF
/usr/bin/python3 - "$MESSAGES" "$ACCOUNTS" >"$T/maillog" <<'PY'
import random, sys, time
n, accounts = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(7)
t0 = int(time.time()) - 7200
w = sys.stdout.write
for m in range(n):
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + m * 7200 // n)) + ".000000+00:00 mx postfix/"
    qid = "%010X" % (0x1000000000 + m)
    a = rnd.randrange(accounts)
    w("%ssmtpd[100]: %s: client=app.test[192.0.2.10], sasl_method=PLAIN, sasl_username=acct%d\n" % (ts, qid, a))
    w("%scleanup[101]: %s: message-id=<%s@app.test>\n" % (ts, qid, qid))
    w("%sqmgr[102]: %s: from=<news@acct%d.test>, size=2000, nrcpt=2 (queue active)\n" % (ts, qid, a))
    for r in range(2):
        x = rnd.random()
        to = "u%d@d%d.test" % (rnd.randrange(10**7), rnd.randrange(1000))
        if x < 0.90:
            st = "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as ABC)"
        elif x < 0.96:
            st = "dsn=5.1.1, status=bounced (host mx.d.test[198.51.100.1] said: 550 5.1.1 <%s>: Recipient address rejected: User unknown (in reply to RCPT TO command))" % to
        elif x < 0.98:
            st = "dsn=5.7.1, status=bounced (host mx.d.test[198.51.100.1] said: 554 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using zen.spamhaus.org (in reply to RCPT TO command))"
        else:
            st = "dsn=4.4.1, status=deferred (connect to mx.d.test[198.51.100.1]:25: Connection timed out)"
        w("%ssmtp[103]: %s: to=<%s>, relay=mx.d.test[198.51.100.1]:25, delay=0.5, delays=0.1/0/0.2/0.2, %s\n" % (ts, qid, to, st))
    w("%sqmgr[102]: %s: removed\n" % (ts, qid))
PY
# The accounts: created the way a platform's are, by their first message
# through the policy service (auto-create), then the daemon is stopped.
"$BUILD/src/outpostd" -f -c "$T/outpost.conf" 2>"$T/outpostd.log" &
OPID=$!
/usr/bin/python3 - "$PORT" "$ACCOUNTS" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
for _ in range(100):
    try:
        s = socket.create_connection(("127.0.0.1", port)); break
    except OSError:
        time.sleep(0.05)
for a in range(n):
    s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\nsasl_username=acct%d\nrecipient=x@y.test\n\n" % a)
    r = b""
    while not r.endswith(b"\n\n"):
        r += s.recv(100)
time.sleep(0.5)
PY
kill "$OPID"; wait "$OPID" 2>/dev/null || true
echo "run-ingest: $($CTL account list | wc -l) accounts"
lines=$(wc -l <"$T/maillog")
echo "run-ingest: $lines lines ($MESSAGES messages, $ACCOUNTS accounts), $(du -h "$T/maillog" | cut -f1)"
for pass in first second; do
	s=$(date +%s.%N)
	out=$($CTL ingest log "$T/maillog")
	e=$(date +%s.%N)
	echo "run-ingest: $pass read: $(echo "$lines $s $e" | awk '{printf "%.2f s, %.0f lines/s", $3-$2, $1/($3-$2)}')"
	echo "  $out"
done
