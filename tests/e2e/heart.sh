#!/usr/bin/env bash
# End-to-end: the cardiovascular twin (circulation_beatavg) in `medtwin
# serve`. A heart twin is set over REST (PUT /api/twins/{patient}, unknown
# models and prior groups refused with a 400 naming the field); the example
# vitals of examples/streams/vitals-hf.csv come in as FHIR Observations
# (LOINC 8478-0 MAP, the 85354-9 blood-pressure panel, 8867-4 heart rate,
# 10230-1 EF, 8741-1 cardiac output, 29463-7 weight) and a furosemide
# MedicationAdministration (RxNorm 4603, mg); the server's twin then gives
# the forecasts `medtwin twin run --model circulation_beatavg` gives on the
# same stream (to the 1e-4 mmHg it prints), in mm[Hg], also as FHIR. A
# second patient whose posted MAP falls below 65 mmHg gets a hypotension
# alert (and its Flag); none before the fall. Wrong units and wrong dose
# forms are 422 OperationOutcomes naming the path; a twin ignores the
# other model's data; after a restart the twin is the heart twin it was,
# also for a patient whose twin changed model. Every FHIR answer validates.
set -u
BIN=$1
SRC=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-heart.XXXXXX") || exit 1
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }

TOKEN=$("$BIN" token create --data "$T/data" --role admin 2> "$T/tok.txt")
export MEDTWIN_TOKEN="$TOKEN"
start() {
  "$BIN" serve --listen 127.0.0.1:0 --data "$T/data" > "$T/out.txt" 2> "$T/err.txt" &
  PID=$!
  for i in $(seq 50); do grep -q serving "$T/out.txt" && break; sleep 0.1; done
  PORT=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$T/out.txt")
  U="http://127.0.0.1:$PORT"
}
start
check "listening" '[ -n "$PORT" ]'
mkdir -p "$T/fhir-out"
export FHIR_OUT="$T/fhir-out"

cat > "$T/client.py" <<'PY'
import datetime, json, os, sys, tempfile, urllib.request, urllib.error
T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
AUTH = {"Authorization": "Bearer " + os.environ["MEDTWIN_TOKEN"]}
U = sys.argv[1]
def keep(j):  # FHIR answers are kept for validation
    d = os.environ.get("FHIR_OUT")
    if d and isinstance(j, dict) and "resourceType" in j:
        fd, p = tempfile.mkstemp(suffix=".json", dir=d); os.write(fd, json.dumps(j).encode()); os.close(fd)
    return j
def req(m, path, body=None):
    r = urllib.request.Request(U + path, method=m, data=json.dumps(body).encode() if body is not None else None,
                               headers={"Content-Type": "application/fhir+json", **AUTH})
    try:
        with urllib.request.urlopen(r) as f: return f.status, keep(json.load(f))
    except urllib.error.HTTPError as e: return e.code, keep(json.load(e))
def ts(t_min):
    return (T0 + datetime.timedelta(minutes=float(t_min))).strftime("%Y-%m-%dT%H:%M:%SZ")
LOINC = {"map": ("8478-0", "mm[Hg]"), "sbp": ("8480-6", "mm[Hg]"), "dbp": ("8462-4", "mm[Hg]"),
         "hr": ("8867-4", "/min"), "ef": ("10230-1", "%"), "co": ("8741-1", "L/min"),
         "weight": ("29463-7", "kg"), "cgm": ("99504-3", "mg/dL")}
def q(v, unit):
    return {"value": float(v), "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
def obs(patient, t_min, kind, v, unit=None):
    code, u = LOINC[kind]
    return {"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
            "subject": {"reference": "Patient/" + patient},
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]}, "effectiveDateTime": ts(t_min),
            "valueQuantity": q(v, unit or u)}
def bp(patient, t_min, sbp, dbp, unit="mm[Hg]"):
    comp = lambda code, v: {"code": {"coding": [{"system": "http://loinc.org", "code": code}]}, "valueQuantity": q(v, unit)}
    return {"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
            "subject": {"reference": "Patient/" + patient},
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]}, "effectiveDateTime": ts(t_min),
            "component": [comp("8480-6", sbp), comp("8462-4", dbp)]}
RX = {"beta_blocker": "6918", "vasodilator": "3827", "diuretic": "4603", "inotrope": "3616"}
def med(patient, t_min, kind, v, unit=None, key=None):
    rate = kind == "inotrope"
    return {"resourceType": "MedicationAdministration", "status": "completed", "subject": {"reference": "Patient/" + patient},
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": RX[kind]}]},
            "effectiveDateTime": ts(t_min),
            "dosage": {(key or ("rateQuantity" if rate else "dose")): q(v, unit or ("ug/min" if rate else "mg"))}}
