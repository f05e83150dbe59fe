# mode — see README.md. `make test` and `make demo` install what they need.
GO       ?= go
BIN      := bin/mode
GOFLAGS  ?=
CACHE    := $(CURDIR)/.cache
APT_PKGS := squashfs-tools busybox-static attr mmdebstrap debootstrap qemu-system-x86 cpio zstd util-linux skopeo jq curl

.PHONY: all build deps test test-unit demo bench lint e2e-full clean tools

all: build

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/mode

# deps installs the Debian packages mode and its tests use, only when one is missing.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

test: deps build tools
	$(GO) vet ./...
	MODE_TOOLS=$(TOOLS) $(GO) test -p 1 -timeout 40m ./...

test-unit:
	$(GO) test -short ./...

demo: deps build
	./scripts/demo.sh
	./scripts/demo-registry.sh

bench: deps build tools
	MODE_TOOLS=$(TOOLS) $(GO) test -run '^$$' -bench . -benchtime 1x -p 1 -timeout 60m ./...

# tools installs the registry interop tools (pinned) into $(TOOLS), once.
TOOLS := $(CACHE)/bin
DISTRIBUTION_VERSION := v3.1.2
CRANE_VERSION := v0.22.1
tools: $(TOOLS)/registry $(TOOLS)/crane
$(TOOLS)/registry:
	GOBIN=$(TOOLS) $(GO) install github.com/distribution/distribution/v3/cmd/registry@$(DISTRIBUTION_VERSION)
$(TOOLS)/crane:
	GOBIN=$(TOOLS) $(GO) install github.com/google/go-containerregistry/cmd/crane@$(CRANE_VERSION)

lint:
	gofmt -l . | tee /dev/stderr | (! read _)
	$(GO) vet ./...

clean:
	rm -rf bin out
