/*
** Virtual-trial protocol files (src/twin/trial_protocol.c): the examples in
** examples/trials parse to the values written in them, defaults fill every
** optional field, and each class of error gives one line naming the file,
** the JSON path and what was expected.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "medtwin/error.h"
#include "medtwin/model.h"
#include "medtwin/trial.h"

/* The smallest valid protocol: every required key, nothing optional. */
#define MINIMAL                                                              \
  "{\"name\": \"t\", \"seed\": 5, \"days\": 3, \"size\": 4,"                 \
  " \"cohort\": {\"source\": \"population\"},"                               \
  " \"scenario\": {\"meals\": [{\"time\": \"08:00\", \"grams\": 50}]},"      \
  " \"arms\": [{\"name\": \"a\", \"kind\": \"standard\"},"                   \
  "            {\"name\": \"b\", \"kind\": \"twin\"},"                       \
  "            {\"name\": \"c\", \"kind\": \"pid\", \"kp\": 0.1,"            \
  "             \"ki\": 0.001, \"kd\": 0.2}],"                               \
  " \"endpoints\": [\"tir\", \"tbr70\"], \"primary_endpoint\": \"tbr70\"}"

static char err[MT_ERRMSG_MAX];

static int parse(const char *text, mt_protocol **p)
{
  *p = (mt_protocol *)&err; /* must be reset to NULL on error */
  return mt_protocol_parse(text, strlen(text), "t.json", p, err, sizeof err);
}

static mt_protocol *load_example(const char *file)
{
  char path[512];
  snprintf(path, sizeof path, "%s/examples/trials/%s", MT_SOURCE_DIR, file);
  mt_protocol *p = NULL;
  int rc = mt_protocol_load(path, &p, err, sizeof err);
  cr_assert_eq(rc, 0, "%s: rc %d: %s", file, rc, err);
  cr_assert_not_null(p);
  return p;
}

static int param_index(const char *name)
{
  const mt_model *m = mt_model_find("uva_padova_t1d");
  cr_assert_not_null(m);
  return mt_var_index(m->param, m->n_param, name);
}

Test(trial_protocol, smoke_example_parses_to_its_values)
{
  mt_protocol *p = load_example("smoke.json");
  cr_assert_str_eq(p->name, "smoke");
  cr_assert_str_eq(p->model, "uva_padova_t1d");
  cr_assert_eq(p->seed, 20260101u);
  cr_assert_eq(p->days, 2);
  cr_assert_eq(p->size, 10);
  cr_assert_eq(p->source, MT_TRIAL_NAMED);
  cr_assert_eq(p->n_named, 10);
  const mt_model *m = mt_model_find("uva_padova_t1d");
  for (int i = 0; i < 10; i++) {
    char want[16];
    snprintf(want, sizeof want, "adult#%03d", i + 1);
    cr_assert_str_eq(m->patients->name(p->named[i]), want);
  }
  cr_assert_eq(p->n_subgroup, 0);
  cr_assert_null(p->subgroup);
  cr_assert_eq(p->n_meal, 3);
  cr_assert_eq(p->meal[1].clock_min, 12 * 60 + 30);
  cr_assert_eq(p->meal[1].time_sd_min, 30.0);
  cr_assert_eq(p->meal[2].grams, 80.0);
  cr_assert_eq(p->meal[0].grams_cv, 0.1);
  cr_assert_eq(p->carb_error_sd, 0.2);
  cr_assert_eq(p->carb_error_bias, 0.0);
  cr_assert_eq(p->snacks_per_day, 0.0);
  cr_assert_eq(p->missed_bolus_p, 0.0);
  cr_assert_eq(p->cgm_noise, 1);
  cr_assert_eq(p->n_arm, 3);
  cr_assert_str_eq(p->arm[0].name, "standard");
  cr_assert_eq(p->arm[0].kind, MT_ARM_STANDARD);
  cr_assert_eq(p->arm[0].correction_above_mgdl, 150.0);
  cr_assert_eq(p->arm[0].use_iob, 1);
  cr_assert_eq(p->arm[1].kind, MT_ARM_TWIN);
  cr_assert_eq(p->arm[1].members, 32);
  cr_assert_eq(p->arm[1].horizon_min, 240.0);
  cr_assert_eq(p->arm[1].p70_max, 0.05);
  cr_assert_eq(p->arm[1].step_u, 0.5);
  cr_assert_eq(p->arm[2].kind, MT_ARM_PID);
  cr_assert_eq(p->arm[2].kp, 0.015);
  cr_assert_eq(p->arm[2].ki, 0.000005);
  cr_assert_eq(p->arm[2].kd, 1.5);
  cr_assert(isnan(p->arm[2].basal_u_per_h));
  cr_assert_eq(p->n_endpoint, 7);
  cr_assert_eq(p->endpoint[3], MT_EP_TAR180);
  cr_assert_eq(p->endpoint[6], MT_EP_TDI);
  cr_assert_eq(p->primary, MT_EP_TIR);
  cr_assert_eq(p->level, 0.95);
  cr_assert_eq(p->bootstrap, 200);
  cr_assert_eq(p->bootstrap_seed, 7u);
  cr_assert_eq(p->n_covariate, 2); /* no subgroups: age group and sex */
  cr_assert_eq(p->power, 0.8);
  cr_assert_eq(p->max_trials, 4400);
  mt_protocol_free(p);
}

