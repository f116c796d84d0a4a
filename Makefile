# The two commands a new user needs (README "Quick start"):
#   make demo   run the main job on embedded defaults
#   make test   install what the tests need, build, and run every test
SHELL := /bin/bash
SWIFT ?= swift

.PHONY: bootstrap build test demo fuzz bench clean

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	$(SWIFT) build --build-tests

test: build
	$(SWIFT) test --skip-build --parallel --num-workers 2

demo: bootstrap
	$(SWIFT) build --product printplane
	bash scripts/demo.sh

fuzz: bootstrap
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

bench: bootstrap
	cd Benchmarks && $(SWIFT) package benchmark

clean:
	rm -rf .build .build-fuzz Benchmarks/.build
