#!/usr/bin/env bash
# End-to-end: `medtwin serve` on a free loopback port answers health,
# readiness and the FHIR CapabilityStatement; creates, reads, vreads and
# lists the history of resources stored verbatim, and keeps them across a
# restart; refuses bad requests with the right 4xx and an OperationOutcome
# (404, 405, 413 while the body arrives, 415, 400 for malformed JSON, too
# deep nesting or the wrong resourceType); SIGTERM stops it cleanly (exit 0);
# bad options exit 2. Access control: every request but the public routes
# (/health, /ready, /fhir/metadata) carries an admin bearer token made with
# `medtwin token create` before the server starts; without it, or with a
# wrong one, the answer is 401 with an OperationOutcome and WWW-Authenticate;
# the token, kept in the store, is still valid after a restart.
set -u
BIN=$1
SRC=$2
DATA="$SRC/tests/fixtures/fhir"
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-serve.XXXXXX") || exit 1
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
# this suite reads the store's rows directly, so its store is not
# encrypted at rest (tests/e2e/erase.sh covers an encrypted one)
unset MEDTWIN_MASTER_KEY MEDTWIN_MASTER_KEY_FILE

TOKEN=$("$BIN" token create --data "$T/data" --role admin 2> "$T/tok.txt")
check "an admin token from the CLI" '[[ "$TOKEN" =~ ^mt_[A-Za-z0-9_-]{43}$ ]]'
AUTH="Authorization: Bearer $TOKEN"
export MEDTWIN_TOKEN="$TOKEN"
"$BIN" serve --plaintext --listen 127.0.0.1:0 --data "$T/data" > "$T/out.txt" 2> "$T/err.txt" &
PID=$!
for i in $(seq 50); do grep -q serving "$T/out.txt" && break; sleep 0.1; done
PORT=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$T/out.txt")
U="http://127.0.0.1:$PORT"
check "listening on a reported port" '[ -n "$PORT" ] && [ -d "$T/data" ]'
# Every FHIR resource the server answers with is kept in $T/fhir-out, and
# validated at the end against the R4 JSON schema and FHIR.js.
mkdir -p "$T/fhir-out"
export FHIR_OUT="$T/fhir-out"
keep() { grep -q '"resourceType"' "$1" 2>/dev/null && cp "$1" "$(mktemp --suffix=.json -p "$T/fhir-out")"; return 0; }
# code: a request with the admin token; anon: the same without credentials.
anon() { local c; c=$(curl -s -o "$T/body" -w '%{http_code}' "$@"); keep "$T/body"; echo "$c"; }
code() { anon -H "$AUTH" "$@"; }
check "health 200, without credentials" '[ "$(anon $U/health)" = 200 ] && grep -q "\"status\":\"ok\"" "$T/body"'
check "ready 200, without credentials" '[ "$(anon $U/ready)" = 200 ]'
check "CapabilityStatement, FHIR 4.0.1, fhir+json, without credentials" '[ "$(curl -s -o "$T/cap" -w "%{content_type}" $U/fhir/metadata)" = "application/fhir+json; charset=utf-8" ] && python3 -c "
import json,sys
c=json.load(open(\"$T/cap\"))
sys.exit(not (c[\"resourceType\"]==\"CapabilityStatement\" and c[\"fhirVersion\"]==\"4.0.1\" and c[\"kind\"]==\"instance\" and c[\"status\"]==\"active\"))"'
check "no credentials: 401 with an OperationOutcome and WWW-Authenticate: Bearer" '[ "$(anon -D "$T/hdr" $U/fhir/Patient)" = 401 ] && grep -qi "^WWW-Authenticate: Bearer" "$T/hdr" && python3 -c "
import json,sys
o=json.load(open(\"$T/body\"))
sys.exit(not (o[\"resourceType\"]==\"OperationOutcome\" and o[\"issue\"][0][\"severity\"] in (\"error\",\"fatal\")))"'
check "a wrong token: 401 (well-formed unknown, altered, not a token)" '[ "$(anon -H "Authorization: Bearer mt_$(printf A%.0s $(seq 43))" $U/fhir/Patient)" = 401 ] && grep -q OperationOutcome "$T/body" && [ "$(anon -H "Authorization: Bearer ${TOKEN%?}$([ "${TOKEN: -1}" = A ] && echo B || echo A)" $U/fhir/Patient)" = 401 ] && [ "$(anon -H "Authorization: Bearer nonsense" $U/fhir/Patient)" = 401 ] && [ "$(anon -H "Authorization: Basic $(printf admin:admin | base64)" $U/fhir/Patient)" = 401 ]'
check "no credentials: 401 on writes and the twin API too, nothing stored" '[ "$(anon -X POST -H "Content-Type: application/fhir+json" -d "{\"resourceType\":\"Patient\"}" $U/fhir/Patient)" = 401 ] && [ "$(anon $U/api/twins)" = 401 ] && [ "$(code "$U/fhir/Patient?_count=0")" = 200 ] && grep -q "\"total\":0" "$T/body"'
check "with the token: 200" '[ "$(code $U/fhir/Patient)" = 200 ] && grep -q searchset "$T/body"'
check "unknown resource 404 OperationOutcome" '[ "$(code $U/fhir/Patient/nobody)" = 404 ] && python3 -c "
import json,sys
o=json.load(open(\"$T/body\"))
sys.exit(not (o[\"resourceType\"]==\"OperationOutcome\" and o[\"issue\"][0][\"code\"]==\"not-found\" and \"nobody\" in o[\"issue\"][0][\"diagnostics\"]))"'
check "unknown route 404" '[ "$(code $U/nothing/here)" = 404 ] && grep -q OperationOutcome "$T/body"'
check "a path not UTF-8, or cut inside a character in the message: 404, not 500" '[ "$(code $U/%B9)" = 404 ] && grep -q OperationOutcome "$T/body" && [ "$(code $U/$(printf a%.0s $(seq 198))%C3%A9)" = 404 ]'
J="Content-Type: application/fhir+json"
printf '{"resourceType":"Patient","id":"client-id","name":[{"family":"Doe","given":["Jan"]}],"birthDate":"1970-01-01","extension":[{"url":"http://example.org/x","valueString":"kept"}]}' > "$T/p.json"
check "create 201 with Location and ETag" '[ "$(curl -s -D "$T/hdr" -o "$T/created" -w "%{http_code}" -X POST -H "$AUTH" -H "$J" --data-binary @"$T/p.json" $U/fhir/Patient)" = 201 ] && grep -qi "^Location: /fhir/Patient/.*/_history/1" "$T/hdr" && grep -qi "^ETag: W/.1." "$T/hdr"'
ID=$(python3 -c "import json; print(json.load(open(\"$T/created\"))[\"id\"])" 2>/dev/null)
check "the server assigns the id; the rest is kept verbatim" 'python3 -c "
import json,sys
p=json.load(open(\"$T/created\")); q=json.load(open(\"$T/p.json\"))
ok = p[\"id\"]!=\"client-id\" and p[\"meta\"][\"versionId\"]==\"1\"
ok = ok and all(p[k]==q[k] for k in (\"name\",\"birthDate\",\"extension\"))
sys.exit(not ok)"'
check "read 200" '[ "$(code $U/fhir/Patient/$ID)" = 200 ] && cmp -s <(python3 -c "import json; print(json.load(open(\"$T/body\")))") <(python3 -c "import json; print(json.load(open(\"$T/created\")))")'
check "vread 200, unknown version 404" '[ "$(code $U/fhir/Patient/$ID/_history/1)" = 200 ] && [ "$(code $U/fhir/Patient/$ID/_history/2)" = 404 ]'
check "history Bundle" '[ "$(code $U/fhir/Patient/$ID/_history)" = 200 ] && python3 -c "
import json,sys
b=json.load(open(\"$T/body\"))
sys.exit(not (b[\"resourceType\"]==\"Bundle\" and b[\"type\"]==\"history\" and b[\"total\"]==1))"'
python3 -c "
import json
p=json.load(open(\"$T/created\")); p[\"birthDate\"]=\"1971-02-03\"
json.dump(p, open(\"$T/upd.json\", \"w\"))"
check "update with If-Match: version 2" '[ "$(code -X PUT -H "$J" -H "If-Match: W/\"1\"" --data-binary @"$T/upd.json" $U/fhir/Patient/$ID)" = 200 ] && python3 -c "
import json,sys
p=json.load(open(\"$T/body\"))
sys.exit(not (p[\"meta\"][\"versionId\"]==\"2\" and p[\"birthDate\"]==\"1971-02-03\"))"'
check "stale If-Match: 412, nothing written" '[ "$(code -X PUT -H "$J" -H "If-Match: W/\"1\"" --data-binary @"$T/upd.json" $U/fhir/Patient/$ID)" = 412 ] && grep -q OperationOutcome "$T/body" && [ "$(code $U/fhir/Patient/$ID/_history/3)" = 404 ]'
check "update of an unknown id: 404" '[ "$(code -X PUT -H "$J" -d "{\"resourceType\":\"Patient\",\"id\":\"nobody\"}" $U/fhir/Patient/nobody)" = 404 ]'
check "update with another id in the body: 400" '[ "$(code -X PUT -H "$J" -d "{\"resourceType\":\"Patient\",\"id\":\"other\"}" $U/fhir/Patient/$ID)" = 400 ]'
check "delete, then 410 Gone; old versions still read" '[ "$(code -X DELETE $U/fhir/Patient/$ID)" = 200 ] && [ "$(code $U/fhir/Patient/$ID)" = 410 ] && [ "$(code $U/fhir/Patient/$ID/_history/2)" = 200 ]'
# The five Synthea transaction Bundles import completely, and their
# internal references point at the stored resources.
check "the five Synthea bundles are here" '[ $(ls "$DATA"/synthea-*.json | wc -l) -eq 5 ]'
for f in "$DATA"/synthea-*.json; do
  name=$(basename "$f")
  check "transaction $name: 200, every entry created and readable, references resolved" '[ "$(code -X POST -H "$J" --data-binary @"$f" $U/fhir)" = 200 ] && python3 - "$f" "$T/body" "$U" <<PY
import json, sys, urllib.request
src = json.load(open(sys.argv[1])); out = json.load(open(sys.argv[2])); base = sys.argv[3]
auth = {"Authorization": "Bearer $TOKEN"}
assert out["type"] == "transaction-response" and len(out["entry"]) == len(src["entry"])
ids = {}
for e_in, e_out in zip(src["entry"], out["entry"]):
    loc = e_out["response"]["location"]
    t, i = loc.split("/")[0:2]
    assert t == e_in["resource"]["resourceType"] and e_out["response"]["status"].startswith("201")
    ids[e_in["fullUrl"]] = t + "/" + i
for e_in, e_out in list(zip(src["entry"], out["entry"]))[:400]:
    t, i = e_out["response"]["location"].split("/")[0:2]
    got = json.load(urllib.request.urlopen(urllib.request.Request(base + "/fhir/" + t + "/" + i, headers=auth)))
    want = e_in["resource"]
    for k in want:
        if k in ("id", "meta"): continue
        w = json.dumps(want[k])
        for full, new in ids.items(): w = w.replace(json.dumps(full)[1:-1], new)
        assert json.dumps(got[k]) == w or isinstance(want[k], (float, list, dict)), (t, k)
    if t == "Observation" and "subject" in want:
        assert got["subject"]["reference"] == ids[want["subject"]["reference"]]
PY'
done
# Search, against counts computed here from the bundle files themselves.
check "search: patient, code, date range, _sort, _count and paging" 'python3 - "$U" "$DATA" <<PY
import datetime, glob, json, sys, urllib.request
U, D = sys.argv[1], sys.argv[2]
get = lambda p: json.load(urllib.request.urlopen(urllib.request.Request(U + p, headers={"Authorization": "Bearer $TOKEN"})))
pats = get("/fhir/Patient?_count=1000")
assert pats["type"] == "searchset" and pats["total"] == 5, pats["total"]  # the 5 bundles; the one created above is deleted
src = json.load(open(D + "/synthea-uscore-a73b31ec-prediabetes-htn.json"))
fam = [e for e in src["entry"] if e["resource"]["resourceType"] == "Patient"][0]["resource"]["name"][0]["family"]
pid = [e["resource"]["id"] for e in pats["entry"] if e["resource"].get("name", [{}])[0].get("family") == fam][0]
def when(o): return datetime.datetime.fromisoformat(o["effectiveDateTime"])
hr = [e["resource"] for e in src["entry"] if e["resource"]["resourceType"] == "Observation"
      and any(c["code"] == "8867-4" for c in e["resource"]["code"]["coding"])]
b = get("/fhir/Observation?patient=Patient/" + pid + "&code=http://loinc.org|8867-4&_sort=-date&_count=3")
assert b["total"] == len(hr) and len(b["entry"]) == 3
got = [when(e["resource"]) for e in b["entry"]]
assert got == sorted((when(o) for o in hr), reverse=True)[:3]
nxt = [l["url"] for l in b["link"] if l["relation"] == "next"][0]
b2 = get(nxt)
assert [when(e["resource"]) for e in b2["entry"]] == sorted((when(o) for o in hr), reverse=True)[3:6]
lo, hi = datetime.datetime(2018, 1, 1, tzinfo=datetime.timezone.utc), datetime.datetime(2019, 1, 1, tzinfo=datetime.timezone.utc)
want = sum(1 for o in hr if lo <= when(o) < hi)
b3 = get("/fhir/Observation?patient=" + pid + "&code=8867-4&date=ge2018-01-01&date=lt2019-01-01")
assert b3["total"] == want >= 1, (b3["total"], want)
PY'
check "search: an unknown parameter is 400 naming it" '[ "$(code "$U/fhir/Observation?colour=red")" = 400 ] && grep -q colour "$T/body"'
check "search: a bad date is 400" '[ "$(code "$U/fhir/Observation?date=yesterday")" = 400 ]'
DB="$T/data/medtwin.db"
count() { python3 -c "import sqlite3; print(sqlite3.connect(\"$DB\").execute(\"select count(*) from resource\").fetchone()[0])"; }
# The bundles' vital signs and labs reach the observation table, normalised:
# one row per coded quantity (blood-pressure panels as two), one per
# (patient, device, code, time), SpO2 72.25 % kept (possible, implausible).
check "the twins' observations from the bundles, normalised" 'python3 - "$DB" "$DATA" <<PY
import glob, json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
rows = c.execute("select code, unit, value from observation").fetchall()
codes = {r[0] for r in rows}
assert {"8867-4", "8480-6", "8462-4", "4548-4", "2339-0", "29463-7", "59408-5"} <= codes, codes
assert all(u == {"8867-4": "/min", "8480-6": "mm[Hg]", "8462-4": "mm[Hg]", "4548-4": "%", "2339-0": "mg/dL", "29463-7": "kg", "59408-5": "%"}[k] for k, u, v in rows if k in ("8867-4","8480-6","8462-4","4548-4","2339-0","29463-7","59408-5"))
assert any(k == "59408-5" and abs(v - 72.25) < 1e-9 for k, u, v in rows)
# every blood-pressure panel in the bundles gave a systolic and a diastolic row
panels = sum(1 for f in glob.glob(sys.argv[2] + "/synthea-*.json") for e in json.load(open(f))["entry"]
             if e["resource"]["resourceType"] == "Observation" and any(cd.get("code") in ("85354-9", "55284-4") for cd in e["resource"]["code"].get("coding", [])))
assert sum(1 for r in rows if r[0] == "8480-6") >= panels > 0, panels
PY'
obs() { printf '{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"%s"}]},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-01-01T08:00:00Z","valueQuantity":{"value":%s,"unit":"%s","system":"http://unitsofmeasure.org","code":"%s"}}' "$1" "$2" "$3" "$3"; }
obs 2339-0 -5 mg/dL > "$T/neg.json"
check "negative glucose: 422 naming the value" '[ "$(code -X POST -H "$J" --data-binary @"$T/neg.json" $U/fhir/Observation)" = 422 ] && grep -q "Observation.valueQuantity" "$T/body" && grep -q impossible "$T/body"'
obs 4548-4 48 mmol/mol > "$T/a1c.json"
check "HbA1c in mmol/mol under 4548-4: 422, never converted" '[ "$(code -X POST -H "$J" --data-binary @"$T/a1c.json" $U/fhir/Observation)" = 422 ] && grep -q 59261-8 "$T/body"'
obs 105272-9 5.5 mmol/L > "$T/cgm.json"
check "CGM in mmol/L stored as mg/dL under 99504-3, once: the same observation again answers 200 with the stored one" '[ "$(code -X POST -H "$J" --data-binary @"$T/cgm.json" $U/fhir/Observation)" = 201 ] && cp "$T/body" "$T/first.json" && [ "$(code -X POST -H "$J" --data-binary @"$T/cgm.json" $U/fhir/Observation)" = 200 ] && python3 -c "
import json,sqlite3,sys
r=sqlite3.connect(\"$DB\").execute(\"select code, unit, value from observation where patient=\x27p1\x27\").fetchall()
a=json.load(open(\"$T/first.json\")); b=json.load(open(\"$T/body\"))
sys.exit(not (len(r)==1 and r[0][0]==\"99504-3\" and r[0][1]==\"mg/dL\" and abs(r[0][2]-99.088)<1e-9 and a[\"id\"]==b[\"id\"]))"'
before=$(count)
printf '{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:a","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},{"resource":{"resourceType":"Patient"},"request":{"method":"PATCH","url":"Patient/x"}}]}' > "$T/badtx.json"
check "a transaction with one entry it cannot take: 422, nothing stored" '[ "$(code -X POST -H "$J" --data-binary @"$T/badtx.json" $U/fhir)" = 422 ] && grep -q "entry\[1\]" "$T/body" && [ "$(count)" = "$before" ]'
# A small client for the checks below: req() returns (status, JSON), with
# the admin token of $MEDTWIN_TOKEN; cgm() a CGM Observation of a patient at
# a minute of a day.
cat > "$T/client.py" <<'PY'
import datetime, json, os, tempfile, urllib.request, urllib.error
T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
AUTH = {"Authorization": "Bearer " + os.environ["MEDTWIN_TOKEN"]}
def keep(j):  # FHIR answers are kept for validation
    d = os.environ.get("FHIR_OUT")
    if d and isinstance(j, dict) and "resourceType" in j:
        fd, p = tempfile.mkstemp(suffix=".json", dir=d); os.write(fd, json.dumps(j).encode()); os.close(fd)
    return j
def req(base, m, path, body=None):
    r = urllib.request.Request(base + path, method=m, data=json.dumps(body).encode() if body is not None else None,
                               headers={"Content-Type": "application/fhir+json", **AUTH})
    try:
        with urllib.request.urlopen(r) as f: return f.status, keep(json.load(f))
    except urllib.error.HTTPError as e: return e.code, keep(json.load(e))
def cgm(patient, t_min, mgdl):
    ts = (T0 + datetime.timedelta(minutes=float(t_min))).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/" + patient},
            "code": {"coding": [{"system": "http://loinc.org", "code": "99504-3"}]}, "effectiveDateTime": ts,
            "valueQuantity": {"value": float(mgdl), "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"}}
PY
check "ids are UUID version 7 (RFC 9562), increasing in the order made" 'PYTHONPATH="$T" python3 - "$U" <<PY
import re, sys
from client import req
ids = [req(sys.argv[1], "POST", "/fhir/Device", {"resourceType": "Device"})[1]["id"] for _ in range(5)]
v7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
assert all(v7.match(i) for i in ids), ids
assert ids == sorted(ids) and len(set(ids)) == 5, ids
PY'
# Conditional create (If-None-Exist): the one match answers 200; several 412.
IDN='{"resourceType":"Patient","identifier":[{"system":"http://example.org/mrn","value":"123"}]}'
check "If-None-Exist: 201, then 200 with the same resource, 412 when several match" '[ "$(code -X POST -H "$J" -H "If-None-Exist: identifier=http://example.org/mrn|123" -d "$IDN" $U/fhir/Patient)" = 201 ] && A=$(python3 -c "import json; print(json.load(open(\"$T/body\"))[\"id\"])") && [ "$(code -X POST -H "$J" -H "If-None-Exist: identifier=http://example.org/mrn|123" -d "$IDN" $U/fhir/Patient)" = 200 ] && grep -q "\"id\":\"$A\"" "$T/body" && [ "$(code -X POST -H "$J" -d "$IDN" $U/fhir/Patient)" = 201 ] && [ "$(code -X POST -H "$J" -H "If-None-Exist: identifier=http://example.org/mrn|123" -d "$IDN" $U/fhir/Patient)" = 412 ] && grep -q multiple-matches "$T/body"'
# Transactions with PUT, DELETE and conditional references, all or nothing.
check "transaction: POST, PUT, DELETE and a conditional reference; all or nothing" 'PYTHONPATH="$T" python3 - "$U" <<PY
import sys
from client import req as http, cgm
U = sys.argv[1]
req = lambda m, path, body=None: http(U, m, path, body)
a = req("POST", "/fhir/Patient", {"resourceType": "Patient", "identifier": [{"system": "http://example.org/mrn", "value": "tx-9"}]})[1]
b = req("POST", "/fhir/Patient", {"resourceType": "Patient", "gender": "female"})[1]
c = req("POST", "/fhir/Patient", {"resourceType": "Patient"})[1]
o = cgm("x", 10, 101.0); o["subject"] = {"reference": "Patient?identifier=http://example.org/mrn|tx-9"}
b["gender"] = "male"
tx = {"resourceType": "Bundle", "type": "transaction", "entry": [
    {"fullUrl": "urn:uuid:1", "resource": o, "request": {"method": "POST", "url": "Observation"}},
    {"resource": b, "request": {"method": "PUT", "url": "Patient/" + b["id"], "ifMatch": "W/\"1\""}},
    {"request": {"method": "DELETE", "url": "Patient/" + c["id"]}}]}
st, out = req("POST", "/fhir", tx)
assert st == 200, out
assert [e["response"]["status"] for e in out["entry"]] == ["201 Created", "200 OK", "200 OK"], out
oid = out["entry"][0]["response"]["location"].split("/")[1]
assert req("GET", "/fhir/Observation/" + oid)[1]["subject"]["reference"] == "Patient/" + a["id"]
assert req("GET", "/fhir/Patient/" + b["id"])[1]["gender"] == "male"
assert req("GET", "/fhir/Patient/" + c["id"])[0] == 410
# one failing entry (a stale ifMatch) undoes the others
n0 = req("GET", "/fhir/Patient?_count=0")[1]["total"]
bad = {"resourceType": "Bundle", "type": "transaction", "entry": [
    {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
    {"resource": b, "request": {"method": "PUT", "url": "Patient/" + b["id"], "ifMatch": "W/\"1\""}}]}
st, out = req("POST", "/fhir", bad)
assert st == 412 and "entry[1]" in out["issue"][0]["diagnostics"], (st, out)
assert req("GET", "/fhir/Patient?_count=0")[1]["total"] == n0
o2 = cgm("x", 20, 99.0); o2["subject"] = {"reference": "Patient?identifier=http://example.org/mrn|nobody"}
st, out = req("POST", "/fhir", {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": o2, "request": {"method": "POST", "url": "Observation"}}]})
assert st == 412 and "matches nothing" in out["issue"][0]["diagnostics"], (st, out)
PY'
# Decimals keep their written precision, and bad values are refused.
DEC='{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/dec"},"effectiveDateTime":"2026-02-01T08:00:00Z","valueQuantity":{"value":72.50,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"},"referenceRange":[{"low":{"value":1.000E+1}}]}'
check "decimals come back as written (72.50, 1.000E+1)" '[ "$(code -X POST -H "$J" -d "$DEC" $U/fhir/Observation)" = 201 ] && D=$(python3 -c "import json; print(json.load(open(\"$T/body\"))[\"id\"])") && [ "$(code $U/fhir/Observation/$D)" = 200 ] && grep -q "\"value\":72.50," "$T/body" && grep -q "\"value\":1.000E+1" "$T/body"'
printf '{"resourceType":"Patient","name":[{"family":"\xff\xfe"}]}' > "$T/utf.json"
check "invalid UTF-8: 400" '[ "$(code -X POST -H "$J" --data-binary @"$T/utf.json" $U/fhir/Patient)" = 400 ] && grep -q OperationOutcome "$T/body"'
check "a control character in a string: 400" '[ "$(code -X POST -H "$J" -d "{\"resourceType\":\"Patient\",\"gender\":\"a\\u0001b\"}" $U/fhir/Patient)" = 400 ]'
check "a value of the wrong type: 422 naming its path" '[ "$(code -X POST -H "$J" -d "$(obs 99504-3 "\"high\"" mg/dL)" $U/fhir/Observation)" = 422 ] && grep -q "Observation.valueQuantity" "$T/body"'
check "415 for another media type" '[ "$(code -X POST -H "Content-Type: text/plain" --data-binary @"$T/p.json" $U/fhir/Patient)" = 415 ] && grep -q OperationOutcome "$T/body"'
check "400 for malformed JSON" '[ "$(code -X POST -H "$J" -d "{\"resourceType\":" $U/fhir/Patient)" = 400 ] && grep -q "malformed JSON" "$T/body"'
python3 -c "print(\"[\"*100+\"]\"*100)" > "$T/deep.json"
check "400 for nesting too deep" '[ "$(code -X POST -H "$J" --data-binary @"$T/deep.json" $U/fhir/Patient)" = 400 ] && grep -q "nested deeper" "$T/body"'
check "400 for the wrong resourceType" '[ "$(code -X POST -H "$J" -d "{\"resourceType\":\"Device\"}" $U/fhir/Patient)" = 400 ] && grep -q resourceType "$T/body"'
head -c 9000000 /dev/zero | tr "\0" " " > "$T/big.json"
check "413 for a body over 8 MiB" '[ "$(code -X POST -H "$J" --data-binary @"$T/big.json" $U/fhir/Patient)" = 413 ]'
check "wrong method 405 OperationOutcome" '[ "$(code -X DELETE $U/health)" = 405 ] && grep -q OperationOutcome "$T/body"'
# A patient's twin: set after 30 stored CGM readings (it takes them), then
# fed on arrival; its state carries a forecast with ordered quantiles.
"$BIN" twin replay --patient adult#003 --days 1 --seed 7 --members 8 --out "$T/day" > /dev/null
check "twin API: set, fed on arrival, forecasting" 'PYTHONPATH="$T" python3 - "$U" "$T/day/stream.csv" <<PY
import csv, sys
from client import req as http, cgm as obs
U = sys.argv[1]
req = lambda m, path, body=None: http(U, m, path, body)
rows = [r for r in csv.DictReader(open(sys.argv[2])) if r["kind"] == "cgm"][:60]
for r in rows[:30]: assert req("POST", "/fhir/Observation", obs("tw1", r["t_min"], r["value"]))[0] == 201
assert req("GET", "/api/twins/tw1")[0] == 404
st, j = req("PUT", "/api/twins/tw1", {"model": "uva_padova_t1d", "prior": "population", "group": "adult"})
assert st == 201 and j["readings"] == 30 and j["t_min"] == 145, j
for r in rows[30:]: assert req("POST", "/fhir/Observation", obs("tw1", r["t_min"], r["value"]))[0] == 201
st, j = req("GET", "/api/twins/tw1")
assert st == 200 and j["readings"] == 60 and j["t_min"] == 295, j
for f in j["forecast"]:
    q = [f[k] for k in ("p025", "p10", "p25", "p50", "p75", "p90", "p975")]
    assert q == sorted(q) and 39 <= q[0] and q[-1] <= 600
ps = j["parameters"]  # the estimated ones, across the 64 members
assert len(ps) >= 1 and len({p["name"] for p in ps}) == len(ps), ps
assert all(p["unit"] and p["sd"] > 0 and p["p10"] < p["mean"] < p["p90"] for p in ps), ps
assert [t["patient"] for t in req("GET", "/api/twins")[1]["twins"]] == ["tw1"]
st, j = req("PUT", "/api/twins/tw2", {"model": "nope"})
assert st == 400 and j["issue"][0]["expression"] == ["model"]
PY'
# The server's twin is the command line's twin: a generated day of adult#003
# with its carbs (Observation 9059-7) and insulin (MedicationAdministration
# dose and rateQuantity) through the FHIR API gives the forecasts that
# `medtwin twin run` gives on the day's stream (to the 1e-4 mg/dL it prints).
"$BIN" twin run --stream "$T/day/stream.csv" --group adult --horizons 30,60,120 --out "$T/day/fc_cli.csv" > /dev/null
check "the server's twin is twin run's, inputs included" 'PYTHONPATH="$T" python3 - "$U" "$T/day" <<PY
import csv, sys
from client import req as http, cgm, T0
import datetime
U, D = sys.argv[1], sys.argv[2]
req = lambda m, path, body=None: http(U, m, path, body)
ts = lambda t: (T0 + datetime.timedelta(minutes=float(t))).strftime("%Y-%m-%dT%H:%M:%SZ")
assert req("PUT", "/api/twins/same", {"model": "uva_padova_t1d", "group": "adult"})[0] == 201
for r in csv.DictReader(open(D + "/stream.csv")):
    k, v = r["kind"], float(r["value"])
    if k == "cgm":
        body = cgm("same", r["t_min"], v)
    elif k == "carbs":
        body = {"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/same"},
                "code": {"coding": [{"system": "http://loinc.org", "code": "9059-7"}]}, "effectiveDateTime": ts(r["t_min"]),
                "valueQuantity": {"value": v, "unit": "g", "system": "http://unitsofmeasure.org", "code": "g"}}
    else:
        q = {"value": v, "system": "http://unitsofmeasure.org", "code": "[iU]" if k == "bolus" else "[iU]/h"}
        body = {"resourceType": "MedicationAdministration", "status": "completed", "subject": {"reference": "Patient/same"},
                "medicationCodeableConcept": {"text": "insulin"}, "effectiveDateTime": ts(r["t_min"]),
                "dosage": {("dose" if k == "bolus" else "rateQuantity"): q}}
    assert req("POST", "/fhir/" + body["resourceType"], body)[0] == 201
st, j = req("GET", "/api/twins/same")
assert st == 200 and j["readings"] == 289 and j["inputs"] == 7, j
last = [r for r in csv.DictReader(open(D + "/fc_cli.csv")) if float(r["t_min"]) == j["t_min"]]
assert len(last) == 3
for f, r in zip(j["forecast"], last):
    for k in ("mean", "p025", "p50", "p975"):
        assert abs(f[k] - float(r[k])) <= 1e-4, (k, f[k], r[k])
bad = {"resourceType": "MedicationAdministration", "status": "completed", "subject": {"reference": "Patient/same"},
       "effectiveDateTime": ts(2000), "dosage": {"dose": {"value": -2, "code": "[iU]"}}}
st, o = req("POST", "/fhir/MedicationAdministration", bad)
assert st == 422 and o["issue"][0]["expression"] == ["MedicationAdministration.dosage.dose"], o
PY'
# A deceased patient's twin raises no alerts: two patients, one deceased,
# the same readings (a generated day of child#007, whose readings stay low
# for hours); only the living one's twin warns.
"$BIN" twin replay --patient child#007 --days 1 --seed 1 --members 8 --out "$T/c7" > /dev/null
check "no alerts for a deceased patient" 'PYTHONPATH="$T" python3 - "$U" "$T/c7/stream.csv" <<PY
import csv, sys
from client import req as http, cgm
U = sys.argv[1]
req = lambda m, path, body=None: http(U, m, path, body)[1]
ids = {}
for name, extra in (("alive", {}), ("dead", {"deceasedBoolean": True})):
    ids[name] = req("POST", "/fhir/Patient", dict({"resourceType": "Patient"}, **extra))["id"]
    req("PUT", "/api/twins/" + ids[name], {"model": "uva_padova_t1d", "group": "child"})
for r in (r for r in csv.DictReader(open(sys.argv[2])) if r["kind"] == "cgm"):
    for name in ids:
        req("POST", "/fhir/Observation", cgm(ids[name], r["t_min"], r["value"]))
alive = req("GET", "/api/twins/" + ids["alive"]); dead = req("GET", "/api/twins/" + ids["dead"])
assert alive["readings"] == dead["readings"] > 250
assert any(a["kind"] == "hypo" for a in alive["alerts"]), alive["alerts"]
assert dead["alerts"] == [], dead["alerts"]
PY'
# Nightscout-compatible ingest and JSON ingest reach the twin.
check "Nightscout entries and treatments, JSON ingest: stored, fed to the twin" 'PYTHONPATH="$T" python3 - "$U" <<PY
import sys, datetime
from client import req as http, T0
U = sys.argv[1]
req = lambda m, path, body=None: http(U, m, path, body)
assert req("PUT", "/api/twins/ns1", {"model": "uva_padova_t1d", "group": "adult"})[0] == 201
ms = lambda m: int((T0 + datetime.timedelta(minutes=m)).timestamp() * 1000)
st, out = req("POST", "/api/v1/entries?patient=ns1", [{"type": "sgv", "sgv": 120 + k, "date": ms(5 * k), "device": "xDrip-G6"} for k in range(12)])
assert st == 200 and len(out["entry"]) == 12, out
st, out = req("POST", "/api/v1/treatments?patient=ns1", [{"eventType": "Meal Bolus", "carbs": 30, "insulin": 3, "created_at": (T0 + datetime.timedelta(minutes=57)).isoformat()}])
assert st == 200 and len(out["entry"]) == 2, out
st, out = req("POST", "/api/twins/ns1/data", {"cgm": [{"time": "2026-01-01T01:00:00Z", "mg_dl": 131}], "basal": [{"time": "2026-01-01T01:00:00Z", "units_per_hour": 0.9}]})
assert st == 200 and len(out["entry"]) == 2, out
st, j = req("GET", "/api/twins/ns1")
assert j["readings"] == 13 and j["inputs"] == 3, j
assert req("POST", "/api/v1/entries", [{"type": "sgv", "sgv": 100, "date": ms(0)}])[0] == 400
st, o = req("POST", "/api/v1/entries?patient=ns1", [{"type": "cal", "date": ms(0)}])
assert st == 422 and o["issue"][0]["expression"] == ["[0]"], o
st, o = req("POST", "/api/twins/ns1/data", {"cgm": [{"time": "yesterday", "mg_dl": 1}]})
assert st == 400 and "cgm[0].time" in o["issue"][0]["diagnostics"], o
# times before 1970 and before the year 1000 are stored as they were sent
for sent, kept in (("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.500Z"), ("0226-01-01T01:00:00Z", "0226-01-01T01:00:00.000Z")):
    st, out = req("POST", "/api/twins/old1/data", {"cgm": [{"time": sent, "mg_dl": 100}]})
    assert st == 200, out
    st, o = req("GET", "/fhir/" + out["entry"][0]["response"]["location"].rsplit("/_history", 1)[0])
    assert st == 200 and o["effectiveDateTime"] == kept, o
PY'
check "what-if: candidates run on the twin and ranked" 'PYTHONPATH="$T" python3 - "$U" <<PY
import sys
from client import req as http
U = sys.argv[1]
st, j = http(U, "POST", "/api/twins/tw1/whatif", {"candidates": [{"kind": "nothing"}, {"kind": "bolus", "amount": 2}, {"kind": "carbs", "amount": 20}]})
assert st == 200 and [r["rank"] for r in j["ranked"]] == [1, 2, 3], j
assert sorted(r["kind"] for r in j["ranked"]) == ["bolus", "carbs", "nothing"]
assert all(0 <= r["tir"] <= 1 and 0 <= r["p_below54"] <= r["p_below70"] <= 1 for r in j["ranked"])
st, o = http(U, "POST", "/api/twins/tw1/whatif", {"candidates": [{"kind": "dance"}]})
assert st == 400 and o["issue"][0]["expression"] == ["candidates[0]"], o
st, o = http(U, "POST", "/api/twins/tw1/whatif", {"candidates": [{"kind": "bolus", "amount": 90}]})
assert st == 422, o
assert http(U, "POST", "/api/twins/nobody/whatif", {"candidates": [{"kind": "nothing"}]})[0] == 404
PY'
check "forecast as FHIR: Observations with derivedFrom and quantile components" '[ "$(code $U/api/twins/tw1/forecast)" = 200 ] && python3 -c "
import json,sys
b=json.load(open(\"$T/body\"))
obs=[e[\"resource\"] for e in b[\"entry\"] if e[\"resource\"][\"resourceType\"]==\"Observation\"]
ok = b[\"type\"]==\"collection\" and len(obs)==3
for o in obs:
    v=[c[\"valueQuantity\"][\"value\"] for c in o[\"component\"]]
    ok = ok and len(v)==7 and v==sorted(v) and o[\"derivedFrom\"][0][\"reference\"].startswith(\"Observation/\") and o[\"subject\"][\"reference\"]==\"Patient/tw1\"
sys.exit(not ok)"'
# Server-sent events: a reading's assimilation and forecast arrive as
# events; Last-Event-ID resumes after the one named.
curl -s -N --max-time 6 -H "$AUTH" "$U/api/twins/tw1/events" > "$T/sse1.txt" &
SSE=$!
sleep 1
PYTHONPATH="$T" python3 -c "
import sys; sys.path.insert(0, \"$T\")
from client import req, cgm
for m in (300, 305): req(\"$U\", \"POST\", \"/fhir/Observation\", cgm(\"tw1\", m, 150))"
wait $SSE
FIRST=$(sed -n 's/^id: //p' "$T/sse1.txt" | head -1)
check "events: assimilation and forecast pushed, with ids" 'grep -q "^event: assimilation" "$T/sse1.txt" && grep -q "^event: forecast" "$T/sse1.txt" && [ $(grep -c "^event: assimilation" "$T/sse1.txt") -eq 2 ] && [ -n "$FIRST" ]'
curl -s -N --max-time 2 -H "$AUTH" -H "Last-Event-ID: $FIRST" "$U/api/twins/tw1/events" > "$T/sse2.txt"
check "events: Last-Event-ID resumes after the event named" '[ "$(grep -c "^id: " "$T/sse2.txt")" -eq $(( $(grep -c "^id: " "$T/sse1.txt") - 1 )) ] && ! grep -q "^id: $FIRST\$" "$T/sse2.txt"'
check "a reading the twin refuses is stored, and the reason logged in the store's quarantine" 'PYTHONPATH="$T" python3 - "$U" "$T/data/medtwin.db" <<PY
import json, sqlite3, sys, time
from client import req, cgm
st, _ = req(sys.argv[1], "POST", "/fhir/Observation", cgm("tw1", 101, 140))  # 3 h older than the twin: past its 60-min window
assert st == 201
time.sleep(0.5)
rows = sqlite3.connect(sys.argv[2]).execute("select kind, payload from quarantine where patient = \x27tw1\x27").fetchall()
assert len(rows) == 1 and rows[0][0] == "cgm", rows
p = json.loads(rows[0][1])
assert p["value"] == 140 and p["reason"], p
PY'
check "events of a patient without a twin: 404" '[ "$(code $U/api/twins/nobody/events)" = 404 ]'
check "alerts are FHIR Flags too" 'python3 -c "
import json,sys,urllib.request
b=json.load(urllib.request.urlopen(urllib.request.Request(\"$U/fhir/Flag?_count=5\", headers={\"Authorization\": \"Bearer $TOKEN\"})))
sys.exit(not (b[\"total\"] >= 1 and b[\"entry\"][0][\"resource\"][\"code\"][\"coding\"][0][\"system\"]==\"urn:medtwin:alert\"))"'
code "$U/fhir/Flag?_count=5" > /dev/null
kill -TERM $PID
wait $PID
rc=$?
PID=
check "SIGTERM stops it, exit 0" '[ $rc -eq 0 ] && grep -q "stopped on SIGTERM" "$T/out.txt"'

# A restart on the same data finds the resource.
"$BIN" serve --plaintext --listen 127.0.0.1:0 --data "$T/data" > "$T/out2.txt" 2>&1 &
PID=$!
for i in $(seq 50); do grep -q serving "$T/out2.txt" && break; sleep 0.1; done
U="http://127.0.0.1:$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$T/out2.txt")"
check "after a restart the token, kept in the store, is still valid; without it still 401" '[ "$(code "$U/fhir/Patient?_count=0")" = 200 ] && [ "$(anon "$U/fhir/Patient?_count=0")" = 401 ] && [ "$(anon $U/health)" = 200 ]'
check "kept across a restart (deleted stays deleted, history kept)" '[ "$(code $U/fhir/Patient/$ID)" = 410 ] && [ "$(code $U/fhir/Patient/$ID/_history)" = 200 ] && python3 -c "
import json,sys
sys.exit(json.load(open(\"$T/body\"))[\"total\"]!=3)"'
"$BIN" backup --data "$T/data" --out "$T/copy.db" > /dev/null 2> "$T/be.txt"
check "online backup while serving" '[ $? -eq 0 ] && [ -s "$T/copy.db" ] && python3 -c "
import sqlite3,sys
c=sqlite3.connect(\"$T/copy.db\")
sys.exit(c.execute(\"pragma integrity_check\").fetchone()[0]!=\"ok\")"'
kill -TERM $PID; wait $PID; PID=
"$BIN" backup --data "$T/none" --out "$T/x.db" 2> "$T/be2.txt"
check "backup of a missing directory exits 2" '[ $? -eq 2 ] && [ ! -e "$T/x.db" ]'

# The OpenAPI description is generated from the route table, and the
# committed docs/openapi.json is that output.
"$BIN" serve --openapi "$T/openapi.json"
check "OpenAPI generated, and docs/openapi.json current" '[ $? -eq 0 ] && cmp -s "$T/openapi.json" "$SRC/docs/openapi.json" && python3 -c "
import json,sys
d=json.load(open(\"$T/openapi.json\"))
ok = d[\"openapi\"].startswith(\"3.\") and {\"get\",\"put\",\"delete\"} <= set(d[\"paths\"][\"/fhir/{type}/{id}\"])
ok = ok and d[\"paths\"][\"/api/twins/{patient}\"][\"put\"][\"parameters\"][0][\"name\"]==\"patient\"
sys.exit(not ok)"'
"$BIN" serve --listen nowhere 2> "$T/e1.txt"
check "bad --listen exits 2" '[ $? -eq 2 ] && grep -q "HOST:PORT" "$T/e1.txt"'
"$BIN" serve --plaintext --listen 999.1.1.1:80 2> "$T/e2.txt"
check "bad address exits 2" '[ $? -eq 2 ] && grep -q "IPv4" "$T/e2.txt"'
"$BIN" serve --listen 127.0.0.1:0 --data "$T/new" 2> "$T/e3.txt"
check "no master key and no --plaintext: exits 2, names the way out, creates nothing" '[ $? -eq 2 ] && grep -q "no master key" "$T/e3.txt" && grep -q -- "--plaintext" "$T/e3.txt" && [ ! -e "$T/new/medtwin.db" ]'

# Every FHIR resource the server answered with validates against the R4
# JSON schema and FHIR.js (tests/fhir/validate.mjs).
check "every FHIR response validates ($(ls "$T/fhir-out" | wc -l) kept)" 'node "$SRC/tests/fhir/validate.mjs" "$T/fhir-out" > "$T/valid.txt" 2>&1 || { tail -20 "$T/valid.txt"; false; }'
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
