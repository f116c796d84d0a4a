#!/usr/bin/env bash
# Runs a command while holding the machine-wide Swift build lock, so that two
# Swift builds (from different worktrees or sessions) never run at once on
# this 2-core machine. Usage: scripts/locked-build.sh swift build --build-tests
if [ -n "${PRINTPLANE_BUILD_LOCK_HELD:-}" ]; then exec "$@"; fi
export PRINTPLANE_BUILD_LOCK_HELD=1
exec flock -o /tmp/printplane-swift-build.lock "$@"
