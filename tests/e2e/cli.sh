#!/usr/bin/env bash
#
# End-to-end test of the medtwin command, as a user runs it: subcommands,
# exit statuses, the JSON summary, CSV and SVG outputs checked value by value,
# one-line error messages, and atomic outputs (a failed command leaves no file
# behind). Usage: bash tests/e2e/cli.sh PATH/TO/medtwin SOURCE_DIR
# Needs bash and python3 (standard library only). Runs in well under 30 s.
#
set -u

if [ $# -ne 2 ]; then
  echo "usage: bash $0 PATH/TO/medtwin SOURCE_DIR" >&2
  exit 2
fi
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$(cd "$2" && pwd)
DAY=$SRC/examples/scenarios/day.json
PATIENTS=$SRC/data/uva-padova/vpatient_params.csv
# State names and order as data/uva-padova/README.md lists the x0 columns.
STATES="Qsto1 Qsto2 Qgut Gp Gt Ip X I1 Id Il Isc1 Isc2 Gs"

T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-e2e.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

passed=0
failed=0

fail() {
  failed=$((failed + 1))
  echo "FAIL: $*" >&2
}

# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
  local desc=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    fail "$desc"
  fi
}

# run ARGS...: run medtwin; sets rc, stdout in $T/stdout, stderr in $T/stderr.
run() {
  "$BIN" "$@" >"$T/stdout" 2>"$T/stderr"
  rc=$?
}

eq() { [ "$1" = "$2" ] || { echo "  expected '$2', got '$1'" >&2; return 1; }; }
has() { grep -qF -- "$2" "$1" || { echo "  '$2' not in $1:" >&2; head -c 400 "$1" >&2; return 1; }; }
has_re() { grep -qE -- "$2" "$1" || { echo "  /$2/ not in $1" >&2; return 1; }; }
empty() { [ ! -s "$1" ] || { echo "  $1 not empty:" >&2; head -c 400 "$1" >&2; return 1; }; }
one_line() {
  if [ -s "$1" ] && [ "$(wc -l <"$1")" -eq 1 ] &&
     [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ]; then
    return 0
  fi
  echo "  $1 is not exactly one line:" >&2
  head -c 600 "$1" >&2
  return 1
}
dir_empty() {
  [ -z "$(ls -A "$1")" ] || { echo "  left in $1: $(ls -A "$1" | tr '\n' ' ')" >&2; return 1; }
}

# pycheck ARGS... <<'EOF' ... EOF: a Python program calling
# check(name, condition, detail); each call counts as one check here, and a
# program that dies (bad JSON, missing key) counts as one failure.
PY_PRELUDE='
import csv, json, math, re, sys
def check(name, cond, detail=""):
    print(("PASS " if cond else "FAIL ") + name +
          ("" if cond else ": " + str(detail)), flush=True)
def close(a, b, tol):
    return abs(a - b) <= tol
'
pycheck() {
  local out prc line
  out=$({ printf '%s\n' "$PY_PRELUDE"; cat; } | python3 - "$@" 2>&1)
  prc=$?
  while IFS= read -r line; do
    case $line in
      "PASS "*) passed=$((passed + 1)) ;;
      "FAIL "*) fail "${line#FAIL }" ;;
    esac
  done <<<"$out"
  [ $prc -eq 0 ] || fail "python check exited $prc: $(echo "$out" | tail -n 3)"
}

# ---------------------------------------------------------------- basics
run version
check "version exits 0" eq "$rc" 0
check "version prints 'medtwin X.Y.Z'" has_re "$T/stdout" '^medtwin [0-9]+\.[0-9]+\.[0-9]+$'
VERSION=$(sed -n 's/^medtwin //p' "$T/stdout")

run --help
check "--help exits 0" eq "$rc" 0
check "--help lists simulate" has "$T/stdout" simulate
check "--help lists models" has "$T/stdout" models

run frobnicate
check "unknown command exits 2" eq "$rc" 2
check "unknown command: one line on stderr" one_line "$T/stderr"
check "unknown command: message names it" has "$T/stderr" frobnicate
check "unknown command: nothing on stdout" empty "$T/stdout"

# ---------------------------------------------------------------- models
run models
check "models exits 0" eq "$rc" 0
check "models lists uva_padova_t1d" has_re "$T/stdout" '^uva_padova_t1d '
check "models lists tentusscher_panfilov_2006_epi" \
  has_re "$T/stdout" '^tentusscher_panfilov_2006_epi '

# The cell model: V first, the stimulus input in uA/cm2, time in ms.
run models show tentusscher_panfilov_2006_epi
check "models show tp06 exits 0" eq "$rc" 0
check "models show tp06: time unit ms" has_re "$T/stdout" '^time unit: ms$'
check "models show tp06: states (19)" has "$T/stdout" "states (19)"
check "models show tp06: input I_stim in uA/cm2" \
  has_re "$T/stdout" '^  I_stim +uA/cm2 '

run models show uva_padova_t1d
check "models show exits 0" eq "$rc" 0
cp "$T/stdout" "$T/show.txt"
# The rows of one section of 'models show': from its title to a blank line.
section() { awk -v s="$1" '$0 ~ "^"s" \\(" {on=1; next} on && /^$/ {exit} on' "$T/show.txt"; }
check "models show: 13 states in model order" \
  eq "$(section states | awk 'NR > 1 {printf "%s ", $1}')" "$STATES "
check "models show: states (13) title" has "$T/show.txt" "states (13)"
check "models show: input CHO in g/min" has_re "$T/show.txt" '^  CHO +g/min '
check "models show: input insulin in U/min" has_re "$T/show.txt" '^  insulin +(\[iU\]|U)/min '
check "models show: observable BG in mg/dL" has_re "$T/show.txt" '^  BG +mg/dL '
check "models show: observable CGM in mg/dL" has_re "$T/show.txt" '^  CGM +mg/dL '
check "models show: 30 virtual patients" \
  eq "$(section 'virtual patients' | grep -oE '(adolescent|adult|child)#[0-9]{3}' | sort -u | wc -l)" 30
check "models show: patient adult#001 listed" has "$T/show.txt" "adult#001"

