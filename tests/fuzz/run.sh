#!/bin/sh
# run.sh -- build the libFuzzer targets with clang (ASan + UBSan) and run each
# for FUZZ_SECONDS (default 20).  New crashes are saved in tests/fuzz/crashes/
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
LIBSRC=$(ls src/util/*.c src/conf/*.c src/store/*.c src/suppress/*.c src/account/*.c \
	src/decide/*.c src/policy/*.c src/feedback/maillog.c \
	src/feedback/mime.c src/feedback/dsn.c src/feedback/arf.c)
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$BUILD -Isrc
	$(pkg-config --cflags libconfig lmdb libevent_core jansson)"
LIBS="$(pkg-config --libs libconfig lmdb libevent_core jansson) -lpthread"
passed=0
failed=0
for t in policy import maillog dsn; do
	# shellcheck disable=SC2086
	clang $CFLAGS -o "$OUT/fuzz_$t" "tests/fuzz/fuzz_$t.c" $LIBSRC $LIBS
	mkdir -p "$OUT/corpus_$t"
	if "$OUT/fuzz_$t" -max_total_time="$SECS" -max_len=4096 -timeout=5 \
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
