#!/usr/bin/env bash
# End-to-end: the research export (docs/cli.md, GDPR Art. 5(1)(c), 25, 89).
# Three patients, two with active research consent: only those two are
# exported; no real id, name or identifier is written; pseudonyms are stable
# within a study and differ across studies; dates move by one whole,
# non-zero number of days per patient; a patient born in 1930 is "90+"; the
# k-anonymity report names the smallest class; a key readable by others is
# refused; the export is in the audit trail, which still verifies.
set -u
BIN=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-research.XXXXXX") || exit 1
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
D="$T/data"
J="Content-Type: application/fhir+json"

ADMIN=$("$BIN" token create --data "$D" --role admin 2> /dev/null) || { echo "no token"; exit 1; }
"$BIN" serve --listen 127.0.0.1:0 --data "$D" > "$T/out.txt" 2> "$T/err.txt" &
PID=$!
for i in $(seq 50); do grep -q serving "$T/out.txt" && break; sleep 0.1; done
PORT=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$T/out.txt")
U="http://127.0.0.1:$PORT"
check "listening" '[ -n "$PORT" ]'
req() { # METHOD PATH [BODY]: the status; the body in $T/body
  local data=()
  [ -n "${3:-}" ] && data=(-H "$J" --data-binary "$3")
  curl -s -o "$T/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $ADMIN" "${data[@]}" "$U$2"
}
idof() { python3 -c "import json; print(json.load(open('$T/body'))['id'])"; }
patient() { # FAMILY BIRTHDATE IDENTIFIER
  req POST /fhir/Patient "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"urn:mrn\",\"value\":\"$3\"}],\"name\":[{\"family\":\"$1\",\"given\":[\"Given$1\"]}],\"gender\":\"female\",\"birthDate\":\"$2\"}" > /dev/null
  idof
}
obs() { # PATIENT TIME
  req POST /fhir/Observation "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"2339-0\",\"display\":\"Glucose\"}]},\"subject\":{\"reference\":\"Patient/$1\"},\"effectiveDateTime\":\"$2\",\"note\":[{\"text\":\"felt dizzy\"}],\"valueQuantity\":{\"value\":105.50,\"unit\":\"mg/dL\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mg/dL\"}}" > /dev/null
}
A=$(patient Hartmannova 1980-03-14 MRN-111111)
B=$(patient Oldenburgerin 1930-06-02 MRN-222222)
C=$(patient Nichtzustimmer 1975-01-01 MRN-333333)
obs "$A" 2026-01-10T08:00:00Z; obs "$A" 2026-01-13T20:30:00Z
obs "$B" 2025-12-31T23:00:00Z; obs "$B" 2026-02-28T07:15:00Z
obs "$C" 2026-01-05T10:00:00Z
check "research consent of A and B" '[ "$(req PUT /api/patients/$A/consent/research "{\"status\":\"active\"}")" = 201 ] && [ "$(req PUT /api/patients/$B/consent/research "{\"status\":\"active\"}")" = 201 ]'
kill $PID; wait $PID 2> /dev/null; PID=

K="$T/study.key"
check "keygen" '"$BIN" research keygen --key "$K" 2> /dev/null && [ "$(stat -c %a "$K")" = 600 ]'
cp "$K" "$T/before.key"; "$BIN" research keygen --key "$K" 2> /dev/null; st=$?
check "keygen on an existing file exits 2, the key unchanged" '[ $st = 2 ] && cmp -s "$K" "$T/before.key"'

ex() { "$BIN" research export --data "$D" --key "$K" "$@"; }
check "export (study s1)" 'ex --study s1 --out "$T/s1a.ndjson" 2> "$T/s1a.err"'
check "export again (study s1)" 'ex --study s1 --out "$T/s1b.ndjson" 2> /dev/null'
check "export (study s2)" 'ex --study s2 --out "$T/s2.ndjson" --k 1 2> /dev/null'
check "same study, same output" 'cmp -s "$T/s1a.ndjson" "$T/s1b.ndjson"'

py() { python3 - "$T" "$@"; }
check "only the consenting patients: 2 Patients, 4 Observations" 'py <<"PY"
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1] + "/s1a.ndjson")]
t = [r["resourceType"] for r in rs]
sys.exit(0 if t.count("Patient") == 2 and t.count("Observation") == 4 else 1)
PY'
for s in "$A" "$B" "$C" Hartmannova Oldenburgerin Nichtzustimmer GivenHartmannova MRN-111111 MRN-222222 MRN-333333 "felt dizzy" Glucose '"1930'; do
  check "no '$s' in the output" '! grep -qF -- "$s" "$T/s1a.ndjson" "$T/s2.ndjson" "$T/s1a.report.json"'