run models show uva_padova_t1d --json
check "models show --json exits 0" eq "$rc" 0
cp "$T/stdout" "$T/model.json"
pycheck "$T/model.json" "$STATES" <<'EOF'
m = json.load(open(sys.argv[1]))
check("model json: name", m["name"] == "uva_padova_t1d", m.get("name"))
check("model json: n_state 13", m["n_state"] == 13 and len(m["states"]) == 13, m["n_state"])
check("model json: state names in order", [s["name"] for s in m["states"]] == sys.argv[2].split())
check("model json: 46 parameters", m["n_param"] == 46 and len(m["parameters"]) == 46, m["n_param"])
check("model json: inputs CHO, insulin",
      [v["name"] for v in m["inputs"]] == ["CHO", "insulin"] and m["n_input"] == 2)
check("model json: observables BG, CGM",
      [v["name"] for v in m["observables"]] == ["BG", "CGM"] and m["n_obs"] == 2)
check("model json: BG in mg/dL", m["observables"][0]["unit"] == "mg/dL")
check("model json: every variable has unit, doc and lo <= hi",
      all(v["unit"] and v["doc"] and v["lo"] <= v["hi"]
          for k in ("states", "parameters", "inputs", "observables") for v in m[k]))
check("model json: 30 distinct patients",
      len(set(m["patients"])) == 30 and m["n_patients"] == 30 and "adult#001" in m["patients"])
check("model json: time unit min", m["time_unit"] == "min")
EOF

run models --json
check "models --json exits 0" eq "$rc" 0
cp "$T/stdout" "$T/models.json"
pycheck "$T/models.json" <<'EOF'
a = json.load(open(sys.argv[1]))
u = [m for m in a if m["name"] == "uva_padova_t1d"]
check("models json: lists uva_padova_t1d", len(u) == 1)
check("models json: summary counts", u and u[0]["n_state"] == 13 and u[0]["n_param"] == 46
      and u[0]["n_patients"] == 30 and "states" not in u[0])
EOF

run models show nosuch
check "models show nosuch exits 2" eq "$rc" 2
check "models show nosuch: one line on stderr" one_line "$T/stderr"
check "models show nosuch: message names it" has "$T/stderr" nosuch

# ---------------------------------------------------------------- simulate
mkdir "$T/day"
run simulate --model uva_padova_t1d --patient 'adult#001' --scenario "$DAY" \
  --csv "$T/day/day.csv" --svg "$T/day/day.svg" --json
check "simulate exits 0" eq "$rc" 0
check "simulate: nothing on stderr" empty "$T/stderr"
check "simulate: exactly the two outputs, no temporaries" \
  eq "$(ls -A "$T/day" | tr '\n' ' ')" "day.csv day.svg "
cp "$T/stdout" "$T/day.json"

pycheck "$T/day.json" "$T/day/day.csv" "$T/model.json" "$PATIENTS" "$DAY" "$VERSION" <<'EOF'
jpath, cpath, mpath, ppath, scen, version = sys.argv[1:7]
TOL = 1e-9  # absolute, on the JSON's percentages
j = json.load(open(jpath))
for k in ("medtwin_version", "model", "patient", "param_hash", "scenario",
          "duration_min", "solver", "bg"):
    check("json: key " + k, k in j)
check("json: medtwin_version", j["medtwin_version"] == version, j["medtwin_version"])
check("json: model", j["model"] == "uva_padova_t1d")
check("json: patient", j["patient"] == "adult#001")
check("json: param_hash is 32 hex", re.fullmatch("[0-9a-f]{32}", j["param_hash"]) is not None,
      j["param_hash"])
check("json: scenario path", j["scenario"] == scen, j["scenario"])
check("json: duration_min 1440", j["duration_min"] == 1440)
s = j["solver"]
check("json: solver keys", all(k in s for k in
      ("name", "rtol", "atol", "steps", "rhs_evals", "rejected", "segments")), sorted(s))
check("json: solver dopri5 at 1e-8", s["name"] == "dopri5" and s["rtol"] == 1e-8
      and s["atol"] == 1e-8)
check("json: solver counters", s["steps"] > 0 and s["rhs_evals"] >= s["steps"]
      and s["rejected"] >= 0 and s["segments"] >= 1, s)
g = j["bg"]
keys = ("n mean_mgdl sd_mgdl cv_pct gmi_pct tir_pct tbr70_pct tbr54_pct tar180_pct "
        "tar250_pct lbgi hbgi min_mgdl max_mgdl").split()
check("json: bg keys", all(k in g for k in keys), sorted(g))
check("json: bg.n 1441", g["n"] == 1441, g["n"])
tot = g["tir_pct"] + g["tbr70_pct"] + g["tar180_pct"]
check("json: tir + tbr70 + tar180 == 100", close(tot, 100.0, TOL), repr(tot - 100))
gmi = 3.31 + 0.02392 * g["mean_mgdl"]
check("json: gmi == 3.31 + 0.02392 mean", close(g["gmi_pct"], gmi, TOL), repr(g["gmi_pct"] - gmi))
check("json: cv == 100 sd / mean",
      close(g["cv_pct"], 100 * g["sd_mgdl"] / g["mean_mgdl"], 1e-6 * g["cv_pct"]))
check("json: nested ranges", g["tbr54_pct"] <= g["tbr70_pct"] and g["tar250_pct"] <= g["tar180_pct"])
check("json: min <= mean <= max", g["min_mgdl"] <= g["mean_mgdl"] <= g["max_mgdl"])
check("json: lbgi, hbgi >= 0", g["lbgi"] >= 0 and g["hbgi"] > 0)

states = [v["name"] for v in json.load(open(mpath))["states"]]
lines = open(cpath).read().splitlines()
header = lines[0].split(",")
expect = (["t_min", "BG", "CGM", "CHO", "insulin"] + states +
          ["medtwin_version", "model", "patient", "param_hash"])
check("csv: header", header == expect, lines[0])
rows = list(csv.DictReader(lines))
check("csv: 1441 rows", len(rows) == 1441, len(rows))
t = [float(r["t_min"]) for r in rows]
check("csv: t_min 0..1440 by 1", t == [float(i) for i in range(1441)])
check("csv: every row has every column", all(None not in r and None not in r.values() for r in rows))
col = lambda name: [float(r[name]) for r in rows]
bg, cho, ins = col("BG"), col("CHO"), col("insulin")
basal = ins[0]
check("csv: basal > 0 at t=0", basal > 0, basal)
check("csv: t=420 CHO 50", cho[420] == 50, cho[420])
check("csv: t=420 insulin 5 + basal", close(ins[420], 5 + basal, 1e-8), ins[420])
check("csv: no carbohydrate outside t=420", sum(cho) == 50 and cho.count(0.0) == 1440)
check("csv: own basal until t=600", all(close(ins[i], basal, 1e-12)
      for i in range(600) if i != 420))
