# mode — see README.md. `make test` and `make demo` install what they need.
GO       ?= go
BIN      := bin/mode
GOFLAGS  ?=
CACHE    := $(CURDIR)/.cache
APT_PKGS := squashfs-tools busybox-static attr mmdebstrap debootstrap qemu-system-x86 cpio zstd util-linux skopeo jq curl cryptsetup-bin
# mode image, mode netboot and their boot tests (docs/media.md)
APT_PKGS += xorriso grub-pc-bin grub-efi-amd64-bin grub-common mtools dosfstools e2fsprogs gdisk ipxe ovmf
# mode image --secure-boot-key: systemd's EFI stub for the UKI, sbsign/sbverify (docs/trust.md); ovmf has the Secure Boot firmware
APT_PKGS += systemd-boot-efi sbsigntool binutils
# UEFI Secure Boot with Microsoft's keys: Debian's signed shim and GRUB (docs/media.md)
APT_PKGS += shim-signed grub-efi-amd64-signed
# the site's page test in a browser, and the demo's boot token (docs/site.md)
APT_PKGS += chromium openssl
# the mkosi benchmark (modules/maker/mkosi_bench_test.go, docs/bench.md)
APT_PKGS += mkosi
# counting a pull's fsyncs (cmd/mode TestPullFsyncs)
APT_PKGS += strace
# the network tests (boot/pxe: namespaces, bridges, taps), the package test (packaging/: systemd-analyze verify), pgrep
APT_PKGS += iproute2 systemd procps
# mode netboot's dnsmasq snippet, checked by dnsmasq --test (boot/media TestPXEDnsmasqHTTPBoot)
APT_PKGS += dnsmasq-base
# the installer's disk-in-use test makes a btrfs (boot/init TestDiskInUse)
APT_PKGS += btrfs-progs
# builds and boots for arm64 (docs/modules.md, docs/boot.md): QEMU user emulation and qemu-system-aarch64;
# arch-test, which mmdebstrap wants for a foreign --architectures (a Debian base for arm64)
APT_PKGS += qemu-user-static qemu-system-arm arch-test

.PHONY: all build deps test test-unit vet-portable demo bench lint e2e-full clean tools test-debian conformance man test-secureboot

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN) ./cmd/mode
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o bin/mode-init ./cmd/mode-init

# deps installs the Debian packages mode and its tests use, only when one is missing.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

# test runs two test binaries at a time (most of their time is one QEMU TCG
# guest each, one core apiece), the longest (boot/qemu, then boot/media)
# first: go test starts packages in the order they are named.
test: deps build tools test-debian conformance vet-portable
	$(GO) vet ./...
	MODE_E2E_OUT=$(E2E)/out MODE_E2E_EPOCH=$(E2E_EPOCH) MODE_TOOLS=$(TOOLS) $(GO) test -p 2 -timeout 60m -skip '^(TestActivateDebianTwo|TestBootArm64.*)$$' ./boot/qemu ./boot/media ./...
	$(MAKE) fuzz-short

# man writes man/mode.1, generated from the command definitions.
man: build
	./$(BIN) man --out man

# deb makes the Debian package of mode (binary, the mode-serve unit,
# /etc/mode/serve.yaml, man page, completions) with dpkg-deb, into out/deb
# (docs/service.md); VERSION=… names its version.
# build-arm64 cross-builds mode for arm64 guests: bin/mode-arm64, the init
# mode boot --arch arm64 and mode initramfs --arch arm64 carry (docs/boot.md).
.PHONY: build-arm64 test-arm64
build-arm64:
	CGO_ENABLED=0 GOARCH=arm64 $(GO) build -trimpath -ldflags '-s -w' -o bin/mode-arm64 ./cmd/mode

# test-arm64 runs the arm64 tests too slow for make test (TestBootArm64*):
# examples/debian's console built for arm64 (mmdebstrap and apt under QEMU
# user emulation) and booted under qemu-system-aarch64. tiny's arm64 build,
# index, save and boots are in make test (TestBootIndexArm64).
test-arm64: deps build build-arm64
	MODE_TOOLS=$(TOOLS) $(GO) test -p 1 -timeout 90m -run '^TestBootArm64' -v ./cmd/mode

.PHONY: deb
deb: build
	packaging/deb.sh $(BIN) out/deb $(VERSION)

# PORTABLE: the packages that build and vet on any GOOS (docs/contracts.md).
PORTABLE := ./layers ./mount ./report ./squashfs ./verity ./modules ./modules/clean \
	./registry/store ./registry/remote ./registry/serve ./registry/site ./registry/trust \
	./boot/media ./boot/initramfs ./boot/netboot ./boot/kernel ./boot/uki ./internal/proc ./internal/faultproxy \
	./internal/testutil ./internal/registrytest ./internal/depcheck ./internal/console ./internal/flagfile
