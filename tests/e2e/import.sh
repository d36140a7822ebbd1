#!/usr/bin/env bash
# End-to-end: `medtwin twin import` (docs/import.md) on the fixtures in
# tests/e2e/fixtures/import (written by make.py there): Nightscout JSON and
# CSV exports in mg/dL and mmol/L give the fixture's stream (times exact,
# values to 1e-9), the summary counts every record, bad input exits 2 with
# one line and writes nothing, and the imported streams run through a twin.
# Then a replayed day written as Nightscout JSON and as CSV imports back
# to its own stream.
set -u
BIN=$1
FX=$2/tests/e2e/fixtures/import
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-import.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }

# same A B: the two streams hold the same rows in the same order, times
# exactly, values to 1e-9.
same() {
  python3 - "$1" "$2" <<'EOF'
import csv, sys
a, b = (list(csv.reader(open(p))) for p in sys.argv[1:3])
ok = a[0] == b[0] == ["t_min", "kind", "value"] and len(a) == len(b)
ok = ok and all(float(x[0]) == float(y[0]) and x[1] == y[1] and
                abs(float(x[2]) - float(y[2])) <= 1e-9 for x, y in zip(a[1:], b[1:]))
sys.exit(not ok)
EOF
}
# json_is FILE 'python expression over j': the summary says so.
json_is() { python3 -c "import json,sys; j=json.load(open('$1')); sys.exit(not ($2))"; }

# The fixture's stream without its temp basal rows: what the CSV exports
# (no basal column) give with --profile-basal 1.
awk -F, 'NR == 1 || $2 != "basal" || $1 == 0' "$FX/stream.csv" > "$T/no_temps.csv"

# --- Nightscout entries + treatments
(cd "$T" && "$BIN" twin import --entries "$FX/entries.json" --treatments "$FX/treatments.json" \
  --profile-basal 1 --out ns.csv --json > ns.json 2> ns.err)
check "nightscout import exits 0" '[ $? -eq 0 ] && [ ! -s "$T/ns.err" ]'
check "nightscout gives the fixture stream" 'same "$T/ns.csv" "$FX/stream.csv"'
check "nightscout summary counts" 'json_is "$T/ns.json" "j[\"read\"]==53 and j[\"data\"]==59 and j[\"kept\"]==49 and j[\"start\"]==\"2024-03-01T07:00:00Z\" and j[\"kept_by_kind\"]=={\"cgm\":37,\"carbs\":2,\"bolus\":2,\"basal\":8} and j[\"dropped\"]=={\"duplicate\":3,\"non_sgv_entry\":2,\"missing_field\":1,\"no_stream_data\":3,\"implausible\":1,\"before_start\":0}"'

# --- CSV, mg/dL: Dexcom Clarity column names found by default
(cd "$T" && "$BIN" twin import --csv "$FX/export_mgdl.csv" --bolus-col "Insulin Value (u)" \
  --profile-basal 1 --out mgdl.csv > mgdl.txt 2> mgdl.err)
check "mg/dL CSV import exits 0" '[ $? -eq 0 ]'
check "mg/dL CSV gives the stream (no temp basals)" 'same "$T/mgdl.csv" "$T/no_temps.csv"'
check "text summary counts" 'grep -q "44 records read, 45 data, 42 kept (37 cgm, 2 carbs, 2 bolus, 1 basal); dropped: 1 duplicate, 0 non-sgv entry, 2 missing field" "$T/mgdl.txt" && [ $(wc -l < "$T/mgdl.txt") -eq 1 ]'

# --- CSV, mmol/L: columns by name, units from the column's name or given
MMOL=(--csv "$FX/export_mmol.csv" --time-col Zeit --glucose-col "Glukose (mmol/L)" --carbs-col "KH (g)" --bolus-col "Bolus (IE)" --profile-basal 1)
(cd "$T" && "$BIN" twin import "${MMOL[@]}" --out mmol.csv --json > mmol.json)
check "mmol/L CSV import exits 0" '[ $? -eq 0 ]'
check "mmol/L CSV gives the stream (x 18.016)" 'same "$T/mmol.csv" "$T/no_temps.csv"'
(cd "$T" && "$BIN" twin import "${MMOL[@]}" --units mmol/L --out mmol2.csv > /dev/null)
check "--units mmol/L the same" '[ $? -eq 0 ] && same "$T/mmol2.csv" "$T/no_temps.csv"'
(cd "$T" && "$BIN" twin import "${MMOL[@]}" --units mg/dL --out mmol3.csv 2> mmol3.err)
check "--units contradicting the column name exits 2" '[ $? -eq 2 ] && [ $(wc -l < "$T/mmol3.err") -eq 1 ] && grep -q "export_mmol.csv: line 1: Glukose (mmol/L)" "$T/mmol3.err" && [ ! -e "$T/mmol3.csv" ]'