Test(trial_protocol, headline_example_parses_to_its_values)
{
  mt_protocol *p = load_example("headline.json");
  cr_assert_eq(p->source, MT_TRIAL_POPULATION);
  cr_assert_eq(p->size, 1000);
  cr_assert_eq(p->days, 14);
  cr_assert_eq(p->age[MT_AGE_ADULT], 1.0);
  cr_assert_eq(p->age[MT_AGE_CHILD], 0.0);
  cr_assert_eq(p->n_subgroup, 2);
  cr_assert_str_eq(p->subgroup[1].label, "lower_insulin_sensitivity");
  cr_assert_eq(p->subgroup[1].proportion, 0.2);
  cr_assert_eq(p->subgroup[1].female, 0.5);
  cr_assert_eq(p->subgroup[0].n_shift, 0);
  cr_assert_eq(p->subgroup[1].n_shift, 2);
  cr_assert_str_eq(p->subgroup[1].shift[0].param, "Vmx");
  cr_assert_eq(p->subgroup[1].shift[0].index, param_index("Vmx"));
  cr_assert_eq(p->subgroup[1].shift[0].factor, 0.7);
  cr_assert_eq(p->subgroup[1].shift[1].index, param_index("kp3"));
  cr_assert_geq(p->carb_error_sd, 0.2); /* Brazeau 2013, Kawamura 2015 */
  cr_assert_leq(p->carb_error_sd, 0.3);
  cr_assert_eq(p->snacks_per_day, 0.5);
  cr_assert_eq(p->missed_bolus_p, 0.05);
  cr_assert_eq(p->n_arm, 2);
  cr_assert_eq(p->arm[0].kind, MT_ARM_STANDARD);
  cr_assert_eq(p->arm[1].kind, MT_ARM_TWIN);
  cr_assert_eq(p->n_endpoint, MT_N_ENDPOINT);
  cr_assert_eq(p->bootstrap, 2000);
  cr_assert_eq(p->n_covariate, 2);
  cr_assert_eq(p->covariate[0], MT_COV_SEX);
  cr_assert_eq(p->covariate[1], MT_COV_SUBGROUP);
  cr_assert_eq(p->power, 0.8);
  cr_assert_eq(p->max_trials, 44000);
  mt_protocol_free(p);
}

Test(trial_protocol, defaults_fill_every_optional_field)
{
  mt_protocol *p;
  cr_assert_eq(parse(MINIMAL, &p), 0, "%s", err);
  cr_assert_str_eq(p->model, "uva_padova_t1d");
  cr_assert_eq(p->age[MT_AGE_ADULT], 1.0);
  cr_assert_eq(p->age[MT_AGE_ADOLESCENT], 0.0);
  cr_assert_eq(p->meal[0].clock_min, 480);
  cr_assert_eq(p->meal[0].time_sd_min, 0.0);
  cr_assert_eq(p->meal[0].grams_cv, 0.0);
  cr_assert_eq(p->snack_grams, 15.0);
  cr_assert_eq(p->cgm_noise, 1);
  cr_assert_eq(p->arm[0].target_mgdl, 120.0);
  cr_assert_eq(p->arm[0].correction_above_mgdl, 150.0);
  cr_assert_eq(p->arm[0].use_iob, 1);
  cr_assert_eq(p->arm[1].members, 64);
  cr_assert_eq(p->arm[1].horizon_min, 240.0);
  cr_assert_eq(p->arm[1].p70_max, 0.05);
  cr_assert_eq(p->arm[1].max_bolus_u, 20.0);
  cr_assert_eq(p->arm[1].step_u, 0.5);
  cr_assert_eq(p->arm[2].target_mgdl, 120.0);
  cr_assert(isnan(p->arm[2].basal_u_per_h));
  cr_assert_eq(p->primary, MT_EP_TBR70);
  cr_assert_eq(p->level, 0.95);
  cr_assert_eq(p->bootstrap, 1000);
  cr_assert_eq(p->bootstrap_seed, 5u);
  cr_assert_eq(p->n_covariate, 2);
  cr_assert_eq(p->covariate[0], MT_COV_AGE_GROUP);
  cr_assert_eq(p->covariate[1], MT_COV_SEX);
  cr_assert_eq(p->power, 0.0);
  cr_assert_eq(p->max_trials, 0);
  mt_protocol_free(p);
}

