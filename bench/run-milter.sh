#!/bin/sh
# run-milter.sh -- outpostd's milter against the do-nothing ceiling (bench/null_milter).
#
# Builds the benchmark, seeds a throw-away store (a 1,000,000-entry
# suppression list, 10,000 accounts auto-created by a warm-up through the
# milter, 1 % of them paused), starts outpostd (its milter child) and
# null_milter on loopback, runs bench/milter_bench against both for each
# number of recipients per message and each concurrency, and prints one
# table.  Everything it starts it stops by PID; everything it creates lives in
# one temp directory, removed at the end (KEEP=1 keeps it).  See bench/README.md.
#
# Knobs (environment): DURATION=10 (seconds per milter and run), SLICE=1 (the
# two milters alternate in slices this long), RCPTS="1 5" (recipients per
# message), CONCS="8 32", PER_SESSION=0 (messages per milter session, 0: one
# session per connection for the whole run; 1: a new connection per message,
# as Postfix does for one-message SMTP sessions), REPEAT=1 (rounds; the table
# shows the median), THREADS=1 (generator threads), HIT=0.10 (fraction of
# recipients suppressed), ACCOUNTS=10000, SUPPRESSED=1000000, PAUSE_EVERY=100,
# PORT=20060 (the first free port from there), QUICKACK=1 (diagnosis: the
# generator ACKs every reply at once, which Postfix does not do; shows what
# Nagle + delayed-ACK stalls cost), NODELAY=1 (diagnosis: outpostd runs with
# an LD_PRELOAD shim that sets TCP_NODELAY on every accepted socket, i.e. what
# setting it in the milter would do), PERF=1 (perf record of outpostd's milter
# process during the first run; the report lands in the temp dir),
# BUILD=the build tree (default: build/ if configured, else the source tree).
set -eu

DURATION=${DURATION:-10}
SLICE=${SLICE:-1}
RCPTS=${RCPTS:-"1 5"}
CONCS=${CONCS:-"8 32"}
PER_SESSION=${PER_SESSION:-0}
REPEAT=${REPEAT:-1}
THREADS=${THREADS:-1}
HIT=${HIT:-0.10}
ACCOUNTS=${ACCOUNTS:-10000}
SUPPRESSED=${SUPPRESSED:-1000000}
PAUSE_EVERY=${PAUSE_EVERY:-100}
PERF=${PERF:-0}
QUICKACK=${QUICKACK:-0}
NODELAY=${NODELAY:-0}
QFLAG=
[ "$QUICKACK" = 1 ] && QFLAG=-Q

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=run-milter
. "$ROOT/bench/lib.sh"
POLICY_BENCH=$BUILD/bench/policy_bench
OUTPOSTD=$BUILD/src/outpostd
CTL=$BUILD/src/outpostctl

OUT_PID=
NULL_PID=
PERF_PID=

