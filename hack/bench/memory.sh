#!/usr/bin/env bash
# Prints the resident memory (VmRSS, from the Processes RPC) of every
# process of an idle Docker cluster's worker and control plane, and the
# worker's own total (machined, apid, containerd, kubelet, kube-proxy).
# Needs Docker and the node image (make image-container).
set -euo pipefail
cd "$(dirname "$0")/../.."
go test -run '^$' -bench '^BenchmarkNodeMemory$' -benchtime 1x -count 1 -v -timeout 20m ./test/e2e |
	grep -v '^goos\|^goarch\|^pkg\|^cpu'
