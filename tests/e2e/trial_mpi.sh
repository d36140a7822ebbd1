#!/usr/bin/env bash
# End-to-end: a virtual trial split over Open MPI ranks (src/cli/trial.c,
# "ranks"). A population cohort of 24 patients (three batches of eight) under
# the standard and PID arms for one day: results.json is bit for bit the same
# (the run metadata aside) on one thread, two threads, two ranks of one
# thread each and three ranks; a patient that fails on rank 1 is reported by
# rank 0 with its index, the seed and the rank, and nothing is written; a bad
# protocol is refused once, exit 2. Open MPI refuses root unless told (CI
# runs as root): both OMPI_ALLOW_RUN_AS_ROOT variables are set. Leak
# checking is off under MPI (Open MPI's components keep their allocations to
# the end); the single-process suites check medtwin's own. One machine: the
# "isolated" launcher starts the ranks itself, so no ssh is needed (Open
# MPI's default launcher requires it even for local ranks).
set -u
BIN=$1
SRC=$2
MPIEXEC=${MEDTWIN_MPIEXEC:-}
if [ -z "$MPIEXEC" ]; then
  echo "trial_mpi: built without MPI (-DMT_MPI=OFF): skipped"
  exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-trial-mpi.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi() { # ranks, then the medtwin arguments
  local n=$1; shift
  "$MPIEXEC" -np "$n" --mca plm isolated --oversubscribe --bind-to none \
    -x OMP_NUM_THREADS=1 \
    -x ASAN_OPTIONS=detect_leaks=0 -x MEDTWIN_FAILPOINT "$BIN" "$@"
}

python3 - "$SRC/examples/trials/smoke.json" "$T/p.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p.pop("$schema")
p["name"], p["size"], p["days"] = "mpi", 24, 1
p["cohort"] = {"source": "population",
               "age_groups": {"adult": 0.5, "adolescent": 0.5}}
p["arms"] = [a for a in p["arms"] if a["kind"] != "twin"]
json.dump(p, open(sys.argv[2], "w"))
PY

unset MEDTWIN_FAILPOINT
"$BIN" trial run "$T/p.json" --out "$T/t1" --threads 1 > /dev/null
check "one thread" '[ $? -eq 0 ] && [ -s "$T/t1/results.json" ]'
"$BIN" trial run "$T/p.json" --out "$T/t2" --threads 2 > /dev/null
check "two threads" '[ $? -eq 0 ] && [ -s "$T/t2/results.json" ]'
mpi 2 trial run "$T/p.json" --out "$T/r2" --threads 1 > "$T/out2" 2> "$T/err2"
check "two ranks: exit 0, one summary line (rank 0 reports)" '[ $? -eq 0 ] && [ -s "$T/r2/results.json" ] && [ "$(grep -c "medtwin trial run: mpi: 24 patients" "$T/out2")" = 1 ]'
mpi 3 trial run "$T/p.json" --out "$T/r3" --threads 1 > /dev/null 2> "$T/err3"
check "three ranks" '[ $? -eq 0 ] && [ -s "$T/r3/results.json" ]'
check "bit for bit the same results for 1 and 2 threads, 2 and 3 ranks" 'python3 -c "
import json
runs = {}
for d in (\"t1\", \"t2\", \"r2\", \"r3\"):
    r = json.load(open(\"$T/\" + d + \"/results.json\"))
    runs[d] = (r.pop(\"run\"), r)
assert [runs[d][0][\"ranks\"] for d in runs] == [1, 1, 2, 3], [runs[d][0] for d in runs]
assert runs[\"t2\"][0][\"threads\"] == 2 and runs[\"r2\"][0][\"threads\"] == 1
ref = runs[\"t1\"][1]
assert ref[\"protocol\"][\"patients\"] == 24 and len(ref[\"patients\"]) == 24
assert [p[\"index\"] for p in ref[\"patients\"]] == list(range(24))
assert len(ref[\"examples\"]) == 3
for d in (\"t2\", \"r2\", \"r3\"):
    assert runs[d][1] == ref, d"'

export MEDTWIN_FAILPOINT=trial-patient:17
mpi 2 trial run "$T/p.json" --out "$T/f" --threads 1 > /dev/null 2> "$T/errf"
check "a patient failing on rank 1: exit 1, named with the seed and rank, no results" '[ $? -eq 1 ] && grep -q "patient 17 (seed 20260101, rank 1): failure injected" "$T/errf" && [ ! -e "$T/f/results.json" ]'
unset MEDTWIN_FAILPOINT

sed 's/"days": 1/"days": 0/' "$T/p.json" > "$T/bad.json"
mpi 2 trial run "$T/bad.json" --out "$T/b" --threads 1 > /dev/null 2> "$T/errb"
check "a bad protocol under MPI: exit 2, said once, naming the field" '[ $? -eq 2 ] && [ "$(grep -c "^medtwin: .*days: expected" "$T/errb")" = 1 ] && [ ! -e "$T/b/results.json" ]'

echo "trial_mpi: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