/* ---- a mutated MINIMAL ------------------------------------------------- */

/* The container and last key or index of a path like "arms[1].kind". */
static json_t *walk(json_t *root, const char *path, char *last, int *idx)
{
  json_t *cur = root;
  const char *s = path;
  for (;;) {
    size_t n = strcspn(s, ".[");
    char key[64];
    cr_assert_lt(n, sizeof key);
    memcpy(key, s, n);
    key[n] = '\0';
    s += n;
    *idx = -1;
    if (*s == '[') {
      cur = json_object_get(cur, key);
      *idx = atoi(s + 1);
      s = strchr(s, ']') + 1;
      if (*s == '\0')
        return cur;
      cur = json_array_get(cur, (size_t)*idx);
      s++; /* '.' */
      continue;
    }
    if (*s == '\0') {
      strcpy(last, key);
      return cur;
    }
    cur = json_object_get(cur, key);
    s++;
  }
}

/* MINIMAL with the value at path replaced by json (NULL: removed), parsed;
** the return code, with the message in err. */
static int mutated(const char *path, const char *json)
{
  json_t *root = json_loads(MINIMAL, 0, NULL);
  cr_assert_not_null(root);
  char last[64] = "";
  int idx;
  json_t *parent = walk(root, path, last, &idx);
  cr_assert_not_null(parent, "no parent of %s", path);
  json_t *v = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
  cr_assert(json == NULL || v != NULL, "bad test JSON %s", json);
  if (idx >= 0 && v)
    cr_assert_eq(json_array_size(parent) > (size_t)idx
                     ? json_array_set_new(parent, (size_t)idx, v)
                     : json_array_append_new(parent, v), 0);
  else if (idx >= 0)
    cr_assert_eq(json_array_remove(parent, (size_t)idx), 0);
  else if (v)
    cr_assert_eq(json_object_set_new(parent, last, v), 0);
  else
    cr_assert_eq(json_object_del(parent, last), 0, "no key %s", path);
  char *text = json_dumps(root, 0);
  json_decref(root);
  mt_protocol *p;
  int rc = parse(text, &p);
  free(text);
  if (rc == 0)
    mt_protocol_free(p);
  else
    cr_assert_null(p);
  return rc;
}

static void refused(const char *path, const char *json, const char *msg)
{
  int rc = mutated(path, json);
  cr_assert_eq(rc, MT_EINVAL, "%s = %s: rc %d (%s)", path,
               json ? json : "(removed)", rc, err);
  cr_assert_str_eq(err, msg);
}

Test(trial_protocol, the_mutation_helper_keeps_minimal_valid)
{
  cr_assert_eq(mutated("name", "\"other\""), 0, "%s", err);
  cr_assert_eq(mutated("arms[1].members", "8"), 0, "%s", err);
  cr_assert_eq(mutated("$comment", "\"any\""), 0, "%s", err);
}

Test(trial_protocol, missing_required_keys)
{
  refused("days", NULL, "t.json: days: missing required key");
  refused("name", NULL, "t.json: name: missing required key");
  refused("cohort.source", NULL, "t.json: cohort.source: missing required key");
  refused("scenario.meals", NULL,
          "t.json: scenario.meals: missing required key");
  refused("scenario.meals[0].grams", NULL,
          "t.json: scenario.meals[0].grams: missing required key");
  refused("arms[1].kind", NULL, "t.json: arms[1].kind: missing required key");
  refused("arms[2].ki", NULL, "t.json: arms[2].ki: missing required key");
  refused("primary_endpoint", NULL,
          "t.json: primary_endpoint: missing required key");
}

