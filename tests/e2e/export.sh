#!/usr/bin/env bash
# End-to-end: data portability (GDPR Art. 20). A patient's whole record,
# imported from a Synthea transaction Bundle, comes out of
# GET /fhir/Patient/{id}/$everything as a Bundle and as NDJSON (one resource
# a line); the Bundle, made a transaction, re-imports into a second, empty
# server with the same count of resources of each type, its references
# pointing at the new patient. The patient exports its own record and no
# other's (404), a clinician only within the care team, a researcher, an
# auditor and a device not at all (403); every export is audited.
set -u
BIN=$1
SRC=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-export.XXXXXX") || exit 1
PID1= PID2=
trap '[ -n "$PID1" ] && kill -9 $PID1 2>/dev/null; [ -n "$PID2" ] && kill -9 $PID2 2>/dev/null; rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
J="Content-Type: application/fhir+json"
FIXTURE="$SRC/tests/fixtures/fhir/synthea-uscore-a73b31ec-prediabetes-htn.json"

# tok DIR NAME ARGS...: $NAME holds the token, ${NAME}_ID its id
tok() {
  local dir=$1 name=$2; shift 2
  local t
  t=$("$BIN" token create --data "$dir" "$@" 2> "$T/note") || { echo "token $name: $(cat "$T/note")"; exit 1; }
  printf -v "$name" '%s' "$t"
  printf -v "${name}_ID" '%s' "$(sed -n 's/.*token \([0-9a-f]*\),.*/\1/p' "$T/note")"
}
# serve DIR NAME: a server on a free port; $NAME_PID and $NAME_URL
serve() {
  "$BIN" serve --listen 127.0.0.1:0 --data "$1" > "$T/$2.out" 2> "$T/$2.err" &
  printf -v "${2}_PID" '%s' $!
  for i in $(seq 50); do grep -q serving "$T/$2.out" && break; sleep 0.1; done
  printf -v "${2}_URL" 'http://127.0.0.1:%s' "$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$T/$2.out")"
}
# req URL TOKEN METHOD PATH [BODYFILE] [HEADER]: the status; the body in
# $T/body, the headers in $T/head
req() {
  local data=() extra=()
  [ -n "${5:-}" ] && data=(-H "$J" --data-binary @"$5")
  [ -n "${6:-}" ] && extra=(-H "$6")
  curl -s -o "$T/body" -D "$T/head" -w '%{http_code}' -X "$3" \
    -H "Authorization: Bearer $2" "${data[@]}" "${extra[@]}" "$1$4"
}

