# mode — see README.md. `make test` and `make demo` install what they need.
GO       ?= go
BIN      := bin/mode
GOFLAGS  ?=
CACHE    := $(CURDIR)/.cache
APT_PKGS := squashfs-tools busybox-static attr mmdebstrap debootstrap qemu-system-x86 cpio zstd util-linux

.PHONY: all build deps test test-unit demo bench lint e2e-full clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/mode
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o bin/mode-init ./init

# deps installs the Debian packages mode and its tests use, only when one is missing.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

test: deps build
	$(GO) vet ./...
	$(GO) test -p 1 -timeout 40m ./...

test-unit:
	$(GO) test -short ./...

demo: deps build
	./scripts/demo.sh

bench: deps build
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./...

lint:
	gofmt -l . | tee /dev/stderr | (! read)
	$(GO) vet ./...

clean:
	rm -rf bin out
