#!/usr/bin/env bash
# Smoke checks of the programs and images hack/build-programs.sh and
# hack/build-images.sh cached (not part of `make test`: it needs the builds,
# and kube alone takes 10-20 minutes cold). It builds nothing; a component
# not built yet is reported as missing.
#
# For each program: it is a static executable (no ELF interpreter), and its
# version or help output names the pinned version. For each image: the
# tarball's manifest carries the expected tag and its config the expected
# entrypoint and user.
#
# Usage: hack/check-programs.sh [--import]
#   --import  also imports every image with `ctr images import` into a
#             throwaway containerd (the one we built) under a temporary root,
#             lists them, and runs the pause and CoreDNS images with our
#             shim and runc; needs root and ctr on the host.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${PLINTH_CACHE:-$HOME/.cache/plinth}/build
fail=0 pass=0

ok() { pass=$((pass + 1)); printf 'ok    %s\n' "$*"; }
bad() { fail=$((fail + 1)); printf 'FAIL  %s\n' "$*"; }

# entry COMPONENT: its cache entry, or nothing when not built.
entry() {
	local dir
	dir=$("$repo/hack/build-programs.sh" --dir "$1")
	[[ -f "$dir/BUILDINFO" ]] && echo "$dir"
}

# check BIN WANT CMD...: BIN is static and CMD's output contains WANT.
check() {
	local bin=$1 want=$2 out
	shift 2
	if readelf -l "$bin" 2>/dev/null | grep -q INTERP; then
		bad "${bin##*/}: dynamically linked"
		return
	fi
	out=$("$@" 2>&1 || true)
	if grep -qF -- "$want" <<<"$out"; then
		ok "${bin##*/}: $want"
	else
		bad "${bin##*/}: want \"$want\" in output of ${*##*/}, got: $(head -3 <<<"$out" | tr '\n' ' ')"
	fi
}

# expect COMPONENT BINARY WANT ARGS...: runs the cached BINARY with ARGS.
expect() {
	local c=$1 bin=$2 want=$3 dir
	shift 3
	if ! dir=$(entry "$c"); then
		bad "$c: not built (run hack/build-programs.sh $c)"
		return
	fi
	check "$dir/$bin" "$want" "$dir/$bin" "$@"
}

version() { sed -n 's/^VERSION=//p' "$repo/build/$1/recipe"; }

expect pause pause "pause $(version pause)" -v
for p in bridge host-local loopback portmap; do
	expect cni "$p" "$(version cni)" # a CNI plugin run by hand prints its version
done
expect etcd etcd "etcd Version: $(version etcd | tr -d v)" --version
expect containerd containerd "$(version containerd)" --version
expect containerd containerd-shim-runc-v2 "$(version containerd)" -v
expect runc runc "runc version $(version runc | tr -d v)" --version
expect runc runc "libseccomp:" --version
expect coredns coredns "CoreDNS-$(version coredns | tr -d v)" -version
expect flannel flanneld "$(version flannel)" --version
for k in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
	expect kube "$k" "Kubernetes $(version kube)" --version # through the symlink
done
expect kube kube "Kubernetes $(version kube)" kubelet --version # by first argument

# check_image NAME TAG ENTRYPOINT USER: the tarball's manifest and config.
check_image() {
	local name=$1 tag=$2 entrypoint=$3 user=$4 tarball cfg manifest
	tarball=$("$repo/hack/build-images.sh" --path "$name" 2>/dev/null) || true
	if [[ ! -f "$tarball" ]]; then
		bad "image $name: not built (run hack/build-images.sh $name)"
		return
	fi
	manifest=$(tar -xOf "$tarball" manifest.json)
	cfg=$(tar -xOf "$tarball" "$(jq -r '.[0].Config' <<<"$manifest")")
	if [[ "$(jq -r '.[0].RepoTags[0]' <<<"$manifest")" != "$tag" ]]; then
		bad "image $name: tag $(jq -c '.[0].RepoTags' <<<"$manifest"), want $tag"
	elif [[ "$(jq -c '.config.Entrypoint' <<<"$cfg")" != "$entrypoint" ]]; then
		bad "image $name: entrypoint $(jq -c '.config.Entrypoint' <<<"$cfg"), want $entrypoint"
	elif [[ "$(jq -r '.config.User' <<<"$cfg")" != "$user" ]]; then
		bad "image $name: user $(jq -r '.config.User' <<<"$cfg"), want $user"
	elif [[ "$(jq -r '.created' <<<"$cfg")" != 1970-01-01T00:00:00Z ]]; then
		bad "image $name: created $(jq -r '.created' <<<"$cfg"), want the fixed epoch"
	else
		ok "image $tag: entrypoint $entrypoint, user $user"
		tarballs+=("$tarball")
		tags+=("$tag")
	fi
}