# --- all three sources at once: every CSV datum repeats a Nightscout one
(cd "$T" && "$BIN" twin import --csv "$FX/export_mgdl.csv" --bolus-col "Insulin Value (u)" \
  --entries "$FX/entries.json" --treatments "$FX/treatments.json" --profile-basal 1 --out all.csv --json > all.json)
check "merged sources give the stream once" '[ $? -eq 0 ] && same "$T/all.csv" "$FX/stream.csv"'
check "merged: the CSV data are duplicates" 'json_is "$T/all.json" "j[\"kept\"]==49 and j[\"dropped\"][\"duplicate\"]==3+42 and j[\"data\"]==j[\"kept\"]+sum(j[\"dropped\"].values())"'

# --- --start: 08:00 is t_min 0; what came before is dropped, the basal
# running then (the temp basal of 0 begun at 08:00) holds
(cd "$T" && "$BIN" twin import --entries "$FX/entries.json" --treatments "$FX/treatments.json" \
  --profile-basal 1 --start 2024-03-01T09:00:00+01:00 --out late.csv --json > late.json)
check "--start exits 0" '[ $? -eq 0 ]'
check "--start shifts the times" '[ "$(sed -n 2,3p "$T/late.csv" | tr "\n" " ")" = "0,cgm,156.7392 0,basal,0 " ] && grep -q "^40,bolus,1.5$" "$T/late.csv"'
check "--start drops what came before" 'json_is "$T/late.json" "j[\"start\"]==\"2024-03-01T08:00:00Z\" and j[\"dropped\"][\"before_start\"]==14"'

# --- stream to standard output, summary to standard error
(cd "$T" && "$BIN" twin import "${MMOL[@]}" --out - > out.csv 2> out.err)
check "--out - writes the stream on stdout" '[ $? -eq 0 ] && same "$T/out.csv" "$T/no_temps.csv" && grep -q "42 kept" "$T/out.err"'

# --- bad input: exit 2, one line naming file, record or line, and field,
# nothing written (and an existing file left as it was)
python3 - "$FX/treatments.json" "$T/bad_treatments.json" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
t[3]["carbs"] = "many"
json.dump(t, open(sys.argv[2], "w"))
EOF
echo keep > "$T/bad.csv"
(cd "$T" && "$BIN" twin import --entries "$FX/entries.json" --treatments bad_treatments.json \
  --profile-basal 1 --out bad.csv > bad.out 2> bad.err)
check "malformed treatment exits 2" '[ $? -eq 2 ] && [ ! -s "$T/bad.out" ]'
check "one line naming file, record and field" '[ "$(cat "$T/bad.err")" = "medtwin: bad_treatments.json: record 3: carbs: expected a number >= 0 (g), got \"many\"" ]'
check "nothing written" '[ "$(cat "$T/bad.csv")" = keep ] && [ -z "$(ls "$T" | grep -i tmp)" ]'

printf 'time,glucose\n2024-03-01T07:00:00Z,120\n2024-03-01T07:05:00Z,HI!\n' > "$T/bad_line.csv"
(cd "$T" && "$BIN" twin import --csv bad_line.csv --out bl.csv 2> bl.err)
check "malformed CSV line exits 2" '[ $? -eq 2 ] && [ $(wc -l < "$T/bl.err") -eq 1 ] && grep -q "^medtwin: bad_line.csv: line 3: glucose: expected a number" "$T/bl.err" && [ ! -e "$T/bl.csv" ]'
printf '[{"type":"sgv","sgv":120,' > "$T/broken.json"
(cd "$T" && "$BIN" twin import --entries broken.json --out br.csv 2> br.err)
check "invalid JSON exits 2" '[ $? -eq 2 ] && [ $(wc -l < "$T/br.err") -eq 1 ] && grep -q "broken.json: line 1, column" "$T/br.err" && [ ! -e "$T/br.csv" ]'
(cd "$T" && "$BIN" twin import --treatments "$FX/treatments.json" --out nb.csv 2> nb.err)
check "temp basal without --profile-basal exits 2" '[ $? -eq 2 ] && grep -q "treatments.json: record 1: eventType: .*--profile-basal" "$T/nb.err" && [ ! -e "$T/nb.csv" ]'
(cd "$T" && "$BIN" twin import --csv nonexistent.csv --out ne.csv 2> ne.err)
check "missing input exits 2" '[ $? -eq 2 ] && grep -q nonexistent.csv "$T/ne.err"'
(cd "$T" && "$BIN" twin import --csv "$FX/export_mmol.csv" 2> u1.err)
check "no --out exits 2" '[ $? -eq 2 ] && grep -q -- "--out" "$T/u1.err"'
(cd "$T" && "$BIN" twin import "${MMOL[@]}" --units mg/l --out x.csv 2> u2.err)
check "bad --units exits 2" '[ $? -eq 2 ] && grep -q -- "--units" "$T/u2.err"'
(cd "$T" && "$BIN" twin import "${MMOL[@]}" --start yesterday --out x.csv 2> u3.err)
check "bad --start exits 2" '[ $? -eq 2 ] && grep -q -- "--start" "$T/u3.err"'
(cd "$T" && "$BIN" twin import "${MMOL[@]}" --profile-basal 80 --out x.csv 2> u4.err)
check "bad --profile-basal exits 2" '[ $? -eq 2 ] && grep -q -- "--profile-basal" "$T/u4.err" && [ ! -e "$T/x.csv" ]'
(cd "$T" && "$BIN" twin import "${MMOL[@]}" --out no/such/dir/s.csv > /dev/null 2> w.err)
check "unwritable output exits 1" '[ $? -eq 1 ] && [ $(wc -l < "$T/w.err") -eq 1 ]'
"$BIN" twin import --help > "$T/help.txt"
check "help lists the options" 'grep -q -- "--profile-basal" "$T/help.txt" && grep -q -- "--glucose-col" "$T/help.txt"'

