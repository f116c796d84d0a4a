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

test: build
	$(SWIFT) test --skip-build --parallel --num-workers 2

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
