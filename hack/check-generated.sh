#!/usr/bin/env bash
# Fails when `make generate` would change committed files.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo "check-generated: not a git checkout, skipped"; exit 0
fi
before=$(git status --porcelain --untracked-files=all)
go generate ./...
after=$(git status --porcelain --untracked-files=all)
if [ "$before" != "$after" ]; then
	echo "generated files are stale; run 'make generate' and commit:"
	diff <(echo "$before") <(echo "$after") || true
	exit 1
fi
