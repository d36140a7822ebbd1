#!/usr/bin/env bash
# End-to-end: `medtwin twin whatif` on a generated day: ranked outcomes and
# the advisor as JSON, the SVG, and bad input (exit 2, one line naming the
# item and the field).
set -u
BIN=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-whatif.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }

"$BIN" twin replay --patient adult#003 --days 1 --seed 7 --members 8 --out "$T/day" > /dev/null
cat > "$T/act.json" <<'JSON'
{"actions": [{"type": "nothing"}, {"type": "bolus", "units": 4},
             {"type": "carbs", "grams": 15},
             {"type": "temp_basal", "percent": 50, "duration_min": 60}],
 "advise": {"carbs_g": 60, "p_below70_max": 0.05}}
JSON
(cd "$T" && "$BIN" twin whatif --stream day/stream.csv --at 400 --actions act.json \
  --exclude adult#003 --members 16 --svg w.svg --json > w.json 2> w.err)
check "whatif exits 0" '[ $? -eq 0 ]'
check "ranked results and advice" 'python3 -c "
import json,sys
j=json.load(open(\"$T/w.json\"))
r=j[\"ranked\"]; a=j[\"advice\"]
ok = len(r)==4 and [x[\"rank\"] for x in r]==[1,2,3,4] and j[\"t_min\"]==400
ok = ok and all(len(x[\"bg_mgdl\"][\"p50\"])==48 and 0<=x[\"tir\"]<=1 for x in r)
ok = ok and {x[\"type\"] for x in r}=={\"nothing\",\"bolus\",\"carbs\",\"temp_basal\"}
# the ranking puts every candidate within the 5 % bound before any outside it
b=[x[\"p_below70\"]<=0.05 for x in r]; ok = ok and b==sorted(b, reverse=True)
ok = ok and (not a[\"met_bound\"] or a[\"recommended\"][\"p_below70\"]<=0.05)
ok = ok and len(a[\"candidates\"])==31
sys.exit(not ok)"'
check "svg written and well-formed" 'python3 -c "import xml.dom.minidom as m; m.parse(\"$T/w.svg\")"'

printf '{"actions": [{"type": "insulin", "units": 2}]}' > "$T/bad1.json"
(cd "$T" && "$BIN" twin whatif --stream day/stream.csv --at 400 --actions bad1.json 2> e1.txt)
check "unknown action type exits 2, names item and field" '[ $? -eq 2 ] && [ $(wc -l < "$T/e1.txt") -eq 1 ] && grep -q "bad1.json: actions\[0\].type" "$T/e1.txt"'
# a control character where the JSON parser quotes the text near it: the
# message stays one line without raw control bytes (cli_fail makes them '?')
printf '{"actions": \001\033[2J}' > "$T/ctl.json"
(cd "$T" && "$BIN" twin whatif --stream day/stream.csv --at 400 --actions ctl.json 2> ectl.txt)
check "a control character in the JSON: exit 2, one clean line" '[ $? -eq 2 ] && python3 -c "
import sys
b=open(\"$T/ectl.txt\",\"rb\").read()
sys.exit(0 if b.endswith(b\"\n\") and b.count(b\"\n\")==1 and b\"ctl.json: line 1\" in b and not any(c < 32 for c in b[:-1]) else 1)"'
printf '{"actions": [{"type": "bolus", "units": 40}]}' > "$T/bad2.json"
(cd "$T" && "$BIN" twin whatif --stream day/stream.csv --at 400 --actions bad2.json 2> e2.txt)
check "out-of-range dose exits 2" '[ $? -eq 2 ] && grep -q "actions\[0\].units: expected 0 < U <= 25" "$T/e2.txt"'
printf '{"actions": [{"type": "temp_basal", "percent": 50, "duration_min": 5}]}' > "$T/bad3.json"
(cd "$T" && "$BIN" twin whatif --stream day/stream.csv --at 400 --actions bad3.json 2> e3.txt)
check "temp basal too short exits 2" '[ $? -eq 2 ] && grep -q "duration_min" "$T/e3.txt"'
(cd "$T" && "$BIN" twin whatif --stream day/stream.csv --at 400 --actions act.json --svg w2.svg --members 2 2> e4.txt)
check "bad members exits 2, nothing written" '[ $? -eq 2 ] && [ ! -e "$T/w2.svg" ]'

# The advisor against the carb-ratio bolus, closed loop, one patient-day.
# The carb-ratio arm re-simulates the replay piecewise: its time in range
# must equal the replay truth's (same minutes after the 6 h warm-up) to
# 1e-6 (the pieces continue state and meal memory exactly; measured
# difference 0).
(cd "$T" && "$BIN" twin advisor-evaluate --cohort adult#003 --days 1 --seed 1 --json > adv.json 2> adv.err)
check "advisor-evaluate exits 0" '[ $? -eq 0 ]'
"$BIN" twin replay --patient adult#003 --days 1 --seed 1 --members 8 --out "$T/d1" > /dev/null
check "carb-ratio arm reproduces the replay truth" 'python3 -c "
import csv,json,sys
j=json.load(open(\"$T/adv.json\"))
b=[float(r[\"bg_mgdl\"]) for r in csv.DictReader(open(\"$T/d1/truth.csv\"))][360:-1]
tir=sum(70<=x<=180 for x in b)/len(b)
a=j[\"advisor\"]
ok = abs(j[\"carb_ratio\"][\"tir\"]-tir)<1e-6 and 0<=a[\"tir\"]<=1 and 0<=a[\"bound_met_fraction\"]<=1
sys.exit(not ok)"'

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
