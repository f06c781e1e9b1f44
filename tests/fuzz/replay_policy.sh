#!/bin/sh
# Replay the policy fuzz corpus (seeds and past crashes) through the gcc build.
exec ./tests/fuzz/fuzz_policy_replay "$(dirname "$0")"/corpus/policy/*