def post(rows, patient):
    """A stream's rows as FHIR: sbp and dbp of one time as one 85354-9 panel."""
    n = 0
    i = 0
    while i < len(rows):
        r = rows[i]; k, t, v = r["kind"], r["t_min"], r["value"]
        if k == "sbp" and i + 1 < len(rows) and rows[i + 1]["kind"] == "dbp" and rows[i + 1]["t_min"] == t:
            body = bp(patient, t, v, rows[i + 1]["value"]); i += 1
        elif k in RX:
            body = med(patient, t, k, v)
        else:
            body = obs(patient, t, k, v)
        st, o = req("POST", "/fhir/" + body["resourceType"], body)
        assert st == 201, (st, o)
        i += 1; n += 1
    return n
fails = 0
def check(name, ok, info=""):
    global fails
    if not ok:
        fails += 1
        print("FAIL:", name, info)
def done():
    sys.exit(fails)
PY

# The CLI's twin on the example, the rows at equal times in the server's
# order (a heart rate first, then the readings, then the doses: docs/API.md)
python3 - "$SRC/examples/streams/vitals-hf.csv" "$T/vitals.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cls = lambda k: 0 if k == "hr" else 1 if k in ("map", "sbp", "dbp", "ef", "co", "weight") else 2
rows.sort(key=lambda r: (float(r["t_min"]), cls(r["kind"])))
with open(sys.argv[2], "w") as f:
    f.write("t_min,kind,value\n" + "".join("%s,%s,%s\n" % (r["t_min"], r["kind"], r["value"]) for r in rows))
PY
"$BIN" twin run --model circulation_beatavg --stream "$T/vitals.csv" --horizons 30,60,120 --out "$T/fc_cli.csv" > /dev/null
check "twin run on the example" '[ $? -eq 0 ] && [ -s "$T/fc_cli.csv" ]'

check "PUT: a heart twin; the server's twin is twin run's; forecasts in mm[Hg]" 'PYTHONPATH="$T" python3 - "$U" "$T/vitals.csv" "$T/fc_cli.csv" <<PY
import csv, sys
from client import *
st, j = req("PUT", "/api/twins/hf", {"model": "circulation_beatavg", "prior": "adult"})
check("201 and the model", st == 201 and j["model"] == "circulation_beatavg" and j["prior_group"] == "adult", (st, j))
check("primary observable MAP in mm[Hg]", j["observable"] == "MAP" and j["unit"] == "mm[Hg]", j)
rows = list(csv.DictReader(open(sys.argv[2])))
post(rows, "hf")
st, j = req("GET", "/api/twins/hf")
nread = sum(r["kind"] in ("map", "sbp", "dbp", "ef", "co", "weight") for r in rows)
check("every reading and input taken", st == 200 and j["readings"] == nread and j["inputs"] == len(rows) - nread
      and j["refused"] == 0 and j["t_min"] == 240, (j, nread))
last = [r for r in csv.DictReader(open(sys.argv[3])) if float(r["t_min"]) == j["t_min"]][-3:]
check("three horizons", [f["horizon_min"] for f in j["forecast"]] == [30, 60, 120], j["forecast"])
for f, r in zip(j["forecast"], last):
    for k in ("mean", "p025", "p50", "p975"):
        check("forecast %s at %s min = twin run" % (k, f["horizon_min"]), abs(f[k] - float(r["MAP_" + k])) <= 1e-4, (f[k], r))
st, b = req("GET", "/api/twins/hf/forecast")
o = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Observation"]
check("FHIR forecast: 8478-0 in mm[Hg]", st == 200 and len(o) == 3 and all(
    x["code"]["coding"][0]["code"] == "8478-0" and x["valueQuantity"]["code"] == "mm[Hg]"
    and all(c["valueQuantity"]["code"] == "mm[Hg]" for c in x["component"]) for x in o), o[:1])
check("FHIR forecast: the method names the model", "circulation_beatavg" in o[0]["method"]["text"], o[0])
done()
PY'

# A patient whose MAP falls from 82 to 55 mmHg over three hours (0.2
# mmHg/min from t = 120 min): a hypotension alert (MAP < 65 mmHg predicted
# within 30 min) once the fall is under way, none while it is flat.
check "hypotension alert when the posted MAP falls, as a Flag too" 'PYTHONPATH="$T" python3 - "$U" <<PY
import sys
from client import *
check("PUT", req("PUT", "/api/twins/fall", {"model": "circulation_beatavg", "prior": "adult", "seed": 1})[0] == 201)
rows = [{"t_min": "0", "kind": "hr", "value": "80"}, {"t_min": "0", "kind": "weight", "value": "80"}]
mapat = {}
for t in range(0, 301, 15):
    m = 82 if t < 120 else max(55, 82 - (t - 120) * 0.2)
    mapat[t] = round(m)
    rows += [{"t_min": str(t), "kind": "sbp", "value": str(round(m + 30))},
             {"t_min": str(t), "kind": "dbp", "value": str(round(m - 15))},
             {"t_min": str(t), "kind": "map", "value": str(round(m))}]