check("csv: 0.9 U/h from t=600", all(close(ins[i], 0.015, 1e-12)
      for i in list(range(600, 900)) + list(range(960, 1441))))
check("csv: t=900..959 half of 0.015", all(close(ins[i], 0.0075, 1e-12) for i in range(900, 960)),
      ins[900:960:20])
mean = sum(bg) / len(bg)
check("csv: mean BG matches json", close(mean, g["mean_mgdl"], 1e-6 * mean), (mean, g["mean_mgdl"]))
check("csv: min and max BG match json", close(min(bg), g["min_mgdl"], 1e-6 * mean)
      and close(max(bg), g["max_mgdl"], 1e-6 * mean))
tir = 100.0 * sum(70 <= v <= 180 for v in bg) / len(bg)
check("csv: time in range matches json", close(tir, g["tir_pct"], 1e-6), (tir, g["tir_pct"]))
gb = [r for r in csv.DictReader(open(ppath)) if r["Name"] == "adult#001"]
check("csv: BG(0) == Gb of adult#001", len(gb) == 1 and close(bg[0], float(gb[0]["Gb"]), 1e-6),
      (bg[0], gb and gb[0]["Gb"]))
import hashlib, struct
h = hashlib.blake2b(b"uva_padova_t1d\0", digest_size=16)
for v in json.load(open(mpath))["parameters"]:
    h.update(struct.pack("<d", float(gb[0][v["name"]])))
check("json: param_hash == BLAKE2b-128 of model name and parameters",
      j["param_hash"] == h.hexdigest(), h.hexdigest())
check("csv: provenance on every row", all(
      (r["medtwin_version"], r["model"], r["patient"], r["param_hash"]) ==
      (version, "uva_padova_t1d", "adult#001", j["param_hash"]) for r in rows))
check("csv: states finite", all(math.isfinite(float(r[k])) for r in rows for k in states))
EOF

SVG=$T/day/day.svg
check "svg: starts with <svg or an XML declaration" \
  python3 -c 'import re,sys; s=open(sys.argv[1]).read(); sys.exit(not re.match(r"\s*(<\?xml[^>]*\?>\s*)?<svg[\s>]", s))' "$SVG"
check "svg: ends with </svg>" python3 -c 'import sys; sys.exit(not open(sys.argv[1]).read().rstrip().endswith("</svg>"))' "$SVG"
check "svg: axis in mg/dL" has "$SVG" "mg/dL"
check "svg: names the patient" has "$SVG" "adult#001"
check "svg: carries the parameter hash" \
  has "$SVG" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["param_hash"])' "$T/day.json")"

# Text summary.
run simulate --patient 'adult#001' --scenario "$DAY"
check "text summary exits 0" eq "$rc" 0
check "text summary: time in range" has "$T/stdout" "time in range"
check "text summary: patient id" has "$T/stdout" "adult#001"
check "text summary: n = 1441" has "$T/stdout" "n = 1441"

# CVODE gives the same day.
run simulate --patient 'adult#001' --scenario "$DAY" --solver cvode --json
check "cvode exits 0" eq "$rc" 0
cp "$T/stdout" "$T/cvode.json"
pycheck "$T/day.json" "$T/cvode.json" <<'EOF'
d, c = (json.load(open(p)) for p in sys.argv[1:3])
check("cvode: solver name", c["solver"]["name"] == "cvode")
check("cvode: same parameters", c["param_hash"] == d["param_hash"] and c["bg"]["n"] == 1441)
diff = c["bg"]["mean_mgdl"] - d["bg"]["mean_mgdl"]
check("cvode: mean BG within 0.01 mg/dL of dopri5", abs(diff) < 0.01, diff)
check("cvode: max BG within 0.01 mg/dL of dopri5",
      abs(c["bg"]["max_mgdl"] - d["bg"]["max_mgdl"]) < 0.01)
EOF

# Another working directory, away from the source and build trees: the data
# are in the binary.
mkdir "$T/elsewhere"
cp "$DAY" "$T/elsewhere/day.json"
cp "$BIN" "$T/elsewhere/medtwin-copy"
(cd "$T/elsewhere" && run simulate --patient 'child#003' --scenario day.json --csv rel.csv --json &&
  cp "$T/stdout" "$T/elsewhere.json" && echo "$rc" >"$T/elsewhere.rc")
check "other cwd: exits 0" eq "$(cat "$T/elsewhere.rc")" 0
check "other cwd: relative --csv written there" test -s "$T/elsewhere/rel.csv"
pycheck "$T/elsewhere.json" "$T/elsewhere/rel.csv" "$PATIENTS" <<'EOF'
j = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
gb = [float(r["Gb"]) for r in csv.DictReader(open(sys.argv[3])) if r["Name"] == "child#003"]
check("other cwd: child#003, 1441 values", j["patient"] == "child#003" and j["bg"]["n"] == 1441)
check("other cwd: BG(0) == Gb of child#003", close(float(rows[0]["BG"]), gb[0], 1e-6),
      (rows[0]["BG"], gb))
EOF
(cd "$T/elsewhere" && "$T/elsewhere/medtwin-copy" simulate --patient 'adult#001' \
  --scenario day.json --json >copy.json 2>/dev/null; echo $? >copy.rc)
check "copied binary: exits 0" eq "$(cat "$T/elsewhere/copy.rc")" 0
pycheck "$T/elsewhere/copy.json" "$T/day.json" <<'EOF'
a, b = (json.load(open(p)) for p in sys.argv[1:3])
check("copied binary: same result", a["bg"] == b["bg"] and a["param_hash"] == b["param_hash"])
EOF

