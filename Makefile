# Thin entry points; the real work is in scripts/ and lab/ (see docs/testing.md).
.PHONY: setup test demo bench lab clean

setup:
	scripts/setup

test:
	scripts/test

demo:
	scripts/demo

bench:
	scripts/bench

lab:
	lab/build
	lab/up

# Stop every lab VM that has a state folder, then drop the caches and the venv.
clean:
	for dir in lab/.state/*/; do \
		[ -d "$$dir" ] && lab/down "$$(basename "$$dir")"; \
	done; true
	rm -rf .venv .cache/ansible-test .cache/downloads tests/output
	rm -rf .cache/collections/ansible_collections/containers
	rm -f .cache/collections/.flowoffload-collections.sha256
