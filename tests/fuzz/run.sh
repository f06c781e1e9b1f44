#!/bin/sh
# run.sh -- build the libFuzzer targets with clang (ASan + UBSan) and run each
# for FUZZ_SECONDS (default 20); FUZZ_TARGETS="arf conf" runs only those.
# New crashes are saved in tests/fuzz/crashes/
# and make the run fail; add the fixed ones to tests/fuzz/corpus/TARGET/.
#   tests/fuzz/run.sh [BUILD_DIR]        BUILD_DIR holds config.h (default: build)
#   FUZZ_SECONDS=3600 tests/fuzz/run.sh  a long run
set -eu
cd "$(dirname "$0")/../.."
TOP=$(pwd)
BUILD=${1:-$TOP/build}
SECS=${FUZZ_SECONDS:-20}
OUT=$TOP/tests/fuzz/bin
mkdir -p "$OUT" "$TOP/tests/fuzz/crashes"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-g -O1 $SAN -I$BUILD -Isrc -DPKGDATADIR=\"/usr/local/share/outpost\" -DSYSCONFDIR=\"/usr/local/etc\" $(pkg-config --cflags libconfig lmdb libevent libcares jansson hiredis)"
LIBS="$(pkg-config --libs libconfig lmdb libevent libcares jansson hiredis) -lmilter -lpthread"
# Every library source, instrumented, in one archive: a target pulls in only
# what it uses, so a new module never breaks the list.
OBJ=$OUT/obj
rm -rf "$OBJ"
mkdir -p "$OBJ"
# shellcheck disable=SC2016
find src -mindepth 2 -name '*.c' ! -path 'src/ctl/outpostctl.c' -print |
	xargs -P "$(nproc)" -I{} sh -c 'o="$1/$(echo "$2" | tr / _).o"; clang $3 -fsanitize=fuzzer-no-link -c "$2" -o "$o"' \
		sh "$OBJ" {} "$CFLAGS" || { echo "FAIL fuzz build"; echo "0 passed, 1 failed"; exit 1; }
rm -f "$OUT/liboutpost-fuzz.a"
ar rcs "$OUT/liboutpost-fuzz.a" "$OBJ"/*.o
passed=0
failed=0
LSAN_OPTIONS=suppressions=$TOP/tests/fuzz/lsan.supp:print_suppressions=0
export LSAN_OPTIONS
for t in ${FUZZ_TARGETS:-policy import maillog dsn from arf conf control}; do
	# shellcheck disable=SC2086
	clang $CFLAGS -fsanitize=fuzzer -o "$OUT/fuzz_$t" "tests/fuzz/fuzz_$t.c" \
		"$OUT/liboutpost-fuzz.a" $LIBS
	mkdir -p "$OUT/corpus_$t"
	dict=
	[ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
	# shellcheck disable=SC2086
	if "$OUT/fuzz_$t" -max_total_time="$SECS" -max_len=4096 -timeout=5 $dict \
		-artifact_prefix="$TOP/tests/fuzz/crashes/${t}-" "$OUT/corpus_$t" \
		"tests/fuzz/corpus/$t" >"$OUT/fuzz_$t.log" 2>&1; then
		echo "ok   fuzz_$t: $(grep -Eo 'stat::number_of_executed_units: [0-9]+' "$OUT/fuzz_$t.log" ||
			tail -n 1 "$OUT/fuzz_$t.log")"
		passed=$((passed + 1))
	else
		echo "FAIL fuzz_$t"
		tail -n 40 "$OUT/fuzz_$t.log"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
