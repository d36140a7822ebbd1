#!/usr/bin/env bash
# End-to-end: sensor faults injected into a generated day reach `medtwin twin
# run` as sensor_fault alerts, refused readings with their reasons, and
# forecasts that go on through them.
set -u
BIN=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-faults.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }

"$BIN" twin replay --patient adult#001 --days 1 --seed 3 --members 8 --out "$T/day" > /dev/null
# Inject: a stuck sensor 10:00-11:00 (the 10:00 value repeated), a gap
# 14:00-14:45 (readings removed) and a spike of +120 mg/dL at 16:00.
python3 - "$T/day/stream.csv" "$T/faulty.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
stuck = next(r["value"] for r in rows if r["kind"] == "cgm" and float(r["t_min"]) == 600)
out = []
for r in rows:
    t = float(r["t_min"])
    if r["kind"] == "cgm":
        if 600 < t <= 660:
            r = dict(r, value=stuck)
        elif 840 < t < 885:
            continue
        elif t == 960:
            r = dict(r, value=str(float(r["value"]) + 120))
    out.append(r)
w = csv.DictWriter(open(sys.argv[2], "w", newline=""), fieldnames=["t_min", "kind", "value"])
w.writeheader()
w.writerows(out)
PY
(cd "$T" && "$BIN" twin run --stream faulty.csv --exclude adult#001 --members 16 \
  --out fc.csv --alerts al.csv --quarantine q.csv --json > out.json 2> err.txt)
check "twin run exits 0" '[ $? -eq 0 ]'
check "each injected fault is flagged" 'python3 -c "
import csv,sys
al=[r for r in csv.DictReader(open(\"$T/al.csv\")) if r[\"kind\"]==\"sensor_fault\"]
q=list(csv.DictReader(open(\"$T/q.csv\")))
flat=[r for r in q if r[\"reason\"]==\"sensor fault: flat line\"]
jump=[r for r in q if r[\"reason\"]==\"sensor fault: implausible jump\"]
ok = any(630<=float(r[\"t_min\"])<=660 for r in flat)          # stuck: flagged within 30 min
ok = ok and any(float(r[\"t_min\"])==960 for r in jump)         # the spike itself
ok = ok and any(float(r[\"t_min\"])==885 and float(r[\"predicted_t_min\"])==840 for r in al)  # the gap
ok = ok and any(630<=float(r[\"t_min\"])<=660 for r in al) and any(float(r[\"t_min\"])==960 for r in al)
sys.exit(not ok)"'
check "refused readings still get forecasts" 'python3 -c "
import csv,sys
f={float(r[\"t_min\"]) for r in csv.DictReader(open(\"$T/fc.csv\"))}
sys.exit(not (960 in f and 650 in f))"'
check "summary counts the faults" 'python3 -c "
import json,sys
j=json.load(open(\"$T/out.json\"))
sys.exit(not (j[\"sensor_faults\"]>=3 and j[\"quarantined\"]==0))"'
# The clean day raises no sensor_fault alert at all.
(cd "$T" && "$BIN" twin run --stream day/stream.csv --exclude adult#001 --members 16 \
  --out fc2.csv --alerts al2.csv > /dev/null 2>&1)
check "no fault on the clean day" '! grep -q sensor_fault "$T/al2.csv"'

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