# ---------------------------------------------------------------- bad input
S=$T/scen
mkdir "$S"
printf '%s' '{"duration_min": 1440, "events": [' >"$S/notjson.json"
printf '%s' '{"duration_min": 1440, "events": [{"t_min": 420, "type": "meal", "grams": "fifty"}]}' >"$S/wrongtype.json"
printf '%s' '{"duration_min": 1440, "events": [{"t_min": 420, "type": "meal", "grams": -5}]}' >"$S/negative.json"
printf '%s' '{"duration_min": 1440, "events": [{"t_min": 1440, "type": "meal", "grams": 50}]}' >"$S/late.json"
printf '%s' '{"duration_min": 1440, "events": [{"t_min": 420, "type": "meal", "gram": 50}]}' >"$S/unknownkey.json"
printf '%s' '{"duration_min": 1440, "events": [{"t_min": 420, "type": "meal", "grams": 50, "grams": 60}]}' >"$S/dupkey.json"
printf '%s' '{"duration_min": 1440, "events": [{"t_min": 420, "type": "meal", "grams": 1e400}]}' >"$S/huge.json"

# bad STATUS "PATTERN|PATTERN..." ARGS...: simulate with ARGS (outputs in an
# empty directory) must exit STATUS with one line on stderr containing every
# PATTERN, print nothing on stdout and leave the directory empty.
bad() {
  local want=$1 pats=$2 name p
  shift 2
  name="simulate $*"
  rm -rf "$T/out" && mkdir "$T/out"
  run simulate "$@" --csv "$T/out/o.csv" --svg "$T/out/o.svg"
  check "$name: exits $want" eq "$rc" "$want"
  check "$name: one line on stderr" one_line "$T/stderr"
  IFS='|' read -r -a pats <<<"$pats"
  for p in "${pats[@]}"; do
    check "$name: stderr names '$p'" has "$T/stderr" "$p"
  done
  check "$name: nothing on stdout" empty "$T/stdout"
  check "$name: no output file" dir_empty "$T/out"
}

bad 2 "--model|nosuch" --model nosuch --patient 'adult#001' --scenario "$DAY"
bad 2 "--patient|adult#999|expected" --patient 'adult#999' --scenario "$DAY"
bad 2 "$S/missing.json" --patient 'adult#001' --scenario "$S/missing.json"
bad 2 "notjson.json|line 1|JSON" --patient 'adult#001' --scenario "$S/notjson.json"
bad 2 "wrongtype.json|events[0].grams|expected a number|fifty" --patient 'adult#001' --scenario "$S/wrongtype.json"
bad 2 "negative.json|events[0].grams|>= 0|-5" --patient 'adult#001' --scenario "$S/negative.json"
bad 2 "late.json|events[0].t_min|duration_min|1440" --patient 'adult#001' --scenario "$S/late.json"
bad 2 "unknownkey.json|events[0].gram|unknown key" --patient 'adult#001' --scenario "$S/unknownkey.json"
# JSON-level errors are located by line and column, not by field path.
bad 2 "dupkey.json|line 1|duplicate|grams" --patient 'adult#001' --scenario "$S/dupkey.json"
bad 2 "huge.json|line 1|1e400" --patient 'adult#001' --scenario "$S/huge.json"
bad 2 "--patient" --scenario "$DAY"
bad 2 "--bogus" --patient 'adult#001' --scenario "$DAY" --bogus x
bad 2 "--rtol|abc|expected" --patient 'adult#001' --scenario "$DAY" --rtol abc
bad 2 "--rtol|expected" --patient 'adult#001' --scenario "$DAY" --rtol 2
bad 2 "--solver|rk4|expected" --patient 'adult#001' --scenario "$DAY" --solver rk4

# ---------------------------------------------------------------- I/O failure
IO=$T/io
mkdir "$IO"
(cd "$IO" && run simulate --patient 'adult#001' --scenario "$DAY" --csv nodir/o.csv --svg o.svg &&
  echo "$rc" >"$T/io.rc" && cp "$T/stderr" "$T/io.err")
check "csv in missing directory: exits 1" eq "$(cat "$T/io.rc")" 1
check "csv in missing directory: one line on stderr" one_line "$T/io.err"
check "csv in missing directory: names the path" has "$T/io.err" "nodir/o.csv"
check "csv in missing directory: no file anywhere" dir_empty "$IO"

(cd "$IO" && run simulate --patient 'adult#001' --scenario "$DAY" --csv o.csv --svg nodir/o.svg &&
  echo "$rc" >"$T/io.rc" && cp "$T/stderr" "$T/io.err")
check "svg in missing directory: exits 1" eq "$(cat "$T/io.rc")" 1
check "svg in missing directory: names the path" has "$T/io.err" "nodir/o.svg"
check "svg in missing directory: no csv and no temporary" dir_empty "$IO"

# An existing output is kept as it was when the command fails.
echo old >"$IO/prev.csv"
run simulate --patient 'adult#001' --scenario "$DAY" --csv "$IO/prev.csv" --svg "$IO/nodir/o.svg"
check "failed write: exits 1" eq "$rc" 1
check "failed write: existing csv untouched" eq "$(cat "$IO/prev.csv")" old
check "failed write: no temporary left" eq "$(ls -A "$IO" | tr '\n' ' ')" "prev.csv "
rm -f "$IO/prev.csv"

# The plot's target is a directory: the rename fails after both files are
# written; all or nothing, so the CSV must not appear either.
mkdir "$IO/plot.svg"
run simulate --patient 'adult#001' --scenario "$DAY" --csv "$IO/o.csv" --svg "$IO/plot.svg"
check "svg target is a directory: exits 1" eq "$rc" 1
check "svg target is a directory: names the path" has "$T/stderr" "plot.svg"
check "svg target is a directory: no csv and no temporary" eq "$(ls -A "$IO" | tr '\n' ' ')" "plot.svg "

# ---------------------------------------------------------------- $ keys
printf '%s' '{"$schema": "x.json", "$comment": {"any": [1, "json"]}, "duration_min": 60,
 "events": [{"$note": "snack", "t_min": 10, "type": "meal", "grams": 20}]}' >"$S/dollar.json"
printf '%s' '{"duration_min": 60, "events": [{"t_min": 10, "type": "meal", "grams": 20}]}' >"$S/plain.json"
run simulate --patient 'adult#001' --scenario "$S/dollar.json" --json
check "\$ keys: exits 0" eq "$rc" 0
cp "$T/stdout" "$T/dollar.json"
run simulate --patient 'adult#001' --scenario "$S/plain.json" --json
cp "$T/stdout" "$T/plain.json"
pycheck "$T/dollar.json" "$T/plain.json" <<'EOF'
a, b = (json.load(open(p)) for p in sys.argv[1:3])
check("$ keys: one event, 61 values", a["n_events"] == 1 and a["bg"]["n"] == 61)
check("$ keys: same result as without them", a["bg"] == b["bg"])
EOF

