# swiftbox — build, run, test, benchmark.
SHELL    := /bin/bash
.SHELLFLAGS := -o pipefail -c
GO       ?= go
BIN      ?= bin/swiftbox
DATA     ?= ./data
ADDR     ?= 127.0.0.1:8080
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X swiftbox/cli.Version=$(VERSION)
BENCH    ?= ../shared/bench/objbench

.PHONY: all build run test test-deps unit lint bench bench-compare clean fuzz fault soak

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

# Serve the embedded default: three device directories under $(DATA),
# generated rings, hash suffix and admin credentials (printed).
run: build
	$(BIN) serve --devices $(DATA) --addr $(ADDR)

# The whole test suite: installs what the tests need, then vet, race-enabled
# unit tests and integration tests against a real server and real clients.
test: test-deps lint
	$(GO) test -race -count=1 -timeout 20m ./...

# Debian's swift CLI, Swift's own object tools (swift-object-info) and ring
# builder for compatibility checks (swift-recon against serve's recon), xfsprogs
# for the XFS loop-image tests, promtool (prometheus) to lint /metrics,
# openstack (python3-openstackclient) and keystone for the identity tests;
# the S3 clients aws (awscli), s3cmd, rclone and restic for the S3 client tests
# (an aws already on PATH, e.g. pip's aws-cli 1.x, is used as it is).
TEST_PKGS := swift:python3-swiftclient swift-object-info:swift-object swift-ring-builder:swift swift-recon:swift \
	mkfs.xfs:xfsprogs promtool:prometheus openstack:python3-openstackclient keystone-manage:keystone \
	aws:awscli s3cmd:s3cmd rclone:rclone restic:restic
