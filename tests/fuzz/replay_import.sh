#!/bin/sh
# Replay the import fuzz corpus (seeds and past crashes) through the gcc build.
exec ./tests/fuzz/fuzz_import_replay "$(dirname "$0")"/corpus/import/*
