# Plinth build entry points. Every target is runnable on a fresh machine that
# has Go and gcc; targets install the tools they need themselves.

GO ?= go
OUT := _out
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/plinth-os/plinth/pkg/machinery/version.Tag=$(VERSION)
GOTEST_FLAGS ?=
FUZZTIME ?= 30s

.PHONY: all build test test-unit test-slow generate lint check-generated bench fuzz fuzz-short clean

all: build

build:
	@mkdir -p $(OUT)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(OUT)/plinthctl ./cmd/plinthctl
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(OUT)/plinth ./cmd/plinth
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(OUT)/plinth-init ./cmd/plinth-init

# The README's test command: lint, unit and root tests with the race
# detector, the VM tests (they skip with a message without qemu or the
# image from `make image`), and a short run of every fuzz target.
test: lint test-unit test-vm-run fuzz-short

# The VM tests on whatever image _out holds (no rebuild).
.PHONY: test-vm-run
test-vm-run:
	$(GO) test -count=1 -tags vm -timeout 30m $(GOTEST_FLAGS) ./test/vm/...

test-unit:
	$(GO) test -race -count=1 $(GOTEST_FLAGS) ./...

# Suites too slow for every CI run (VMs under TCG, long scenarios).
test-slow:
	$(GO) test -count=1 -tags "slow vm" -timeout 120m $(GOTEST_FLAGS) ./test/...

generate:
	$(GO) generate ./...

lint: check-generated
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Regenerates into a scratch copy and fails when the committed files differ.
check-generated:
	@hack/check-generated.sh

bench:
	@hack/bench/run.sh

fuzz:
	@FUZZTIME=$(FUZZTIME) hack/fuzz.sh

fuzz-short:
	@FUZZTIME=5s hack/fuzz.sh

clean:
	rm -rf $(OUT)

# Node image: kernel (vmlinuz, vmlinux), initramfs, rootfs.sqsh and the
# boot bundle boot-bundle.tar (what install and upgrade take, versioned
# $(VERSION)) in $(OUT), from image/inputs.yaml and image/rootfs.allow
# (docs/image.md). Incremental: unchanged steps are skipped.
# SQUASHFS_COMP=zstd|lz4|xz. hack/bundle-variant.sh builds the same bundle
# under another version.
SQUASHFS_COMP ?= zstd
.PHONY: image test-vm
image: build programs images
	@hack/ensure-deps.sh image
	$(GO) run ./cmd/imager -out $(OUT) -init $(OUT)/plinth-init -version $(VERSION) -squashfs-comp $(SQUASHFS_COMP)

# Boots the image in QEMU (TCG unless KVM works) and checks init and machined.
test-vm: image
	@hack/ensure-deps.sh vm
	$(GO) test -count=1 -tags vm -timeout 30m $(GOTEST_FLAGS) ./test/vm/...

# Container-mode node image: the rootfs of `make image` as a single-layer
# Docker image (entrypoint plinth machined --mode container), written to
# $(OUT)/plinth-node.tar and loaded as plinth/node:$(VERSION) and
# plinth/node:latest (docs/docker.md). Needs a Docker daemon.
.PHONY: image-container cluster
image-container: image
	@hack/ensure-docker.sh
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || echo 0) \
	$(GO) run ./pkg/imager/container/mkimage -rootfs $(OUT)/rootfs.sqsh -version $(VERSION) \
		-o $(OUT)/plinth-node.tar -tag plinth/node:latest -load

# A local cluster in Docker: one control plane and one worker.
cluster: build image-container
	$(OUT)/plinthctl cluster create

# Third-party programs the node runs (kube multi-call, etcd, containerd and
# its shim, runc, CNI plugins, CoreDNS, flanneld, pause), built from the Go
# modules under build/ and cached by version outside the repo (docs/build.md).
# Cold, kube alone takes 10-20 minutes; a cached build is a no-op.
.PHONY: programs images
programs:
	@hack/build-programs.sh

# The images a cluster needs at start (pause, CoreDNS, flannel) as
# docker-archive tarballs in the cache, linked from $(OUT)/images.
images:
	@hack/build-images.sh
