#!/usr/bin/env bash
# Boots the node image in QEMU several times for each squashfs compression
# and prints the medians of the boot timeline (BenchmarkBootToInit in
# test/vm) with the image sizes. Columns: QEMU start → init, kernel uptime
# at init, init's own time, init's exec → machined's maintenance banner,
# QEMU start → banner (wall seconds), then QEMU's CPU seconds to the banner
# and from the exec to the banner (steadier on a busy host). Boots are interleaved (one per
# compression per round) so that load from other work on the machine
# spreads evenly. Results also go to _out/bench/boot.txt.
#
# Usage: hack/bench/boot.sh [rounds] [compression...]
#   defaults: 5 rounds; zstd lz4 (any of zstd lz4 xz gzip lzo)
#   IMAGER_FLAGS adds imager flags (e.g. "-allow other.allow").
set -euo pipefail
cd "$(dirname "$0")/../.."

rounds=${1:-5}
shift || true
comps=("$@")
[[ ${#comps[@]} -gt 0 ]] || comps=(zstd lz4)

hack/ensure-deps.sh image vm
[[ -x _out/plinth ]] || make build >/dev/null
mkdir -p _out/bench
for comp in "${comps[@]}"; do
	dir=_out/bench/$comp
	mkdir -p "$dir"
	# shellcheck disable=SC2086 # IMAGER_FLAGS is a list of words
	go run ./cmd/imager -out "$dir" -out-sources _out -init _out/plinth -squashfs-comp "$comp" -quiet ${IMAGER_FLAGS:-} >/dev/null
	: >"$dir/samples"
done

for ((r = 1; r <= rounds; r++)); do
	for comp in "${comps[@]}"; do
		dir=_out/bench/$comp
		log=$dir/bench.log
		PLINTH_IMAGE_DIR="$dir" go test -tags vm -count=1 -run '^$' -bench BenchmarkBootToInit \
			-benchtime 1x -timeout 10m ./test/vm/ >"$log" 2>&1 || { cat "$log"; exit 1; }
		grep '^BenchmarkBootToInit' "$log" >>"$dir/samples" || { echo "no result (skipped?):"; cat "$log"; exit 1; }
	done
	echo "round $r/$rounds done" >&2
done

# median <metric> <file>: the median of the value printed before the metric's unit.
median() {
	awk -v unit="$1" '{ for (i = 2; i <= NF; i++) if ($i == unit) print $(i - 1) }' "$2" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

report=_out/bench/boot.txt
printf '%-5s %10s %10s %8s %8s %8s %8s %8s %8s %8s   (medians of %d boots, seconds)\n' \
	comp rootfs-B initrd-B qemu→init k→init init m→maint qemu→m cpu cpu-m "$rounds" | tee "$report"
for comp in "${comps[@]}"; do
	dir=_out/bench/$comp
	printf '%-5s %10d %10d %8s %8s %8s %8s %8s %8s %8s\n' "$comp" "$(stat -c %s "$dir/rootfs.sqsh")" "$(stat -c %s "$dir/initramfs")" \
		"$(median qemu-to-init-s "$dir/samples")" "$(median kernel-to-init-s "$dir/samples")" "$(median init-to-exec-s "$dir/samples")" \
		"$(median exec-to-maintenance-s "$dir/samples")" "$(median qemu-to-maintenance-s "$dir/samples")" \
		"$(median qemu-cpu-s "$dir/samples")" "$(median machined-cpu-s "$dir/samples")" | tee -a "$report"
done
