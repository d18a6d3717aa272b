#!/bin/sh
# fuzz_long.sh [SECONDS] - the libFuzzer harnesses of tests/fuzz/ for much
# longer than `make check` runs them: SECONDS each (default 600).  Not a
# test in make check; run it by hand or nightly.  Crash inputs land in
# build/fuzz/; FUZZ_ONLY="rules conf" picks harnesses.  Inputs found to
# add coverage are NOT copied into the committed corpus: add the ones
# worth keeping to tests/fuzz/corpus/NAME/ by hand.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
exec "$TOP/tests/fuzz/run.sh" "${1:-600}"
