#!/bin/sh
# soak.sh -- outpostd under a steady load of policy requests, milter
# sessions and Postfix log lines for DURATION seconds (default 3600), with
# quotas on for every account.  Every ROUND seconds (60) it records, for
# the whole daemon (master + workers + milter + feedback): private memory
# (RssAnon), open file descriptors, the store's size, and the round's policy and milter throughput and
# p99 latency.  The load is paced (open loop): POLICY_RATE policy requests
# (default 2000) and MILTER_RATE milter messages (300) a second, both
# throughout each round, each request at its scheduled time and its latency
# counted from that time, so queueing shows in p99; RATE 0 drives that
# client as fast as the daemon answers (closed loop: it saturates the machine).  At the end it prints the table and a verdict: memory and
# descriptors flat (the last round within 10 % / 16 descriptors of the
# second: the first warms the caches), latency flat (p99 of the last round
# within 2x of the second).  Not part of CI: run it by hand,
#   bench/soak.sh                 DURATION=600 bench/soak.sh
# Everything it starts it stops by PID; one temp directory, removed at the
# end (KEEP=1 keeps it).  Needs a build (./dev.sh test builds build/).
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
BUILD=${BUILD:-$TOP/build}
[ -x "$BUILD/src/outpostd" ] || BUILD=$TOP
DURATION=${DURATION:-3600}
ROUND=${ROUND:-60}
LINES_PER_S=${LINES_PER_S:-600}
POLICY_RATE=${POLICY_RATE:-2000}
MILTER_RATE=${MILTER_RATE:-300}
make -C "$BUILD" -s bench >/dev/null
T=$(mktemp -d /tmp/outpost-soak.XXXXXX)
OPID= LPID= BP=
${CC:-cc} -std=gnu11 -O2 -g -Wall -pthread -o "$T/milter_bench" bench/milter_bench.c bench/bench_util.c -lm
cleanup() {
	for p in $BP $LPID $OPID; do
		kill -TERM "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] && echo "soak: kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PPORT=$(port)
MPORT=$(port)
: >"$T/mail.log"
cat >"$T/outpost.conf" <<CONF
user = ""; pidfile = "outpostd.pid"; control_socket = "outpostd.ctl";
store = { path = "db"; };
policy = { listen = "inet:127.0.0.1:$PPORT"; workers = 2; };
milter = { listen = "inet:$MPORT@127.0.0.1"; };
http = { listen = ""; };
dns = { servers = [ "127.0.0.1:1" ]; bounce_prevention = false; };
feedback = { rules = "$TOP/etc/outpost-bounce.rules"; maillog = "mail.log"; };
limits = { daily_quota = 1000000000; max_rate = "1000000/s"; };
CONF
"$BUILD/src/outpostd" -f -c "$T/outpost.conf" 2>"$T/outpostd.log" &
OPID=$!
i=0
until "$BUILD/src/outpostctl" -c "$T/outpost.conf" status >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$T/outpostd.log" >&2; exit 1; }
	sleep 0.1
done

# The log writer: LINES_PER_S lines a second of Postfix 3.7 delivery lines.
/usr/bin/python3 - "$T/mail.log" "$LINES_PER_S" "$DURATION" <<'PY' &
import sys, time
path, rate, duration = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
end = time.time() + duration + 5
m = 0
with open(path, "a") as f:
    while time.time() < end:
        t0 = time.time()
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000000+00:00 mx postfix/"
        for _ in range(rate // 5):
            qid = "%010X" % (0x2000000000 + m)
            a = m % 1000
            f.write("%ssmtpd[1]: %s: client=app.test[192.0.2.10], sasl_method=PLAIN, sasl_username=acct%d\n" % (ts, qid, a))
            f.write("%sqmgr[2]: %s: from=<n@acct%d.test>, size=2000, nrcpt=1 (queue active)\n" % (ts, qid, a))
            st = "dsn=2.0.0, status=sent (250 2.0.0 Ok)" if m % 50 else \
                "dsn=5.1.1, status=bounced (host mx.d.test[198.51.100.1] said: 550 5.1.1 User unknown (in reply to RCPT TO command))"
            f.write("%ssmtp[3]: %s: to=<u%d@d%d.test>, relay=mx.d.test[198.51.100.1]:25, delay=0.5, delays=0.1/0/0.2/0.2, %s\n" % (ts, qid, m, m % 997, st))
            f.write("%sqmgr[2]: %s: removed\n" % (ts, qid))
            m += 1
        f.flush()
        time.sleep(max(0.0, 1.0 - (time.time() - t0)))
PY
LPID=$!

# pids of the daemon: the master and its children
pids() { echo "$OPID $(pgrep -P "$OPID" | tr '\n' ' ')"; }
# Private memory (RssAnon): what a leak grows.  VmRSS would also count the
# store's and the shared tables' pages, once per process that touched them.
rss_kb() { s=0; for p in $(pids); do v=$(awk '/^RssAnon/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0); s=$((s + ${v:-0})); done; echo $s; }
store_kb() { du -k "$T/db/data.mdb" 2>/dev/null | cut -f1; }
fds() { s=0; for p in $(pids); do n=$(ls "/proc/$p/fd" 2>/dev/null | wc -l); s=$((s + n)); done; echo $s; }
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

rounds=$((DURATION / ROUND))
[ "$rounds" -ge 2 ] || rounds=2
echo "soak: $rounds rounds of ${ROUND}s (policy $POLICY_RATE/s c=4 and milter $MILTER_RATE/s c=4 together, log $LINES_PER_S lines/s throughout; rate 0: unpaced)" >&2
printf '%5s %9s %5s %10s %9s %10s %9s %9s\n' round anon_kb fds policy_r/s p99_us milter_m/s p99_us store_kb >"$T/table"
r=1
while [ $r -le "$rounds" ]; do
	timeout $((ROUND + 30)) "$BUILD/bench/policy_bench" -s "127.0.0.1:$PPORT" -c 4 -d "$ROUND" -R "$POLICY_RATE" -A 1000 -N 0 -f 0 -L soak >"$T/pol.out" 2>/dev/null &
	BP=$!
	timeout $((ROUND + 30)) "$T/milter_bench" -s "127.0.0.1:$MPORT" -c 4 -d "$ROUND" -R "$MILTER_RATE" -A 1000 -N 0 -f 0 -L soak >"$T/mil.out" 2>/dev/null || true
	wait "$BP" || true
	BP=
	pol=$(grep '^result ' "$T/pol.out" | tail -n 1)
	mil=$(grep '^result ' "$T/mil.out" | tail -n 1)
	printf '%5d %9d %5d %10s %9s %10s %9s %9s\n' "$r" "$(rss_kb)" "$(fds)" \
		"$(field "$pol" rps)" "$(field "$pol" p99_us)" "$(field "$mil" mps)" "$(field "$mil" p99_us)" \
		"$(store_kb)" >>"$T/table"
	tail -n 1 "$T/table" >&2
	r=$((r + 1))
done
kill -0 "$OPID" 2>/dev/null || { echo "soak: outpostd died" >&2; exit 1; }
lines=$(wc -l <"$T/mail.log")
echo
echo "The daemon's own view (outpostctl status):"
"$BUILD/src/outpostctl" -c "$T/outpost.conf" status | sed -n '/^door /,$p'
echo
echo "Outpost soak: $(date -u +%Y-%m-%dT%H:%MZ), $rounds x ${ROUND}s, $(nproc) CPUs, log lines written: $lines"
cat "$T/table"
awk 'NR == 3 { m2 = $2; f2 = $3; p2 = $5; q2 = $7 } END {
	mem = ($2 - m2) / m2 * 100; fd = $3 - f2
	printf "memory %+.1f %% (round 2 -> last), descriptors %+d, policy p99 %s -> %s us, milter p99 %s -> %s us\n", mem, fd, p2, $5, q2, $7
	ok = mem < 10 && fd <= 16 && $5 <= 2 * p2 && $7 <= 2 * q2
	print ok ? "verdict: flat" : "verdict: NOT flat"
	exit ok ? 0 : 1 }' "$T/table"
