#!/usr/bin/env bash
# End-to-end: medtwin trial run on examples/trials/smoke.json (10 adults, 2
# days, standard, twin and PID arms). The results do not depend on the
# number of OpenMP threads (bit for bit, the run metadata aside); every arm
# has every endpoint's summary; each comparison's paired estimate is the
# difference of the two arms' means (the same patients); the bootstrap
# interval comes with its resamples; subgroups are reported with the
# multiplicity note. A bad protocol is refused before anything runs, naming
# the field (exit 2), and leaves no results.
set -u
BIN=$1
SRC=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/medtwin-trial.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi; }

"$BIN" trial run "$SRC/examples/trials/smoke.json" --out "$T/one" --threads 1 > "$T/out1"
check "the smoke trial runs on one thread, with its report" '[ $? -eq 0 ] && [ -s "$T/one/results.json" ] && grep -q "10 patients x 3 arms x 2 days" "$T/out1" && [ "$(grep -c "<svg" "$T/one/report.html")" -ge 4 ]'
"$BIN" trial run "$SRC/examples/trials/smoke.json" --out "$T/two" --threads 2 > /dev/null
check "and on two" '[ $? -eq 0 ] && [ -s "$T/two/results.json" ]'
check "bit for bit the same results for 1 and 2 threads" 'python3 -c "
import json
a = json.load(open(\"$T/one/results.json\")); b = json.load(open(\"$T/two/results.json\"))
assert a.pop(\"run\")[\"threads\"] == 1 and b.pop(\"run\")[\"threads\"] == 2
assert a == b"'
check "every arm has every endpoint, n = 10" 'python3 -c "
import json
r = json.load(open(\"$T/one/results.json\"))
eps = [\"tir\", \"tbr70\", \"tbr54\", \"tar180\", \"mean\", \"cv\", \"tdi\"]
assert [a[\"name\"] for a in r[\"arms\"]] == [\"standard\", \"twin\", \"pid\"]
for a in r[\"arms\"]:
    assert sorted(a[\"endpoints\"]) == sorted(eps)
    assert all(a[\"endpoints\"][e][\"n\"] == 10 for e in eps)"'
check "each paired estimate is the difference of the arms means (within 1e-9, doubles written to 17 digits)" 'python3 -c "
import json
r = json.load(open(\"$T/one/results.json\"))
m = {a[\"name\"]: a[\"endpoints\"] for a in r[\"arms\"]}
assert len(r[\"comparisons\"]) == 2 * 7
for c in r[\"comparisons\"]:
    assert c[\"reference\"] == \"standard\"
    d = m[c[\"arm\"]][c[\"endpoint\"]][\"mean\"] - m[\"standard\"][c[\"endpoint\"]][\"mean\"]
    t = c[\"paired_t\"]
    assert abs(t[\"estimate\"] - d) <= 1e-9 * max(1, abs(d)), (c, d)
    assert t[\"ci\"][0] <= t[\"estimate\"] <= t[\"ci\"][1] and t[\"df\"] == 9
    assert c[\"bootstrap\"][\"resamples\"] == 200
    assert c[\"primary\"] == (c[\"endpoint\"] == \"tir\")"'
check "subgroups by the covariates, with the multiplicity note" 'python3 -c "
import json
r = json.load(open(\"$T/one/results.json\"))
m = r[\"multiplicity\"]
assert m[\"interaction_tests\"] > 0 and \"exploratory\" in m[\"note\"]
# the Bonferroni count is the tests made: effects and the twin forecast accuracy
made = sum(\"interaction\" in g for g in r[\"subgroups\"])
fc = sum(\"forecast_interaction\" in g for g in r[\"subgroups\"])
assert fc == m[\"forecast_tests\"] > 0 and made + fc == m[\"interaction_tests\"], m
assert abs(m[\"bonferroni_level\"] - (1 - 0.05 / m[\"interaction_tests\"])) < 1e-12
for g in r[\"subgroups\"]:
    if \"forecast_interaction\" in g:
        assert g[\"arm\"] == \"twin\" and g[\"forecast_flag\"] == (g[\"forecast_interaction\"][\"p\"] < 1 - m[\"bonferroni_level\"])
assert {g[\"covariate\"] for g in r[\"subgroups\"]} == {\"age_group\", \"sex\"}
assert all(g[\"endpoint\"] == \"tir\" for g in r[\"subgroups\"])
assert r[\"cohort\"][\"patients\"] == 10 and r[\"cohort\"][\"rejection_rate\"] == 0"'

check "the sample size per arm: within its bound, started at the normal approximation computed here from the paired t" 'python3 -c "
import json, math
r = json.load(open(\"$T/one/results.json\"))
ss = r[\"sample_size\"]
assert [s[\"arm\"] for s in ss] == [\"twin\", \"pid\"]
for s in ss:
    t = [c[\"paired_t\"] for c in r[\"comparisons\"] if c[\"primary\"] and c[\"arm\"] == s[\"arm\"]][0]
    sd = t[\"se\"] * math.sqrt(t[\"n\"])
    # z_0.975 = 1.959964, z_0.8 = 0.841621 (normal quantiles, Abramowitz and Stegun table 26.5)
    n0 = math.ceil(((1.959964 + 0.841621) * sd / abs(t[\"estimate\"])) ** 2)
    assert s[\"normal_approx_n\"] == min(max(n0, 2), 100000), (s, n0)
    assert s[\"trials\"] <= 4400 and s[\"replicates_per_size\"] == 4400 // 22
    assert 2 <= s[\"n\"] <= 100000 and s[\"target_power\"] == 0.8
    assert (s[\"power\"] >= 0.8) == s[\"reached\"], s"'
check "every patient listed with each arm's endpoints; three example courses" 'python3 -c "
import json
r = json.load(open(\"$T/one/results.json\"))
ps = r[\"patients\"]
assert [p[\"index\"] for p in ps] == list(range(10)) and ps[0][\"id\"] == \"adult#001\"
for a in r[\"arms\"]:
    vals = sorted(p[\"endpoints\"][a[\"name\"]][\"tir\"] for p in ps)
    assert abs(sum(vals) / 10 - a[\"endpoints\"][\"tir\"][\"mean\"]) < 1e-9
    assert vals[0] == a[\"endpoints\"][\"tir\"][\"min\"] and vals[-1] == a[\"endpoints\"][\"tir\"][\"max\"]
ex = r[\"examples\"]
assert [e[\"index\"] for e in ex] == [0, 1, 2]
for e in ex:
    assert e[\"from_min\"] == 360 and e[\"to_min\"] == 2880
    arms = {a[\"arm\"]: a for a in e[\"arms\"]}
    assert sorted(arms) == [\"pid\", \"standard\", \"twin\"]
    for a in arms.values():
        assert len(a[\"bg_mgdl\"]) == len(a[\"cgm_mgdl\"]) == (2880 - 360) // 5
    assert len(arms[\"twin\"][\"forecasts\"]) > 0 and arms[\"standard\"][\"forecasts\"] == []
    f = arms[\"twin\"][\"forecasts\"][0]
    assert f[\"horizon_min\"] == [15 * (i + 1) for i in range(16)]
    assert all(lo <= hi for lo, hi in zip(f[\"lo_mgdl\"], f[\"hi_mgdl\"]))
    meals = [m for m in arms[\"standard\"][\"meals\"] if not m[\"snack\"]]
    assert len(arms[\"standard\"][\"boluses\"]) == len(meals)"'

sed 's/"kind": "pid"/"kind": "mpc"/' "$SRC/examples/trials/smoke.json" > "$T/bad.json"
"$BIN" trial run "$T/bad.json" --out "$T/bad" 2> "$T/err"
check "a bad protocol: exit 2, one line naming the field, no results" '[ $? -eq 2 ] && grep -q "arms\[2\].kind" "$T/err" && [ "$(wc -l < "$T/err")" = 1 ] && [ ! -e "$T/bad/results.json" ]'
"$BIN" trial run "$SRC/examples/trials/smoke.json" 2> "$T/err"
check "no --out: exit 2" '[ $? -eq 2 ] && grep -q -- "--out" "$T/err"'

echo "trial: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
