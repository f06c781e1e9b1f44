#!/bin/sh
# Replay the maillog fuzz corpus (seeds and past crashes) through the gcc build.
exec ./tests/fuzz/fuzz_maillog_replay "$(dirname "$0")"/corpus/maillog/*
