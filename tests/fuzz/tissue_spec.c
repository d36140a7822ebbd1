/*
** Tissue configurations (include/medtwin/tissue_spec.h):
** mt_tissue_spec_parse on the raw bytes. A configuration that parses must
** name a model the engine accepts, a grid of 1 to MT_TISSUE_MAX_NODES nodes
** with a positive finite spacing, finite non-negative diffusivities, a
** positive step no longer than the duration, and 1 to 64 stimuli with
** ordered finite boxes, finite amplitudes and counts >= 1 (or none with an
** inducibility protocol, which then has 1 to 64 finite sites); a substrate,
** protocol or lesions only on a 2D grid, lesions of finite ends and
** positive width, a substrate of positive pixel size with its thresholds
** in order, parameters set by index within the model. A failure gives a
** one-line message starting with the file's name.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "medtwin/error.h"
#include "medtwin/tissue_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char err[MT_ERRMSG_MAX] = "";
  mt_tissue_spec *s = malloc(sizeof *s);
  if (!s)
    return 0;
  int rc = mt_tissue_spec_parse((const char *)data, size, "fuzz.json", s, err,
                                sizeof err);
  if (rc) {
    if (rc != MT_EINVAL || strncmp(err, "fuzz.json: ", 11) ||
        strchr(err, '\n'))
      abort();
    free(s);
    return 0;
  }
  const mt_tissue_config *c = &s->c;
  double nodes = (double)c->nx * c->ny * c->nz;
  if (!s->m || !mt_tissue_model_ok(s->m) || c->nx < 1 || c->ny < 1 ||
      c->nz < 1 || nodes > MT_TISSUE_MAX_NODES || !(c->dx_mm > 0) ||
      !isfinite(c->dx_mm) || !(c->D_l >= 0) || !isfinite(c->D_l) ||
      !(c->D_t >= 0) || !isfinite(c->D_t) || !(c->dt_ms > 0) ||
      !(s->duration_ms >= c->dt_ms) || !isfinite(s->duration_ms) ||
      (s->nstim < 1 && !s->has_protocol) || s->nstim > MT_TISSUE_MAX_STIM ||
      (s->has_angle && c->nz != 1) ||
      ((s->has_protocol || s->has_substrate || s->nlesion) && c->nz != 1) ||
      (s->has_protocol && !s->auto_sites &&
       (s->nsite < 1 || s->nsite > MT_TISSUE_MAX_SITES)) ||
      s->auto_sites < 0 || s->auto_sites > MT_TISSUE_MAX_SITES ||
      (s->auto_sites && (s->nsite || !(s->auto_radius_mm >= 0))) ||
      (s->has_substrate &&
       (!(s->sub.pixel_mm > 0) || !(s->sub.threshold >= 0) ||
        !(s->sub.scar_threshold > s->sub.threshold) || !s->sub.image[0])) ||
      !(s->ablate_width_mm > 0) || s->ablate_rounds < 1 ||
      s->param.n < 0 || s->param.n > MT_TISSUE_MAX_SET)
    abort();
  for (int k = 0; k < s->param.n; k++)
    if (s->param.idx[k] < 0 || s->param.idx[k] >= s->m->n_param ||
        !isfinite(s->param.val[k]))
      abort();
  for (int k = 0; k < s->nsite; k++)
    if (!isfinite(s->site[k].x_mm) || !isfinite(s->site[k].y_mm) ||
        !(s->site[k].radius_mm >= 0))
      abort();
  for (int k = 0; k < s->nlesion; k++) {
    const mt_lesion *l = &s->lesion[k];
    if (!isfinite(l->x0_mm + l->y0_mm + l->x1_mm + l->y1_mm) ||
        !(l->width_mm > 0) || !isfinite(l->width_mm))
      abort();
  }
  for (int k = 0; k < s->nstim; k++) {
    const mt_tissue_stim *t = &s->stim[k];
    if (!(t->x0_mm <= t->x1_mm) || !(t->y0_mm <= t->y1_mm) ||
        !(t->z0_mm <= t->z1_mm) || !isfinite(t->x1_mm) ||
        !isfinite(t->amplitude) || !(t->duration_ms > 0) || t->count < 1 ||
        (t->count > 1 && !(t->period_ms >= t->duration_ms)))
      abort();
  }
  free(s);
  return 0;
}