test-deps:
	@need=""; for p in $(TEST_PKGS); do command -v $${p%%:*} >/dev/null || need="$$need $${p#*:}"; done; \
	if [ -n "$$need" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing$$need"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null; \
	  else echo "missing$$need (run as root to install); tests needing them skip" >&2; fi; \
	fi
	$(GO) mod download

unit:
	$(GO) test -count=1 ./...

# Fault scenarios at full size against the real binary (cli/fault*_test.go):
# kill -9 under mixed load, bit rot, a device emptied, a full filesystem (a
# loop-mounted ext4: run as root), the database auditor under load, slow
# clients, fd exhaustion; prints a table. `make test` runs a few rounds of each.
fault:
	SWIFTBOX_FAULT=full $(GO) test -count=1 -timeout 60m -run 'TestFault$$' -v ./cli/ | grep --line-buffered -v '^=== RUN'

# Mixed load with the daemons every 1-2 s, bit rot and kill -9 at random
# moments for DURATION, then every check of the fault scenarios.
DURATION ?= 10m
soak:
	SWIFTBOX_SOAK=$(DURATION) $(GO) test -count=1 -timeout 0 -run 'TestSoak$$' -v ./cli/ | grep --line-buffered -v '^=== RUN'

lint:
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$fmt" ]; then echo "gofmt needed: $$fmt"; exit 1; fi
	$(GO) vet ./...

# Benchmark: swiftbox with 3 devices, 3 replicas; objbench PUT/GET of 4 KiB,
# 1 MiB and 64 MiB at concurrency 16, each through the Swift API and the S3
# API in the same run (ratio S3/Swift per load).
# BENCH_DURATION, BENCH_SIZES, BENCH_DEVICES, BENCH_DEVICES_COUNT (1 = one
# replica), BENCH_APIS (swift,s3), BENCH_CONCURRENCY and BENCH_OUT tune it
# (the header of cli/bench_test.go lists them).
bench:
	OBJBENCH_DIR=$(abspath $(BENCH)) $(GO) test -tags bench -count=1 -timeout 60m -run TestBench -v ./cli/ | grep -v '^=== RUN'

# The same S3 loads against swiftbox with one device (one replica) and MinIO
# serving one drive beside it, same filesystem: make bench-minio
# MINIO_BIN=/path/to/minio [BENCH_DEVICES=/srv/bench/node].
MINIO_BIN ?=
.PHONY: bench-minio
bench-minio:
	@test -n "$(MINIO_BIN)" || { echo "set MINIO_BIN to a minio binary"; exit 2; }
	COMPARE_MINIO=1 MINIO_BIN=$(abspath $(MINIO_BIN)) BENCH_DEVICES_COUNT=1 OBJBENCH_DIR=$(abspath $(BENCH)) \
	  $(GO) test -tags bench -count=1 -timeout 90m -run TestBench -v ./cli/ | grep -v '^=== RUN'

# Same loads against swiftbox and a Swift all-in-one in one run, swiftbox's
# devices on the SAIO's XFS image: ../shared/anchors/saio sets Swift up.
SAIO_DIR ?= /tmp/swift-saio
bench-compare:
	$(abspath $(BENCH))/../../anchors/saio/setup.sh $(SAIO_DIR) && $(abspath $(BENCH))/../../anchors/saio/start.sh $(SAIO_DIR)
	mkdir -p $(SAIO_DIR)/node/swiftbox
	COMPARE_SWIFT=1 BENCH_DEVICES=$(SAIO_DIR)/node/swiftbox OBJBENCH_DIR=$(abspath $(BENCH)) \
	  $(GO) test -tags bench -count=1 -timeout 90m -run TestBench -v ./cli/ | grep -v '^=== RUN'
	$(abspath $(BENCH))/../../anchors/saio/stop.sh $(SAIO_DIR)

clean:
	rm -rf bin

# Every Go fuzz target (func FuzzX in a _test.go) for FUZZTIME each, one
# after another; their seed corpora already run with the tests. An input
# that fails is kept in the package's testdata/fuzz/FuzzX and from then on
# runs as a regression case: commit it with the fix.
FUZZTIME ?= 5m
.PHONY: fuzz
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
	  pkg=./$$(dirname $${f#./}); \
	  for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "== $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

# OpenStack Swift's functional suite against swiftbox: make conformance-swift
# SWIFT_SRC=<openstack/swift 2.30.1 source> [SWIFT_TEST_PATHS="test/functional/test_object.py"].
# Local users get the suite's reseller prefixes (AUTH, SERVICE with
# SERVICE_require_group = service); domain_remap serves its storage domain,
# example.net. Two storage policies (gold, the default, and silver) let the
# suite's multi-policy and cross-policy tests run.
SWIFT_SRC  ?=
CONF_DIR   ?= /tmp/swiftbox-conformance
CONF_PORT  ?= 18080
CONF_USERS := --user admin:admin:admin:.admin,.reseller_admin --user test:tester:testing:.admin \
	--user test:tester2:testing2:.admin --user test:tester3:testing3 --user test2:tester2:testing2:.admin \
	--user test5:tester5:testing5:service --user test6:tester6:testing6:.reseller_admin
.PHONY: conformance-swift
conformance-swift: build
	@test -n "$(SWIFT_SRC)" || { echo "set SWIFT_SRC to a checkout of openstack/swift at 2.30.1"; exit 2; }
	rm -rf $(CONF_DIR) && mkdir -p $(CONF_DIR)
	printf 'domain_remap:\n  storage_domain: [example.net]\nauth:\n  reseller_prefix: "AUTH, SERVICE"\n  require_group: {SERVICE: service}\nstorage_policies:\n  - {index: 0, name: gold, default: true}\n  - {index: 1, name: silver}\n' > $(CONF_DIR)/config.yaml
	$(BIN) serve --config $(CONF_DIR)/config.yaml --devices $(CONF_DIR)/node --addr 127.0.0.1:$(CONF_PORT) $(CONF_USERS) --log-level warn \
	  > $(CONF_DIR)/server.log 2>&1 & pid=$$!; sleep 2; \
	SWIFT_AUTH_URI=http://127.0.0.1:$(CONF_PORT)/auth/v1.0 SWIFT_SERVICE_PREFIX=SERVICE SWIFT_STORAGE_DOMAIN=example.net \
	  $(abspath $(BENCH))/../../conformance/swift-functional.sh $(SWIFT_SRC) $(CONF_DIR)/out; rc=$$?; \
	kill $$pid; wait $$pid; exit $$rc

# ceph/s3-tests against swiftbox: make conformance-s3 S3TESTS_SRC=<ceph/s3-tests
# checkout> [S3TESTS_ARGS="-k 'multipart or list_objects'"]. A fresh server on
# its own directory with the suite's main (test:tester) and alt (test2:tester2)
# users, two accounts so the cross-user tests mean something. The suite talks
# to the S3 listener (S3CONF_PORT), where unsigned requests are the anonymous
# user of the main account (s3.anonymous_account) as the anonymous-access tests
# expect; Swift is on S3CONF_SWIFT_PORT. The last line printed is the suite's
# "s3-tests: N passed, N failed, N skipped"; the exit status is s3-tests.sh's.
S3TESTS_SRC  ?=
S3TESTS_ARGS ?=
S3CONF_DIR   ?= /tmp/swiftbox-conformance-s3
S3CONF_PORT  ?= 18383
S3CONF_SWIFT_PORT ?= 18384
S3CONF_USERS := --user test:tester:testing:.admin --user test2:tester2:testing2:.admin
.PHONY: conformance-s3
conformance-s3: build
	@test -n "$(S3TESTS_SRC)" || { echo "set S3TESTS_SRC to a checkout of ceph/s3-tests"; exit 2; }
	rm -rf $(S3CONF_DIR) && mkdir -p $(S3CONF_DIR)
	printf 's3:\n  anonymous_account: AUTH_test\n' > $(S3CONF_DIR)/config.yaml
	$(BIN) serve --config $(S3CONF_DIR)/config.yaml --devices $(S3CONF_DIR)/node --addr 127.0.0.1:$(S3CONF_SWIFT_PORT) \
	  --s3-addr 127.0.0.1:$(S3CONF_PORT) $(S3CONF_USERS) --log-level warn \
	  --metrics-addr "" --backend-addr "" --access-log $(S3CONF_DIR)/access.log > $(S3CONF_DIR)/server.log 2>&1 & pid=$$!; \
	for i in $$(seq 1 120); do grep -q 'serving the S3 API' $(S3CONF_DIR)/server.log && break; \
	  kill -0 $$pid 2>/dev/null || { cat $(S3CONF_DIR)/server.log; exit 1; }; sleep 0.5; done; \
	S3_HOST=127.0.0.1 S3_PORT=$(S3CONF_PORT) S3_MAIN_ACCESS_KEY=test:tester S3_MAIN_SECRET_KEY=testing \
	  S3_ALT_ACCESS_KEY=test2:tester2 S3_ALT_SECRET_KEY=testing2 S3TESTS_OUT=$(S3CONF_DIR)/out \
	  $(abspath $(BENCH))/../../conformance/s3-tests.sh $(S3TESTS_SRC) $(S3TESTS_ARGS); rc=$$?; \
	kill $$pid; wait $$pid; exit $$rc
