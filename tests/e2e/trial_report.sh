#!/usr/bin/env bash
# End-to-end: medtwin trial report on the results of the smoke trial
# (examples/trials/smoke.json). The page is written, self-contained (no
# script, no external address), with its figures; malformed or incomplete
# results are refused with one line naming the file and the key (exit 2),
# leaving no report; an unwritable destination is a runtime error (exit 1).
set -u
BIN=$1
SRC=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-report.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }

"$BIN" trial run "$SRC/examples/trials/smoke.json" --out "$T/run" --threads 2 > /dev/null
check "the smoke trial runs" '[ $? -eq 0 ] && [ -s "$T/run/results.json" ]'
"$BIN" trial report "$T/run/results.json" --out "$T/run/r.html" > "$T/out" 2> "$T/err"
check "the report is written: exit 0, nothing on stderr" '[ $? -eq 0 ] && [ -s "$T/run/r.html" ] && [ ! -s "$T/err" ]'
check "3 or more SVG figures" '[ "$(grep -o "<svg" "$T/run/r.html" | wc -l)" -ge 3 ]'
check "self-contained: no script, no external address" '! grep -Eq "<script|https?://|src=" "$T/run/r.html"'
check "the protocol, every arm and the forest plot" 'grep -q "Virtual trial: smoke" "$T/run/r.html" && grep -q ">standard<" "$T/run/r.html" && grep -q ">twin<" "$T/run/r.html" && grep -q ">pid<" "$T/run/r.html" && grep -q "class=\"zero\"" "$T/run/r.html"'
check "one forest row per subgroup entry" '[ "$(grep -o "<g class=\"fr sub" "$T/run/r.html" | wc -l)" -eq "$(python3 -c "import json; print(len(json.load(open(\"$T/run/results.json\"))[\"subgroups\"]))")" ]'
"$BIN" trial report "$T/run/results.json" --out - > "$T/stdout.html"
check "--out - writes the same page to standard output" 'cmp -s "$T/stdout.html" "$T/run/r.html"'

python3 -c "
import json
r = json.load(open('$T/run/results.json'))
del r['arms'][1]['endpoints']
json.dump(r, open('$T/bad.json', 'w'))"
"$BIN" trial report "$T/bad.json" --out "$T/bad.html" 2> "$T/err"
check "a missing key: exit 2, one line naming the file and the key, no report" '[ $? -eq 2 ] && grep -q "bad.json: arms\[1\].endpoints: missing (expected an object)" "$T/err" && [ "$(wc -l < "$T/err")" = 1 ] && [ ! -e "$T/bad.html" ]'
printf '{"protocol": ' > "$T/trunc.json"
"$BIN" trial report "$T/trunc.json" --out "$T/bad.html" 2> "$T/err"
check "malformed JSON: exit 2 naming the file and line" '[ $? -eq 2 ] && grep -q "trunc.json: line 1" "$T/err" && [ ! -e "$T/bad.html" ]'
"$BIN" trial report "$T/none.json" --out "$T/bad.html" 2> "$T/err"
check "an unreadable file: exit 2 naming it" '[ $? -eq 2 ] && grep -q "none.json" "$T/err"'
"$BIN" trial report "$T/run/results.json" 2> "$T/err"
check "no --out: exit 2" '[ $? -eq 2 ] && grep -q -- "--out" "$T/err"'
"$BIN" trial report "$T/run/results.json" --out "$T/no/such/dir/r.html" 2> "$T/err"
check "an unwritable destination: exit 1" '[ $? -eq 1 ] && [ -s "$T/err" ]'
"$BIN" trial report --help > "$T/help"
check "--help: usage on stdout, exit 0" '[ $? -eq 0 ] && grep -q "usage: medtwin trial report" "$T/help"'

echo "trial_report: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
