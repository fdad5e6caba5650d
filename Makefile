# security-gate: the one place that says how to build, test and release.
# `make test` is the test command (README, .ci/run). Heavier suites have their
# own targets; `make test` runs them all, fast ones first.

SHELL       := /usr/bin/env bash
GO          ?= go
CACHE_BIN   := $(CURDIR)/.cache/bin
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X github.com/security-gate/security-gate/pkg/version.Version=$(VERSION)
export PATH := $(CACHE_BIN):$(PATH)

.PHONY: all build test test-unit test-codegen test-integration test-kyverno test-e2e \
        tools e2e-tools bench demo release codegen verify-codegen fuzz lint clean

all: build

# Static, as released (.ko.yaml): a dynamically linked CLI pays the loader
# and libc at every start (hack/bench.sh measured 9.5% of a cold verify).
build:
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o bin/security-gate ./cmd/security-gate
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o bin/controller ./cmd/controller

## test: every suite, fast ones first (unit incl. codegen staleness, integration, kyverno, e2e).
test: test-unit test-integration test-kyverno test-e2e

## test-unit: vet, lint, and `go test ./...` without tags; under five minutes.
test-unit: lint
	$(GO) vet ./...
	$(GO) test -count=1 ./...

## lint: golangci-lint (pinned in hack/tools/lint, built on first use) with .golangci.yml.
lint:
	hack/lint.sh

## fuzz: every fuzz test, FUZZTIME each (default 30s).
fuzz:
	hack/fuzz.sh $(FUZZTIME)

## test-codegen: generated code and CRDs match the types.
test-codegen:
	hack/verify-codegen.sh

## test-integration: real cosign CLIs, ko resolve, loopback registries.
test-integration: tools
	$(GO) test -count=1 -tags integration -timeout 30m ./test/interop/... ./cmd/controller/... ./hack/bundle-push/...

## test-kyverno: the admission policies, with the Kyverno CLI.
test-kyverno:
	hack/kyverno-test.sh

## test-e2e: a real kube-apiserver, Tekton, a registry and our controller.
test-e2e: e2e-tools
	$(GO) test -count=1 -tags e2e -timeout 45m ./test/e2e/...

tools:
	hack/build-test-tools.sh

e2e-tools:
	hack/e2e-tools.sh

## bench: the performance figures and targets (CLI vs cosign, 400 images, controller decisions/s).
bench: e2e-tools
	hack/bench.sh

## demo: a local control plane, the gate, a compliant and a non-compliant run.
demo: e2e-tools
	KEEP=$(KEEP) hack/demo.sh

codegen:
	hack/update-codegen.sh

verify-codegen: test-codegen

## release: release.yaml with ko resolve (KO_DOCKER_REPO must be set).
release:
	hack/release.sh

clean:
	rm -rf bin release.yaml
