#!/bin/sh
# run-policy.sh -- outpostd against the do-nothing ceiling (bench/null_policy).
#
# Builds the benchmark, seeds a throw-away store (10,000 auto-created accounts,
# a 1,000,000-entry suppression list, 1 % of the accounts paused), starts
# outpostd and null_policy on loopback, runs bench/policy_bench against each at
# every concurrency, and prints one table.  Everything it starts it stops by
# PID; everything it creates lives in one temp directory, removed at the end
# (KEEP=1 keeps it).  See bench/README.md.
#
# Knobs (environment): DURATION=10 (seconds per server and concurrency),
# SLICE=1 (the two servers alternate in slices this long), CONCS="1 8 32",
# REPEAT=1 (rounds; the table shows the median run), THREADS=1 (generator
# threads), WORKERS=2 (server processes), HIT=0.10 (fraction of recipients
# suppressed), ACCOUNTS=10000, SUPPRESSED=1000000, PAUSE_EVERY=100 (acct0,
# acct100, ... are paused), PORT=20040 (the first free port from there),
# BUILD=the build tree (default: build/ if configured, else the source tree),
# QUOTA=0 (1: every account has a daily quota, an hourly quota and a maximum
# rate, all too large to refuse, so each accepted recipient takes and gives back
# a reservation in the shared quota table; the host has a daily cap too),
# DNS=1 (bounce prevention and one client blocklist, as in production: an NSD
# started through tests/lib/dns_fixture.py serves the recipient domains
# domN.test, each with an MX host that has an address, and the bl.test list,
# on which no client is listed; the warm-up fills the host's shared DNS
# cache.  DNS=0: dns.bounce_prevention = false and no lists: no DNS at all),
# HTTP_LOAD=0 (N > 0: outpostd also runs its http process, with 100,000 more
# global suppression entries, and every concurrency is run twice: as above,
# then again while bench/http_bench.py loads GET /v1/suppression/{address} at
# concurrency N on the same CPUs; the table adds the figures under that load),
# HTTP_QUERY= (appended to each request's path: "?account=acct1" looks in that
# account's list only; without it every scope is looked in, one seek for each
# of the ACCOUNTS lists), HTTP_RATE=0 (N > 0: the http load is capped at N
# requests/s in all; 0: as many as the CPUs allow).
set -eu

DURATION=${DURATION:-10}
CONCS=${CONCS:-"1 8 32"}
REPEAT=${REPEAT:-1}
SLICE=${SLICE:-1}
THREADS=${THREADS:-1}
WORKERS=${WORKERS:-2}
HIT=${HIT:-0.10}
ACCOUNTS=${ACCOUNTS:-10000}
SUPPRESSED=${SUPPRESSED:-1000000}
PAUSE_EVERY=${PAUSE_EVERY:-100}
HTTP_LOAD=${HTTP_LOAD:-0}
HTTP_QUERY=${HTTP_QUERY:-}
HTTP_RATE=${HTTP_RATE:-0}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=run-policy
. "$ROOT/bench/lib.sh"
BENCH=$BUILD/bench/policy_bench
NULLD=$BUILD/bench/null_policy
OUTPOSTD=$BUILD/src/outpostd
CTL=$BUILD/src/outpostctl

OUT_PID=
NULL_PID=
SAMPLER_PID=
NSD_PID=
HTTP_PID=
DNS=${DNS:-1}

