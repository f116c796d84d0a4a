# The two commands a new user needs (README "Quick start"):
#   make demo   run the main job on embedded defaults
#   make test   install what the tests need, build, and run every test
SHELL := /bin/bash
SWIFT ?= swift

.PHONY: bootstrap build test demo printer-demo fuzz bench clean

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	$(SWIFT) build --build-tests

# On failure the failing tests are listed again at the end, where a CI log's tail shows them.
test: build
	@set -o pipefail; $(SWIFT) test --skip-build --parallel --num-workers 2 2>&1 | tee .build/test-output.log \
	  || { echo; echo "=== failing tests (full output: .build/test-output.log) ==="; \
	       grep -a -E "✘.{0,12} Test .*(recorded an issue|failed after)|error: -\[|: error: " .build/test-output.log | cut -c1-600 | head -60; exit 1; }

# The main job: the quickstart scenario on embedded defaults (exit 0 only if every threshold holds).
demo: bootstrap
	$(SWIFT) build --product printplane
	"$$($(SWIFT) build --show-bin-path)/printplane" sim run scenarios/quickstart.yaml --report-dir sim-reports/quickstart

# The fake printer alone, driven by the real CUPS backends.
printer-demo: bootstrap
	$(SWIFT) build --product printplane
	bash scripts/printer-demo.sh

fuzz: bootstrap
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

bench: bootstrap
	cd Benchmarks && $(SWIFT) package benchmark

clean:
	rm -rf .build .build-fuzz Benchmarks/.build
