#!/usr/bin/env bash
# Builds the third-party programs a Plinth node runs (Kubernetes, etcd,
# containerd, runc, CNI plugins, CoreDNS, flanneld, pause) from the Go modules
# under build/, each at the version pinned in its go.mod, and caches them by
# version and by a hash of their build inputs:
#
#   ${PLINTH_CACHE:-$HOME/.cache/plinth}/build/<component>-<version>-<hash>/
#
# A component whose cache entry exists is not rebuilt, so a clean checkout of
# the same inputs reuses it. The entry holds the binaries, multi-call
# symlinks and BUILDINFO (version, hash, Go version, build time, sizes).
# _out/programs/ in the checkout gets a symlink to each cached binary.
#
# Each build/<component>/ is its own Go module (so `go test ./...` at the
# root never compiles it) with a file named recipe, sourced here, that sets:
#   VERSION      the upstream version (cache directory name, checks)
#   CGO_ENABLED  0, or 1 for runc's nsenter (then linked static)
#   TAGS         build tags for every target
#   LDFLAGS      extra linker flags (version -X flags), after "-s -w"
#   TARGETS      "name package [extra,tags]" per binary
#   LINKS        "name target" symlinks made in the entry (multi-call names)
#   DEPS         "command-or-file debian-package" host build dependencies
#
# Usage: hack/build-programs.sh [COMPONENT...]   (default: all, small first)
#        hack/build-programs.sh --dir COMPONENT  (print its cache directory)
# Heavy builds run under `nice -n 10`, one at a time (a lock in the cache
# serializes builds started from several checkouts). docs/build.md has more.
set -euo pipefail

# Bump when the way inputs turn into outputs changes (flags, layout), so
# every entry is rebuilt.
RECIPE_ABI=1
ALL=(pause cni etcd containerd runc coredns flannel kube)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${PLINTH_CACHE:-$HOME/.cache/plinth}/build
GO=${GO:-go}
NICE=${NICE:-nice -n 10}
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

die() { echo "build-programs: $*" >&2; exit 1; }
since() { awk -v s="$1" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }'; }
tmp=''
trap '[[ -z "$tmp" ]] || rm -rf "$tmp"' EXIT

