# shellcheck shell=sh
# lib.sh -- what the benchmark scripts share; sourced by run-policy.sh,
# run-milter.sh and run-fleet.sh after they set ROOT (the source tree) and
# BENCH_NAME (the prefix of their log lines).  It sets BUILD when unset:
# build/ when configured there (dev.sh's out-of-tree build), else the source tree.
# The scripts stop only what they started, by PID; TMP is their temp directory.

if [ -z "${BUILD:-}" ]; then
	BUILD=$ROOT
	[ -f "$ROOT/build/Makefile" ] && BUILD=$ROOT/build
fi
TMP=

log() {
	printf '%s\n' "$BENCH_NAME: $*" >&2
}

die() {
	log "$*"
	exit 1
}

# Stop one process we started: TERM, up to 10 s, then KILL.
stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# Remove the temp directory, or say where it is with KEEP=1.
tmp_remove() {
	if [ -n "$TMP" ] && [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$TMP"
	elif [ -n "$TMP" ]; then
		log "kept $TMP"
	fi
}

now() {
	date +%s.%N
}

# Is something listening on 127.0.0.1:$1?
port_open() {
	bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# The first port from $1 on that nothing listens on.
free_port() {
	p=$1
	while port_open "$p"; do
		p=$((p + 1))
	done
	echo "$p"
}

# Wait up to $3 s (default 10) for a listener on port $1 while process $2 lives.
wait_port() {
	i=0
	until port_open "$1"; do
		kill -0 "$2" 2>/dev/null || return 1
		[ $i -lt $((${3:-10} * 10)) ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# Value of key $2 in result line $1.
field() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# The median of the lines on stdin (sorted numerically; the lower one of an even count).
median() {
	sort -n | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }'
}

# The result line on stdin with the median value of key $1 (rps, mps).
median_by() {
	awk -v k="$1" '{ for (i = 1; i <= NF; i++) if ($i ~ "^" k "=") { split($i, a, "="); print a[2] "\t" $0 } }' |
		median | cut -f2-
}

# Seed config $1's store with policy_bench $2's suppression list (-E, ACCOUNTS
# and SUPPRESSED): sets IMPORT_S (seconds) and IMPORT_RATE (entries/s); the
# CSV stays in $TMP/suppress.csv.
seed_suppressions() {
	log "writing $SUPPRESSED suppression entries"
	"$2" -E -A "$ACCOUNTS" -N "$SUPPRESSED" >"$TMP/suppress.csv"
	t0=$(now)
	timeout 900 "$CTL" -c "$1" suppress import "$TMP/suppress.csv" >"$TMP/import.out" 2>&1 ||
		{ cat "$TMP/import.out" >&2; die "suppress import failed"; }
	t1=$(now)
	# shellcheck disable=SC2034 # for the caller's table
	IMPORT_S=$(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}')
	# shellcheck disable=SC2034
	IMPORT_RATE=$(echo "$t0 $t1 $SUPPRESSED" | awk '{printf "%.0f", $3 / ($2 - $1)}')
}

# Pause acct0, acctPAUSE_EVERY, ... below ACCOUNTS in config $1's store; sets npaused.
pause_accounts() {
	i=0 npaused=0
	while [ $i -lt "$ACCOUNTS" ]; do
		"$CTL" -c "$1" account pause "acct$i" --reason bench >/dev/null
		i=$((i + PAUSE_EVERY)) npaused=$((npaused + 1))
	done
}
