#!/usr/bin/env bash
# End-to-end: `medtwin tissue run` on a small 2D Mitchell-Schaeffer sheet
# stimulated along its left edge: exit 0, the summary's keys, activation
# increasing left to right, the .vti as XML with the grid's extent, the SVG;
# then each kind of bad input exits 2 with one line naming the file and the
# field, and writes nothing.
set -u
BIN=$1
SRC=${2:-.}
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-tissue.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }

# 31 x 11 nodes at 0.2 mm (6 x 2 mm), D 0.1 mm^2/ms: explicit bound
# dx^2 / (4 D) = 0.1 ms, dt 0.02 ms
cat > "$T/sheet.json" <<'JSON'
{"model": "mitchell_schaeffer_2003",
 "grid": {"nx": 31, "ny": 11, "dx_mm": 0.2},
 "D_l": 0.1, "D_t": 0.1, "dt_ms": 0.02, "duration_ms": 30,
 "diffusion": "explicit", "activation_threshold_mV": -40,
 "stimuli": [{"x0_mm": 0, "x1_mm": 0.2, "start_ms": 1, "duration_ms": 2,
              "amplitude": 50}],
 "outputs": {"cv_x": true}}
JSON
(cd "$T" && "$BIN" tissue run sheet.json --out out --json > s.json 2> s.err)
check "tissue run exits 0" '[ $? -eq 0 ]'
check "three files written" '[ -f "$T/out/summary.json" ] && [ -f "$T/out/activation.vti" ] && [ -f "$T/out/activation.svg" ]'
check "no progress line when stderr is not a terminal" '[ ! -s "$T/s.err" ]'
# The planar-wave speed: 1.0866 sqrt(D) = 0.3436 mm/ms at D = 0.1
# (docs/models/mitchell_schaeffer_2003.md, section 4a, closed form);
# tolerance 6 % for dx = 0.2 mm and the short cable
check "summary keys and values" 'python3 -c "
import json,sys
j=json.load(open(\"$T/out/summary.json\"))
o=json.load(open(\"$T/s.json\"))
a=j[\"activation\"]
ok = j==o and j[\"model\"]==\"mitchell_schaeffer_2003\"
ok = ok and j[\"grid\"]=={\"nx\":31,\"ny\":11,\"nz\":1,\"dx_mm\":0.2,\"nodes\":341}
ok = ok and j[\"steps\"]==1500 and j[\"wall_s\"]>0 and j[\"cell_updates_per_s\"]>0
ok = ok and a[\"nodes_activated\"]==341 and 1<=a[\"first_ms\"]<a[\"last_ms\"]<=30
ok = ok and abs(a[\"cv_x_mm_per_ms\"]-0.3436)<=0.06*0.3436
sys.exit(not ok)"'
check "vti: XML ImageData with the grid extent, activation increasing in x" 'python3 -c "
import sys, xml.etree.ElementTree as E
r=E.parse(\"$T/out/activation.vti\").getroot()
im=r.find(\"ImageData\"); p=im.find(\"Piece\")
ok = r.get(\"type\")==\"ImageData\" and im.get(\"WholeExtent\").split()==\"0 30 0 10 0 0\".split()
ok = ok and p.get(\"Extent\")==im.get(\"WholeExtent\") and abs(float(im.get(\"Spacing\").split()[0])-0.2)<1e-12
d={a.get(\"Name\"): [float(x) for x in a.text.split()] for a in p.find(\"PointData\")}
t=d[\"activation_ms\"]
ok = ok and len(t)==341 and len(d[\"apd_ms\"])==341
rows=[t[31*j:31*j+31] for j in range(11)]
ok = ok and all(all(b>=a for a,b in zip(r[1:],r[2:])) and r[-1]>r[0]+10 for r in rows)
sys.exit(not ok)"'
check "svg parses, has a colour bar and a scale bar" 'python3 -c "
import sys, xml.etree.ElementTree as E
s=E.parse(\"$T/out/activation.svg\").getroot()
txt=[e.text or \"\" for e in s.iter(\"{http://www.w3.org/2000/svg}text\")]
sys.exit(not (any(\"mm\" in x for x in txt) and \"ms\" in txt and len(list(s.iter(\"{http://www.w3.org/2000/svg}rect\")))>=341))"'

# fibres along y (90 degrees): the wave along x travels with D_t, at the
# closed-form speed 1.0866 sqrt(0.05) = 0.2430 mm/ms (same source, 6 %);
# --progress writes the ETA line even though stderr is a file
python3 -c "
import json
c=json.load(open('$T/sheet.json')); c['fibre_angle_deg']=90; c['D_t']=0.05
json.dump(c,open('$T/f90.json','w'))"
(cd "$T" && "$BIN" tissue run f90.json --out f90 --json --progress > f90.out 2> f90.err)
check "fibre angle 90: speed along x set by D_t" '[ $? -eq 0 ] && python3 -c "
import json,sys
v=json.load(open(\"$T/f90.out\"))[\"activation\"][\"cv_x_mm_per_ms\"]
sys.exit(not abs(v-0.2430)<=0.06*0.2430)"'
check "--progress shows the ETA" 'grep -q "ETA" "$T/f90.err"'

# a 3D block, semi-implicit at 5x the explicit bound (0.1 / 6 ms in 3D at
# dx 0.2, D 0.1): the .vti spans the three axes, the SVG is the z = 0 slice
python3 -c "
import json
c=json.load(open('$T/sheet.json')); c['grid']={'nx':11,'ny':5,'nz':4,'dx_mm':0.2}
c['diffusion']='semi-implicit'; c['dt_ms']=0.1; c['duration_ms']=20
json.dump(c,open('$T/block.json','w'))"
(cd "$T" && "$BIN" tissue run block.json --out block > /dev/null 2>&1)
check "3D block: vti extent and values, SVG of z = 0" '[ $? -eq 0 ] && python3 -c "
import sys, xml.etree.ElementTree as E
r=E.parse(\"$T/block/activation.vti\").getroot(); im=r.find(\"ImageData\")
t=[float(x) for x in im.find(\"Piece/PointData/DataArray\").text.split()]
svg=E.parse(\"$T/block/activation.svg\").getroot()
n=len(list(svg.iter(\"{http://www.w3.org/2000/svg}rect\")))
sys.exit(not (im.get(\"WholeExtent\").split()==\"0 10 0 4 0 3\".split() and len(t)==220 and min(t)>0 and n>=55))"'

# the fast cell kernel against the generic path (the model's rhs at every
# node, "cells": "generic"): the same activation map within 0.01 ms, the
# tolerance of tests/unit/tissue_kernel.c
python3 -c "
import json
c=json.load(open('$T/sheet.json')); c['cells']='generic'
json.dump(c,open('$T/generic.json','w'))"
(cd "$T" && "$BIN" tissue run generic.json --out gen > /dev/null 2>&1)
check "cells generic: the fast kernel's activation within 0.01 ms" '[ $? -eq 0 ] && python3 -c "
import json,sys
a=json.load(open(\"$T/out/summary.json\")); b=json.load(open(\"$T/gen/summary.json\"))
ok = a[\"cells\"]==\"fast\" and b[\"cells\"]==\"generic\"
ok = ok and abs(a[\"activation\"][\"last_ms\"]-b[\"activation\"][\"last_ms\"]) < 0.01
ok = ok and abs(a[\"activation\"][\"first_ms\"]-b[\"activation\"][\"first_ms\"]) < 0.01
sys.exit(0 if ok else 1)"'

# docs/tissue-config.schema.json accepts the test's and the example's
# configurations (the scar example too) and refuses one without a grid (skipped without jsonschema)
check "the schema agrees" 'python3 -c "
import json,sys
try:
    import jsonschema
except ImportError:
    sys.exit(0)
V=jsonschema.Draft202012Validator
s=json.load(open(\"$SRC/docs/tissue-config.schema.json\")); V.check_schema(s)
v=V(s)
ok = v.is_valid(json.load(open(\"$T/sheet.json\")))
ok = ok and v.is_valid(json.load(open(\"$SRC/examples/tissue/ms-sheet.json\")))
ok = ok and v.is_valid(json.load(open(\"$SRC/examples/tissue/scar-ablation.json\")))
c=json.load(open(\"$T/sheet.json\")); del c[\"grid\"]
sys.exit(not (ok and not v.is_valid(c)))"'

# bad input: exit 2, one line naming the file and the field, nothing written
bad() { # name, python edit of the config c, expected text of the message
  python3 -c "
import json,sys
c=json.load(open('$T/sheet.json')); $2
json.dump(c,open('$T/$1.json','w'))"
  (cd "$T" && "$BIN" tissue run "$1.json" --out "o_$1" > /dev/null 2> "$1.err")
  brc=$? bname=$1 bpat="$1.json: .*$3"
  check "$1 exits 2 naming $3" '[ $brc -eq 2 ] && [ $(wc -l < "$T/$bname.err") -eq 1 ] && grep -q -- "$bpat" "$T/$bname.err" && [ ! -e "$T/o_$bname" ]'
}
bad unknown_model 'c["model"]="hodgkin"' 'model: unknown cell model .*mitchell_schaeffer_2003'
bad unstable_dt 'c["dt_ms"]=0.2' 'dt_ms = 0.2 exceeds the explicit stability bound 0.1 ms'
bad missing_dx 'del c["grid"]["dx_mm"]' 'grid.dx_mm'
bad negative_D 'c["D_l"]=-1' 'D_l'
bad bad_diffusion 'c["diffusion"]="implicit"' 'diffusion'
bad stim_amplitude 'c["stimuli"][0]["amplitude"]="big"' 'stimuli\[0\].amplitude'
bad stim_outside 'c["stimuli"][0]["x0_mm"]=10;c["stimuli"][0]["x1_mm"]=11' 'stimuli\[0\]'
bad too_large 'c["grid"]["nx"]=8192;c["grid"]["ny"]=4096' 'grid: .*at most 16777216'
bad unknown_field 'c["dt"]=0.01' 'dt: unknown field'
bad bad_cells 'c["cells"]="slow"' 'cells: expected "fast"'
printf '{"model": ' > "$T/trunc.json"
(cd "$T" && "$BIN" tissue run trunc.json --out o_trunc > /dev/null 2> trunc.err)
check "malformed JSON exits 2 naming the file" '[ $? -eq 2 ] && grep -q "trunc.json: line" "$T/trunc.err" && [ ! -e "$T/o_trunc" ]'

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
