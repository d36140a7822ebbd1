/*
** medtwin twin whatif: a twin follows a stream up to a time, then candidate
** actions (and optionally the bolus advisor) run on its ensemble; ranked
** outcomes as text or JSON (docs/cli.md), trajectories as SVG.
*/
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/whatif.h"

#define MAX_ACTIONS 32
#define MAX_CAND 64

typedef struct wopts {
  const char *stream, *actions, *svg;
  double at;
  int json, has_at;
  char group[32];
  mt_twin_config cfg;
} wopts;

typedef struct wplan {
  mt_action a[MAX_ACTIONS];
  int n;
  double meal_g;
  int advise;
  double carbs_g, p70_max, max_u, step_u;
} wplan;

static const char usage_text[] =
    "usage: medtwin twin whatif --stream IN.csv --at T --actions ACTIONS.json\n"
    "       [--svg OUT.svg] [--json] [--exclude NAME] [--group G] [--seed N]\n"
    "       [--members N]\n";

static int parse_wopt(void *ctx, const char *a, const char *v)
{
  wopts *o = ctx;
  char *end = NULL;
  if (!strcmp(a, "--stream")) o->stream = v;
  else if (!strcmp(a, "--actions")) o->actions = v;
  else if (!strcmp(a, "--svg")) o->svg = v;
  else if (!strcmp(a, "--exclude")) o->cfg.exclude = v;
  else if (!strcmp(a, "--group")) snprintf(o->group, sizeof o->group, "%s", v);
  else if (!strcmp(a, "--at")) {
    o->at = strtod(v, &end), o->has_at = 1;
    if (end == v || *end || !(o->at >= 0) || !isfinite(o->at))
      return cli_fail(EXIT_USAGE, "twin whatif: --at: expected minutes "
                      ">= 0 on the stream's clock, got '%s'", v);
  } else if (!strcmp(a, "--seed") || !strcmp(a, "--members")) {
    long n = strtol(v, &end, 10);
    int seed = !strcmp(a, "--seed");
    if (end == v || *end || n < (seed ? 0 : 4) ||
        n > (seed ? 2147483647L : 4096))
      return cli_fail(EXIT_USAGE, "twin whatif: %s: expected an integer "
                      "(%s), got '%s'", a, seed ? ">= 0" : "4-4096", v);
    if (seed)
      o->cfg.seed = (uint64_t)n;
    else
      o->cfg.members = (int)n;
  } else
    return cli_fail(EXIT_USAGE, "twin whatif: unknown option '%s'", a);
  return 0;
}

static int parse_wopts(int argc, char **argv, wopts *o)
{
  memset(o, 0, sizeof *o);
  mt_twin_config_init(&o->cfg);
  int rc = cli_parse(argc, argv, "twin whatif", usage_text, &o->json,
                     parse_wopt, o);
  if (rc)
    return rc;
  if (!o->stream || !o->actions || !o->has_at)
    return cli_fail(EXIT_USAGE, "twin whatif: --stream, --at and --actions "
                    "are required (run 'medtwin twin whatif --help')");
  if (!o->group[0])
    snprintf(o->group, sizeof o->group, "%.*s",
             o->cfg.exclude ? (int)strcspn(o->cfg.exclude, "#") : 5,
             o->cfg.exclude ? o->cfg.exclude : "adult");
  o->cfg.group = o->group;
  return 0;
}

/* A number member of object o, or def when absent; -1 when present and not
** a number. */
static int num(json_t *o, const char *key, double def, double *out)
{
  json_t *v = json_object_get(o, key);
  *out = def;
  if (!v)
    return 0;
  if (!json_is_number(v))
    return -1;
  *out = json_number_value(v);
  return 0;
}

static int bad_field(const char *file, const char *where, const char *field,
                     const char *expect)
{
  return cli_fail(EXIT_USAGE, "%s: %s%s%s: %s", file, where,
                  *where ? "." : "", field, expect);
}