run simulate --patient 'child#003' --scenario "$SRC/examples/scenarios/three-meals.json" --json
check "three-meals example (\$ keys, carb ratio): exits 0" eq "$rc" 0

# ---------------------------------------------------------------- heart
run models
check "models lists circulation_smith2004" has "$T/stdout" circulation_smith2004
check "models lists aliev_panfilov_1996" has_re "$T/stdout" '^aliev_panfilov_1996 '
check "models lists mitchell_schaeffer_2003" has_re "$T/stdout" '^mitchell_schaeffer_2003 '
run models show mitchell_schaeffer_2003
check "cell model: time unit ms" has "$T/stdout" "time unit: ms"
check "cell model: state V in mV" has_re "$T/stdout" '^  V +mV '
check "cell model: input I_stim in uA/cm2" has_re "$T/stdout" '^  I_stim +uA/cm2 '
run simulate --model circulation_smith2004
check "heart: simulate with defaults exits 0" eq "$rc" 0
check "heart: default is the healthy condition, 60 s, 80 beats" has "$T/stdout" "healthy, 60.0 s (80 beats)"
run simulate --model circulation_smith2004 --duration 15 --json
check "heart: healthy --json exits 0" eq "$rc" 0
cp "$T/stdout" "$T/heart_healthy.json"
run simulate --model circulation_smith2004 --patient hfref --duration 15 --json --csv "$T/heart.csv"
check "heart: hfref exits 0" eq "$rc" 0
cp "$T/stdout" "$T/heart_hfref.json"
pycheck "$T/heart_healthy.json" "$T/heart_hfref.json" "$T/heart.csv" <<'EOF'
h, f = (json.load(open(p)) for p in sys.argv[1:3])
b = h["last_beat"]
check("heart: 20 whole beats in 15 s", h["beats"] == 20 and f["beats"] == 20, h["beats"])
check("heart: healthy SBP 100-140, DBP 60-90 mmHg", 100 <= b["sbp_mmhg"] <= 140 and 60 <= b["dbp_mmhg"] <= 90, b)
check("heart: healthy CO 4-8 L/min, EF 55-70 %", 4 <= b["co_lmin"] <= 8 and 55 <= b["ef_pct"] <= 70, b)
check("heart: CO = SV HR", close(b["co_lmin"], b["sv_ml"] * b["hr_bpm"] / 1000, 1e-9), b)
check("heart: 8 valve events a beat", h["solver"]["events"] == 160, h["solver"])
check("heart: hfref lowers EF, raises EDV", f["last_beat"]["ef_pct"] < b["ef_pct"] - 10 and f["last_beat"]["edv_ml"] > b["edv_ml"], f["last_beat"])
rows = list(csv.reader(open(sys.argv[3])))
check("heart: CSV header t_s, P_lv first", rows[0][:2] == ["t_s", "P_lv"], rows[0][:3])
check("heart: CSV every 1 ms for 15 s", len(rows) == 15002 and close(float(rows[-1][0]), 15, 1e-9), len(rows))
check("heart: CSV provenance", rows[1][-3:-1] == ["circulation_smith2004", "hfref"] and rows[0][-1] == "param_hash", rows[1][-4:])
EOF
run simulate --model circulation_smith2004 --patient 'adult#001'
check "heart: unknown condition exits 2" eq "$rc" 2
run simulate --model circulation_smith2004 --scenario "$DAY"
check "heart: a scenario with events exits 2" eq "$rc" 2
check "heart: ... in one line" one_line "$T/stderr"
run simulate --model circulation_smith2004 --duration 0.5
check "heart: a run shorter than a beat exits 2" eq "$rc" 2
run simulate --model circulation_smith2004 --patient hfref --scenario "$SRC/examples/scenarios/heart-dobutamine.json" --json --svg "$T/heart_dob.svg"
check "heart: dobutamine example exits 0" eq "$rc" 0
cp "$T/stdout" "$T/heart_dobutamine.json"
pycheck "$T/heart_hfref.json" "$T/heart_dobutamine.json" <<'EOF'
f, d = (json.load(open(p)) for p in sys.argv[1:3])
check("heart: dobutamine raises hfref EF by > 5 points and CO", d["last_beat"]["ef_pct"] > f["last_beat"]["ef_pct"] + 5 and d["last_beat"]["co_lmin"] > f["last_beat"]["co_lmin"], (d["last_beat"], f["last_beat"]))
check("heart: dobutamine leaves HR at 80", close(d["last_beat"]["hr_bpm"], 80, 1e-6), d["last_beat"])
EOF
# The heart plot: parses as XML (Python's expat), every panel present.
run simulate --model circulation_smith2004 --duration 6 --json --svg "$T/heart.svg"
check "heart svg: exits 0" eq "$rc" 0
cp "$T/stdout" "$T/heart_svg.json"
pycheck "$T/heart.svg" "$T/heart_svg.json" "$T/heart_dob.svg" <<'EOF'
import xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
def classes(root):
    return {e.get("class") for e in root.iter() if e.get("class")}
h = json.load(open(sys.argv[2]))
for path, trend in ((sys.argv[1], False), (sys.argv[3], True)):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        check("heart svg: %s parses as XML" % path, False, e)
        continue
    check("heart svg: root is <svg>", root.tag == ns + "svg", root.tag)
    c = classes(root)
    want = {"left-heart", "right-heart", "pv-lv", "pv-rv", "pv-lv-loop", "pv-rv-loop", "espvr", "edv-marker", "esv-marker", "beat-marker"}
    check("heart svg: pressure panels, PV loops, ESPVR, markers", want <= c, want - c)
    check("heart svg: trend panel only with doses", ({"trend-map", "trend-hr", "trend-co"} <= c) == trend, c)
    text = " ".join(t.text or "" for t in root.iter(ns + "text"))
    for w in ("aortic P_ao (mmHg)", "central venous P_vc (mmHg)", "pressure (mmHg)", "LV volume (mL)", "EDV", "ESV", "SV", "EF"):
        check("heart svg: label %r" % w, w in text, path)
