#!/usr/bin/env bash
# Prints Plinth's benchmark table. Each benchmark is a Go benchmark named
# Benchmark* under ./...; figures are medians of several runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p _out
go test -run='^$' -bench=. -benchmem -count=5 ./... | tee _out/bench.txt
