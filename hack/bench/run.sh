#!/usr/bin/env bash
# Prints Plinth's benchmark table: every Go benchmark in the module, run
# BENCHCOUNT times (default 5), reduced to medians by hack/bench/table.
# Raw output is kept in _out/bench.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p _out
count=${BENCHCOUNT:-5}
go test -run='^$' -bench=. -benchmem -count="$count" ${BENCHPKGS:-./...} > _out/bench.txt
go run ./hack/bench/table < _out/bench.txt
