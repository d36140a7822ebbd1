/*
** Scenario files (JSON): a day of meals, boluses and basal changes for a
** metabolic model. Format: docs/scenario.md, schema docs/scenario.schema.json.
** Bounds enforced by the parser: duration_min in (0, 525600] (a year), event
** t_min in [0, duration_min), event duration_min in (0, 525600], grams in
** [0, 500] per meal, units in [0, 100] per bolus, u_per_h in [0, 50], percent
** in [0, 500]; keys starting with '$' are ignored, any other unknown key is an
** error.
*/
#ifndef MEDTWIN_SCENARIO_H
#define MEDTWIN_SCENARIO_H

#include <stddef.h>
#include "medtwin/patient.h"
#include "medtwin/schedule.h"

typedef enum mt_event_type {
  MT_EV_MEAL = 0,
  MT_EV_BOLUS,
  MT_EV_BASAL,
  MT_EV_TEMP_BASAL,
  MT_EV_DOSE            /* a drug dose for a heart model (drug, amount) */
} mt_event_type;

#define MT_DRUG_NAME_MAX 32 /* bytes of a dose's drug name, with the NUL */

typedef struct mt_scenario_event {
  mt_event_type type;
  double t_min;        /* start, minutes from the start of the run */
  double duration_min; /* meal, bolus, temp_basal; 0 for basal */
  double grams;        /* meal: total carbohydrate, g */
  double units;        /* bolus: total insulin, U */
  double u_per_h;      /* basal: new basal rate, U/h */
  double percent;      /* temp_basal: percent of the basal in force */
  int carb_ratio_bolus; /* meal: add a bolus of grams / CR at its start */
  char drug[MT_DRUG_NAME_MAX]; /* dose: the model's input it goes to */
  double amount;       /* dose: total given over duration_min, in the
                          input's amount unit (mg, ug) */
} mt_scenario_event;

typedef struct mt_scenario {
  double duration_min;
  int start_clock_min; /* clock time of t = 0, minutes after midnight */
  int baroreflex;      /* a heart model's baroreflex: 1 on, 0 off, -1 not
                          given (the model's default, off) */
  int n_event;
  mt_scenario_event *event; /* n_event, sorted by t_min, stable (ties keep
                               file order); NULL when there are none */
} mt_scenario;

/*
** Parse a scenario from JSON text of len bytes (need not be NUL-terminated).
** `name` names the input in messages (the file path). On error returns
** MT_EPARSE (not JSON, with jansson's line and column; duplicate keys count),
** MT_EINVAL (a field is wrong) or MT_ENOMEM, writes one line naming the file,
** the field path and what was expected, e.g.
**   day.json: events[2].grams: expected a number >= 0 and <= 500 (g), got "5"
** into err (truncated to errlen; err may be NULL), and *out is NULL. Free the
** result with mt_scenario_free().
*/
int mt_scenario_parse(const char *json, size_t len, const char *name,
                      mt_scenario **out, char *err, size_t errlen);
/* Read and parse a file (at most 16 MiB); MT_EIO with strerror's text if it
** cannot be read, otherwise as mt_scenario_parse() with name = path. */
int mt_scenario_load(const char *path, mt_scenario **out, char *err,
                     size_t errlen);
void mt_scenario_free(mt_scenario *sc); /* NULL-safe */

/*
** Schedule for a patient of a model with inputs "CHO" (g/min) and "insulin"
** (U/min). Meals are pulses on CHO delivered in one-minute bites; boluses
** pulses on insulin; basal sets the level of insulin; temp_basal scales it.
** Before the first basal event insulin sits at the model's basal value (see
** mt_schedule_compile); events running past the end are cut by the compile.
** Needs the patient's CR (finite, > 0) for carb-ratio boluses. Returns 0,
** MT_EINVAL (no such inputs, no CR) or MT_ENOMEM with a message in err; on
** error *out is NULL. The caller frees the schedule with mt_schedule_free().
*/
int mt_scenario_schedule(const mt_scenario *sc, const mt_patient *pt,
                         mt_schedule **out, char *err, size_t errlen);

/*
** Schedule of drug doses for a model whose time unit is the second (a heart
** model): each dose event is a pulse of amount / duration on the input
** named by its drug, from t_min to t_min + duration_min (converted to s).
** Returns 0, MT_EINVAL (an event that is not a dose, a drug the model has
** no input for) or MT_ENOMEM with a message in err; on error *out is NULL.
*/
int mt_scenario_schedule_doses(const mt_scenario *sc, const mt_model *m,
                               mt_schedule **out, char *err, size_t errlen);

#endif