# ---- the first server: the Synthea record and a second patient ----------
D1="$T/one"
tok "$D1" ADMIN --role admin
serve "$D1" S1; PID1=$S1_PID
check "the first server listens" '[ "$S1_URL" != "http://127.0.0.1:" ]'
check "the Synthea bundle imports" '[ "$(req "$S1_URL" "$ADMIN" POST /fhir "$FIXTURE")" = 200 ]'
P=$(python3 -c "
import json
for e in json.load(open('$T/body'))['entry']:
    loc = e['response']['location']
    if loc.startswith('Patient/'): print(loc.split('/')[1]); break")
printf '{"resourceType":"Patient","name":[{"family":"Other"}]}' > "$T/other.json"
req "$S1_URL" "$ADMIN" POST /fhir/Patient "$T/other.json" > /dev/null
Q=$(python3 -c "import json; print(json.load(open('$T/body'))['id'])")
check "two patients" '[ -n "$P" ] && [ -n "$Q" ]'
tok "$D1" PAT --role patient --patient "$P"
tok "$D1" CLIN --role clinician
"$BIN" careteam add --data "$D1" --token "$CLIN_ID" --patient "$P" > /dev/null
tok "$D1" STRANGER --role clinician
tok "$D1" RES --role researcher
tok "$D1" AUD --role auditor
tok "$D1" DEV --role device --patient "$P" --device cgm-p
tok "$D1" NARROW --role patient --patient "$P" --scope patient/Observation.rs
printf '{"status":"active"}' > "$T/consent.json"
req "$S1_URL" "$ADMIN" PUT "/api/patients/$P/consent/research" "$T/consent.json" > /dev/null

# ---- the export as a Bundle ------------------------------------------------
E='$everything'
check "admin exports the record: a searchset Bundle, the Patient first" '[ "$(req "$S1_URL" "$ADMIN" GET "/fhir/Patient/$P/$E")" = 200 ] && cp "$T/body" "$T/export.json" && python3 - "$T/export.json" "$P" <<PY
import json, sys
b = json.load(open(sys.argv[1])); p = sys.argv[2]
assert b["resourceType"] == "Bundle" and b["type"] == "searchset"
assert b["total"] == len(b["entry"]) > 50, b["total"]
first = b["entry"][0]["resource"]
assert first["resourceType"] == "Patient" and first["id"] == p
assert len({(e["resource"]["resourceType"], e["resource"]["id"]) for e in b["entry"]}) == len(b["entry"])
for e in b["entry"]:
    assert e["fullUrl"] == e["resource"]["resourceType"] + "/" + e["resource"]["id"]
    assert "versionId" in e["resource"]["meta"]
PY'
# what a search of each type finds for the patient, the export holds
check "the export holds every resource a search of each type finds" 'python3 - "$T/export.json" "$S1_URL" "$ADMIN" "$P" <<PY
import collections, json, sys, urllib.request
b = json.load(open(sys.argv[1])); base, tok, p = sys.argv[2:5]
n = collections.Counter(e["resource"]["resourceType"] for e in b["entry"])
assert len(n) >= 5, n
for t, k in n.items():
    if t == "Patient": continue
    url = base + "/fhir/" + t + "?patient=" + p + "&_count=0"
    got = json.load(urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": "Bearer " + tok})))
    assert got["total"] == k, (t, got["total"], k)
PY'
python3 -c "import collections,json; print(\"exported:\", dict(collections.Counter(e[\"resource\"][\"resourceType\"] for e in json.load(open(\"$T/export.json\"))[\"entry\"])))"
check "the other patient is not in it" '! grep -q "$Q" "$T/export.json"'

# ---- the export as NDJSON ----------------------------------------------------
ndjson_ok() { # FILE: each line one resource, as many as the Bundle's entries
  python3 - "$1" "$T/export.json" <<PY
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "", "ends with a newline"
b = json.load(open(sys.argv[2]))
res = [json.loads(l) for l in lines[:-1]]
assert all("\n" not in l for l in lines)
assert [(r["resourceType"], r["id"]) for r in res] == [(e["resource"]["resourceType"], e["resource"]["id"]) for e in b["entry"]]
PY
}
check "?_format=ndjson: application/fhir+ndjson, one resource a line" '[ "$(req "$S1_URL" "$ADMIN" GET "/fhir/Patient/$P/$E?_format=ndjson")" = 200 ] && grep -qi "^content-type: application/fhir+ndjson" "$T/head" && ndjson_ok "$T/body"'
check "Accept: application/fhir+ndjson: the same" '[ "$(req "$S1_URL" "$ADMIN" GET "/fhir/Patient/$P/$E" "" "Accept: application/fhir+ndjson")" = 200 ] && grep -qi "^content-type: application/fhir+ndjson" "$T/head" && ndjson_ok "$T/body"'
check "_format=application/fhir%2Bndjson: the same" '[ "$(req "$S1_URL" "$ADMIN" GET "/fhir/Patient/$P/$E?_format=application/fhir%2Bndjson")" = 200 ] && ndjson_ok "$T/body"'
check "an unknown _format: 400 naming it" '[ "$(req "$S1_URL" "$ADMIN" GET "/fhir/Patient/$P/$E?_format=xml")" = 400 ] && grep -q "_format" "$T/body"'
check "an unsupported parameter: 400 naming it" '[ "$(req "$S1_URL" "$ADMIN" GET "/fhir/Patient/$P/$E?_since=2020-01-01")" = 400 ] && grep -q "_since" "$T/body"'
check "an unknown patient: 404" '[ "$(req "$S1_URL" "$ADMIN" GET "/fhir/Patient/nobody/$E")" = 404 ] && grep -q OperationOutcome "$T/body"'
check "POST is not an export: 405" '[ "$(req "$S1_URL" "$ADMIN" POST "/fhir/Patient/$P/$E" "$T/other.json")" = 405 ]'
check "an error asked as NDJSON is an OperationOutcome in JSON" '[ "$(req "$S1_URL" "$ADMIN" GET "/fhir/Patient/nobody/$E?_format=ndjson")" = 404 ] && grep -qi "^content-type: application/fhir+json" "$T/head" && grep -q OperationOutcome "$T/body"'

# ---- who may export ------------------------------------------------------------
check "the patient exports its own record" '[ "$(req "$S1_URL" "$PAT" GET "/fhir/Patient/$P/$E")" = 200 ] && cmp -s <(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))[\"entry\"]))" "$T/body") <(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))[\"entry\"]))" "$T/export.json")'
check "the patient: another patient's record 404" '[ "$(req "$S1_URL" "$PAT" GET "/fhir/Patient/$Q/$E")" = 404 ]'
check "a patient token scoped to Observations: 403" '[ "$(req "$S1_URL" "$NARROW" GET "/fhir/Patient/$P/$E")" = 403 ]'
check "a clinician of the care team exports" '[ "$(req "$S1_URL" "$CLIN" GET "/fhir/Patient/$P/$E?_format=ndjson")" = 200 ] && ndjson_ok "$T/body"'
check "a clinician outside the care team: 404" '[ "$(req "$S1_URL" "$STRANGER" GET "/fhir/Patient/$P/$E")" = 404 ]'
check "a researcher, even with research consent: 403" '[ "$(req "$S1_URL" "$RES" GET "/fhir/Patient/$P/$E")" = 403 ]'
check "an auditor: 403" '[ "$(req "$S1_URL" "$AUD" GET "/fhir/Patient/$P/$E")" = 403 ]'
check "a device: 403" '[ "$(req "$S1_URL" "$DEV" GET "/fhir/Patient/$P/$E")" = 403 ]'
check "no token: 401" '[ "$(curl -s -o /dev/null -w "%{http_code}" "$S1_URL/fhir/Patient/$P/$E")" = 401 ]'
check "the exports are in the patient's access log" '[ "$(req "$S1_URL" "$PAT" GET "/api/patients/$P/audit?_count=1000")" = 200 ] && python3 - "$T/body" "$P" "$PAT_ID" "$CLIN_ID" "$RES_ID" <<PY
import json, sys
b = json.load(open(sys.argv[1])); p, pat, clin, res = sys.argv[2:6]
ex = [e["resource"] for e in b["entry"] if e["resource"]["subtype"][0]["code"] == "export"]
assert all(e["entity"][0]["description"] == "Patient/" + p + "/\$everything" for e in ex), ex
def by(who, status):
    return any(who in json.dumps(e["agent"]) and e["outcomeDesc"] == "HTTP " + status for e in ex)
assert by("token:" + pat, "200") and by("token:" + clin, "200") and by("token:" + res, "403"), ex
PY'

# ---- re-import into a second, empty server ---------------------------------
kill -TERM $PID1; wait $PID1; PID1=
D2="$T/two"
tok "$D2" ADMIN2 --role admin
serve "$D2" S2; PID2=$S2_PID
check "the second server listens, empty" '[ "$(req "$S2_URL" "$ADMIN2" GET "/fhir/Patient?_count=0")" = 200 ] && [ "$(python3 -c "import json; print(json.load(open(\"$T/body\"))[\"total\"])")" = 0 ]'
# the searchset as a transaction: each resource POSTed, its fullUrl (Type/id)
# the key by which the server maps references to it onto the new ids
python3 - "$T/export.json" "$T/tx.json" <<PY
import json, sys
b = json.load(open(sys.argv[1])); tx = []
for e in b["entry"]:
    r = e["resource"]; r.pop("id", None); r.pop("meta", None)
    tx.append({"fullUrl": e["fullUrl"], "resource": r, "request": {"method": "POST", "url": r["resourceType"]}})
json.dump({"resourceType": "Bundle", "type": "transaction", "entry": tx}, open(sys.argv[2], "w"))
PY
check "the export re-imports as a transaction" '[ "$(req "$S2_URL" "$ADMIN2" POST /fhir "$T/tx.json")" = 200 ]'
P2=$(python3 -c "
import json
for e in json.load(open('$T/body'))['entry']:
    loc = e['response']['location']
    if loc.startswith('Patient/'): print(loc.split('/')[1]); break")
check "the re-imported record exports with the same counts per type" '[ "$(req "$S2_URL" "$ADMIN2" GET "/fhir/Patient/$P2/$E")" = 200 ] && python3 - "$T/export.json" "$T/body" "$P2" <<PY
import collections, json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2])); p2 = sys.argv[3]
count = lambda x: collections.Counter(e["resource"]["resourceType"] for e in x["entry"])
assert count(a) == count(b), (count(a), count(b))
assert b["entry"][0]["resource"]["id"] == p2
for e in b["entry"][1:]:
    r = e["resource"]
    ref = (r.get("subject") or r.get("patient") or {}).get("reference")
    assert ref == "Patient/" + p2, (r["resourceType"], ref)
PY'
check "a search of each type on the second server counts the same" 'python3 - "$T/export.json" "$S2_URL" "$ADMIN2" "$P2" <<PY
import collections, json, sys, urllib.request
a = json.load(open(sys.argv[1])); base, tok, p = sys.argv[2:5]
n = collections.Counter(e["resource"]["resourceType"] for e in a["entry"])
for t, k in n.items():
    if t == "Patient": continue
    url = base + "/fhir/" + t + "?patient=" + p + "&_count=0"
    got = json.load(urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": "Bearer " + tok})))
    assert got["total"] == k, (t, got["total"], k)
PY'
kill -TERM $PID2; wait $PID2; PID2=
check "the audit chain verifies" '"$BIN" audit verify --data "$D1" > "$T/verify" 2>&1'
echo "export: $pass passed, $fail failed"
[ $fail -eq 0 ]
