#!/usr/bin/env bash
# Installs what is missing, builds, runs the whole test suite, then fuzzes the untrusted inputs (the GGUF
# container, model loading with two decoded tokens, the tokenizer) for a bounded time. Exit status is
# non-zero if anything fails.
# Usage: scripts/test.sh            (FUZZ_SECONDS=N to change the per-target fuzz time, 0 to skip)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
scripts/setup.sh release
ctest_log=build/release/ctest.log
ctest --preset release -j "$jobs" 2>&1 | tee "$ctest_log"

fuzz_seconds=${FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" -gt 0 ]; then
  scripts/fuzz.sh "$fuzz_seconds"
fi

# One closing line for the whole suite (ctest's own summary scrolled past during fuzzing).
summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$ctest_log" | tail -n 1)
total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$summary")
failed=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$summary")
not_run=$(grep -cE '^\s+[0-9]+ - .*\((Skipped|Disabled)\)$' "$ctest_log" || true)
echo "tests: $((total - failed - not_run)) passed, $failed failed, $not_run skipped"
