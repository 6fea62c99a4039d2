#!/usr/bin/env bash
# Prints Plinth's benchmark table: every Go benchmark in the module, run
# BENCHCOUNT times (default 5), reduced to medians by hack/bench/table.
# Raw output is kept in _out/bench.txt. BENCHTAGS (default vm), BENCHPKGS.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p _out
count=${BENCHCOUNT:-5}
# The vm tag adds the QEMU benchmarks (boot, upgrade); they skip with a
# message without QEMU, root or the image of make image.
go test -tags "${BENCHTAGS-vm}" -timeout 60m -run='^$' -bench=. -benchmem -count="$count" ${BENCHPKGS:-./...} > _out/bench.txt
go run ./hack/bench/table < _out/bench.txt
