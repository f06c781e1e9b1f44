#!/bin/sh
# Replay the control protocol fuzz corpus (seeds and past crashes) through the gcc build.
exec ./tests/fuzz/fuzz_control_replay "$(dirname "$0")"/corpus/control/*