root = ET.parse(sys.argv[1]).getroot()
text = [t.text or "" for t in root.iter(ns + "text")]
b = h["last_beat"]
# the EDV/ESV labels (one decimal) agree with the JSON summary's last beat
check("heart svg: EDV label is the summary's", "EDV %.1f mL" % b["edv_ml"] in text, b["edv_ml"])
check("heart svg: ESV label is the summary's", "ESV %.1f mL" % b["esv_ml"] in text, b["esv_ml"])
EOF
# A scenario whose file name needs escaping: the plot names it, escaped.
ODD="$S/d&\"x'<y>.json"
printf '%s' '{"duration_min": 0.1, "events": [{"t_min": 0, "type": "dose", "drug": "inotrope", "amount": 10, "duration_min": 0.05}]}' >"$ODD"
run simulate --model circulation_smith2004 --scenario "$ODD" --svg "$T/heart_odd.svg"
check "heart svg, odd scenario name: exits 0" eq "$rc" 0
pycheck "$T/heart_odd.svg" <<'EOF'
import xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except ET.ParseError as e:
    check("heart svg, odd scenario name: parses as XML", False, e)
    sys.exit(0)
sub = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "subtitle"]
check("heart svg, odd scenario name: named in the subtitle", len(sub) == 1 and sub[0].endswith("scenario d&\"x'<y>.json"), sub)
check("heart svg, odd scenario name: trend panel with a dose", any(e.get("class") == "trend-co" for e in root.iter()), "")
EOF
IO2=$T/heart_io
mkdir "$IO2"
run simulate --model circulation_smith2004 --duration 2 --csv "$IO2/h.csv" --svg "$IO2/nodir/h.svg"
check "heart svg in missing directory: exits 1" eq "$rc" 1
check "heart svg in missing directory: names the path" has "$T/stderr" "nodir/h.svg"
check "heart svg in missing directory: no csv, no svg, no temporary" eq "$(ls -A "$IO2" | tr '\n' ' ')" ""
mkdir "$IO2/plot.svg"
run simulate --model circulation_smith2004 --duration 2 --svg "$IO2/plot.svg"
check "heart svg target is a directory: exits 1" eq "$rc" 1
check "heart svg target is a directory: nothing else left" eq "$(ls -A "$IO2" | tr '\n' ' ')" "plot.svg "
printf '%s' '{"duration_min": 2, "events": [{"t_min": 0, "type": "dose", "drug": "aspirin", "amount": 100}]}' >"$S/nodrug.json"
run simulate --model circulation_smith2004 --scenario "$S/nodrug.json"
check "heart: a dose of a drug the model lacks exits 2" eq "$rc" 2
check "heart: ... naming the drug" has "$T/stderr" aspirin

# ------------------------------------------------ the cardiovascular twin
VITALS=$SRC/examples/streams/vitals-hf.csv
run twin run --model circulation_beatavg --stream "$VITALS" --out "$T/hf_f.csv" --alerts "$T/hf_a.csv" --json
check "heart twin: vitals-hf.csv exits 0" eq "$rc" 0
cp "$T/stdout" "$T/hf.json"
pycheck "$T/hf.json" "$T/hf_f.csv" "$T/hf_a.csv" "$VITALS" <<'EOF'
j = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
head = open(sys.argv[3]).readline().strip()
data = list(csv.DictReader(open(sys.argv[4])))
nread = sum(d["kind"] in ("map", "sbp", "dbp", "ef", "co", "weight") for d in data)
check("heart twin: model in the summary", j["model"] == "circulation_beatavg", j)
check("heart twin: every reading assimilated", j["cgm"] == nread and j["quarantined"] == 0, (j, nread))
check("heart twin: two forecast rows (30, 60 min) per reading", len(rows) == 2 * nread and j["forecasts"] == len(rows), (len(rows), nread))
check("heart twin: columns named by MAP", list(rows[0])[2:4] == ["MAP_mean", "MAP_p025"], list(rows[0]))
ok = all(float(r["MAP_p025"]) <= float(r["MAP_p50"]) <= float(r["MAP_p975"]) and 30 < float(r["MAP_p50"]) < 150 for r in rows)
check("heart twin: MAP quantiles ordered and in 30-150 mmHg", ok, rows[-1])
last = [r for r in rows if float(r["t_min"]) == 240 and float(r["horizon_min"]) == 30][-1]
# the last cuff MAP of the example is 79 mmHg (its 240-min row, 105/66)
check("heart twin: the last 95 % interval holds the last MAP reading", float(last["MAP_p025"]) <= 79 <= float(last["MAP_p975"]), last)
check("heart twin: alerts file has its header", head == "t_min,kind,probability,predicted_t_min", head)
EOF
run twin run --model circulation_beatavg --stream "$VITALS" --out "$T/hf_svg.csv" --svg "$T/hf.svg"
check "heart twin: --svg exits 0" eq "$rc" 0
check "heart twin: ... a MAP axis" has "$T/hf.svg" "mean arterial pressure, mmHg"
run twin run --model circulation_beatavg --stream "$VITALS" --out "$T/hf_co.csv" --forecast-obs CO
check "heart twin: --forecast-obs CO exits 0" eq "$rc" 0
check "heart twin: ... CO columns" has "$T/hf_co.csv" "t_min,horizon_min,CO_mean,CO_p025"
run twin run --model circulation_beatavg --stream "$VITALS" --out "$T/hf_x.csv" --forecast-obs BG
check "heart twin: --forecast-obs of no reading exits 2" eq "$rc" 2
check "heart twin: ... in one line" one_line "$T/stderr"
printf 't_min,kind,value\n0,map,80\n5,pulse,70\n' >"$T/badkind.csv"
run twin run --model circulation_beatavg --stream "$T/badkind.csv" --out "$T/hf_bad.csv"
check "heart twin: an unknown kind exits 2" eq "$rc" 2
check "heart twin: ... naming the line" has "$T/stderr" "line 3"
check "heart twin: ... nothing written" eval '[ ! -e "$T/hf_bad.csv" ]'
printf 't_min,kind,value\n0,map,80\n5,cgm,120\n' >"$T/cgmheart.csv"
run twin run --model circulation_beatavg --stream "$T/cgmheart.csv" --out "$T/hf_bad.csv"
check "heart twin: a kind the heart does not read exits 2" eq "$rc" 2
check "heart twin: ... naming it" has "$T/stderr" "got 'cgm'"
check "heart twin: ... nothing written" eval '[ ! -e "$T/hf_bad.csv" ]'
run twin run --model circulation_smith2004 --stream "$VITALS" --out "$T/hf_bad.csv"
check "heart twin: a model without a twin spec exits 2" eq "$rc" 2
check "heart twin: ... in one line" one_line "$T/stderr"

