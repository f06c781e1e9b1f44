#!/bin/sh
# Replay the ARF complaint fuzz corpus (seeds and past crashes) through the gcc build.
exec ./tests/fuzz/fuzz_arf_replay "$(dirname "$0")"/corpus/arf/*
