#!/bin/sh
# Replay the configuration file fuzz corpus (seeds and past crashes) through the gcc build.
exec ./tests/fuzz/fuzz_conf_replay "$(dirname "$0")"/corpus/conf/*