cleanup() {
	stop_pid "$PERF_PID"
	stop_pid "$OUT_PID"
	stop_pid "$NULL_PID"
	OUT_PID= NULL_PID= PERF_PID=
	tmp_remove
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One generator run: label, port, concurrency, then extra milter_bench options.
run_gen() {
	label=$1 port=$2 conc=$3
	shift 3
	timeout $((2 * DURATION + 60)) "$TMP/milter_bench" -s "127.0.0.1:$port" -c "$conc" \
		-t "$THREADS" -A "$ACCOUNTS" -N "$SUPPRESSED" -f "$HIT" -L "$label" "$@"
}

# ---- build ---------------------------------------------------------------
[ -f "$BUILD/Makefile" ] || die "no Makefile in $BUILD: configure first (./dev.sh builds in build/)"
log "building (make -C $BUILD src/outpostd src/outpostctl bench/policy_bench)"
make -C "$BUILD" -s src/outpostd src/outpostctl bench/policy_bench >/dev/null
TMP=$(mktemp -d /tmp/outpost-mbench.XXXXXX)
CC=${CC:-cc}
$CC -std=gnu11 -O2 -g -Wall -pthread -o "$TMP/milter_bench" "$ROOT/bench/milter_bench.c" "$ROOT/bench/bench_util.c" -lm ||
	die "cannot build milter_bench"
# shellcheck disable=SC2046 # pkg-config prints several words
$CC -std=gnu11 -O2 -g -Wall -pthread $(pkg-config --cflags milter) -o "$TMP/null_milter" \
	"$ROOT/bench/null_milter.c" $(pkg-config --libs milter) ||
	die "cannot build null_milter (apt-get install libmilter-dev)"

PORT_MILTER=$(free_port "${PORT:-20060}")
PORT_POLICY=$(free_port $((PORT_MILTER + 1)))
PORT_NULL=$(free_port $((PORT_POLICY + 1)))
CONF=$TMP/outpost.conf
cat >"$CONF" <<EOF
user = "";
pidfile = "$TMP/outpostd.pid";
control_socket = "$TMP/outpostd.ctl";
store = { path = "$TMP/db"; };
http = { listen = ""; };
policy = { listen = "inet:127.0.0.1:$PORT_POLICY"; workers = 1; };
milter = { listen = "inet:$PORT_MILTER@127.0.0.1"; };
dns = { servers = [ "127.0.0.1:1" ]; };
EOF
"$OUTPOSTD" -n -c "$CONF" >/dev/null || die "outpostd rejects $CONF"

# ---- seed: the suppression list (policy_bench -E: the same workload) ------
seed_suppressions "$CONF" "$POLICY_BENCH"
log "suppress import: $SUPPRESSED entries in $IMPORT_S s"
rm -f "$TMP/suppress.csv"

# ---- start the milters ---------------------------------------------------
PRELOAD=
if [ "$NODELAY" = 1 ]; then
	cat >"$TMP/nodelay.c" <<'EOC'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
/* TCP_NODELAY on every accepted socket: what the milter would do with it set on its listener. */
int
accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	static int (*real)(int, struct sockaddr *, socklen_t *);
	int on = 1, s;

	if (real == NULL)
		real = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
	if ((s = real(fd, sa, len)) >= 0)
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return s;
}
EOC
	$CC -O2 -shared -fPIC -o "$TMP/nodelay.so" "$TMP/nodelay.c" -ldl || die "cannot build the shim"
	PRELOAD=$TMP/nodelay.so
fi
LD_PRELOAD=$PRELOAD "$OUTPOSTD" -f -c "$CONF" >"$TMP/outpostd.log" 2>&1 &
OUT_PID=$!
wait_port "$PORT_MILTER" "$OUT_PID" || { cat "$TMP/outpostd.log" >&2; die "outpostd's milter did not start"; }
grep -q "milter listening on inet:$PORT_MILTER@127.0.0.1" "$TMP/outpostd.log" ||
	log "warning: outpostd did not log its milter listener"
"$TMP/null_milter" -p "inet:$PORT_NULL@127.0.0.1" 2>"$TMP/null.log" &
NULL_PID=$!
wait_port "$PORT_NULL" "$NULL_PID" || { cat "$TMP/null.log" >&2; die "null_milter did not start"; }
MILTER_PID=$(pgrep -P "$OUT_PID" -f outpostd | while read -r p; do
	ss -tlnpH "( sport = :$PORT_MILTER )" 2>/dev/null | grep -q "pid=$p," && echo "$p"
done | head -1)
log "outpostd pid $OUT_PID (milter ${MILTER_PID:-?}) on :$PORT_MILTER, null_milter pid $NULL_PID on :$PORT_NULL"

# ---- seed: accounts by auto-creation through the milter, then pauses -------
# -Q: seeding only, and without it each message may wait for a delayed ACK.
# The milter queues auto-creations in a ledger of 4096 items flushed every
# 100 ms and drops what does not fit, so a fast pass can miss accounts: a
# second pass creates the rest.
pass=1
while :; do
	log "warm-up pass $pass: one message per account ($ACCOUNTS) through outpostd's milter"
	run_gen warmup "$PORT_MILTER" 4 -W -Q >"$TMP/warmup.out" ||
		{ cat "$TMP/warmup.out" >&2; die "warm-up failed"; }
	sleep 1 # the milter's ledger flushes every 100 ms
	NACC=$("$CTL" -c "$CONF" account list | wc -l)
	[ "$NACC" -lt "$ACCOUNTS" ] || break
	[ $pass -lt 3 ] || die "only $NACC accounts after $pass warm-up passes (want $ACCOUNTS)"
	log "only $NACC accounts after warm-up pass $pass (auto-creations dropped by the milter's ledger)"
	pass=$((pass + 1))
done
pause_accounts "$CONF"
log "$NACC accounts, $npaused paused"