Test(trial_protocol, wrong_types)
{
  refused("days", "\"14\"", "t.json: days: expected an integer >= 1 and <= "
          "365 (days), got \"14\"");
  refused("days", "2.5", "t.json: days: expected an integer >= 1 and <= "
          "365 (days), got 2.5");
  refused("arms[1].kind", "5", "t.json: arms[1].kind: expected \"standard\", "
          "\"twin\" or \"pid\", got 5");
  refused("arms", "{}", "t.json: arms: expected an array, got {}");
  refused("cohort", "[]", "t.json: cohort: expected an object, got []");
  refused("scenario.cgm_noise", "1", "t.json: scenario.cgm_noise: expected "
          "true or false, got 1");
  refused("arms[2].basal", "\"own\"", "t.json: arms[2].basal: expected "
          "\"patient\" or a number >= 0 and <= 50 (U/h), got \"own\"");
  refused("scenario.meals[0].time", "\"8:00\"", "t.json: scenario.meals[0]."
          "time: expected \"HH:MM\" with HH 00..23 and MM 00..59, got "
          "\"8:00\"");
  cr_assert_eq(mt_protocol_parse("[1]", 3, "t.json", &(mt_protocol *){NULL},
                                 err, sizeof err), MT_EINVAL);
  cr_assert_str_eq(err, "t.json: expected an object at the top level, got "
                   "[1]");
}

Test(trial_protocol, out_of_range)
{
  refused("size", "0", "t.json: size: expected an integer >= 1 and <= "
          "10000000 (patients), got 0");
  refused("days", "366", "t.json: days: expected an integer >= 1 and <= 365 "
          "(days), got 366");
  refused("seed", "-1", "t.json: seed: expected an integer >= 0 and <= "
          "9223372036854775807, got -1");
  refused("arms[1].horizon_min", "4.5", "t.json: arms[1].horizon_min: "
          "expected a number >= 5 and <= 240 (min), got 4.5");
  refused("arms[0].correction_above_mgdl", "110", "t.json: arms[0]."
          "correction_above_mgdl: expected a number >= 120 and <= 400 "
          "(mg/dL, at least target_mgdl), got 110");
  refused("statistics", "{\"level\": 1}", "t.json: statistics.level: "
          "expected a number >= 0.5 and <= 0.999, got 1");
  refused("statistics", "{\"bootstrap\": 50}", "t.json: statistics."
          "bootstrap: expected an integer >= 100 and <= 100000 (resamples, "
          "or 0 for none), got 50");
  cr_assert_eq(mutated("statistics", "{\"bootstrap\": 0}"), 0, "%s", err);
  refused("scenario.carb_count_error", "{\"sd\": 1.5}", "t.json: scenario."
          "carb_count_error.sd: expected a number >= 0 and <= 1 (fraction), "
          "got 1.5");
  refused("arms[1].members", "4", "t.json: arms[1].members: expected an "
          "integer >= 8 and <= 1024, got 4");
}

Test(trial_protocol, unknown_keys_are_named)
{
  refused("dayz", "3", "t.json: dayz: unknown key (expected name, model, "
          "seed, days, size, cohort, scenario, arms, endpoints, "
          "primary_endpoint, statistics, or a key starting with '$')");
  refused("arms[0].kp", "1", "t.json: arms[0].kp: unknown key (expected "
          "name, kind, target_mgdl, correction_above_mgdl, iob, cr_cf, or a "
          "key starting with '$')");
  refused("arms[1].advisor", "{\"p70\": 0.1}", "t.json: arms[1].advisor."
          "p70: unknown key (expected p70_max, max_bolus_u, step_u, or a key "
          "starting with '$')");
  refused("cohort.age_groups", "{\"adults\": 1}", "t.json: cohort.age_groups."
          "adults: unknown key (expected adult, adolescent, child, or a key "
          "starting with '$')");
}

Test(trial_protocol, proportions_must_sum_to_one)
{
  refused("cohort.age_groups", "{\"adult\": 0.5, \"child\": 0.4}",
          "t.json: cohort.age_groups: expected proportions summing to 1 "
          "(within 1e-09), got 0.90000000000000002");
  cr_assert_eq(mutated("cohort.age_groups", "{\"adult\": 0.5, \"child\": "
                       "0.3, \"adolescent\": 0.2}"), 0, "%s", err);
  refused("cohort.subgroups", "[{\"label\": \"x\", \"proportion\": 0.6, "
          "\"hypothetical\": true}, {\"label\": \"y\", \"proportion\": 0.3, "
          "\"hypothetical\": true}]", "t.json: cohort.subgroups: expected "
          "proportions summing to 1 (within 1e-09), got 0.89999999999999991");
  refused("cohort.subgroups", "[{\"label\": \"x\", \"proportion\": 1, "
          "\"sex\": {\"F\": 0.7}, \"hypothetical\": true}]", "t.json: "
          "cohort.subgroups[0].sex: expected proportions summing to 1 "
          "(within 1e-09), got 0.69999999999999996");
}