# import_images: starts the containerd we built (with our shim and runc on
# PATH) on a temporary root and socket, imports every checked tarball into
# the k8s.io namespace as a node does, looks for each tag in the image list,
# then runs two containers with our runc: pause (it must stop on SIGTERM)
# and CoreDNS (it must run as 65532 with only CAP_NET_BIND_SERVICE, from the
# file capability).
import_images() {
	local dir runc tmp pid i listed
	if ! command -v ctr >/dev/null || ! dir=$(entry containerd) || ! runc=$(entry runc); then
		bad "import: needs ctr on the host and a built containerd and runc"
		return
	fi
	tmp=$(mktemp -d)
	printf 'version = 3\n' >"$tmp/config.toml"
	printf '.:1053 {\n\twhoami\n}\n' >"$tmp/Corefile"
	PATH="$dir:$runc:$PATH" "$dir/containerd" --config "$tmp/config.toml" --root "$tmp/root" \
		--state "$tmp/state" --address "$tmp/c.sock" >"$tmp/containerd.log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do [[ -S "$tmp/c.sock" ]] && break; sleep 0.2; done
	ctr() { command ctr -a "$tmp/c.sock" -n k8s.io "$@"; }
	for i in "${!tarballs[@]}"; do
		if ctr images import "${tarballs[$i]}" >/dev/null 2>"$tmp/err"; then
			listed=$(ctr images ls -q)
			if grep -qxF "${tags[$i]}" <<<"$listed"; then
				ok "import ${tags[$i]} into containerd"
			else
				bad "import ${tags[$i]}: not listed after import: $listed"
			fi
		else
			bad "import ${tarballs[$i]}: $(cat "$tmp/err")"
		fi
	done
	run_containers "$tmp" "$runc/runc"
	kill "$pid" && wait "$pid" || true
	unset -f ctr
	rm -rf "$tmp"
}

# run_containers TMP RUNC: the pause and CoreDNS containers (see above).
run_containers() {
	local tmp=$1 runc=$2 task status
	ctr run -d --runc-binary "$runc" "registry.k8s.io/pause:$(version pause)" check-pause >/dev/null 2>&1 || true
	ctr run -d --net-host --runc-binary "$runc" \
		--mount "type=bind,src=$tmp/Corefile,dst=/Corefile,options=rbind:ro" \
		"registry.k8s.io/coredns/coredns:$(version coredns)" check-coredns /coredns -conf /Corefile >/dev/null 2>&1 || true
	sleep 2
	task=$(ctr tasks ls | awk '$1 == "check-coredns" && $3 == "RUNNING" { print $2 }')
	if [[ -n "$task" ]] && grep -q $'^Uid:\t65532' "/proc/$task/status" &&
		grep -q $'^CapEff:\t0000000000000400' "/proc/$task/status"; then
		ok "coredns container runs as 65532 with CAP_NET_BIND_SERVICE only"
	else
		bad "coredns container: not running as 65532 with CAP_NET_BIND_SERVICE: $(ctr tasks ls | tr '\n' ' ')"
	fi
	if ctr tasks ls | grep -q '^check-pause .*RUNNING'; then
		ctr task kill -s SIGTERM check-pause
		sleep 1
		status=$(ctr tasks ls | awk '$1 == "check-pause" { print $3 }')
		[[ "$status" == STOPPED ]] && ok "pause container runs and stops on SIGTERM" ||
			bad "pause container: $status after SIGTERM"
	else
		bad "pause container does not run: $(ctr tasks ls | tr '\n' ' ')"
	fi
	ctr task kill -s SIGKILL check-coredns >/dev/null 2>&1 || true
	sleep 1
	ctr tasks rm -f check-pause check-coredns >/dev/null 2>&1 || true
	ctr containers rm check-pause check-coredns >/dev/null 2>&1 || true
}

tarballs=() tags=()
check_image pause "registry.k8s.io/pause:$(version pause)" '["/pause"]' 65535:65535
check_image coredns "registry.k8s.io/coredns/coredns:$(version coredns)" '["/coredns"]' 65532:65532
check_image flannel "ghcr.io/flannel-io/flannel:$(version flannel)" '["/opt/bin/flanneld"]' 0:0

[[ "${1:-}" != --import ]] || import_images

echo "check-programs: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