post(rows, "fall")
st, j = req("GET", "/api/twins/fall")
al = [a for a in j["alerts"] if a["kind"] == "hypotension"]
check("at least one hypotension alert", len(al) >= 1, j["alerts"])
check("none before the fall, first while MAP < 75 mmHg", all(a["t_min"] > 120 for a in al)
      and mapat[int(al[0]["t_min"])] < 75 if al else False, al)
check("no glucose alerts", all(a["kind"] == "hypotension" for a in j["alerts"]), j["alerts"])
check("the last forecast median below 75 mmHg", j["forecast"][0]["p50"] < 75, j["forecast"][0])
st, b = req("GET", "/api/twins/fall/forecast")
fl = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "Flag"]
check("a Flag of the alert", len(fl) == len(al) and fl[0]["code"]["coding"][0]["code"] == "hypotension", fl)
done()
PY'

check "refused: bad units and dose forms (422 naming the path), unknown model and prior (400)" 'PYTHONPATH="$T" python3 - "$U" <<PY
import sys
from client import *
def refused(body, path, word):
    st, o = req("POST", "/fhir/" + body["resourceType"], body)
    ok = st == 422 and o["resourceType"] == "OperationOutcome" and o["issue"][0]["expression"] == [path] \
        and word in o["issue"][0]["diagnostics"]
    check("422 at " + path, ok, (st, o))
st, j0 = req("GET", "/api/twins/hf")
refused(obs("hf", 300, "map", 70, "mmHg"), "Observation.valueQuantity", "unit")
refused(obs("hf", 300, "hr", 70, "mm[Hg]"), "Observation.valueQuantity", "unit")
refused(obs("hf", 300, "ef", 0.35, "1"), "Observation.valueQuantity", "unit")
refused(obs("hf", 300, "co", 4, "L/h"), "Observation.valueQuantity", "unit")
refused(obs("hf", 300, "weight", 80, "kg/m2"), "Observation.valueQuantity", "unit")
refused(bp("hf", 300, 120, 80, "kPa"), "Observation.component[0].valueQuantity", "unit")
refused(med("hf", 300, "beta_blocker", 25, "g"), "MedicationAdministration.dosage.dose", "mg")
refused(med("hf", 300, "diuretic", -40), "MedicationAdministration.dosage.dose", "dose")
refused(med("hf", 300, "inotrope", 250, "mg"), "MedicationAdministration.dosage.rateQuantity", "ug/min")
refused(med("hf", 300, "inotrope", 250, "ug/min", "dose"), "MedicationAdministration.dosage.dose", "rateQuantity")
nodose = med("hf", 300, "diuretic", 40); del nodose["dosage"]
check("a heart drug without an amount: stored, no row", req("POST", "/fhir/MedicationAdministration", nodose)[0] == 201)
st, j = req("GET", "/api/twins/hf")
check("nothing of them reached the twin", (j["readings"], j["inputs"], j["refused"], j["seq"]) ==
      (j0["readings"], j0["inputs"], j0["refused"], j0["seq"]), (j0, j))
st, o = req("PUT", "/api/twins/x", {"model": "circulation_smith2004"})
d = o["issue"][0]["diagnostics"]
check("unknown model 400 naming the field and the models", st == 400 and o["issue"][0]["expression"] == ["model"]
      and "uva_padova_t1d" in d and "circulation_beatavg" in d, o)
st, o = req("PUT", "/api/twins/x", {"model": "circulation_beatavg", "prior": "child"})
check("a prior group the model lacks: 400 naming prior", st == 400 and o["issue"][0]["expression"] == ["prior"]
      and "adult" in o["issue"][0]["diagnostics"], o)
st, o = req("PUT", "/api/twins/x", {"model": "circulation_beatavg", "group": "adolescent"})
check("... and group", st == 400 and o["issue"][0]["expression"] == ["group"], o)
check("no twin made", req("GET", "/api/twins/x")[0] == 404)
done()
PY'

check "a twin ignores the other model's data; a heart dose is accepted" 'PYTHONPATH="$T" python3 - "$U" <<PY
import sys
from client import *
check("a glucose twin", req("PUT", "/api/twins/g1", {"model": "uva_padova_t1d", "group": "adult"})[0] == 201)
for t in range(0, 60, 5):
    req("POST", "/fhir/Observation", obs("g1", t, "cgm", 110 + t / 5 + (t % 10) / 5))
for body in (obs("g1", 20, "map", 80), bp("g1", 20, 120, 80), obs("g1", 20, "hr", 70), med("g1", 20, "beta_blocker", 25)):
    check("stored", req("POST", "/fhir/" + body["resourceType"], body)[0] == 201)