# ------------------------------------------------- beat-averaged heart
run simulate --model circulation_beatavg --patient hfref --days 30 --json --csv "$T/beatavg.csv"
check "beatavg: 30 days exits 0" eq "$rc" 0
cp "$T/stdout" "$T/beatavg.json"
pycheck "$T/beatavg.json" "$T/beatavg.csv" <<'EOF'
j = json.load(open(sys.argv[1]))
check("beatavg: 43200 min, hfref, start = end without inputs", j["duration_min"] == 43200 and j["patient"] == "hfref" and j["start"] == j["end"], j)
check("beatavg: hfref EF below 45 %, CO = SV HR", j["end"]["EF"] < 45 and close(j["end"]["CO"], j["end"]["SV"] * j["end"]["HR"] / 1000, 1e-9), j["end"])
rows = list(csv.reader(open(sys.argv[2])))
check("beatavg: CSV hourly, t_min", rows[0][0] == "t_min" and len(rows) == 722 and close(float(rows[-1][0]), 43200, 1e-9), len(rows))
EOF
run simulate --model circulation_beatavg --duration 60
check "beatavg: --duration (seconds) refused, exits 2" eq "$rc" 2
check "beatavg: ... naming --days" has "$T/stderr" "--days"
run simulate --model circulation_beatavg --days 0
check "beatavg: --days 0 exits 2" eq "$rc" 2
run simulate --model circulation_smith2004 --days 1
check "heart: --days on a beat-resolved model exits 2" eq "$rc" 2
run simulate --model circulation_beatavg --patient hfref --scenario "$SRC/examples/scenarios/heart-beatavg-month.json" --json
check "beatavg: month example exits 0" eq "$rc" 0
pycheck "$T/stdout" <<'EOF'
j = json.load(open(sys.argv[1]))
check("beatavg: a month of metoprolol and enalapril lowers MAP, raises EF", j["end"]["MAP"] < j["start"]["MAP"] - 5 and j["end"]["EF"] > j["start"]["EF"], j)
EOF
# The beat-averaged plot (plot_trend.h): parses as XML (Python's expat);
# the MAP panel's 65 mmHg line read back through its tick labels; a dose
# tick per dose of the scenario on each of the four panels.
run simulate --model circulation_beatavg --patient hfref --scenario "$SRC/examples/scenarios/heart-beatavg-month.json" --csv "$T/beatavg_m.csv" --svg "$T/beatavg_m.svg"
check "beatavg svg: exits 0" eq "$rc" 0
pycheck "$T/beatavg_m.svg" "$SRC/examples/scenarios/heart-beatavg-month.json" <<'EOF'
import xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
try:
    root = ET.parse(sys.argv[1]).getroot()
except ET.ParseError as e:
    check("beatavg svg: parses as XML", False, e)
    sys.exit(0)
check("beatavg svg: root is <svg>", root.tag == ns + "svg", root.tag)
text = [t.text or "" for t in root.iter(ns + "text")]
for w in ("MAP (mmHg)", "CO (L/min)", "EF (%)", "weight (kg)", "time (days)", "MAP 65 mmHg", "beta_blocker", "vasodilator"):
    check("beatavg svg: label %r" % w, w in text, w)
title = [t.text for t in root.iter(ns + "text") if t.get("class") == "title"]
check("beatavg svg: title names model, patient, scenario", title == ["circulation_beatavg — patient hfref — scenario heart-beatavg-month.json"], title)
ref = [e for e in root.iter(ns + "line") if e.get("class") == "ref-line"]
ticks = [(float(t.get("y")) - 3.5, float(t.text)) for t in root.iter(ns + "text") if t.get("class") == "trend-MAP-ytick"]
if len(ref) == 1 and len(ticks) >= 2:
    (p0, v0), (p1, v1) = ticks[0], ticks[-1]
    v = v0 + (float(ref[0].get("y1")) - p0) * (v1 - v0) / (p1 - p0)
    # within half a pixel's worth of the axis
    check("beatavg svg: the 65 mmHg line at 65 mmHg", abs(v - 65) <= 0.5 * abs((v1 - v0) / (p1 - p0)), v)
else:
    check("beatavg svg: one 65 mmHg line and MAP ticks", False, (len(ref), len(ticks)))
n = len(json.load(open(sys.argv[2]))["events"])
d = [e for e in root.iter(ns + "line") if e.get("class") == "dose"]
check("beatavg svg: a dose tick per dose on each of 4 panels", len(d) == 4 * n, (len(d), n))
EOF
IO3=$T/beatavg_io
mkdir "$IO3"
run simulate --model circulation_beatavg --patient hfref --days 2 --csv "$IO3/b.csv" --svg "$IO3/nodir/b.svg"
check "beatavg svg in missing directory: exits 1" eq "$rc" 1
check "beatavg svg in missing directory: names the path" has "$T/stderr" "nodir/b.svg"
check "beatavg svg in missing directory: no csv, no svg, no temporary" eq "$(ls -A "$IO3" | tr '\n' ' ')" ""
mkdir "$IO3/plot.svg"
run simulate --model circulation_beatavg --days 1 --svg "$IO3/plot.svg"
check "beatavg svg target is a directory: exits 1" eq "$rc" 1
check "beatavg svg target is a directory: nothing else left" eq "$(ls -A "$IO3" | tr '\n' ' ')" "plot.svg "

run simulate --model circulation_smith2004 --patient hfref --scenario "$SRC/examples/scenarios/heart-baroreflex.json" --json
check "heart: baroreflex example exits 0" eq "$rc" 0
cp "$T/stdout" "$T/heart_baro.json"
pycheck "$T/heart_hfref.json" "$T/heart_baro.json" <<'EOF'
f, b = (json.load(open(p)) for p in sys.argv[1:3])
check("heart: baroreflex raises hfref HR above 90 and MAP", b["mean_of_last"]["hr_bpm"] > 90 and b["mean_of_last"]["map_mmhg"] > f["last_beat"]["map_mmhg"], (b["mean_of_last"], f["last_beat"]))
EOF
printf '%s' '{"duration_min": 1440, "baroreflex": true}' >"$S/barot1d.json"
run simulate --model uva_padova_t1d --patient 'adult#001' --scenario "$S/barot1d.json"
check "scenario: baroreflex for a metabolic model exits 2" eq "$rc" 2
check "scenario: ... naming the field" has "$T/stderr" baroreflex