# load_recipe COMPONENT: resets the recipe variables and sources the recipe.
load_recipe() {
	VERSION='' CGO_ENABLED=0 TAGS='' LDFLAGS='' TARGETS=() LINKS=() DEPS=()
	[[ -f "$repo/build/$1/recipe" ]] || die "no recipe for $1 (build/$1/recipe)"
	# shellcheck source=/dev/null
	source "$repo/build/$1/recipe"
	[[ -n "$VERSION" && ${#TARGETS[@]} -gt 0 ]] || die "$1: recipe sets no VERSION or TARGETS"
}

# input_hash COMPONENT: hash of everything that decides the output: the
# module's files (not tests or docs), the Go version and RECIPE_ABI, and for
# a cgo build the C compiler and the Debian packages of its DEPS (runc links
# libseccomp.a in).
input_hash() {
	local dir="$repo/build/$1" dep pkgs=()
	{
		echo "abi=$RECIPE_ABI"
		"$GO" env GOVERSION GOOS GOARCH
		if [[ "$CGO_ENABLED" == 1 ]]; then
			echo "cc=$("$("$GO" env CC)" -dumpfullversion 2>/dev/null || true)"
			for dep in "${DEPS[@]}"; do pkgs+=("${dep##* }"); done
			dpkg-query -W -f '${Package}=${Version}\n' "${pkgs[@]}" 2>/dev/null || true
		fi
		(cd "$dir" && find . -type f ! -name '*_test.go' ! -name '*.md' -print0 |
			LC_ALL=C sort -z | xargs -0 sha256sum)
	} | sha256sum | cut -c1-12
}

entry_dir() { echo "$cache/$1-$VERSION-$(input_hash "$1")"; }

# ensure_deps: apt-installs the recipe's missing host dependencies.
ensure_deps() {
	local want=() dep what pkg
	for dep in "${DEPS[@]}"; do
		read -r what pkg <<<"$dep"
		if [[ "$what" == /* ]]; then [[ -e "$what" ]] || want+=("$pkg")
		else command -v "$what" >/dev/null || want+=("$pkg"); fi
	done
	[[ ${#want[@]} -gt 0 ]] || return 0
	echo "build-programs: installing ${want[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends "${want[@]}" >/dev/null ||
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends "${want[@]}" >/dev/null; }
}

# build COMPONENT: builds into a temporary directory beside the entry and
# renames it into place, so an entry is either complete or absent.
build() {
	local c=$1 dir t name pkg extra tags ldflags start
	dir=$(entry_dir "$c")
	tmp="$dir.tmp.$$" # global: removed on exit if the build fails
	rm -rf "$tmp" && mkdir -p "$tmp"
	start=$(date +%s.%N)
	for t in "${TARGETS[@]}"; do
		read -r name pkg extra <<<"$t"
		tags=$TAGS${extra:+,$extra}
		ldflags="-s -w $LDFLAGS"
		[[ "$CGO_ENABLED" == 1 ]] && ldflags+=" -linkmode external -extldflags -static"
		echo "build-programs: $c: building $name ($pkg${tags:+, tags $tags})" >&2
		(cd "$repo/build/$c" && CGO_ENABLED=$CGO_ENABLED $NICE "$GO" build -trimpath \
			${tags:+-tags "$tags"} -ldflags "$ldflags" -o "$tmp/$name" "$pkg")
	done
	for t in "${LINKS[@]}"; do
		read -r name pkg <<<"$t"
		ln -s "$pkg" "$tmp/$name"
	done
	{
		echo "component=$c"
		echo "version=$VERSION"
		echo "hash=${dir##*-}"
		echo "go=$("$GO" env GOVERSION)"
		echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "build_seconds=$(since "$start")"
		for t in "${TARGETS[@]}"; do
			read -r name _ <<<"$t"
			echo "size.$name=$(stat -c %s "$tmp/$name")"
		done
	} >"$tmp/BUILDINFO"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	tmp=''
}

# link_outputs COMPONENT: points _out/programs/<name> at the cached files.
link_outputs() {
	local dir f
	dir=$(entry_dir "$1")
	mkdir -p "$repo/_out/programs"
	for f in "$dir"/*; do
		[[ "${f##*/}" == BUILDINFO ]] && continue
		ln -sfn "$f" "$repo/_out/programs/${f##*/}"
	done
}

if [[ "${1:-}" == --dir ]]; then
	[[ $# -eq 2 ]] || die "usage: $0 --dir COMPONENT"
	load_recipe "$2"
	entry_dir "$2"
	exit 0
fi

[[ $# -gt 0 ]] || set -- "${ALL[@]}"
mkdir -p "$cache"
rows=()
for c in "$@"; do
	load_recipe "$c"
	start=$(date +%s.%N)
	ensure_deps # before hashing: the hash names the installed packages
	dir=$(entry_dir "$c")
	if [[ ! -f "$dir/BUILDINFO" ]]; then
		exec 9>"$cache/.lock"
		flock 9 # one heavy build at a time, across checkouts
		[[ -f "$dir/BUILDINFO" ]] || build "$c"
		flock -u 9
	fi
	link_outputs "$c"
	took=$(since "$start")
	cold=$(sed -n 's/^build_seconds=//p' "$dir/BUILDINFO")
	sizes=$(sed -n 's/^size\.\(.*\)=\(.*\)/\1 \2/p' "$dir/BUILDINFO" |
		awk '{printf "%s%s %.1fM", sep, $1, $2/1048576; sep=", "}')
	rows+=("$(printf '%-11s %-9s %9.0f %8s  %s' "$c" "$VERSION" "$cold" "$took" "$sizes")")
done

printf '\n%-11s %-9s %9s %8s  %s\n' COMPONENT VERSION BUILD_S THIS_RUN BINARIES
printf '%s\n' "${rows[@]}"
echo "cache: $cache"