st, j = req("GET", "/api/twins/g1")
check("glucose twin: only the CGM, nothing refused", j["readings"] == 12 and j["inputs"] == 0 and j["refused"] == 0, j)
check("glucose twin: forecast in mg/dL", j["observable"] == "CGM" and j["unit"] == "mg/dL", j)
st, j0 = req("GET", "/api/twins/hf")
for body in (obs("hf", 250, "cgm", 120), med("hf", 250, "vasodilator", 5), med("hf", 255, "inotrope", 250)):
    check("stored", req("POST", "/fhir/" + body["resourceType"], body)[0] == 201)
st, j = req("GET", "/api/twins/hf")
check("heart twin: the CGM ignored, the doses taken", j["readings"] == j0["readings"]
      and j["inputs"] == j0["inputs"] + 2 and j["refused"] == 0, (j0, j))
st, o = req("POST", "/api/twins/hf/whatif", {"candidates": [{"kind": "bolus", "amount": 2}]})
check("what-if (glucose only): 422 for the heart twin", st == 422 and o["resourceType"] == "OperationOutcome", (st, o))
# a twin that changes model: the last set is the one restored
check("switch", req("PUT", "/api/twins/sw", {"model": "uva_padova_t1d"})[0] == 201
      and req("PUT", "/api/twins/sw", {"model": "circulation_beatavg"})[0] == 200)
done()
PY'

# Vital signs by the JSON data route (docs/API.md): stored as the FHIR
# Observations they stand for and taken by the heart twin; a bad item 400
check "vitals by the JSON data route reach the heart twin; a bad item 400" 'PYTHONPATH="$T" python3 - "$U" <<PY
import sys
from client import *
check("PUT", req("PUT", "/api/twins/js", {"model": "circulation_beatavg", "prior": "adult"})[0] == 201)
body = {"hr": [{"time": ts(0), "per_min": 80}],
        "map": [{"time": ts(t), "mm_hg": 85} for t in range(0, 60, 15)],
        "sbp": [{"time": ts(30), "mm_hg": 120}], "dbp": [{"time": ts(30), "mm_hg": 75}],
        "weight": [{"time": ts(0), "kg": 80}]}
st, b = req("POST", "/api/twins/js/data", body)
check("stored by one transaction", st in (200, 201) and b.get("type") == "transaction-response"
      and len(b["entry"]) == 8, (st, b))
st, j = req("GET", "/api/twins/js")
check("the twin took 7 readings (4 MAP, SBP, DBP, weight) and the heart rate",
      j["readings"] == 7 and j["inputs"] == 1 and j["refused"] == 0, j)
st, o = req("POST", "/api/twins/js/data", {"map": [{"time": ts(70), "mmhg": 85}]})
check("a misspelt value key: 400 naming map[0]", st == 400 and o["issue"][0]["expression"] == ["map[0]"]
      and "mm_hg" in o["issue"][0]["diagnostics"], (st, o))
st, o = req("POST", "/api/twins/js/data", {"spo2": [{"time": ts(70), "percent": 97}]})
check("an unknown list: 400 naming it", st == 400 and o["issue"][0]["expression"] == ["spo2"], (st, o))
st, j2 = req("GET", "/api/twins/js")
check("nothing of them reached the twin", j2["readings"] == j["readings"], j2)
done()
PY'

GET_HF=$(curl -s -H "Authorization: Bearer $TOKEN" "$U/api/twins/hf")
kill -TERM $PID; wait $PID; code=$?; PID=
check "a clean stop" '[ $code -eq 0 ]'
start
check "after a restart: the heart twins as they were" 'PYTHONPATH="$T" python3 - "$U" "$GET_HF" <<PY
import json, sys
from client import *
before = json.loads(sys.argv[2])
st, j = req("GET", "/api/twins/hf")
check("hf restored", st == 200 and j["model"] == "circulation_beatavg" and j["readings"] == before["readings"]
      and j["inputs"] == before["inputs"], j)
for a, b in zip(j["forecast"], before["forecast"]):
    check("the same forecast", abs(a["mean"] - b["mean"]) <= 1e-9, (a, b))
st, j = req("GET", "/api/twins/sw")
check("a twin that changed model comes back as the last set", st == 200 and j["model"] == "circulation_beatavg", j)
done()
PY'
kill -TERM $PID; wait $PID; code=$?; PID=
check "a clean stop after the restart" '[ $code -eq 0 ]'

check "every FHIR response validates ($(ls "$T/fhir-out" | wc -l) kept)" 'node "$SRC/tests/fhir/validate.mjs" "$T/fhir-out" > "$T/valid.txt" 2>&1 || { tail -20 "$T/valid.txt"; false; }'
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
