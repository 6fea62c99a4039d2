#!/usr/bin/env bash
# Builds the OCI images a Plinth cluster needs at start (nothing can be
# pulled on a node) with the Go program in build/images, from the programs
# hack/build-programs.sh builds, and caches each one by version and by a hash
# of its inputs (the images program and the program's own cache entry):
#
#   ${PLINTH_CACHE:-$HOME/.cache/plinth}/build/image-<name>-<version>-<hash>/<name>.tar
#
# Each tarball is a docker archive tagged as the cluster refers to it
# (registry.k8s.io/pause:3.10, registry.k8s.io/coredns/coredns:v1.15.0,
# ghcr.io/flannel-io/flannel:v0.28.10); import it with
# `ctr -n k8s.io images import FILE`. IMAGEINFO beside it records the
# reference and image ID (config digest, as crictl shows it after import).
# _out/images/<name>.tar links to the entry.
#
# Usage: hack/build-images.sh [NAME...]   (default: pause coredns flannel)
#        hack/build-images.sh --path NAME (print where its tarball is cached;
#                                          builds nothing)
set -euo pipefail

RECIPE_ABI=1
ALL=(pause coredns flannel)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${PLINTH_CACHE:-$HOME/.cache/plinth}/build
GO=${GO:-go}
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

die() { echo "build-images: $*" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# input_hash PROGRAM_DIR: the images module's files, Go version, the
# program's cache entry (its name carries the program's own input hash).
input_hash() {
	{
		echo "abi=$RECIPE_ABI program=${1##*/}"
		"$GO" env GOVERSION
		(cd "$repo/build/images" && find . -type f ! -name '*_test.go' ! -name '*.md' -print0 |
			LC_ALL=C sort -z | xargs -0 sha256sum)
	} | sha256sum | cut -c1-12
}

# entry_dir NAME: the image's cache entry, from its program's entry.
entry_dir() {
	local prog version
	prog=$("$repo/hack/build-programs.sh" --dir "$1")
	[[ -f "$prog/BUILDINFO" ]] || die "$1: program not built ($prog)"
	version=$(sed -n 's/^version=//p' "$prog/BUILDINFO")
	echo "$cache/image-$1-$version-$(input_hash "$prog")"
}

if [[ "${1:-}" == --path ]]; then
	[[ $# -eq 2 ]] || die "usage: $0 --path NAME"
	echo "$(entry_dir "$2")/$2.tar"
	exit 0
fi

[[ $# -gt 0 ]] || set -- "${ALL[@]}"
"$repo/hack/build-programs.sh" "$@" >&2 # the programs the images pack
rows=()
for img in "$@"; do
	start=$(date +%s.%N)
	prog=$("$repo/hack/build-programs.sh" --dir "$img")
	dir=$(entry_dir "$img")
	if [[ ! -f "$dir/IMAGEINFO" ]]; then
		if [[ ! -x "$work/images" ]]; then
			(cd "$repo/build/images" && "$GO" build -trimpath -o "$work/images" .)
		fi
		rm -rf "$dir.tmp.$$" && mkdir -p "$dir.tmp.$$"
		read -r ref id _ < <("$work/images" -out "$dir.tmp.$$" "$img=$prog")
		printf 'ref=%s\nid=%s\nprogram=%s\n' "$ref" "$id" "$prog" >"$dir.tmp.$$/IMAGEINFO"
		rm -rf "$dir" && mv "$dir.tmp.$$" "$dir"
	fi
	mkdir -p "$repo/_out/images"
	ln -sfn "$dir/$img.tar" "$repo/_out/images/$img.tar"
	took=$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }')
	rows+=("$(printf '%-45s %7.1fM %6ss  %s' "$(sed -n 's/^ref=//p' "$dir/IMAGEINFO")" \
		"$(stat -c %s "$dir/$img.tar" | awk '{print $1/1048576}')" "$took" \
		"$(sed -n 's/^id=//p' "$dir/IMAGEINFO" | cut -c1-19)")")
done
printf '\n%-45s %8s %7s  %s\n' IMAGE SIZE TOOK ID
printf '%s\n' "${rows[@]}"
