/* Observation codes and units normalised on the way in (codes.h). */
#include <math.h>
#include <string.h>

#include "medtwin/codes.h"
#include "medtwin/import.h"

typedef struct conv {
  const char *unit;
  double factor;
} conv;

typedef struct coded {
  const char *code, *canon, *unit;
  conv units[4];     /* accepted units and their factors to the canonical */
  double lo, hi;     /* possible values, canonical unit (lo inclusive) */
  double plo, phi;   /* plausible values; outside: flagged */
} coded;

#define MMOL MT_MGDL_PER_MMOLL
static const coded table[] = {
    {"99504-3", "99504-3", "mg/dL", {{"mg/dL", 1}, {"mmol/L", MMOL}},
     0, INFINITY, 20, 1000},
    {"105272-9", "99504-3", "mg/dL", {{"mmol/L", MMOL}, {"mg/dL", 1}},
     0, INFINITY, 20, 1000},
    {"2339-0", "2339-0", "mg/dL", {{"mg/dL", 1}, {"mmol/L", MMOL}},
     0, INFINITY, 20, 1000},
    {"15074-8", "2339-0", "mg/dL", {{"mmol/L", MMOL}, {"mg/dL", 1}},
     0, INFINITY, 20, 1000},
    {"8867-4", "8867-4", "/min",
     {{"/min", 1}, {"{beat}/min", 1}, {"{beats}/min", 1}}, 0, INFINITY, 20,
     250},
    {"8480-6", "8480-6", "mm[Hg]", {{"mm[Hg]", 1}}, 0, INFINITY, 50, 260},
    {"8462-4", "8462-4", "mm[Hg]", {{"mm[Hg]", 1}}, 0, INFINITY, 20, 160},
    {"8478-0", "8478-0", "mm[Hg]", {{"mm[Hg]", 1}}, 0, INFINITY, 20, 250},
    {"10230-1", "10230-1", "%", {{"%", 1}}, 0, 100, 5, 90},
    {"8741-1", "8741-1", "L/min", {{"L/min", 1}}, 0, INFINITY, 0.5, 20},
    {"2708-6", "59408-5", "%", {{"%", 1}}, 0, 100, 80, 100},
    {"59408-5", "59408-5", "%", {{"%", 1}}, 0, 100, 80, 100},
    {"4548-4", "4548-4", "%", {{"%", 1}}, 0, 100, 3, 20},
    {"9059-7", "9059-7", "g", {{"g", 1}}, 0, INFINITY, 0, 500},
    {"29463-7", "29463-7", "kg",
     {{"kg", 1}, {"g", 0.001}, {"[lb_av]", 0.45359237}}, 0, INFINITY, 0.3,
     400},
};

int mt_norm_is_bp_panel(const char *code)
{
  return code && (!strcmp(code, "85354-9") || !strcmp(code, "55284-4"));
}

int mt_norm_quantity(const char *code, double value, const char *unit,
                     mt_norm_obs *out, const char **why)
{
  const coded *c = NULL;
  for (size_t k = 0; code && k < sizeof table / sizeof *table; k++)
    if (!strcmp(code, table[k].code))
      c = &table[k];
  if (!c)
    return 0;
  const conv *u = NULL;
  for (int k = 0; unit && k < 4 && c->units[k].unit; k++)
    if (!strcmp(unit, c->units[k].unit))
      u = &c->units[k];
  if (!u) {
    *why = !strcmp(c->code, "4548-4")
               ? "unit: HbA1c 4548-4 is in % (NGSP); mmol/mol (IFCC) is "
                 "LOINC 59261-8"
               : "unit: not a unit accepted for this code";
    return -1;
  }
  double v = value * u->factor;
  if (!isfinite(v) || v < c->lo || v > c->hi) {
    *why = "value: physically impossible for this code";
    return -1;
  }
  out->code = c->canon;
  out->unit = c->unit;
  out->value = v;
  out->flagged = v < c->plo || v > c->phi;
  return 1;
}
