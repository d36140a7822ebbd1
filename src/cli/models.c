/* medtwin models [show NAME] [--json]: the model registry and each model's
** variables with units, bounds and meaning. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "medtwin/model.h"

static void print_vars(const char *title, const mt_var *v, int n)
{
  if (n == 0)
    return;
  printf("\n%s (%d)\n  %-10s %-22s %-12s %-12s %s\n", title, n, "name",
         "unit", "lo", "hi", "meaning");
  for (int i = 0; i < n; i++)
    printf("  %-10s %-22s %-12.6g %-12.6g %s%s%s\n", v[i].name, v[i].unit,
           v[i].lo, v[i].hi, v[i].doc,
           v[i].flags & MT_VAR_ESTIMABLE ? " [estimable]" : "",
           v[i].flags & MT_VAR_DERIVED ? " [derived]" : "");
}

static json_t *vars_json(const mt_var *v, int n)
{
  json_t *a = json_array();
  for (int i = 0; i < n; i++)
    json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:f, s:f, s:b, s:b}",
        "name", v[i].name, "unit", v[i].unit, "doc", v[i].doc, "lo", v[i].lo,
        "hi", v[i].hi, "estimable", (v[i].flags & MT_VAR_ESTIMABLE) != 0,
        "derived", (v[i].flags & MT_VAR_DERIVED) != 0));
  return a;
}

static json_t *model_json(const mt_model *m, int full)
{
  json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i}",
      "name", m->name, "doc", m->doc, "time_unit", m->time_unit,
      "reference", m->reference ? m->reference : "", "n_state", m->n_state,
      "n_param", m->n_param, "n_input", m->n_input, "n_obs", m->n_obs,
      "n_patients", m->patients ? m->patients->n : 0);
  if (!full)
    return o;
  json_object_set_new(o, "states", vars_json(m->state, m->n_state));
  json_object_set_new(o, "parameters", vars_json(m->param, m->n_param));
  json_object_set_new(o, "inputs", vars_json(m->input, m->n_input));
  json_object_set_new(o, "observables", vars_json(m->obs, m->n_obs));
  json_t *pts = json_array();
  for (int i = 0; m->patients && i < m->patients->n; i++)
    json_array_append_new(pts, json_string(m->patients->name(i)));
  json_object_set_new(o, "patients", pts);
  return o;
}

static int emit_json(json_t *o)
{
  int rc = json_dumpf(o, stdout, JSON_INDENT(2)) == 0 ? EXIT_OK : EXIT_RUNTIME;
  json_decref(o);
  putchar('\n');
  return rc;
}

static int show(const mt_model *m, int as_json)
{
  if (as_json)
    return emit_json(model_json(m, 1));
  printf("%s — %s\ntime unit: %s\nreference: %s\n", m->name, m->doc,
         m->time_unit, m->reference ? m->reference : "-");
  print_vars("states", m->state, m->n_state);
  print_vars("parameters", m->param, m->n_param);
  print_vars("inputs", m->input, m->n_input);
  print_vars("observables", m->obs, m->n_obs);
  if (m->patients) {
    printf("\nvirtual patients (%d)\n ", m->patients->n);
    for (int i = 0; i < m->patients->n; i++)
      printf(" %s%s", m->patients->name(i), i % 5 == 4 ? "\n " : "");
    putchar('\n');
  }
  return EXIT_OK;
}

int cmd_models(int argc, char **argv)
{
  int as_json = 0;
  const char *name = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json"))
      as_json = 1;
    else if (!strcmp(argv[i], "--help")) {
      printf("usage: medtwin models [--json]\n"
             "       medtwin models show NAME [--json]\n");
      return EXIT_OK;
    } else if (!strcmp(argv[i], "show") && i + 1 < argc && !name)
      name = argv[++i];
    else
      return cli_fail(EXIT_USAGE, "models: unexpected argument '%s' "
                      "(expected 'show NAME' or --json)", argv[i]);
  }
  if (name) {
    const mt_model *m = mt_model_find(name);
    if (!m)
      return cli_fail(EXIT_USAGE, "models: unknown model '%s' (run 'medtwin "
                      "models' for the list)", name);
    return show(m, as_json);
  }
  if (as_json) {
    json_t *a = json_array();
    for (int i = 0; i < mt_model_count(); i++)
      json_array_append_new(a, model_json(mt_model_at(i), 0));
    return emit_json(a);
  }
  for (int i = 0; i < mt_model_count(); i++) {
    const mt_model *m = mt_model_at(i);
    printf("%-18s %s (%d states, %d parameters, %d patients)\n", m->name,
           m->doc, m->n_state, m->n_param, m->patients ? m->patients->n : 0);
  }
  return EXIT_OK;
}
