#!/bin/sh
# run-fleet.sh -- the fleet benchmarks (README "Fleet"); run by hand, not in CI.
#
# Starts a throw-away redis-server (no persistence) and three outpostd on
# loopback: A and B in one fleet (cluster = { redis = ... }), and OFF, the
# same daemon without a cluster section.  Then:
#   throughput   bench/policy_bench drives OFF and A in alternate slices of
#                SLICE seconds at concurrency CONC, DURATION seconds each:
#                requests/s with the cluster on as a share of without, both
#                measured in the same run (so under the same background load).
#   propagation  bench/fleet_bench.py prop: RATE suppression changes/s on A
#                through its HTTP API for PROP_SECONDS, twice: DRIVERS clients
#                with one PUT per change, then one client posting BATCH rows
#                to /v1/suppression/import RATE/BATCH times a second; sampled,
#                the delay until B's policy service refuses the address.
#   import       bench/fleet_bench.py import: IMPORT_ROWS entries imported on A
#                with outpostctl, until B refuses the last one: seconds, rows/s.
# Everything it starts it stops by PID; everything it creates lives in one
# temp directory, removed at the end (KEEP=1 keeps it).
#
# Knobs: PARTS="throughput propagation import", CONC=8, DURATION=10, SLICE=1,
# REPEAT=3 (throughput rounds, each alternate one starting its slices with A),
# WORKERS=2, ACCOUNTS=10000, SUPPRESSED=100000 (the throughput workload, as
# run-policy.sh's, with DNS off), HIT=0.10, RATE=1000, PROP_SECONDS=10,
# DRIVERS=8, BATCH=10, IMPORT_ROWS=1000000, PORT=20140 (the first free port from there),
# BUILD=the build tree (default: build/ if configured, else the source tree).
set -eu

PARTS=${PARTS:-"throughput propagation import"}
CONC=${CONC:-8}
REPEAT=${REPEAT:-3}
DURATION=${DURATION:-10}
SLICE=${SLICE:-1}
WORKERS=${WORKERS:-2}
ACCOUNTS=${ACCOUNTS:-10000}
SUPPRESSED=${SUPPRESSED:-100000}
HIT=${HIT:-0.10}
RATE=${RATE:-1000}
PROP_SECONDS=${PROP_SECONDS:-10}
DRIVERS=${DRIVERS:-8}
BATCH=${BATCH:-10}
IMPORT_ROWS=${IMPORT_ROWS:-1000000}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=run-fleet
. "$ROOT/bench/lib.sh"
BENCH=$BUILD/bench/policy_bench
OUTPOSTD=$BUILD/src/outpostd
CTL=$BUILD/src/outpostctl
REDIS=$(command -v redis-server || echo /usr/bin/redis-server)

REDIS_PID=
A_PID=
B_PID=
OFF_PID=