/* One element of "actions". */
static int parse_action(const char *file, json_t *e, int k, mt_action *a)
{
  char where[32];
  snprintf(where, sizeof where, "actions[%d]", k);
  const char *type = json_string_value(json_object_get(e, "type"));
  if (!json_is_object(e) || !type)
    return bad_field(file, where, "type", "expected nothing, bolus, carbs or "
                     "temp_basal");
  static const char *const amount_key[MT_ACTION_NKIND] = {NULL, "units",
                                                          "grams", "percent"};
  int kind = -1;
  for (int j = 0; j < MT_ACTION_NKIND; j++)
    if (!strcmp(type, mt_action_kind_name((mt_action_kind)j)))
      kind = j;
  if (kind < 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "expected nothing, bolus, carbs or temp_basal, "
             "got \"%.40s\"", type);
    return bad_field(file, where, "type", msg);
  }
  memset(a, 0, sizeof *a);
  a->kind = (mt_action_kind)kind;
  const char *key = amount_key[kind];
  if (key && (num(e, key, NAN, &a->amount) || isnan(a->amount)))
    return bad_field(file, where, key, "expected a number");
  if (kind == MT_ACTION_TEMP_BASAL &&
      (num(e, "duration_min", NAN, &a->duration_min) ||
       isnan(a->duration_min)))
    return bad_field(file, where, "duration_min", "expected a number");
  const char *why = mt_action_check(a);
  if (why) { /* "amount: expected ..." names the JSON key instead */
    const char *rest = strchr(why, ':');
    return bad_field(file, where, !strncmp(why, "amount", 6) ? key
                     : "duration_min", rest ? rest + 2 : why);
  }
  return 0;
}

static int parse_plan(const char *file, wplan *pl)
{
  char *text, err[MT_ERRMSG_MAX];
  size_t len;
  memset(pl, 0, sizeof *pl);
  if (mt_file_read(file, &text, &len, err, sizeof err))
    return cli_fail(EXIT_USAGE, "%s", err);
  json_error_t je;
  json_t *root = json_loadb(text, len, 0, &je);
  free(text);
  if (!root)
    return cli_fail(EXIT_USAGE, "%s: line %d: %s", file, je.line, je.text);
  int rc = 0;
  json_t *acts = json_object_get(root, "actions"), *adv;
  if (!json_is_object(root) || (acts && !json_is_array(acts)))
    rc = bad_field(file, "", "actions", "expected an array of actions");
  else if (num(root, "meal_g", 0, &pl->meal_g) || !(pl->meal_g >= 0 &&
                                                    pl->meal_g <= 500))
    rc = bad_field(file, "", "meal_g", "expected 0 to 500 g");
  else if (json_array_size(acts) > MAX_ACTIONS)
    rc = bad_field(file, "", "actions", "expected at most 32 actions");
  for (size_t k = 0; !rc && acts && k < json_array_size(acts); k++)
    rc = parse_action(file, json_array_get(acts, k), (int)k, &pl->a[pl->n++]);
  if (!rc && (adv = json_object_get(root, "advise"))) {
    pl->advise = 1;
    if (!json_is_object(adv) || num(adv, "carbs_g", NAN, &pl->carbs_g) ||
        !(pl->carbs_g > 0 && pl->carbs_g <= 500))
      rc = bad_field(file, "advise", "carbs_g", "expected 0 < g <= 500");
    else if (num(adv, "p_below70_max", MT_WHATIF_P70_BOUND, &pl->p70_max) ||
             !(pl->p70_max >= 0 && pl->p70_max <= 1))
      rc = bad_field(file, "advise", "p_below70_max", "expected 0 to 1");
    else if (num(adv, "max_units", 15, &pl->max_u) ||
             !(pl->max_u > 0 && pl->max_u <= 25))
      rc = bad_field(file, "advise", "max_units", "expected 0 < U <= 25");
    else if (num(adv, "step_units", 0.5, &pl->step_u) ||
             !(pl->step_u >= pl->max_u / (MAX_CAND - 1) && pl->step_u > 0))
      rc = bad_field(file, "advise", "step_units", "expected a step giving "
                     "at most 64 candidates");
  }
  if (!rc && !pl->n && !pl->advise)
    rc = bad_field(file, "", "actions", "expected at least one action or "
                   "an advise object");
  json_decref(root);
  return rc;
}

static json_t *result_json(const mt_whatif *r, int rank)
{
  char label[48];
  mt_action_label(&r->action, label, sizeof label);
  json_t *o = json_object(), *tr = json_object();
  static const char *const qk[5] = {"p025", "p10", "p50", "p90", "p975"};
  json_t *t = json_array();
  for (int k = 0; k < MT_WHATIF_NT; k++)
    json_array_append_new(t, json_real(r->t_min[k]));
  json_object_set_new(tr, "t_min", t);
  for (int q = 0; q < 5; q++) {
    json_t *a = json_array();
    for (int k = 0; k < MT_WHATIF_NT; k++)
      json_array_append_new(a, json_real(r->q[k][q]));
    json_object_set_new(tr, qk[q], a);
  }
  if (rank > 0)
    json_object_set_new(o, "rank", json_integer(rank));
  json_object_set_new(o, "type",
                      json_string(mt_action_kind_name(r->action.kind)));
  json_object_set_new(o, "amount", json_real(r->action.amount));
  json_object_set_new(o, "duration_min", json_real(r->action.duration_min));
  json_object_set_new(o, "label", json_string(label));
  json_object_set_new(o, "tir", json_real(r->tir));
  json_object_set_new(o, "p_below70", json_real(r->p_below70));
  json_object_set_new(o, "p_below54", json_real(r->p_below54));
  json_object_set_new(o, "mean_mgdl", json_real(r->mean_mgdl));
  json_object_set_new(o, "reason", json_string(r->reason));
  json_object_set_new(o, "bg_mgdl", tr);
  return o;
}