# ---- the runs ------------------------------------------------------------
log "runs: ${DURATION}s per milter, recipients ($RCPTS) x concurrency ($CONCS), ${SLICE}s slices, $REPEAT round(s)"
run_gen settle "$PORT_MILTER" 8 -d 2 $QFLAG >/dev/null
run_gen settle "$PORT_NULL" 8 -d 2 $QFLAG >/dev/null
: >"$TMP/results"
r=1
while [ $r -le "$REPEAT" ]; do
	for n in $RCPTS; do
		for c in $CONCS; do
			if [ "$PERF" = 1 ] && [ $r = 1 ] && [ -n "$MILTER_PID" ] && [ ! -f "$TMP/perf.data" ]; then
				perf record -F 999 -g -p "$MILTER_PID" -o "$TMP/perf.data" \
					>/dev/null 2>&1 &
				PERF_PID=$!
			fi
			run_gen null "$PORT_NULL" "$c" -s "127.0.0.1:$PORT_MILTER" -L outpost \
				-r "$n" -m "$PER_SESSION" -d "$DURATION" -i "$SLICE" $QFLAG >"$TMP/run.out" ||
				{ cat "$TMP/run.out" >&2; die "recipients $n, concurrency $c failed"; }
			if [ -n "$PERF_PID" ]; then
				kill -INT "$PERF_PID" 2>/dev/null || true
				wait "$PERF_PID" 2>/dev/null || true
				PERF_PID=
			fi
			sed "s/\$/ load=$(cut -d' ' -f1 /proc/loadavg)/" "$TMP/run.out" |
				tee -a "$TMP/results" | grep '^result' |
				cut -d' ' -f2,4,6,12-16,19 >&2
		done
	done
	r=$((r + 1))
done
kill -0 "$OUT_PID" 2>/dev/null || die "outpostd died during the runs"
if [ -f "$TMP/perf.data" ]; then
	perf report -i "$TMP/perf.data" --no-children --sort dso,sym --stdio 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -60 >"$TMP/perf.txt" || true
	log "perf profile of outpostd's milter: $TMP/perf.txt (KEEP=1 keeps it)"
fi

# The run with the median messages/s among the rounds of (label $1, recipients $2, concurrency $3).
median_run() {
	grep "^result label=$1 .* conc=$3 .* rcpts=$2 " "$TMP/results" |
		median_by mps
}

# Median over the rounds of outpost/null messages/s, each pair from one run.
paired_ratio() {
	grep "^result .* conc=$2 .* rcpts=$1 " "$TMP/results" | tr ' ' '\n' | sed -n 's/^mps=//p' |
		paste - - | awk '{ printf "%.1f\n", $1 ? 100 * $2 / $1 : 0 }' | sort -n |
		awk '{ l[NR] = $0 } END { printf "%.0f", l[int((NR + 1) / 2)] }'
}

# ---- the table -----------------------------------------------------------
echo
echo "Outpost milter benchmark: $(nproc) CPUs, libmilter $(pkg-config --modversion milter 2>/dev/null || echo '?'), $THREADS generator thread(s) on the same CPUs"
echo "store: $ACCOUNTS accounts ($npaused paused), $SUPPRESSED suppression entries (import ${IMPORT_S}s); ${HIT} of recipients suppressed"
echo "messages per milter session: $PER_SESSION (0: one session per connection); ${DURATION}s per milter and run, ${SLICE}s slices; median of $REPEAT round(s)"
[ "$QUICKACK" = 1 ] && echo "QUICKACK=1: the generator ACKs every reply at once (not what Postfix does)"
[ "$NODELAY" = 1 ] && echo "NODELAY=1: outpostd ran with TCP_NODELAY forced on its milter connections (LD_PRELOAD shim)"
echo "ratio: outpost/null messages/s within one run; latency: MAIL sent -> the reply that ends the message, in µs (p50 / p99 / p99.9)"
echo
printf '%5s %5s %10s %12s %6s   %-24s %-24s\n' rcpts conc "null msg/s" "outpost msg/s" ratio \
	"null latency" "outpost latency"
for n in $RCPTS; do
	for c in $CONCS; do
		nl=$(median_run null "$n" "$c")
		ol=$(median_run outpost "$n" "$c")
		printf '%5s %5s %10s %12s %5s%%   %-24s %-24s\n' "$n" "$c" "$(field "$nl" mps)" \
			"$(field "$ol" mps)" "$(paired_ratio "$n" "$c")" \
			"$(field "$nl" p50_us) / $(field "$nl" p99_us) / $(field "$nl" p999_us)" \
			"$(field "$ol" p50_us) / $(field "$ol" p99_us) / $(field "$ol" p999_us)"
	done
done
echo
echo "outpost replies (per run):"
grep "^replies label=outpost" "$TMP/results" | sed "s/^replies label=outpost/ /; s/ load=.*//"
[ -f "$TMP/perf.txt" ] && { echo; echo "perf (outpostd milter, first run):"; head -25 "$TMP/perf.txt"; }
exit 0