cleanup() {
	stop_pid "$A_PID"
	stop_pid "$B_PID"
	stop_pid "$OFF_PID"
	stop_pid "$REDIS_PID"
	tmp_remove
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Wait up to $2 seconds until node config $1's cluster status says connected, outbox 0, lag 0.
wait_synced() {
	i=0
	until "$CTL" -c "$1" cluster status --json 2>/dev/null |
		grep -q '"connected": *true.*"outbox": *0\|"outbox": *0.*"connected": *true'; do
		[ $i -lt $(($2 * 10)) ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# Write the config of node $1 (a, b, off): policy port $2, http port $3 ("" none), cluster $4 (0/1).
write_conf() {
	d=$TMP/$1
	mkdir -p "$d"
	http='http = { listen = ""; };'
	[ -n "$3" ] && http="http = { listen = \"inet:127.0.0.1:$3\"; };"
	cluster=
	[ "$4" = 1 ] && cluster="cluster = { redis = \"redis://127.0.0.1:$PORT_REDIS\"; node = \"$1\"; };"
	cat >"$d/outpost.conf" <<EOF
user = "";
pidfile = "$d/outpostd.pid";
control_socket = "$d/outpostd.ctl";
store = { path = "$d/db"; map_size = "4G"; };
policy = { listen = "inet:127.0.0.1:$2"; workers = $WORKERS; };
milter = { listen = ""; };
$http
dns = { servers = [ "127.0.0.1:1" ]; bounce_prevention = false; };
$cluster
EOF
	"$OUTPOSTD" -n -c "$d/outpost.conf" || die "outpostd rejects $d/outpost.conf"
}

# Start node $1 listening on policy port $2; prints its pid.
start_node() {
	"$OUTPOSTD" -f -c "$TMP/$1/outpost.conf" >"$TMP/$1/outpostd.log" 2>&1 &
	pid=$!
	wait_port "$2" "$pid" 20 || { cat "$TMP/$1/outpostd.log" >&2; die "outpostd $1 did not start"; }
	echo "$pid"
}

# ---- build and start -----------------------------------------------------
[ -f "$BUILD/Makefile" ] || die "no Makefile in $BUILD: configure first (./dev.sh builds in build/)"
[ -x "$REDIS" ] || die "redis-server is not installed"
log "building (make -C $BUILD bench)"
make -C "$BUILD" -s bench >/dev/null

TMP=$(mktemp -d /tmp/outpost-fleet-bench.XXXXXX)
PORT_REDIS=$(free_port "${PORT:-20140}")
PORT_A=$(free_port $((PORT_REDIS + 1)))
PORT_B=$(free_port $((PORT_A + 1)))
PORT_OFF=$(free_port $((PORT_B + 1)))
PORT_HTTP=$(free_port $((PORT_OFF + 1)))
"$REDIS" --port "$PORT_REDIS" --bind 127.0.0.1 --save "" --appendonly no --dir "$TMP" \
	--protected-mode no >"$TMP/redis.log" 2>&1 &
REDIS_PID=$!
wait_port "$PORT_REDIS" "$REDIS_PID" 20 || die "redis-server did not start"
write_conf a "$PORT_A" "$PORT_HTTP" 1
write_conf b "$PORT_B" "" 1
write_conf off "$PORT_OFF" "" 0
A_PID=$(start_node a "$PORT_A")
B_PID=$(start_node b "$PORT_B")
OFF_PID=$(start_node off "$PORT_OFF")
wait_synced "$TMP/a/outpost.conf" 20 || die "A did not connect to Redis"
wait_synced "$TMP/b/outpost.conf" 20 || die "B did not connect to Redis"
log "redis-server pid $REDIS_PID :$PORT_REDIS; A pid $A_PID :$PORT_A (http :$PORT_HTTP), B pid $B_PID :$PORT_B, OFF pid $OFF_PID :$PORT_OFF"
echo "Outpost fleet benchmarks: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), one redis-server and three outpostd on loopback, $WORKERS policy workers each"

# ---- a. throughput: cluster on (A) vs off (OFF) ------------------------------
if echo "$PARTS" | grep -q throughput; then
	log "seeding A and OFF: $SUPPRESSED suppression entries, $ACCOUNTS accounts (1 % paused)"
	"$BENCH" -E -A "$ACCOUNTS" -N "$SUPPRESSED" >"$TMP/suppress.csv"
	for n in a off; do
		"$CTL" -c "$TMP/$n/outpost.conf" suppress import "$TMP/suppress.csv" >/dev/null ||
			die "import on $n failed"
	done
	for p in "$PORT_A" "$PORT_OFF"; do
		timeout 300 "$BENCH" -s "127.0.0.1:$p" -c 8 -A "$ACCOUNTS" -N "$SUPPRESSED" -W \
			-L warmup >/dev/null || die "warm-up on :$p failed"
	done
	sleep 1 # the workers' ledgers flush every 100 ms
	i=0
	while [ $i -lt "$ACCOUNTS" ]; do
		for n in a off; do
			"$CTL" -c "$TMP/$n/outpost.conf" account pause "acct$i" --reason bench >/dev/null 2>&1 || true
		done
		i=$((i + 100))
	done
	wait_synced "$TMP/a/outpost.conf" 120 || die "A did not push its seed"
	timeout 60 "$BENCH" -s "127.0.0.1:$PORT_A" -c "$CONC" -A "$ACCOUNTS" -N "$SUPPRESSED" \
		-f "$HIT" -d 2 -L settle >/dev/null
	timeout 60 "$BENCH" -s "127.0.0.1:$PORT_OFF" -c "$CONC" -A "$ACCOUNTS" -N "$SUPPRESSED" \
		-f "$HIT" -d 2 -L settle >/dev/null
	log "throughput: ${DURATION}s each at c=$CONC, ${SLICE}s slices alternating OFF and A, $REPEAT round(s)"
	: >"$TMP/ratios"
	r=1
	while [ $r -le "$REPEAT" ]; do
		# Odd rounds start each slice pair with OFF, even rounds with A.
		first="-s 127.0.0.1:$PORT_OFF -L off" second="-s 127.0.0.1:$PORT_A -L cluster"
		[ $((r % 2)) = 0 ] && { t=$first; first=$second; second=$t; }
		# shellcheck disable=SC2086 # the two server options split on purpose
		timeout $((2 * DURATION + 60)) "$BENCH" $first $second -c "$CONC" -A "$ACCOUNTS" \
			-N "$SUPPRESSED" -f "$HIT" -d "$DURATION" -i "$SLICE" >"$TMP/throughput.out" ||
			{ cat "$TMP/throughput.out" >&2; die "the throughput run failed"; }
		grep '^result\|^replies' "$TMP/throughput.out" | sed 's/^/  /'
		off=$(sed -n 's/^result label=off .*rps=\([0-9.]*\).*/\1/p' "$TMP/throughput.out")
		on=$(sed -n 's/^result label=cluster .*rps=\([0-9.]*\).*/\1/p' "$TMP/throughput.out")
		ratio=$(echo "$on $off" | awk '{ printf "%.1f", 100 * $1 / $2 }')
		echo "$ratio" >>"$TMP/ratios"
		echo "round $r (load $(cut -d' ' -f1 /proc/loadavg)): cluster off $off requests/s, cluster on $on requests/s: $ratio %"
		r=$((r + 1))
	done
	echo "throughput c=$CONC: cluster on / off, median of $REPEAT round(s): $(median <"$TMP/ratios") % (goal >= 90 %; rounds: $(sort -n "$TMP/ratios" | tr '\n' ' '))"
fi

# ---- b. propagation under RATE changes/s ---------------------------------------
if echo "$PARTS" | grep -q propagation; then
	TOKEN=$("$CTL" -c "$TMP/a/outpost.conf" token add fleetbench --scope write | tail -n 1)
	wait_port "$PORT_HTTP" "$A_PID" 20 || die "A's http listener did not start"
	"$CTL" -c "$TMP/a/outpost.conf" account add fleetbench >/dev/null 2>&1 || true
	wait_synced "$TMP/a/outpost.conf" 60 || die "A did not push"
	log "propagation: $RATE changes/s on A for ${PROP_SECONDS}s ($DRIVERS HTTP clients, one PUT a change), sampled on B"
	python3 "$ROOT/bench/fleet_bench.py" prop "$PORT_HTTP" "$TOKEN" "$PORT_B" "$RATE" \
		"$PROP_SECONDS" "$DRIVERS" 10 1 || log "the propagation run (PUT) failed"
	wait_synced "$TMP/a/outpost.conf" 60 || die "A did not push"
	log "propagation: $RATE changes/s on A for ${PROP_SECONDS}s (1 HTTP client, $BATCH rows a POST /v1/suppression/import), sampled on B"
	python3 "$ROOT/bench/fleet_bench.py" prop "$PORT_HTTP" "$TOKEN" "$PORT_B" "$RATE" \
		"$PROP_SECONDS" 1 1 "$BATCH" || die "the propagation run (import stream) failed"
fi

# ---- c. import on A until enforced on B --------------------------------------
if echo "$PARTS" | grep -q import; then
	wait_synced "$TMP/a/outpost.conf" 120 || die "A did not push"
	log "import: $IMPORT_ROWS entries with outpostctl on A, until B enforces them"
	python3 "$ROOT/bench/fleet_bench.py" import "$CTL" "$TMP/a/outpost.conf" "$PORT_B" \
		"$IMPORT_ROWS" "$TMP/bulk.csv" || die "the import run failed"
	echo "redis: $(redis-cli -p "$PORT_REDIS" XLEN outpost:changes) stream entries, $(redis-cli -p "$PORT_REDIS" INFO memory | sed -n 's/^used_memory_human:\(.*\)\r*$/\1/p' | tr -d '\r') used"
fi
for pid in "$A_PID" "$B_PID" "$OFF_PID"; do
	kill -0 "$pid" 2>/dev/null || die "an outpostd died during the runs"
done
