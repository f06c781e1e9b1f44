#!/bin/sh
# run-all.sh -- every test tier, each timed, then one "N passed, N failed" line.
#   unit        cmocka unit tests (make check)
#   blackbox    the real outpostd/outpostctl on loopback (tests/blackbox/test_*.py)
#   e2e         a real Postfix instance (tests/e2e/test_*.sh)
#   sanitizers  unit + black-box again, built with ASan + UBSan in build-asan/
#   valgrind    a black-box scenario with outpostd under valgrind (memcheck)
#   fuzz        libFuzzer targets, FUZZ_SECONDS (20) each (tests/fuzz/run.sh)
#   distcheck   make distcheck (unit tests only)
# Assumes build/ is configured and built (./dev.sh test does that).
# TIERS="unit blackbox" limits the run.
set -u
cd "$(dirname "$0")/.."
TOP=$(pwd)
BUILD=$TOP/build
PY=/usr/bin/python3
TIERS=${TIERS:-"unit blackbox e2e sanitizers valgrind fuzz distcheck"}
PASSED=0
FAILED=0
LOGDIR=$TOP/tests/logs
mkdir -p "$LOGDIR"

add() { PASSED=$((PASSED + $1)); FAILED=$((FAILED + $2)); }

# Counts from a runner's closing "N passed, N failed" line in file $1 (none: one failure).
count_closing() {
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		echo "  $1: no summary line (crashed?)"
		add 0 1
		return
	fi
	p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	add "$p" "$f"
}

# cmocka cases in the unit test logs of build directory $1, and every `make check`
# program (replays, the man page check) that failed otherwise: its exit status, a
# sanitizer's report after its cases passed.
count_unit() {
	p=0; f=0
	for trs in $(find "$1/tests" -name '*.trs' | sort); do
		log=${trs%.trs}.log
		n=$(sed -n -E 's/^\[  PASSED  \] ([0-9]+) test.*/\1/p' "$log" 2>/dev/null | tail -n 1)
		m=$(sed -n -E 's/^\[  FAILED  \] ([0-9]+) test.*/\1/p' "$log" 2>/dev/null | tail -n 1)
		p=$((p + ${n:-0})); f=$((f + ${m:-0}))
		if grep -q '^:test-result: \(FAIL\|ERROR\)' "$trs" && [ "${m:-0}" = 0 ]; then
			f=$((f + 1)); echo "  $log: test program failed"
		elif [ -z "$n" ] && grep -q '^:test-result: PASS' "$trs"; then
			p=$((p + 1)) # a check without cmocka cases (the man pages)
		fi
	done
	add "$p" "$f"
	echo "  unit cases: $p passed, $f failed"
}