# whatif: rank regimens for a heart model (docs/regimens.md); 3 min of the
# example's six regimens on hfref, then bad files.
run whatif --patient hfref --regimens "$SRC/examples/whatif/heart-regimens.json" --horizon-h 0.05 --threads 2 --json
check "whatif exits 0" eq "$rc" 0
cp "$T/stdout" "$T/whatif.json"
pycheck "$T/whatif.json" <<'EOF'
w = json.load(open(sys.argv[1]))
check("whatif: keys", {"model", "patient", "baroreflex", "horizon_h", "targets", "regimens", "cost"} <= set(w), sorted(w))
r = w["regimens"]
check("whatif: six regimens ranked 1..6", [x["rank"] for x in r] == list(range(1, 7)), [x["rank"] for x in r])
check("whatif: regimen keys", all({"name", "missed", "distance", "map_mmhg", "co_lmin", "ef_pct", "worst_map_mmhg"} <= set(x) for x in r), r[0])
check("whatif: missed never decreases down the ranking", all(a["missed"] <= b["missed"] for a, b in zip(r, r[1:])), [x["missed"] for x in r])
names = [x["name"] for x in r]
check("whatif: dobutamine above none for hfref", names.index("dobutamine 5 ug/kg/min") < names.index("none"), names)
check("whatif: cost 6 x 180 s simulated", close(w["cost"]["simulated_s"], 1080, 1e-9), w["cost"])
EOF
run whatif --patient hfref --regimens "$SRC/examples/whatif/heart-regimens.json" --horizon-h 0.05 --threads 1 --json
check "whatif --threads 1 exits 0" eq "$rc" 0
cp "$T/stdout" "$T/whatif1.json"
pycheck "$T/whatif.json" "$T/whatif1.json" <<'EOF'
a, b = (json.load(open(p))["regimens"] for p in sys.argv[1:3])
strip = lambda r: [{k: v for k, v in x.items() if k != "wall_s"} for x in r]
check("whatif: 1 and 2 threads give the same ranking and figures", strip(a) == strip(b), (a[0], b[0]))
EOF
printf '%s' '{"regimens": [{"name": "x", "doses": [{"drug": "aspirin", "amount": 100, "t_min": 0}]}]}' >"$S/badreg.json"
run whatif --regimens "$S/badreg.json"
check "whatif: an unknown drug exits 2" eq "$rc" 2
check "whatif: ... in one line" one_line "$T/stderr"
check "whatif: ... naming the file" has "$T/stderr" badreg.json
check "whatif: ... and the field" has "$T/stderr" "regimens[0].doses[0].drug"
check "whatif: ... nothing on stdout" empty "$T/stdout"
printf '%s' '{"regimens": [{"name": "x", "doses": [{"drug": "diuretic", "amount": -1, "t_min": 0}]}]}' >"$S/negreg.json"
run whatif --regimens "$S/negreg.json"
check "whatif: a negative dose exits 2" eq "$rc" 2
check "whatif: ... naming the field" has "$T/stderr" "regimens[0].doses[0].amount"
run whatif --model circulation_smith2004
check "whatif: no --regimens exits 2" eq "$rc" 2

# ------------------------------------------- the cardiovascular replay
mkdir -p "$T/cv"
run twin cv-evaluate --patients 'adult#001,adult#002' --hours 6 --members 16 --out "$T/cv" --json
check "cv-evaluate: exits 0" eq "$rc" 0
cp "$T/stdout" "$T/cv.json"
pycheck "$T/cv.json" "$T/cv/adult_001-stream.csv" "$T/cv/adult_001-truth.csv" <<'EOF'
j = json.load(open(sys.argv[1]))
p = j["pooled"]
check("cv-evaluate: two patients, 6 h", sorted(j["patients"]) == ["adult#001", "adult#002"] and j["hours"] == 6, j.keys())
check("cv-evaluate: RMSE per method and horizon", all(isinstance(p["map_rmse_mmhg"][m][h], float) for m in ("twin", "open_loop", "persistence") for h in ("15", "60")), p)
# 6 h, BP every 15 min: forecasts from 60 min on whose 60-min horizon ends
# by 360 min, i.e. at 60, 75, ..., 300: 17 per patient
check("cv-evaluate: 17 forecasts a patient", p["forecasts"] == 34, p["forecasts"])
rows = list(csv.DictReader(open(sys.argv[2])))
check("cv-evaluate: stream in the stream.md format", set(r["kind"] for r in rows) == {"sbp", "dbp", "map", "hr"} and len(rows) == 96, len(rows))
truth = list(csv.DictReader(open(sys.argv[3])))
check("cv-evaluate: truth one row a minute", len(truth) == 361 and truth[0]["t_min"] == "0", len(truth))
EOF
run twin cv-evaluate --patients 'adult#999'
check "cv-evaluate: an unknown patient exits 2" eq "$rc" 2
check "cv-evaluate: ... naming it" has "$T/stderr" "adult#999"
run twin cv-evaluate --hours 0
check "cv-evaluate: --hours 0 exits 2" eq "$rc" 2

run whatif --model circulation_beatavg --patient hfref --regimens "$SRC/examples/whatif/heart-beatavg-month.json" --json
check "whatif: a month on the beat-averaged model exits 0" eq "$rc" 0
pycheck "$T/stdout" <<'EOF'
j = json.load(open(sys.argv[1]))
r = {x["name"]: x for x in j["regimens"]}
check("whatif beatavg: 720 h, six regimens ranked 1-6", j["horizon_h"] == 720 and sorted(x["rank"] for x in j["regimens"]) == list(range(1, 7)), j["horizon_h"])
check("whatif beatavg: enalapril lowers MAP, raises CO and EF", r["enalapril 10 mg daily"]["map_mmhg"] < r["none"]["map_mmhg"] and r["enalapril 10 mg daily"]["co_lmin"] > r["none"]["co_lmin"] and r["enalapril 10 mg daily"]["ef_pct"] > r["none"]["ef_pct"], r)
EOF
run whatif --patient hfref --regimens "$SRC/examples/whatif/heart-regimens.json" --horizon-h 48
check "whatif: 48 h on the beat-resolved model exits 2" eq "$rc" 2
check "whatif: ... naming the 24 h limit" has "$T/stderr" "24 h"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
