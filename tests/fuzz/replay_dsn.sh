#!/bin/sh
# Replay the DSN/ARF fuzz corpus (seeds and past crashes) through the gcc build.
exec ./tests/fuzz/fuzz_dsn_replay "$(dirname "$0")"/corpus/dsn/*
