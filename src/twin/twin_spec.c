/*
** The twin specs: how the live twin reads each model's data (stream kinds
** to observables and inputs, noise, alerts, the primary forecast). Sources
** of the noise figures beside each entry; the stream kinds' units and
** plausible ranges are in docs/stream.md.
*/
#include <stddef.h>
#include <string.h>

#include "medtwin/twin_spec.h"

static const mt_twin_spec specs[] = {
    /* the metabolic twin: CGM through the sensor error model; the alerts'
    ** thresholds as tuned for the glucose twin (docs/VALIDATION.md), on
    ** the model's plasma glucose BG: hypoglycaemia is defined on blood
    ** glucose, which the interstitial CGM follows about 10 min late */
    {.model = "uva_padova_t1d",
     .primary = "CGM",
     .process_sd = 0.02, .rtps = 0.9, /* docs/VALIDATION.md (tuning) */
     .n_obs = 1,
     .obs = {{MT_DATA_CGM, "CGM", 0, 0, 1, 0}},
     .n_input = 3,
     .input = {{MT_DATA_CARBS, "CHO", MT_SPEC_MEAL, 1, 1, 0},
               {MT_DATA_BOLUS, "insulin", MT_SPEC_PULSE, 1, 1, 1},
               {MT_DATA_BASAL, "insulin", MT_SPEC_LEVEL, 1, 60, 0}},
     .n_alert = 3,
     .alert = {{MT_ALERT_HYPO, "BG", 70, 0, 0.3, 30},
               {MT_ALERT_HYPO_SEVERE, "BG", 54, 0, 0.3, 30},
               {MT_ALERT_HYPER, "BG", 250, 1, 0.5, 30}}},
    /* the cardiovascular twin on the beat-averaged model. Noise: cuff
    ** blood pressure SD 5 mmHg (a validated automated sphygmomanometer
    ** stays within mean error 5 mmHg and SD 8 mmHg of the reference,
    ** AAMI/ESH/ISO 81060-2:2018; 5 mmHg is the usual validated device's
    ** error, not the limit); echo EF SD 5 % points (test-retest of 2-D
    ** echo LVEF, Otterstad et al., Eur Heart J 18:507, 1997); cardiac
    ** output 12 % relative (thermodilution reproducibility about 10-15 %,
    ** Stetz et al., Am Rev Respir Dis 126:1001, 1982); scale weight
    ** 0.2 kg, relative: the model's weight is its nominal W0 plus fluid
    ** gained, so only changes from the first reading inform. Heart rate is an input (HR_obs, the rate as measured);
    ** oral doses enter the gut over 1 min (mg -> mg/min), the inotrope is
    ** an infusion rate from t on. Hypotension: MAP < 65 mmHg within 30
    ** min (the MAP target of the Surviving Sepsis Campaign guidelines,
    ** Evans et al., Crit Care Med 49:e1063, 2021), threshold 0.3 as the
    ** glucose twin's hypo alert (not tuned) */
    {.model = "circulation_beatavg",
     .primary = "MAP",
     /* process_sd and rtps chosen on tuning patients adult#011-#016 of
     ** `medtwin twin cv-evaluate`, apart from the patients the
     ** evaluation reports (docs/VALIDATION.md) */
     .process_sd = 0.005, .rtps = 0.9,
     .n_obs = 6,
     .obs = {{MT_DATA_MAP, "MAP", 5, 0, 0, 0},
             {MT_DATA_SBP, "SBP", 5, 0, 0, 0},
             {MT_DATA_DBP, "DBP", 5, 0, 0, 0},
             {MT_DATA_EF, "EF", 5, 0, 0, 0},
             {MT_DATA_CO, "CO", 0, 0.12, 0, 0},
             {MT_DATA_WEIGHT, "weight", 0.2, 0, 0, 1}},
     .n_input = 5,
     .input = {{MT_DATA_HR, "HR_obs", MT_SPEC_LEVEL, 1, 1, 0},
               {MT_DATA_BETA_BLOCKER, "beta_blocker", MT_SPEC_PULSE, 1, 1, 1},
               {MT_DATA_VASODILATOR, "vasodilator", MT_SPEC_PULSE, 1, 1, 1},
               {MT_DATA_DIURETIC, "diuretic", MT_SPEC_PULSE, 1, 1, 1},
               {MT_DATA_INOTROPE, "inotrope", MT_SPEC_LEVEL, 1, 1, 0}},
     .n_alert = 1,
     .alert = {{MT_ALERT_HYPOTENSION, "MAP", 65, 0, 0.3, 30}}},
};

void mt_twin_config_use_spec(mt_twin_config *cfg)
{
  const mt_twin_spec *s = mt_twin_spec_find(cfg->model);
  if (s)
    cfg->process_sd = s->process_sd, cfg->rtps = s->rtps;
}

const mt_twin_spec *mt_twin_spec_find(const char *model)
{
  for (size_t k = 0; model && k < sizeof specs / sizeof specs[0]; k++)
    if (!strcmp(specs[k].model, model))
      return &specs[k];
  return NULL;
}

const mt_twin_spec_obs *mt_twin_spec_obs_of(const mt_twin_spec *s,
                                            mt_stream_kind kind)
{
  for (int k = 0; k < s->n_obs; k++)
    if (s->obs[k].kind == kind)
      return &s->obs[k];
  return NULL;
}

const mt_twin_spec_input *mt_twin_spec_input_of(const mt_twin_spec *s,
                                                mt_stream_kind kind)
{
  for (int k = 0; k < s->n_input; k++)
    if (s->input[k].kind == kind)
      return &s->input[k];
  return NULL;
}
