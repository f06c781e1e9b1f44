#!/bin/sh
# Replay the configuration file fuzz corpus (seeds and past crashes) through the gcc build.
# libconfig itself leaks a few bytes on some syntax errors: those leaks are suppressed
# (tests/fuzz/lsan.supp) when the build has LeakSanitizer, as in tests/fuzz/run.sh.
LSAN_OPTIONS="suppressions=$(dirname "$0")/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
exec ./tests/fuzz/fuzz_conf_replay "$(dirname "$0")"/corpus/conf/*
