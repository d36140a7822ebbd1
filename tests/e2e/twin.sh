#!/usr/bin/env bash
# End-to-end: `medtwin twin run` on a small stream: outputs and their shape,
# quarantine counts, and bad input (exit 2, one line, nothing written).
set -u
BIN=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-twin.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }

# Basal at 0 and CGM every 5 min for 2 h (130 + t/10 mg/dL), then three
# data the twin must quarantine: a reading out of range (900), a repeat of
# the reading at 120 min (142: a duplicate) and a bolus stamped 70 min before
# the twin's time (older than the 60-min window); and two late data it
# re-assimilates: a bolus at 100 min and a second reading at 110 min.
{
  echo "t_min,kind,value"
  echo "0,basal,1.2"
  for t in $(seq 5 5 120); do echo "$t,cgm,$((130 + t / 10))"; done
  echo "120,cgm,900"
  echo "120,cgm,142"
  echo "50,bolus,1"
  echo "100,bolus,1"
  echo "110,cgm,150"
} > "$T/in.csv"
(cd "$T" && "$BIN" twin run --stream in.csv --horizons 30,60 --out fc.csv \
  --alerts al.csv --quarantine q.csv --svg run.svg --exclude adult#002 --members 16 --json > out.json 2> err.txt)
rc=$?
check "twin run exits 0" '[ $rc -eq 0 ]'
check "forecast header" '[ "$(head -1 "$T/fc.csv")" = "t_min,horizon_min,mean,p025,p10,p25,p50,p75,p90,p975" ]'
# 24 readings in time x 2 horizons (a late reading issues no forecast).
check "48 forecast rows" '[ $(($(wc -l < "$T/fc.csv") - 1)) -eq 48 ]'
check "alerts header" '[ "$(head -1 "$T/al.csv")" = "t_min,kind,probability,predicted_t_min" ]'
check "summary counts" 'python3 -c "import json,sys; j=json.load(open(\"$T/out.json\")); sys.exit(not (j[\"cgm\"]==25 and j[\"quarantined\"]==3 and j[\"late\"]==2 and j[\"members\"]==16 and j[\"exclude\"]==\"adult#002\" and j[\"prior_group\"]==\"adult\"))"'
check "quarantine log: the three refused, with reasons" 'python3 -c "
import csv,sys
q=list(csv.DictReader(open(\"$T/q.csv\")))
ok = [(r[\"line\"],r[\"kind\"]) for r in q]==[(\"27\",\"cgm\"),(\"28\",\"cgm\"),(\"29\",\"bolus\")]
ok = ok and q[1][\"reason\"]==\"duplicate\" and \"late\" in q[2][\"reason\"] and q[0][\"value\"]==\"900\"
sys.exit(not ok)"'
check "svg well-formed with the readings" 'python3 -c "
import xml.dom.minidom as m,sys
d=m.parse(\"$T/run.svg\")
sys.exit(len(d.getElementsByTagName(\"circle\"))!=24)"'
check "quantiles ordered" 'python3 -c "
import csv,sys
rows=list(csv.DictReader(open(\"$T/fc.csv\")))
k=[\"p025\",\"p10\",\"p25\",\"p50\",\"p75\",\"p90\",\"p975\"]
sys.exit(not all(all(float(r[a])<=float(r[b]) for a,b in zip(k,k[1:])) for r in rows))"'

# Bad input: exit 2, one line naming file, line and field, nothing written.
printf 't_min,kind,value\n0,basal,1\n5,cgm,high\n' > "$T/bad.csv"
(cd "$T" && "$BIN" twin run --stream bad.csv --out bad-fc.csv 2> err2.txt)
rc=$?
check "malformed stream exits 2" '[ $rc -eq 2 ]'
check "one line naming line and field" '[ $(wc -l < "$T/err2.txt") -eq 1 ] && grep -q "bad.csv: line 3: value" "$T/err2.txt"'
check "nothing written" '[ ! -e "$T/bad-fc.csv" ] && [ -z "$(ls "$T" | grep tmp)" ]'
(cd "$T" && "$BIN" twin run --stream in.csv --out x.csv --exclude adult#999 2> err3.txt)
check "unknown exclude exits 2" '[ $? -eq 2 ]'
(cd "$T" && "$BIN" twin run --stream in.csv --out x.csv --horizons 0,30 2> err4.txt)
check "bad horizons exit 2" '[ $? -eq 2 ] && grep -q horizons "$T/err4.txt"'

# Evaluation on one patient-day: the report's methods and keys are there.
(cd "$T" && "$BIN" twin evaluate --cohort adult#001 --days 1 --seed 2 --json > ev.json 2> ev.err)
check "twin evaluate exits 0" '[ $? -eq 0 ]'
check "evaluate report keys" 'python3 -c "
import json,sys
j=json.load(open(\"$T/ev.json\"))
h=j[\"horizons_min\"]
ok = j[\"patients\"]==1 and set(h)=={\"30\",\"60\"} and all(set(h[k])=={\"enkf\",\"pf\",\"open_loop\",\"persistence\",\"linear\"} for k in h)
ok = ok and all(\"rmse_mgdl\" in h[k][m] for k in h for m in h[k]) and \"coverage_95\" in h[\"30\"][\"enkf\"]
ok = ok and {\"events\",\"sensitivity\",\"false_alerts_per_patient_day\"} <= set(j[\"hypo\"])
ok = ok and {\"sensitivity\",\"median_lead_min\"} <= set(j[\"hypo_pf\"])
ok = ok and set(j[\"groups\"])=={\"adult\"} and j[\"groups\"][\"adult\"][\"hypo\"]==j[\"hypo\"]
sys.exit(not ok)"'
(cd "$T" && "$BIN" twin evaluate --cohort nobody --days 1 2> ev2.err)
check "unknown cohort exits 2" '[ $? -eq 2 ]'
(cd "$T" && "$BIN" twin evaluate --cohort adult#001 --days 1 --isf-drift 2 2> ev3.err)
check "drift out of range exits 2" '[ $? -eq 2 ] && grep -q isf-drift "$T/ev3.err"'

# Replay: a generated day of a held-out patient through a twin, from any
# directory, into a new directory: four files, consistent with each other.
mkdir "$T/elsewhere"
(cd "$T/elsewhere" && "$BIN" twin replay --patient adult#003 --days 1 --seed 7 --members 16 --out ../rp --json > rp.json 2> rp.err)
check "twin replay exits 0" '[ $? -eq 0 ]'
check "replay writes its four files" '[ -s "$T/rp/stream.csv" ] && [ -s "$T/rp/truth.csv" ] && [ -s "$T/rp/forecasts.csv" ] && [ -s "$T/rp/alerts.csv" ]'
check "replay files agree" 'python3 -c "
import csv,json,sys
st=list(csv.DictReader(open(\"$T/rp/stream.csv\")))
tr=list(csv.DictReader(open(\"$T/rp/truth.csv\")))
fc=list(csv.DictReader(open(\"$T/rp/forecasts.csv\")))
j=json.load(open(\"$T/elsewhere/rp.json\"))
cgm=[r for r in st if r[\"kind\"]==\"cgm\"]
ok = len(cgm)==289 and len(tr)==1441 and len(fc)==2*289 and j[\"exclude\"]==\"adult#003\" and j[\"cgm\"]==289
# each reading in the stream is the truth cgm_mgdl at its minute
ok = ok and all(abs(float(r[\"value\"])-float(tr[int(float(r[\"t_min\"]))][\"cgm_mgdl\"]))<1e-6*max(1,float(r[\"value\"])) for r in cgm)
sys.exit(not ok)"'
(cd "$T" && "$BIN" twin replay --patient adult#999 --out rp2 2> rp2.err)
check "replay of an unknown patient exits 2, writes nothing" '[ $? -eq 2 ] && [ ! -e "$T/rp2" ] && grep -q "adult#999" "$T/rp2.err"'
(cd "$T" && "$BIN" twin replay --patient adult#003 --out rp3 --isf-drift 1.5 2> rp3.err)
check "replay drift out of range exits 2" '[ $? -eq 2 ] && [ ! -e "$T/rp3" ]'

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