done
check "decimals kept as written" 'grep -qF "105.50" "$T/s1a.ndjson"'
check "references match the pseudonymised Patients" 'py <<"PY"
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1] + "/s1a.ndjson")]
pats = {r["id"] for r in rs if r["resourceType"] == "Patient"}
refs = {r["subject"]["reference"].split("/")[1] for r in rs if r["resourceType"] == "Observation"}
ok = len(pats) == 2 and refs == pats and all(len(p) == 32 for p in pats)
sys.exit(0 if ok else 1)
PY'
check "pseudonyms differ across studies" 'py <<"PY"
import json, sys
ids = lambda f: {json.loads(l)["id"] for l in open(sys.argv[1] + "/" + f)}
a, b = ids("s1a.ndjson"), ids("s2.ndjson")
sys.exit(0 if len(a) == len(b) and not (a & b) else 1)
PY'
check "dates shifted by one whole non-zero number of days per patient" 'py "$A" "$B" <<"PY"
import json, sys
from datetime import datetime
d = sys.argv[1]
orig = {sys.argv[2]: ["2026-01-10T08:00:00Z", "2026-01-13T20:30:00Z"],
        sys.argv[3]: ["2025-12-31T23:00:00Z", "2026-02-28T07:15:00Z"]}
p = lambda s: datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
for f in ("s1a.ndjson", "s2.ndjson"):
    rs = [json.loads(l) for l in open(d + "/" + f)]
    by = {}
    for r in rs:
        if r["resourceType"] == "Observation":
            by.setdefault(r["subject"]["reference"], []).append(r["effectiveDateTime"])
    if len(by) != 2: sys.exit(1)
    shifted = sorted(sorted(p(x) for x in v) for v in by.values())
    # match each patient by its interval, which the shift keeps
    ints = {}
    for k, v in orig.items():
        o = sorted(p(x) for x in v)
        m = [s for s in shifted if s[1] - s[0] == o[1] - o[0]]
        if len(m) != 1: sys.exit(1)
        delta = m[0][0] - o[0]
        if delta.seconds or delta.microseconds or m[0][1] - o[1] != delta: sys.exit(1)
        if not (1 <= abs(delta.days) <= 180): sys.exit(1)
PY'
check "birth years: 1980 kept, 1930 grouped as 90+" 'py <<"PY"
import json, re, sys, datetime
rs = [json.loads(l) for l in open(sys.argv[1] + "/s1a.ndjson")]
ps = [r for r in rs if r["resourceType"] == "Patient"]
years = sorted(r.get("birthDate", "") for r in ps)
old = [r for r in ps if "birthDate" not in r]
ok = years == ["", "1980"] and len(old) == 1 and old[0]["extension"][0]["valueCode"] == "90+"
lim = datetime.date.today().year - 90
for r in rs:
    for k, v in r.items():
        if isinstance(v, str) and re.match(r"\d{4}(-|$)", v) and int(v[:4]) < lim: ok = False
sys.exit(0 if ok else 1)
PY'
check "the report: two classes of one, k = 1, 2 patients below k 5" 'py <<"PY"
import json, sys
r = json.load(open(sys.argv[1] + "/s1a.report.json"))
ok = (r["k"] == 1 and r["k_wanted"] == 5 and r["patients_below_k"] == 2
      and r["patients"] == 2 and not r["k_anonymous"]
      and sorted((c["birth_year"], c["size"]) for c in r["classes"]) == [("1980", 1), ("90+", 1)])
sys.exit(0 if ok else 1)
PY'
check "the small k is said on stderr" 'grep -q "k = 1" "$T/s1a.err"'

chmod 644 "$K"; ex --study s1 --out "$T/bad.ndjson" 2> /dev/null; st=$?
check "a key readable by others exits 2, no output" '[ $st = 2 ] && [ ! -e "$T/bad.ndjson" ]'
chmod 600 "$K"
cp "$K" "$D/in.key"; chmod 600 "$D/in.key"
"$BIN" research export --data "$D" --key "$D/in.key" --study s1 --out "$T/bad.ndjson" 2> /dev/null; st=$?
check "a key inside the data directory exits 2" '[ $st = 2 ]'
rm -f "$D/in.key"
ex --study 'bad/study' --out "$T/bad.ndjson" 2> /dev/null; st=$?
check "a bad study name exits 2" '[ $st = 2 ]'
ex --study s1 --out "$T/bad.ndjson" --k 0 2> /dev/null; st=$?
check "a bad --k exits 2" '[ $st = 2 ]'

check "the exports are in the audit trail" '[ "$(python3 -c "import sqlite3,sys
c = sqlite3.connect(sys.argv[1])
print(c.execute(\"SELECT count(*) FROM audit WHERE actor = ? AND action = ? AND resource = ? AND purpose = ?\", (\"operator\", \"export\", \"research:s1\", \"research\")).fetchone()[0])" "$D/medtwin.db")" = 2 ]'
check "the audit trail verifies" '"$BIN" audit verify --data "$D" > /dev/null 2>&1'

echo "research: $pass passed, $fail failed"
[ $fail = 0 ]