vet-portable:
	GOOS=darwin $(GO) vet $(PORTABLE)

test-unit: vet-portable
	$(GO) test -short ./...

# fuzz-short runs each fuzz test for FUZZTIME (make test: 15 s each); make
# fuzz runs them longer. A crash is written by go test to the package's
# testdata/fuzz/FUZZNAME/: commit it, it becomes a regression input.
FUZZTIME ?= 15s
FUZZ := FuzzInspect:./squashfs FuzzLoad:./modules FuzzParseParams:./boot/init FuzzChainManifest:./registry/store FuzzAnswer:./boot/pxe
.PHONY: fuzz fuzz-short
fuzz-short:
	@for f in $(FUZZ); do echo "fuzz $${f%%:*} $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$${f%%:*}$$" -fuzztime $(FUZZTIME) $${f#*:} || exit 1; done
fuzz:
	$(MAKE) fuzz-short FUZZTIME=5m

demo: deps build
	./scripts/demo.sh
	./scripts/demo-registry.sh
	./scripts/demo-boot.sh

# test-secureboot runs the Secure Boot netboots and the refused kernel alone
# (docs/trust.md, Tests); make test runs them too.
test-secureboot: deps build
	$(GO) test -count=1 -timeout 20m -run '^TestBootShimRefused$$' -v ./boot/media
	$(GO) test -count=1 -timeout 20m -run '^TestNetbootSecureBoot$$' -v ./boot/qemu
	$(GO) test -count=1 -timeout 20m -run '^TestPXEHTTPBootSecureBoot$$' -v ./boot/pxe

bench: deps build tools
	MODE_TOOLS=$(TOOLS) $(GO) test -run '^$$' -bench . -benchtime 1x -p 1 -timeout 60m ./...

# tools installs the registry interop tools (pinned) into $(TOOLS), once.
TOOLS := $(CACHE)/bin
DISTRIBUTION_VERSION := v3.1.2
CRANE_VERSION := v0.22.1
ORAS_VERSION := v1.3.6
COSIGN_VERSION := v2.6.5
tools: $(TOOLS)/registry $(TOOLS)/crane $(TOOLS)/oras $(TOOLS)/conformance.test $(TOOLS)/cosign
$(TOOLS)/registry:
	GOBIN=$(TOOLS) $(GO) install github.com/distribution/distribution/v3/cmd/registry@$(DISTRIBUTION_VERSION)
$(TOOLS)/crane:
	GOBIN=$(TOOLS) $(GO) install github.com/google/go-containerregistry/cmd/crane@$(CRANE_VERSION)
$(TOOLS)/oras:
	GOBIN=$(TOOLS) $(GO) install oras.land/oras/cmd/oras@$(ORAS_VERSION)
# cosign checks mode's signatures and signs chains mode checks (several minutes cold).
$(TOOLS)/cosign:
	GOBIN=$(TOOLS) $(GO) install github.com/sigstore/cosign/v2/cmd/cosign@$(COSIGN_VERSION)
# The OCI distribution-spec conformance suite (v1.1.1, read-only beside the
# repository), built once; `make conformance` runs it against mode serve.
CONFORMANCE_SRC ?= $(CURDIR)/../shared/conformance/distribution-spec-v1.1.1/conformance
$(TOOLS)/conformance.test:
	mkdir -p $(TOOLS) && cd $(CONFORMANCE_SRC) && GOWORK=off $(GO) test -c -o $@ .

# conformance runs the suite against mode serve (cmd/mode TestConformance)
# and prints its summary; make test runs it again with everything else.
conformance: tools
	@out=$$(MODE_TOOLS=$(TOOLS) $(GO) test -count=1 -run '^TestConformance$$' -v ./cmd/mode 2>&1); rc=$$?; \
	  echo "$$out" | grep -E '^(--- |ok|FAIL)|conformance_test'; exit $$rc

lint: vet-portable
	gofmt -l . | tee /dev/stderr | (! read _)
	$(GO) vet ./...

clean:
	rm -rf bin out

# kernel fetches Debian's cloud kernel (apt-get download, the host's mirror)
# into .cache/kernel once, for `mode boot`, the boot tests and the bench.
KERNEL_DIR := $(CACHE)/kernel
export MODE_KERNEL_DIR := $(KERNEL_DIR)
.PHONY: kernel
kernel:
	@ls $(KERNEL_DIR)/linux-image-*.deb >/dev/null 2>&1 || { mkdir -p $(KERNEL_DIR) && cd $(KERNEL_DIR) && \
	  { ! id _apt >/dev/null 2>&1 || chown _apt $(KERNEL_DIR); } && \
	  pkg=$$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $$2; exit}') && \
	  apt-get download $$pkg && dpkg-deb -x $${pkg}_*.deb root; }
	@# One kernel for make and for mode boot typed at the shell (its default directory).
	@user=$${XDG_CACHE_HOME:-$$HOME/.cache}/mode/kernel; [ -e "$$user" ] || { mkdir -p "$$(dirname "$$user")" && \
	  ln -s $(KERNEL_DIR) "$$user" && echo "kernel: $$user -> $(KERNEL_DIR) (mode boot uses it too)"; }
test bench demo: kernel

# test-debian builds the Debian example up to console, and kernel over it
# (boot/media/: Debian booted from an ISO and a disk with its own kernel), with the CLI (about 2-3
# minutes cold, seconds once built) into $(E2E); TestDebianConsole (modules/maker/)
# checks those very layers (MODE_E2E_OUT) from their mounted stack, and the
# QEMU tests boot that very store: one Debian build serves them all.
# E2E_EPOCH is their SOURCE_DATE_EPOCH (mksquashfs's times, mmdebstrap's):
# TestBuildDebianTerminal (cmd/mode) builds the same modules on a
# pseudo-terminal and wants these very bytes. Layers made without it (a
# superblock time of another day) are built again, once.
E2E := $(CACHE)/e2e/debian
E2E_EPOCH := 1700000000
test-debian: deps build
	@t=$$(od -An -tu4 -j8 -N4 $(E2E)/out/base.sqfs 2>/dev/null | tr -d ' '); force=; \
	  if [ -n "$$t" ] && [ "$$t" != $(E2E_EPOCH) ]; then force=--force; \
	    echo "test-debian: $(E2E)/out was built without SOURCE_DATE_EPOCH=$(E2E_EPOCH): building it again"; fi; \
	  echo "SOURCE_DATE_EPOCH=$(E2E_EPOCH) ./$(BIN) build $$force --dir examples/debian --out $(E2E)/out --store $(E2E)/store console kernel"; \
	  SOURCE_DATE_EPOCH=$(E2E_EPOCH) ./$(BIN) build $$force --dir examples/debian --out $(E2E)/out --store $(E2E)/store console kernel

# e2e-full builds the whole Debian example: lightx and smtp over console.
e2e-full: test-debian
	SOURCE_DATE_EPOCH=$(E2E_EPOCH) ./$(BIN) build --dir examples/debian --out $(E2E)/out --store $(E2E)/store lightx smtp
	./$(BIN) inspect $(E2E)/out/base-essential-console-lightx.sqfs | sed -n '1,12p'
	./$(BIN) inspect $(E2E)/out/base-essential-console-smtp.sqfs | sed -n '1,12p'

# test-activate-two activates lightx (130 MiB) and smtp together in a booted
# Debian console (boot/qemu TestActivateDebianTwo): left out of make test
# for its time (lightx's build, ~7 minutes cold, and a 4-5 minute boot).
# test-fleet boots an unknown machine three times (boot/qemu
# TestFleetDiscovery: discovery, a facts rule, a site file edited while
# serving; about 4 minutes): in make test (boot/qemu); this target runs it
# alone.
.PHONY: test-fleet
test-fleet: deps build kernel
	$(GO) test -p 1 -count=1 -timeout 20m -run '^TestFleetDiscovery$$' ./boot/qemu

# test-lazy runs the slow lazy-boot tests of boot/qemu: TestBootLazyRegistryDown
# (the registry stops before the background fill ends, about 1.5 minutes) and
# TestBootLazyDebianConsole (Debian's console netbooted lazily) alone; make
# test runs them too.
.PHONY: test-lazy
test-lazy: deps build kernel test-debian
	$(GO) test -p 1 -count=1 -timeout 30m -run '^TestBootLazy(RegistryDown|DebianConsole)$$' -v ./boot/qemu

.PHONY: test-activate-two
test-activate-two: e2e-full
	$(GO) test -p 1 -count=1 -timeout 40m -run '^TestActivateDebianTwo$$' ./boot/qemu

# test-install runs the install-to-disk tests of boot/qemu: TestInstallToDisk
# (installed by its rule, the disk booted with no NIC, then with the network:
# 5-6 minutes) and TestInstallRefused (about 2 minutes). Both are in make
# test (boot/qemu); this target runs them alone.
.PHONY: test-install
test-install: deps build
	$(GO) test -p 1 -count=1 -timeout 20m -run '^TestInstall(ToDisk|Refused)$$' ./boot/qemu

# test-netboot-kernel netboots examples/debian's kernel chain from mode serve with
# its own kernel and modules (boot/qemu TestNetbootDebianKernel: the first-use
# initramfs of Debian's generic kernel and one Debian boot). In make test
# (boot/qemu); this target runs it alone.
.PHONY: test-netboot-kernel
test-netboot-kernel: test-debian
	$(GO) test -p 1 -count=1 -timeout 30m -run '^TestNetbootDebianKernel$$' ./boot/qemu
