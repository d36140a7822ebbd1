#!/usr/bin/env bash
# End-to-end: `medtwin tissue induce` and `tissue ablate` on the shipped
# scar example (examples/tissue/scar-ablation.json: a scar with a grey-zone
# band read from scar-ring.pgm; re-entry round the scar is inducible by
# construction, tests/unit/induce.c explains why): the test finds the
# re-entry and a driver at the scar; the loop ends non-inducible with a
# lesion; `tissue run` writes the PNG maps and snapshot frames; a substrate
# image of the wrong size or format, an unknown parameter and a site in the
# scar exit 2 with one line naming the field, and write nothing.
set -u
BIN=$1
SRC=${2:-.}
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-ablate.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
cp "$SRC/examples/tissue/scar-ablation.json" "$SRC/examples/tissue/scar-ring.pgm" "$T/"

(cd "$T" && "$BIN" tissue ablate scar-ablation.json --out abl > abl.out 2> abl.err)
check "tissue ablate exits 0" '[ $? -eq 0 ]'
check "ablate: summary and tissue.png" '[ -f "$T/abl/summary.json" ] && [ -f "$T/abl/tissue.png" ]'
# the scar's centre is (20, 20) mm, radius 7 mm (scar-ring.pgm)
check "ablate: inducible first with a driver at the scar, then non-inducible after lesions" 'python3 -c "
import json,math,sys
j=json.load(open(\"$T/abl/summary.json\"))
f=j[\"first_test\"]
d=[x for x in f[\"drivers\"] if x[\"kind\"]==\"anatomical\"]
ok = f[\"inducible\"] and not j[\"inducible\"] and j[\"rounds\"]>=2
ok = ok and len(d)>=1 and math.hypot(d[0][\"x_mm\"]-20,d[0][\"y_mm\"]-20)<0.5
ok = ok and d[0][\"rotations\"]>=1 and len(j[\"lesions\"])>=1
ok = ok and not j[\"last_test\"][\"inducible\"] and j[\"fibrotic_nodes\"]>0
sys.exit(0 if ok else 1)"'
check "ablate: PNG signature" '[ "$(head -c 8 "$T/abl/tissue.png" | od -An -tx1 | tr -d " \n")" = "89504e470d0a1a0a" ]'

python3 -c "
import json
c=json.load(open('$T/scar-ablation.json'))
c['outputs']={'png': True, 'snapshot_ms': 100}
json.dump(c,open('$T/snap.json','w'))"
(cd "$T" && "$BIN" tissue run snap.json --out run > /dev/null 2> run.err)
check "run: activation.png, apd.png and 4 snapshot frames" '[ $? -eq 0 ] && [ -f "$T/run/activation.png" ] && [ -f "$T/run/apd.png" ] && [ -f "$T/run/snapshots/V_00003.png" ] && [ ! -e "$T/run/snapshots/V_00004.png" ] && [ ! -e "$T/run/snapshots.partial" ]'

# three sites spread over the tissue by the command (sites: {count})
python3 -c "
import json
c=json.load(open('$T/scar-ablation.json'))
c['inducibility'].update(sites={'count': 3}, s2_start_ms=340, s2_min_ms=340, persist_ms=300)
json.dump(c,open('$T/spread.json','w'))"
(cd "$T" && "$BIN" tissue induce spread.json --out spread --json > spread.out 2> spread.err)
check "induce: three spread sites, each outside the scar and apart" '[ $? -eq 0 ] && python3 -c "
import json,math,sys
s=json.load(open(\"$T/spread/summary.json\"))[\"test\"][\"sites\"]
ok = len(s)==3 and all(math.hypot(x[\"x_mm\"]-20,x[\"y_mm\"]-20)>7 for x in s)
ok = ok and all(math.hypot(a[\"x_mm\"]-b[\"x_mm\"],a[\"y_mm\"]-b[\"y_mm\"])>=10 for a in s for b in s if a is not b)
sys.exit(0 if ok else 1)"'

# a lesion mask image: a strip from the scar to the bottom edge cuts the
# circuit, as the loop's own lesion does
python3 -c "
n=81
rows=[]
for r in range(n):
    y=(n-1-r)*0.5
    rows.append(' '.join('255' if abs(c*0.5-20)<=1 and y<=13.5 else '0' for c in range(n)))
open('$T/cut.pgm','w').write('P2\n%d %d\n255\n' % (n, n) + '\n'.join(rows) + '\n')
import json
c=json.load(open('$T/scar-ablation.json'))
c['lesion_mask']={'image': 'cut.pgm', 'pixel_mm': 0.5}
c['inducibility'].update(s2_min_ms=300)
json.dump(c,open('$T/cut.json','w'))"
(cd "$T" && "$BIN" tissue induce cut.json --out cut > cut.out 2> cut.err)
check "induce: the lesion mask makes it non-inducible" '[ $? -eq 0 ] && python3 -c "
import json,sys
j=json.load(open(\"$T/cut/summary.json\"))
sys.exit(0 if not j[\"inducible\"] and j[\"lesion_mask_nodes\"] > 50 and j[\"test\"][\"sites\"][0][\"tries\"]==3 else 1)"'

bad() { # name, python edit of the config c, expected text, command
  python3 -c "
import json
c=json.load(open('$T/scar-ablation.json')); $2
json.dump(c,open('$T/$1.json','w'))"
  (cd "$T" && "$BIN" tissue "$4" "$1.json" --out "o_$1" > /dev/null 2> "$1.err")
  brc=$? bname=$1 bpat="$1.json: .*$3"
  check "$1 exits 2 naming $3" '[ $brc -eq 2 ] && [ $(wc -l < "$T/$bname.err") -eq 1 ] && grep -q -- "$bpat" "$T/$bname.err" && [ ! -e "$T/o_$bname" ]'
}
# 81 x 81 pixels at 0.5 mm is 40.5 mm; at 0.25 mm it is 20.25 mm, not 40
bad wrong_pixel 'c["substrate"]["pixel_mm"]=0.25' 'substrate.image: .*scar-ring.pgm' induce
printf 'GIF89a not an image' > "$T/not.pgm"
bad wrong_format 'c["substrate"]["image"]="not.pgm"' 'substrate.image: .*not.pgm' induce
bad missing_image 'c["substrate"]["image"]="absent.pgm"' 'substrate.image' ablate
bad unknown_param 'c["substrate"]["param"]={"tau": 1}' 'substrate.param.tau: unknown parameter' ablate
bad site_in_scar 'c["inducibility"]["sites"][0]["x_mm"]=20' 'sites\[0\]' induce
bad no_protocol 'del c["inducibility"]' 'inducibility' induce
bad lesion_mask_size 'c["lesion_mask"]={"image": "scar-ring.pgm", "pixel_mm": 1}' 'lesion_mask.image: .*scar-ring.pgm' induce
bad bad_protocol 'c["inducibility"]["protocol"]="ramp"' 'inducibility.protocol' ablate

echo "tissue_ablate: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
