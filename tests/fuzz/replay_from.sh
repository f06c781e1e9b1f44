#!/bin/sh
# Replay the From: header fuzz corpus (seeds and past crashes) through the gcc build.
exec ./tests/fuzz/fuzz_from_replay "$(dirname "$0")"/corpus/from/*