Test(trial_protocol, subgroups_are_hypothetical_and_shift_known_parameters)
{
  refused("cohort.subgroups", "[{\"label\": \"x\", \"proportion\": 1}]",
          "t.json: cohort.subgroups[0].hypothetical: missing required key "
          "(true: subgroups and their shifts are hypothetical sensitivity "
          "analyses)");
  refused("cohort.subgroups", "[{\"label\": \"x\", \"proportion\": 1, "
          "\"hypothetical\": false}]", "t.json: cohort.subgroups[0]."
          "hypothetical: expected true (subgroups and their shifts are "
          "hypothetical sensitivity analyses), got false");
  refused("cohort.subgroups", "[{\"label\": \"x\", \"proportion\": 1, "
          "\"hypothetical\": true, \"shifts\": {\"Vmxx\": 0.8}}]",
          "t.json: cohort.subgroups[0].shifts.Vmxx: expected the name of a "
          "parameter of uva_padova_t1d");
  refused("cohort.subgroups", "[{\"label\": \"x\", \"proportion\": 1, "
          "\"hypothetical\": true, \"shifts\": {\"Gpb\": 0.8}}]",
          "t.json: cohort.subgroups[0].shifts.Gpb: expected the name of a "
          "primary (not derived) parameter of uva_padova_t1d");
  refused("cohort.subgroups", "[{\"label\": \"x\", \"proportion\": 1, "
          "\"hypothetical\": true, \"shifts\": {\"Vmx\": 20}}]",
          "t.json: cohort.subgroups[0].shifts.Vmx: expected a number >= 0.1 "
          "and <= 10 (factor), got 20");
  refused("cohort.subgroups", "[{\"label\": \"x\", \"proportion\": 0.5, "
          "\"hypothetical\": true}, {\"label\": \"x\", \"proportion\": 0.5, "
          "\"hypothetical\": true}]", "t.json: cohort.subgroups[1].label: "
          "expected a label no earlier subgroup has, got \"x\"");
  refused("statistics", "{\"subgroup_covariates\": [\"sex\", \"subgroup\"]}",
          "t.json: statistics.subgroup_covariates[1]: expected a covariate "
          "the cohort has (\"subgroup\" needs cohort.subgroups), got "
          "\"subgroup\"");
}

Test(trial_protocol, named_cohorts)
{
  refused("cohort", "{\"source\": \"named\", \"patients\": [\"adult#001\", "
          "\"adult#011\"]}", "t.json: cohort.patients[1]: expected a virtual "
          "patient of uva_padova_t1d (adolescent#001 to child#010), got "
          "\"adult#011\"");
  refused("cohort", "{\"source\": \"named\", \"patients\": [\"child#002\", "
          "\"child#002\"]}", "t.json: cohort.patients[1]: expected a patient "
          "not listed before, got \"child#002\"");
  refused("cohort", "{\"source\": \"named\"}", "t.json: cohort: expected "
          "exactly one of patients and group with source \"named\"");
  refused("cohort", "{\"source\": \"named\", \"group\": \"adult\", "
          "\"age_groups\": {\"adult\": 1}}", "t.json: cohort.age_groups: "
          "expected no age_groups with source \"named\" (the patients' own "
          "groups count)");
  refused("cohort", "{\"source\": \"population\", \"group\": \"adult\"}",
          "t.json: cohort.group: expected no group with source "
          "\"population\"");
  refused("cohort", "{\"source\": \"named\", \"group\": \"elderly\"}",
          "t.json: cohort.group: expected \"adult\", \"adolescent\", "
          "\"child\" or \"all\", got \"elderly\"");
  refused("cohort.source", "\"sampled\"", "t.json: cohort.source: expected "
          "\"named\" or \"population\", got \"sampled\"");
  cr_assert_eq(mutated("cohort", "{\"source\": \"named\", \"patients\": "
                       "[\"child#003\", \"adult#001\"]}"), 0, "%s", err);
  cr_assert_eq(mutated("cohort", "{\"source\": \"named\", \"group\": "
                       "\"all\"}"), 0, "%s", err);
}