cleanup() {
	stop_pid "$SAMPLER_PID"
	stop_pid "$HTTP_PID"
	stop_pid "$OUT_PID"
	stop_pid "$NULL_PID"
	stop_pid "$NSD_PID"
	OUT_PID= NULL_PID= NSD_PID=
	tmp_remove
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One generator run: label, port, concurrency, then extra policy_bench options.
# Prints policy_bench's two lines; the caller parses "result".
run_gen() {
	label=$1 port=$2 conc=$3
	shift 3
	timeout $((2 * DURATION + 30)) "$BENCH" -s "127.0.0.1:$port" -c "$conc" -t "$THREADS" \
		-A "$ACCOUNTS" -N "$SUPPRESSED" -f "$HIT" -L "$label" "$@"
}

# Connections per worker process on port $1, largest first ("5+3"); "?" without ss.
conn_split() {
	ss -tnpH state established "( sport = :$1 )" 2>/dev/null | grep -o 'pid=[0-9]*' |
		sort | uniq -c | sort -rn | awk '{ s = s (NR > 1 ? "+" : "") $1 } END { print s ? s : "?" }'
}

# Until killed: every 0.5 s, "null|outpost CONC SPLIT" for both servers.
sample_splits() {
	while :; do
		echo "null $1 $(conn_split "$PORT_NULL")"
		echo "outpost $1 $(conn_split "$PORT_OUT")"
		sleep 0.5
	done
}

# ---- build ---------------------------------------------------------------
[ -f "$BUILD/Makefile" ] || die "no Makefile in $BUILD: configure first (./dev.sh builds in build/)"
log "building (make -C $BUILD bench)"
make -C "$BUILD" -s bench >/dev/null

TMP=$(mktemp -d /tmp/outpost-bench.XXXXXX)
PORT_OUT=$(free_port "${PORT:-20040}")
PORT_NULL=$(free_port $((PORT_OUT + 1)))
PORT_HTTP=$(free_port $((PORT_NULL + 1)))
HTTP_CONF='http = { listen = ""; };'
[ "$HTTP_LOAD" -gt 0 ] && HTTP_CONF="http = { listen = \"inet:127.0.0.1:$PORT_HTTP\"; };"

# ---- DNS: the recipient domains of policy_bench (dom0.test .. dom99.test) --
# Written as a zone "test." next to the fixture's own zones (bl.test, ...).
bench_zone() {
	printf '$ORIGIN test.\n$TTL 3600\n'
	printf '@ SOA ns.test. hostmaster.test. 1 3600 600 86400 300\n@ NS ns.test.\nns A 127.0.0.1\n'
	i=0
	while [ $i -lt 100 ]; do
		printf 'dom%d MX 10 mx.dom%d\nmx.dom%d A 192.0.2.%d\n' $i $i $i $((i + 1))
		i=$((i + 1))
	done
}
if [ "$DNS" = 1 ]; then
	bench_zone >"$TMP/bench.test.zone"
	python3 "$ROOT/tests/lib/dns_fixture.py" --ready "$TMP/nsd.server" \
		--zone "test=$TMP/bench.test.zone" >"$TMP/nsd.log" 2>&1 &
	NSD_PID=$!
	i=0
	until [ -s "$TMP/nsd.server" ]; do
		kill -0 "$NSD_PID" 2>/dev/null && [ $i -lt 150 ] || { cat "$TMP/nsd.log" >&2; die "NSD did not start"; }
		sleep 0.1
		i=$((i + 1))
	done
	DNS_CONF="dns = { servers = [ \"$(cat "$TMP/nsd.server")\" ]; };
dnsbl = ( { name = \"zen\"; zone = \"bl.test\"; query = \"client\"; action = \"reject\"; } );"
	log "NSD on $(cat "$TMP/nsd.server"): dom0-99.test with MX, the bl.test list"
else
	DNS_CONF='dns = { servers = [ "127.0.0.1:1" ]; bounce_prevention = false; };'
fi

CONF=$TMP/outpost.conf
cat >"$CONF" <<EOF
user = "";
pidfile = "$TMP/outpostd.pid";
control_socket = "$TMP/outpostd.ctl";
store = { path = "$TMP/db"; };
$HTTP_CONF
policy = { listen = "inet:127.0.0.1:$PORT_OUT"; workers = $WORKERS; };
$DNS_CONF
EOF
if [ "${QUOTA:-0}" = 1 ]; then
	cat >>"$CONF" <<EOF
limits = { daily_quota = 1000000000; hourly_quota = 1000000000; max_rate = "1000000/s";
	   host_daily_quota = 1000000000; };
EOF
fi
"$OUTPOSTD" -n -c "$CONF" || die "outpostd rejects $CONF"

# ---- seed: the suppression list ------------------------------------------
seed_suppressions "$CONF" "$BENCH"
log "suppress import: $SUPPRESSED entries in $IMPORT_S s ($IMPORT_RATE entries/s)"
if [ "$HTTP_LOAD" -gt 0 ]; then # what bench/http_bench.py asks for, as run-http.sh seeds it
	python3 -c 'import sys
for i in range(0, 200000, 2): sys.stdout.write("bench%06d@bench.test,bounce\n" % i)' |
		"$CTL" -c "$CONF" suppress import - --format csv >/dev/null
	HTTP_TOKEN=$("$CTL" -c "$CONF" token add bench --scope read | tail -n 1)
fi

# ---- start the servers ---------------------------------------------------
"$OUTPOSTD" -f -c "$CONF" >"$TMP/outpostd.log" 2>&1 &
OUT_PID=$!
wait_port "$PORT_OUT" "$OUT_PID" || { cat "$TMP/outpostd.log" >&2; die "outpostd did not start"; }
"$NULLD" -l "127.0.0.1:$PORT_NULL" -w "$WORKERS" 2>"$TMP/null.log" &
NULL_PID=$!
wait_port "$PORT_NULL" "$NULL_PID" || die "null_policy did not start"
log "outpostd pid $OUT_PID on :$PORT_OUT, null_policy pid $NULL_PID on :$PORT_NULL, $WORKERS workers each"
if [ "$HTTP_LOAD" -gt 0 ]; then
	wait_port "$PORT_HTTP" "$OUT_PID" || { cat "$TMP/outpostd.log" >&2; die "the http listener did not start"; }
	log "http on :$PORT_HTTP, loaded at concurrency $HTTP_LOAD in the second run of each concurrency"
fi

# ---- seed: accounts by auto-creation, then pauses --------------------------
log "warm-up: one request per account ($ACCOUNTS)"
# A worker's ledger holds 8,192 notes between its flushes (every 100 ms): when
# one worker gets most of a fast warm-up, some new accounts are dropped (and
# logged); the next pass creates those.  At most three passes.
w=0 NACC=0
while [ $w -lt 3 ] && [ "$NACC" -lt "$ACCOUNTS" ]; do
	run_gen warmup "$PORT_OUT" 8 -W >"$TMP/warmup.out" || { cat "$TMP/warmup.out" >&2; die "warm-up failed"; }
	sleep 1 # the workers' ledgers flush every 100 ms
	NACC=$("$CTL" -c "$CONF" account list | wc -l)
	w=$((w + 1))
done
[ "$NACC" -ge "$ACCOUNTS" ] || die "only $NACC accounts after the warm-up (want $ACCOUNTS)"
pause_accounts "$CONF"
log "$NACC accounts, $npaused paused"

# ---- the runs ------------------------------------------------------------
# One generator run per concurrency drives both servers in alternate slices of
# SLICE seconds (fresh connections each slice), DURATION seconds each: both see
# the same background load.  A sampler notes how the connections fall on the
# worker processes.
log "runs: ${DURATION}s per server and concurrency ($CONCS), ${SLICE}s slices, $REPEAT round(s)"
run_gen settle "$PORT_OUT" 8 -d 2 >/dev/null # warm both caches before measuring
run_gen settle "$PORT_NULL" 8 -d 2 >/dev/null
: >"$TMP/results"
: >"$TMP/splits"
r=1
while [ $r -le "$REPEAT" ]; do
	for c in $CONCS; do
		sample_splits "$c" >>"$TMP/splits" &
		SAMPLER_PID=$!
		run_gen null "$PORT_NULL" "$c" -s "127.0.0.1:$PORT_OUT" -L outpost \
			-d "$DURATION" -i "$SLICE" >"$TMP/run.out" ||
			{ cat "$TMP/run.out" >&2; die "concurrency $c failed"; }
		stop_pid "$SAMPLER_PID"
		SAMPLER_PID=
		sed "s/\$/ load=$(cut -d' ' -f1 /proc/loadavg)/" "$TMP/run.out" |
			tee -a "$TMP/results" | grep '^result' | cut -d' ' -f2,4,8-14,17- >&2
		[ "$HTTP_LOAD" -gt 0 ] || continue
		# The same run while the API is under load: http_bench runs a little
		# longer than the generator, so the load covers the whole run.
		python3 "$ROOT/bench/http_bench.py" "$PORT_HTTP" "$HTTP_TOKEN" "$HTTP_LOAD" \
			$((2 * DURATION + 3)) 200000 "$HTTP_QUERY" "$HTTP_RATE" >"$TMP/http.out" 2>&1 &
		HTTP_PID=$!
		sleep 1
		run_gen nullhttp "$PORT_NULL" "$c" -s "127.0.0.1:$PORT_OUT" -L outposthttp \
			-d "$DURATION" -i "$SLICE" >"$TMP/run.out" ||
			{ cat "$TMP/run.out" >&2; die "concurrency $c under http load failed"; }
		wait "$HTTP_PID" || { cat "$TMP/http.out" >&2; die "http_bench failed"; }
		HTTP_PID=
		sed "s/\$/ load=$(cut -d' ' -f1 /proc/loadavg)/" "$TMP/run.out" |
			tee -a "$TMP/results" | grep '^result' | cut -d' ' -f2,4,8-14,17- >&2
		echo "http conc=$c $(cat "$TMP/http.out")" | tee -a "$TMP/http_results" >&2
	done
	r=$((r + 1))
done
kill -0 "$OUT_PID" 2>/dev/null || die "outpostd died during the runs"

# The run with the median requests/s among the rounds of (label $1, concurrency $2).
median_run() {
	grep "^result label=$1 .* conc=$2 " "$TMP/results" |
		median_by rps
}

# Median over the rounds of outpost/null requests/s at concurrency $1, each
# round's pair measured in the same run (so under the same background load);
# $2 "http": the runs under http load.
paired_ratio() {
	grep -E "^result label=(null|outpost)${2:-} .* conc=$1 " "$TMP/results" | tr ' ' '\n' |
		sed -n 's/^rps=//p' |
		paste - - | awk '{ printf "%.1f\n", 100 * $2 / $1 }' | sort -n |
		awk '{ l[NR] = $0 } END { printf "%.0f", l[int((NR + 1) / 2)] }'
}

# The two most frequent connection splits of (server $1, concurrency $2): "8 (70%), 7+1 (20%)".
splits_of() {
	awk -v s="$1" -v c="$2" '$1 == s && $2 == c && $3 != "?" { n[$3]++; t++ }
		END { for (k in n) printf "%d %d %s\n", n[k], t, k }' "$TMP/splits" |
		sort -rn | head -2 |
		awk '{ printf "%s%s (%d%%)", (NR > 1 ? ", " : ""), $3, 100 * $1 / $2 }
			END { if (NR == 0) printf "?" }'
}

# ---- the table -----------------------------------------------------------
echo
echo "Outpost policy benchmark: $(nproc) CPUs, $WORKERS workers per server, $THREADS generator thread(s) on the same CPUs"
if [ "$DNS" = 1 ]; then
	echo "DNS: bounce prevention and one client blocklist, answered from the shared cache after the warm-up"
else
	echo "DNS: off (DNS=0)"
fi
echo "store: $ACCOUNTS accounts ($npaused paused), $SUPPRESSED suppression entries (import ${IMPORT_S}s, ${IMPORT_RATE}/s); ${HIT} of recipients suppressed"
echo "${DURATION}s per server and concurrency, in ${SLICE}s slices alternating between the two; median of $REPEAT round(s)"
echo "ratio: outpost/null requests/s within one run (median over the rounds)"
echo "latency in µs (p50 / p99 / p99.9)"
echo
printf '%5s %9s %11s %6s   %-24s %-24s\n' conc "null r/s" "outpost r/s" ratio \
	"null latency" "outpost latency"
for c in $CONCS; do
	n=$(median_run null "$c")
	o=$(median_run outpost "$c")
	nr=$(field "$n" rps) orr=$(field "$o" rps)
	printf '%5s %9s %11s %5s%%   %-24s %-24s\n' "$c" "$nr" "$orr" \
		"$(paired_ratio "$c")" \
		"$(field "$n" p50_us) / $(field "$n" p99_us) / $(field "$n" p999_us)" \
		"$(field "$o" p50_us) / $(field "$o" p99_us) / $(field "$o" p999_us)"
done
if [ "$HTTP_LOAD" -gt 0 ]; then
	echo
	echo "the same while bench/http_bench.py loads GET /v1/suppression/{address}$HTTP_QUERY at concurrency $HTTP_LOAD$([ "$HTTP_RATE" = 0 ] || echo ", $HTTP_RATE requests/s at most"):"
	printf '%5s %9s %11s %6s   %-24s %13s   %s\n' conc "null r/s" "outpost r/s" ratio \
		"outpost latency" "of unloaded" "http"
	for c in $CONCS; do
		n=$(median_run nullhttp "$c")
		o=$(median_run outposthttp "$c")
		q=$(median_run outpost "$c")
		printf '%5s %9s %11s %5s%%   %-24s %12s%%   %s\n' "$c" "$(field "$n" rps)" \
			"$(field "$o" rps)" "$(paired_ratio "$c" http)" \
			"$(field "$o" p50_us) / $(field "$o" p99_us) / $(field "$o" p999_us)" \
			"$(echo "$(field "$o" rps) $(field "$q" rps)" | awk '{ printf "%.0f", 100 * $1 / $2 }')" \
			"$(grep "^http conc=$c " "$TMP/http_results" | tail -n 1 | grep -o '[0-9]* requests/s')"
	done
fi
echo
echo "connections per worker process (sampled every 0.5 s):"
for c in $CONCS; do
	printf '%5s  null %s;  outpost %s\n' "$c" "$(splits_of null "$c")" "$(splits_of outpost "$c")"
done
echo
echo "outpost replies:"
grep "^replies label=outpost " "$TMP/results" | sed "s/^replies label=outpost/ /; s/ load=.*//"
