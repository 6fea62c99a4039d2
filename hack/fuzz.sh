#!/usr/bin/env bash
# Runs every Fuzz target in the module for $FUZZTIME each (default 30s).
#
# Go before 1.27 has a race in its fuzzing coordinator (go.dev/issue/75804):
# when a duration -fuzztime ends while a worker is busy, the target can fail
# with a bare "context deadline exceeded" although nothing failed. Such a
# run (that error, and no failing input written) is run once more; a second
# failure, or any other failure, fails.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-30s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# deadline_race reports whether the log of a failed run shows only the
# coordinator's deadline race.
deadline_race() {
	grep -q 'context deadline exceeded' "$log" &&
		! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$log"
}

grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
	pkg=./$(dirname "${f#./}")
	grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //' | while read -r target; do
		for try in 1 2; do
			echo "fuzz $pkg $target ($FUZZTIME)"
			if go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" "$pkg" 2>&1 | tee "$log"; then
				break
			fi
			if [ "$try" = 1 ] && deadline_race; then
				echo "fuzz: $target ended on Go's fuzztime deadline race (go.dev/issue/75804), no failing input: running it again"
				continue
			fi
			exit 1
		done
	done
done