# --- the imported streams run through a twin
(cd "$T" && "$BIN" twin run --stream ns.csv --out fc.csv --members 8 --json > run.json 2> run.err)
check "imported Nightscout stream runs through twin run" '[ $? -eq 0 ] && json_is "$T/run.json" "j[\"cgm\"]==37 and j[\"quarantined\"]==0" && [ $(($(wc -l < "$T/fc.csv") - 1)) -eq 74 ]'
(cd "$T" && "$BIN" twin run --stream mmol.csv --out fc2.csv --members 8 > /dev/null 2> run2.err)
check "imported mmol/L stream runs through twin run" '[ $? -eq 0 ] && [ $(($(wc -l < "$T/fc2.csv") - 1)) -eq 74 ]'

# --- round trip of a replayed day: stream -> Nightscout JSON and a CSV
# (mmol/L, +01:00) -> import -> the same rows (t exact, values to 1e-9)
(cd "$T" && "$BIN" twin replay --patient adult#003 --days 1 --members 8 --out rp > /dev/null 2>&1)
check "twin replay exits 0" '[ $? -eq 0 ] && [ -s "$T/rp/stream.csv" ]'
python3 - "$T/rp/stream.csv" "$T" <<'EOF'
import csv, json, sys, datetime as dt
rows = list(csv.DictReader(open(sys.argv[1])))
out = sys.argv[2]
t0 = dt.datetime(2024, 3, 1, 7, tzinfo=dt.timezone.utc)
at = lambda t: t0 + dt.timedelta(minutes=float(t))
order = {"cgm": 0, "carbs": 1, "bolus": 2, "basal": 3}
want = sorted(rows, key=lambda r: (float(r["t_min"]), order[r["kind"]]))
with open(out + "/rt_want.csv", "w") as f:
    f.write("t_min,kind,value\n")
    f.writelines("%s,%s,%s\n" % (r["t_min"], r["kind"], r["value"]) for r in want)
basal = [r for r in rows if r["kind"] == "basal"]
assert len(basal) == 1 and float(basal[0]["t_min"]) == 0
open(out + "/rt_basal", "w").write(basal[0]["value"])
ent = [{"_id": "e%d" % i, "type": "sgv", "sgv": float(r["value"]),
        "date": int(at(r["t_min"]).timestamp() * 1000)}
       for i, r in enumerate(rows) if r["kind"] == "cgm"]
key = {"carbs": "carbs", "bolus": "insulin"}
trt = [{"_id": "t%d" % i, "eventType": "Meal Bolus",
        "created_at": at(r["t_min"]).isoformat().replace("+00:00", "Z"),
        key[r["kind"]]: float(r["value"])}
       for i, r in enumerate(rows) if r["kind"] in key]
json.dump(ent, open(out + "/rt_entries.json", "w"))
json.dump(trt, open(out + "/rt_treatments.json", "w"))
tz = dt.timezone(dt.timedelta(hours=1))
with open(out + "/rt.csv", "w") as f:
    f.write("time,glucose_mmol,carbs,bolus\n")
    for r in rows:
        if r["kind"] == "basal":
            continue
        v = float(r["value"])
        cells = {"cgm": ("%.17g" % (v / 18.016), "", ""), "carbs": ("", r["value"], ""),
                 "bolus": ("", "", r["value"])}[r["kind"]]
        f.write(at(r["t_min"]).astimezone(tz).isoformat() + "," + ",".join(cells) + "\n")
EOF
PB=$(cat "$T/rt_basal")
(cd "$T" && "$BIN" twin import --entries rt_entries.json --treatments rt_treatments.json \
  --profile-basal "$PB" --out rt_ns.csv > /dev/null)
check "replayed day round-trips through Nightscout JSON" '[ $? -eq 0 ] && same "$T/rt_ns.csv" "$T/rt_want.csv"'
(cd "$T" && "$BIN" twin import --csv rt.csv --profile-basal "$PB" --out rt_csv.csv > /dev/null)
check "replayed day round-trips through a mmol/L CSV" '[ $? -eq 0 ] && same "$T/rt_csv.csv" "$T/rt_want.csv"'

echo "import e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