/* Text for an SVG element: &, < and > escaped. */
static void svg_text(FILE *f, const char *s)
{
  for (; *s; s++)
    if (*s == '<')
      fputs("&lt;", f);
    else if (*s == '>')
      fputs("&gt;", f);
    else if (*s == '&')
      fputs("&amp;", f);
    else
      fputc(*s, f);
}

/* Ranked candidates side by side: median and 10-90 % band of each, the
** target range shaded. */
static void write_svg(FILE *f, const mt_whatif *r, int n, double t0)
{
  static const char *const col[8] = {"#1b6ca8", "#c0392b", "#27ae60",
                                     "#8e44ad", "#d35400", "#16a085",
                                     "#7f8c8d", "#2c3e50"};
  const double W = 960, H = 380, L = 60, R = 390, T = 30, B = 40;
  double lo = 40, hi = 300;
  for (int j = 0; j < n; j++)
    for (int k = 0; k < MT_WHATIF_NT; k++)
      hi = fmax(hi, fmin(r[j].q[k][3], 500));
#define X(t) (L + ((t) - t0) / 240.0 * (W - L - R))
#define Y(g) (T + (hi - fmin(fmax((g), lo), hi)) / (hi - lo) * (H - T - B))
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" "
          "height=\"%g\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
  fprintf(f, "<title>medtwin what-if: ranked actions</title>\n");
  fprintf(f, "<rect x=\"%g\" y=\"%.1f\" width=\"%g\" height=\"%.1f\" "
          "fill=\"#e8f5e9\"/>\n", L, Y(180), W - L - R, Y(70) - Y(180));
  for (double g = 50; g <= hi; g += 50)
    fprintf(f, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
            L - 6, Y(g) + 4, g);
  for (int h = 0; h <= 4; h++)
    fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">+%d h"
            "</text>\n", X(t0 + 60 * h), H - B + 16, h);
  fprintf(f, "<text x=\"14\" y=\"%g\" transform=\"rotate(-90 14 %g)\">"
          "plasma glucose, mg/dL</text>\n", H / 2, H / 2);
  for (int j = n - 1; j >= 0; j--) {
    const char *c = col[j % 8];
    fprintf(f, "<path fill=\"%s\" fill-opacity=\"0.12\" d=\"", c);
    for (int k = 0; k < MT_WHATIF_NT; k++)
      fprintf(f, "%s%.1f %.1f", k ? " L" : "M", X(r[j].t_min[k]),
              Y(r[j].q[k][1]));
    for (int k = MT_WHATIF_NT - 1; k >= 0; k--)
      fprintf(f, " L%.1f %.1f", X(r[j].t_min[k]), Y(r[j].q[k][3]));
    fprintf(f, " Z\"/>\n<polyline fill=\"none\" stroke=\"%s\" "
            "stroke-width=\"2\" points=\"", c);
    for (int k = 0; k < MT_WHATIF_NT; k++)
      fprintf(f, "%.1f,%.1f ", X(r[j].t_min[k]), Y(r[j].q[k][2]));
    fprintf(f, "\"/>\n<text x=\"%g\" y=\"%g\" fill=\"%s\" "
            "font-size=\"11\">%d. ", W - R + 10, T + 16.0 * j, c, j + 1);
    svg_text(f, r[j].reason);
    fputs("</text>\n", f);
  }
#undef X
#undef Y
  fprintf(f, "</svg>\n");
}

static int feed_until(mt_twin *tw, const mt_stream *st, double at,
                      const char *name)
{
  for (int i = 0; i < st->n && st->d[i].t_min <= at; i++) {
    const char *why;
    if (mt_twin_ingest(tw, &st->d[i], &why) < 0)
      return cli_fail(EXIT_RUNTIME, "%s: line %d: %s", name, st->d[i].line,
                      mt_twin_errmsg(tw));
  }
  if (isnan(mt_twin_time(tw)))
    return cli_fail(EXIT_USAGE, "%s: no CGM reading at or before --at %g",
                    name, at);
  return 0;
}