Test(trial_protocol, arm_names_are_unique_and_plain)
{
  refused("arms[1].name", "\"a\"", "t.json: arms[1].name: expected a name no "
          "earlier arm has, got \"a\"");
  refused("arms[0].name", "\"my arm\"", "t.json: arms[0].name: expected a "
          "name of 1 to 32 letters, digits, '_', '.' or '-', got \"my arm\"");
  refused("arms", "[]", "t.json: arms: expected 1 to 8 arms, got []");
}

Test(trial_protocol, endpoints_come_from_the_list)
{
  refused("endpoints[1]", "\"tir70\"", "t.json: endpoints[1]: expected "
          "\"tir\", \"tbr70\", \"tbr54\", \"tar180\", \"tar250\", \"mean\", "
          "\"cv\", \"gmi\", \"hypo_events_per_week\" or \"tdi\", got "
          "\"tir70\"");
  refused("endpoints[1]", "\"tir\"", "t.json: endpoints[1]: expected a name "
          "not listed before, got \"tir\"");
  refused("primary_endpoint", "\"cv\"", "t.json: primary_endpoint: expected "
          "one of the endpoints listed, got \"cv\"");
  refused("endpoints", "[]", "t.json: endpoints: expected an array of 1 to "
          "10 names, got []");
}

Test(trial_protocol, json_and_file_errors)
{
  mt_protocol *p = (mt_protocol *)&err;
  const char *dup = "{\"name\": \"a\", \"name\": \"b\"}";
  cr_assert_eq(mt_protocol_parse(dup, strlen(dup), "d.json", &p, err,
                                 sizeof err), MT_EPARSE);
  cr_assert_null(p);
  cr_assert(strstr(err, "d.json: line 1, column ") == err, "%s", err);
  cr_assert(strstr(err, "duplicate object key"), "%s", err);
  const char *huge = "{\"name\": \"a\", \"seed\": 1e400}";
  cr_assert_eq(mt_protocol_parse(huge, strlen(huge), "h.json", &p, err,
                                 sizeof err), MT_EPARSE);
  cr_assert(strstr(err, "h.json: line 1, column ") == err, "%s", err);
  cr_assert_eq(mt_protocol_load("/nonexistent/x.json", &p, err, sizeof err),
               MT_EIO);
  cr_assert_null(p);
  cr_assert(strstr(err, "/nonexistent/x.json"), "%s", err);
  mt_protocol_free(NULL);
}

/* Every refusal above is one line starting with the file's name. */
Test(trial_protocol, every_message_is_one_line_naming_the_file)
{
  static const char *const cases[][2] = {
    {"days", NULL}, {"arms[1].kind", "\"mpc\""}, {"size", "1e7"},
    {"cohort.source", "[\"\\n\"]"}, {"name", "\"a\\nb\""},
    {"dayz\n", "1"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cr_assert_neq(mutated(cases[i][0], cases[i][1]), 0, "%s", cases[i][0]);
    cr_assert(strncmp(err, "t.json: ", 8) == 0, "%s", err);
    cr_assert_null(strchr(err, '\n'), "%s", err);
  }
}

/* The fuzz seeds (tests/fuzz/corpus/protocol) are what their names say:
** the valid ones reach the invariants, the bad ones one refusal each. */
Test(trial_protocol, fuzz_seeds_parse_or_are_refused_as_named)
{
  static const char *const good[] = {"minimal.json", "named-list.json",
                                     "population-ages.json"};
  static const char *const bad[][2] = {
    {"bad-kind.json", "arms[0].kind: expected \"standard\", \"twin\" or "
                      "\"pid\", got \"mpc\""},
    {"bad-proportions.json", "cohort.age_groups: expected proportions "
                             "summing to 1 (within 1e-09), got "
                             "0.90000000000000002"}};
  char path[512], want[600];
  mt_protocol *p;
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/protocol/%s",
             MT_SOURCE_DIR, good[i]);
    cr_assert_eq(mt_protocol_load(path, &p, err, sizeof err), 0, "%s", err);
    mt_protocol_free(p);
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/protocol/%s",
             MT_SOURCE_DIR, bad[i][0]);
    snprintf(want, sizeof want, "%s: %s", path, bad[i][1]);
    cr_assert_eq(mt_protocol_load(path, &p, err, sizeof err), MT_EINVAL);
    cr_assert_str_eq(err, want);
  }
}