tier_unit() {
	make -C "$BUILD" -j2 check >"$LOGDIR/unit.out" 2>&1 ||
		{ tail -n 30 "$LOGDIR/unit.out"; for l in "$BUILD"/tests/unit/*.log; do grep -q FAILED "$l" && cat "$l"; done; }
	count_unit "$BUILD"
}

# Python black-box tests (and the miltertest scripts) against the binaries in build directory $1.
tier_blackbox() {
	if [ -x tests/milter/run.sh ]; then
		out="$LOGDIR/milter$2.out"
		OUTPOST_BUILD=$1 sh tests/milter/run.sh >"$out" 2>&1
		grep -E '^(ok|FAIL) ' "$out" | sed 's/^/  /'
		grep -q '^FAIL' "$out" && tail -n 40 "$out"
		count_closing "$out"
	fi
	for t in tests/blackbox/test_*.py; do
		out="$LOGDIR/$(basename "$t" .py)$2.out"
		OUTPOST_BUILD=$1 $PY "$t" >"$out" 2>&1
		grep -E '^(ok|FAIL) ' "$out" | sed 's/^/  /'
		grep -q '^FAIL' "$out" && sed -n '/^Traceback/,/^[A-Za-z]*Error\|^outpost_test/p' "$out" | head -n 60
		count_closing "$out"
	done
}

tier_e2e() {
	for t in tests/e2e/test_*.sh; do
		[ -f "$t" ] || continue
		out="$LOGDIR/$(basename "$t" .sh).out"
		OUTPOST_BUILD=$BUILD sh "$t" >"$out" 2>&1
		grep -E '^(ok|FAIL|not ok) ' "$out" | sed 's/^/  /'
		grep -q '^FAIL\|^not ok' "$out" && tail -n 60 "$out"
		count_closing "$out"
	done
}

tier_sanitizers() {
	B=$TOP/build-asan
	mkdir -p "$B"
	if [ ! -f "$B/Makefile" ]; then
		(cd "$B" && "$TOP/configure" --enable-werror \
			CFLAGS="-g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
			LDFLAGS="-fsanitize=address,undefined") >"$LOGDIR/asan-configure.out" 2>&1 ||
			{ tail -n 20 "$LOGDIR/asan-configure.out"; add 0 1; return; }
	fi
	export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
	make -C "$B" -j2 >"$LOGDIR/asan-build.out" 2>&1 || { tail -n 30 "$LOGDIR/asan-build.out"; add 0 1; return; }
	make -C "$B" -j2 check >"$LOGDIR/asan-unit.out" 2>&1 || tail -n 30 "$LOGDIR/asan-unit.out"
	count_unit "$B"
	OUTPOST_SANITIZER=1 tier_blackbox "$B" "-asan"
}

tier_fuzz() {
	out="$LOGDIR/fuzz.out"
	./tests/fuzz/run.sh "$BUILD" >"$out" 2>&1
	grep -E '^(ok|FAIL) ' "$out" | sed 's/^/  /'
	grep -q '^FAIL' "$out" && tail -n 40 "$out"
	count_closing "$out"
}

# One scenario (the policy black-box tests that exercise parsing, decisions,
# reload and draining) with every outpostd process under memcheck.
# VALGRIND_ALL=1 (by hand: about half an hour): every black-box file instead.
tier_valgrind() {
	out="$LOGDIR/valgrind.out"
	vg="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99"
	if [ "${VALGRIND_ALL:-0}" = 1 ]; then
		for t in tests/blackbox/test_*.py; do
			OUTPOST_BUILD=$BUILD OUTPOST_DAEMON_WRAPPER=$vg $PY "$t" >"$out" 2>&1
			grep -E '^FAIL ' "$out" | sed "s|^|  $t: |"
			count_closing "$out"
		done
		return
	fi
	OUTPOST_BUILD=$BUILD OUTPOST_DAEMON_WRAPPER=$vg \
		$PY tests/blackbox/test_policy.py clean_mail_gets_dunno \
		suppressed_recipient_rejected_with_reason_and_date paused_account_tempfailed_with_reason \
		many_requests_on_one_connection_and_pipelined malformed_input_closes_only_that_connection \
		identity_sources_and_mappings end_of_message_is_recorded_once reload_good_and_bad_config \
		sigterm_drains_and_exits_zero >"$out" 2>&1
	grep -E '^(ok|FAIL) ' "$out" | sed 's/^/  /'
	grep -q '^FAIL' "$out" && tail -n 80 "$out"
	count_closing "$out"
}

tier_distcheck() {
	if make -C "$BUILD" -j2 distcheck >"$LOGDIR/distcheck.out" 2>&1; then
		echo "  make distcheck: ok"; add 1 0
	else
		tail -n 40 "$LOGDIR/distcheck.out"; echo "  make distcheck: FAILED"; add 0 1
	fi
}

ALL_START=$(date +%s)
for tier in $TIERS; do
	start=$(date +%s)
	echo "== tier $tier"
	"tier_$tier" "$BUILD" ""
	echo "== tier $tier: $(( $(date +%s) - start ))s"
done
echo "== all tiers: $(( $(date +%s) - ALL_START ))s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