static void print_text(const wopts *o, mt_twin *tw, const mt_whatif *r, int n,
                       const wplan *pl, const mt_whatif *best, int met)
{
  printf("medtwin %s what-if at t = %g min (twin's last reading), %d "
         "members, 4 h ahead\n", MT_VERSION, mt_twin_time(tw),
         o->cfg.members);
  for (int j = 0; j < n; j++)
    printf("%2d. %s\n", j + 1, r[j].reason);
  if (pl->advise)
    printf("advice for %g g: %s%s\n", pl->carbs_g,
           best->action.kind == MT_ACTION_BOLUS ? "" : "no bolus; ",
           met ? best->reason
               : "no bolus keeps P(<70) within the bound: eat, and ask");
}

int cmd_twin_whatif(int argc, char **argv)
{
  wopts o;
  wplan pl;
  char err[MT_ERRMSG_MAX];
  int rc = parse_wopts(argc, argv, &o);
  if (rc || (rc = parse_plan(o.actions, &pl)))
    return rc;
  mt_stream st;
  if (mt_stream_load(o.stream, &st, err, sizeof err))
    return cli_fail(EXIT_USAGE, "%s", err);
  mt_twin *tw = NULL;
  mt_whatif *r = calloc(MAX_ACTIONS + MAX_CAND, sizeof *r), best;
  int met = 0, nc = 0;
  if (!r)
    rc = cli_fail(EXIT_RUNTIME, "twin whatif: out of memory");
  if (!rc && mt_twin_create(&o.cfg, &tw, err, sizeof err))
    rc = cli_fail(EXIT_USAGE, "%s", err);
  if (!rc)
    rc = feed_until(tw, &st, o.at, o.stream);
  if (!rc && pl.n && mt_whatif_run(tw, pl.a, pl.n, pl.meal_g, r, err,
                                   sizeof err))
    rc = cli_fail(EXIT_RUNTIME, "%s", err);
  if (!rc && pl.advise &&
      mt_whatif_advise(tw, pl.carbs_g, pl.p70_max, pl.max_u, pl.step_u, &best,
                       &met, r + MAX_ACTIONS, MAX_CAND, &nc, err, sizeof err))
    rc = cli_fail(EXIT_RUNTIME, "%s", err);
  if (!rc)
    mt_whatif_rank(r, pl.n);
  mt_afile *f = NULL;
  if (!rc && o.svg) {
    if (mt_afile_open(o.svg, &f, err, sizeof err) ||
        (write_svg(mt_afile_stream(f), pl.n ? r : r + MAX_ACTIONS,
                   pl.n ? (pl.n < 8 ? pl.n : 8) : (nc < 8 ? nc : 8),
                   mt_twin_time(tw)),
         mt_afile_commit(f, err, sizeof err)))
      rc = cli_fail(EXIT_RUNTIME, "%s", err);
  }
  if (!rc && !o.json)
    print_text(&o, tw, r, pl.n, &pl, &best, met);
  if (!rc && o.json) {
    json_t *j = json_object(), *ranked = json_array();
    json_object_set_new(j, "medtwin_version", json_string(MT_VERSION));
    json_object_set_new(j, "at", json_real(o.at));
    json_object_set_new(j, "t_min", json_real(mt_twin_time(tw)));
    json_object_set_new(j, "members", json_integer(o.cfg.members));
    json_object_set_new(j, "horizon_min", json_real(240));
    json_object_set_new(j, "meal_g", json_real(pl.meal_g));
    for (int k = 0; k < pl.n; k++)
      json_array_append_new(ranked, result_json(&r[k], k + 1));
    json_object_set_new(j, "ranked", ranked);
    if (pl.advise) {
      json_t *a = json_object(), *c = json_array();
      json_object_set_new(a, "carbs_g", json_real(pl.carbs_g));
      json_object_set_new(a, "p_below70_max", json_real(pl.p70_max));
      json_object_set_new(a, "met_bound", json_boolean(met));
      json_object_set_new(a, "recommended_units",
                          json_real(best.action.amount));
      json_object_set_new(a, "recommended", result_json(&best, 0));
      for (int k = 0; k < nc; k++) {
        const mt_whatif *x = &r[MAX_ACTIONS + k];
        json_array_append_new(c, json_pack("{s:f, s:f, s:f, s:f}", "units",
                                           x->action.amount, "tir", x->tir,
                                           "p_below70", x->p_below70,
                                           "p_below54", x->p_below54));
      }
      json_object_set_new(a, "candidates", c);
      json_object_set_new(j, "advice", a);
    }
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    putchar('\n');
    json_decref(j);
  }
  mt_twin_free(tw);
  mt_stream_clear(&st);
  free(r);
  return rc;
}
