#!/usr/bin/env bash
# Builds every libFuzzer target in Fuzz/ with -sanitize=fuzzer,address and runs each for
# a bounded time (default 20 s) from its seed corpus. Exits non-zero on any crash, leak,
# sanitizer report or timeout, leaving the reproducer in fuzz-artifacts/.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET…]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
scratch=$PWD/.build-fuzz
swift build --package-path Fuzz --scratch-path "$scratch" -c debug \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >/tmp/printplane-fuzz-build.log 2>&1 || {
  tail -40 /tmp/printplane-fuzz-build.log >&2; echo "fuzz: build failed" >&2; exit 1; }
bin=$(swift build --package-path Fuzz --scratch-path "$scratch" -c debug --show-bin-path)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(ls Fuzz/Sources | grep -v "^FuzzSupport$")
fi
mkdir -p fuzz-artifacts
failed=0
for target in "${targets[@]}"; do
  corpus=$(mktemp -d)
  [ -d "Fuzz/Corpus/$target" ] && cp -r "Fuzz/Corpus/$target/." "$corpus/"
  echo "fuzz: $target for ${seconds}s"
  if ! "$bin/$target" "$corpus" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="fuzz-artifacts/$target-" -print_final_stats=1 >"/tmp/fuzz-$target.log" 2>&1; then
    tail -30 "/tmp/fuzz-$target.log" >&2
    echo "fuzz: $target FAILED (reproducer in fuzz-artifacts/)" >&2
    failed=1
  else
    grep -E "stat::number_of_executed_units|cov:" "/tmp/fuzz-$target.log" | tail -2 | sed "s/^/fuzz: $target: /"
  fi
  rm -rf "$corpus"
done
exit $failed
