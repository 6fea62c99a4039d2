#!/usr/bin/env bash
# Builds a boot bundle identical to the one `make image` writes to
# _out/boot-bundle.tar except for its version, so that a test can upgrade a
# node to "another version" of the same code:
#
#   OUTDIR/plinth, OUTDIR/plinth-init   built as `make build` does, with
#                                       version.Tag=VERSION
#   OUTDIR/programs, OUTDIR/images      links to _out/programs, _out/images
#   OUTDIR/boot-bundle.tar              (and the imager's other outputs)
#
# The imager's steps are incremental in OUTDIR too, and the package cache is
# shared, so a second run with the same VERSION is quick. SQUASHFS_COMP is
# honoured as by `make image`. Needs `make image` to have run (it builds the
# programs and images this reuses).
#
# Usage: hack/bundle-variant.sh VERSION OUTDIR
# Prints the bundle's path on stdout (everything else goes to stderr).
set -euo pipefail

die() { echo "bundle-variant: $*" >&2; exit 1; }

[[ $# -eq 2 ]] || die "usage: hack/bundle-variant.sh VERSION OUTDIR"
version=$1
out=$2
# The bundle manifest's rule for versions (pkg/machinery/bundle); it also
# keeps the -ldflags below a single word.
[[ "$version" =~ ^[A-Za-z0-9][A-Za-z0-9._+~-]*$ && ${#version} -le 128 ]] ||
	die "version $version: want letters, digits and . _ + ~ - (at most 128)"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GO=${GO:-go}
cd "$repo"
for f in _out/boot-bundle.tar _out/programs _out/images; do
	[[ -e "$f" ]] || die "$f is missing: run make image first"
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
[[ "$out" != "$repo/_out" ]] || die "OUTDIR must not be _out"
for d in programs images; do
	if [[ -e "$out/$d" && ! -L "$out/$d" ]]; then
		die "$out/$d exists and is not a link"
	fi
	ln -sfn "$repo/_out/$d" "$out/$d"
done

ldflags="-s -w -X github.com/plinth-os/plinth/pkg/machinery/version.Tag=$version"
CGO_ENABLED=0 "$GO" build -trimpath -ldflags "$ldflags" -o "$out/plinth" ./cmd/plinth
CGO_ENABLED=0 "$GO" build -trimpath -ldflags "$ldflags" -o "$out/plinth-init" ./cmd/plinth-init

"$GO" run ./cmd/imager -out "$out" -out-sources "$out" -init "$out/plinth-init" \
	-version "$version" -squashfs-comp "${SQUASHFS_COMP:-zstd}" -quiet >&2
echo "$out/boot-bundle.tar"
