/*
** How the live twin reads a model's data: a table keyed by model name
** (src/twin/twin_spec.c). The model and data files stay as they are; the
** twin (src/twin/twin.c) is generic over this description.
*/
#ifndef MEDTWIN_TWIN_SPEC_H
#define MEDTWIN_TWIN_SPEC_H

#include "medtwin/stream.h"
#include "medtwin/twin.h"

/* A reading kind: the model observable it measures and its noise. */
typedef struct mt_twin_spec_obs {
  mt_stream_kind kind;
  const char *obs;      /* the model observable's name */
  double sd_abs, sd_rel; /* Gaussian noise SD = sd_abs + sd_rel |y|, in the
                        ** observable's unit (generic readings) */
  int cgm;              /* 1: the CGM sensor path (Breton-Kovatchev error
                        ** model from cfg.sensor, sensor-fault judging);
                        ** sd_abs and sd_rel are then unused */
  int relative;         /* 1: only changes are informative (body weight
                        ** against a model's nominal baseline): the first
                        ** reading in arrival order is not assimilated but
                        ** sets the offset reading - members' mean there;
                        ** later readings are assimilated less the offset */
} mt_twin_spec_obs;

typedef enum mt_twin_spec_how {
  MT_SPEC_LEVEL = 0, /* value x scale / div on the input from t on */
  MT_SPEC_PULSE,     /* amount value x scale delivered evenly over dur_min:
                     ** rate value x scale / dur_min from t to t + dur_min */
  MT_SPEC_MEAL       /* announced carbohydrate: each member eats its own
                     ** log-normal multiple over its own duration (cfg.meal_*) */
} mt_twin_spec_how;

/* An input kind: the model input it drives and how. */
typedef struct mt_twin_spec_input {
  mt_stream_kind kind;
  const char *input;    /* the model input's name */
  mt_twin_spec_how how;
  double scale, div;    /* level: value * scale / div (div exact, e.g. 60
                        ** for U/h -> U/min); pulse: value * scale */
  double dur_min;       /* pulse duration */
} mt_twin_spec_input;

/* An alert: probability that the observable crosses the level within the
** window, raised when it reaches prob (one per episode). */
typedef struct mt_twin_spec_alert {
  mt_alert_kind kind;
  const char *obs;
  double level;
  int above;            /* 1: above the level, 0: below */
  double prob, window_min;
} mt_twin_spec_alert;

#define MT_SPEC_MAX 16 /* entries of each list at most */

typedef struct mt_twin_spec {
  const char *model;
  const char *primary;  /* the forecast observable of mt_twin_forecast_at */
  double process_sd, rtps; /* the twin settings tuned for the model
                        ** (mt_twin_config_use_spec) */
  int n_obs, n_input, n_alert;
  mt_twin_spec_obs obs[MT_SPEC_MAX];
  mt_twin_spec_input input[MT_SPEC_MAX];
  mt_twin_spec_alert alert[MT_ALERT_NKIND];
} mt_twin_spec;

/* The settings tuned for cfg->model (its spec's process_sd and rtps; no
** change for a model without a spec). Call before a user's own settings
** are applied. */
void mt_twin_config_use_spec(mt_twin_config *cfg);

/* The spec of a model, or NULL if the twin does not serve it. */
const mt_twin_spec *mt_twin_spec_find(const char *model);
/* The reading of a stream kind in a spec, or NULL (an input, or unused). */
const mt_twin_spec_obs *mt_twin_spec_obs_of(const mt_twin_spec *s,
                                            mt_stream_kind kind);
const mt_twin_spec_input *mt_twin_spec_input_of(const mt_twin_spec *s,
                                                mt_stream_kind kind);

#endif
