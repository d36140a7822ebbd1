#!/usr/bin/env bash
# Run one libFuzzer target without writing into the repository:
#   run.sh FUZZER WORKDIR SEEDDIR... -- LIBFUZZER_OPTIONS...
# New inputs go to WORKDIR/corpus (both emptied first), crashers to
# WORKDIR/artifacts/, the log to WORKDIR/log; the seed dirs (the corpus and
# regress/ in tests/fuzz) are only read. Missing seed dirs are skipped. Exits
# with the fuzzer's status (0: no crash, leak or sanitizer report).
set -euo pipefail
fuzzer=$1 work=$2
shift 2
seeds=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  [ -d "$1" ] && seeds+=("$1")
  shift
done
[ $# -gt 0 ] && shift
rm -rf "$work/corpus" "$work/artifacts"
mkdir -p "$work/corpus" "$work/artifacts"
set +e
"$fuzzer" -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$@" \
  "$work/corpus" "${seeds[@]}" 2>&1 | tee "$work/log" | tail -n 40
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  echo "run.sh: $fuzzer failed ($rc); crashers in $work/artifacts/" >&2
fi
exit "$rc"
