#!/usr/bin/env bash
# End-to-end: docs/trial-protocol.schema.json (JSON Schema draft-07) agrees
# with the parser (src/twin/trial_protocol.c) on the files both see:
#   - the schema itself compiles under Ajv 6 (installed by `npm ci` as a
#     dependency of the FHIR validator, package.json);
#   - examples/trials/*.json and the valid fuzz seeds
#     (tests/fuzz/corpus/protocol, those not named bad-*) validate;
#   - each bad-* seed, and a few edits of smoke.json the parser refuses
#     (tests/unit/trial_protocol.c), are invalid under the schema too.
# Args: BIN (unused) SRCDIR.
set -u
SRC=$2
if [ ! -f "$SRC/node_modules/ajv/package.json" ]; then
  echo "FAIL: Ajv missing in $SRC/node_modules: run scripts/install-deps (npm ci)"
  exit 1
fi
exec node - "$SRC" <<'JS'
const fs = require('fs');
const path = require('path');
const src = process.argv[2];
const Ajv = require(path.join(src, 'node_modules/ajv'));
const ajv = new Ajv({ allErrors: true });
const schema = JSON.parse(fs.readFileSync(path.join(src, 'docs/trial-protocol.schema.json'), 'utf8'));
const validate = ajv.compile(schema);
let failed = 0;
function check(name, doc, want) {
  const ok = validate(doc);
  if (ok !== want) {
    failed++;
    console.log(`FAIL: ${name}: schema says ${ok ? 'valid' : 'invalid'}, expected ${want ? 'valid' : 'invalid'}` +
                (ok ? '' : `: ${ajv.errorsText(validate.errors)}`));
  } else {
    console.log(`ok: ${name} ${want ? 'valid' : 'invalid'}`);
  }
}
const read = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));
for (const dir of ['examples/trials', 'tests/fuzz/corpus/protocol']) {
  for (const f of fs.readdirSync(path.join(src, dir)).filter((f) => f.endsWith('.json')).sort())
    check(`${dir}/${f}`, read(path.join(src, dir, f)), !f.startsWith('bad-'));
}
const smoke = () => read(path.join(src, 'examples/trials/smoke.json'));
const edits = {
  'days missing': (p) => { delete p.days; },
  'days "14"': (p) => { p.days = '14'; },
  'size 0': (p) => { p.size = 0; },
  'unknown key dayz': (p) => { p.dayz = 3; },
  'arms[1].kind "mpc"': (p) => { p.arms[1].kind = 'mpc'; },
  'kp on a standard arm': (p) => { p.arms[0].kp = 1; },
  'pid without kd': (p) => { delete p.arms[2].kd; },
  'endpoint "tir70"': (p) => { p.endpoints[1] = 'tir70'; },
  'endpoint twice': (p) => { p.endpoints[1] = 'tir'; },
  'bootstrap 50': (p) => { p.statistics.bootstrap = 50; },
  'named with age_groups': (p) => { p.cohort.age_groups = { adult: 1 }; },
  'named with patients and group': (p) => { p.cohort.patients = ['adult#001']; },
  'subgroup not hypothetical': (p) => { p.cohort.subgroups = [{ label: 'x', proportion: 1, hypothetical: false }]; },
  'meal time "8:00"': (p) => { p.scenario.meals[0].time = '8:00'; },
  'arm name with a space': (p) => { p.arms[0].name = 'my arm'; },
};
for (const [name, edit] of Object.entries(edits)) {
  const p = smoke();
  edit(p);
  check(`smoke.json, ${name}`, p, false);
}
const ok = smoke();
ok.statistics.bootstrap = 0;
check('smoke.json, bootstrap 0', ok, true);
if (failed) {
  console.log(`FAIL: ${failed} file(s) judged differently from the parser`);
  process.exit(1);
}
console.log('PASS');
JS
