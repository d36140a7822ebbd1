/* Model metadata helpers: variable lookup and the completeness check every
** registered model passes (the conformance suite builds on it). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/model.h"

int mt_var_index(const mt_var *v, int n, const char *name)
{
  for (int i = 0; name && i < n; i++)
    if (strcmp(v[i].name, name) == 0)
      return i;
  return -1;
}

static int check_vars(const char *model, const char *kind, const mt_var *v,
                      int n, char *err, size_t errlen)
{
  if (n > 0 && !v) {
    snprintf(err, errlen, "model %s: %s table missing", model, kind);
    return MT_EINVAL;
  }
  for (int i = 0; i < n; i++) {
    const mt_var *a = &v[i];
    const char *why = !a->name || !*a->name ? "has no name"
                      : !a->unit || !*a->unit ? "has no unit"
                      : !a->doc || !*a->doc   ? "has no description"
                      : !(a->lo <= a->hi)     ? "has bounds lo > hi"
                      : mt_var_index(v, i, a->name) >= 0 ? "is a duplicate"
                                                         : NULL;
    if (why) {
      snprintf(err, errlen, "model %s: %s %d (%s) %s", model, kind, i,
               a->name ? a->name : "?", why);
      return MT_EINVAL;
    }
  }
  return 0;
}

int mt_model_check(const mt_model *m, char *err, size_t errlen)
{
  if (!m || !m->name || !m->doc || !m->time_unit) {
    snprintf(err, errlen, "model: name, doc and time unit are required");
    return MT_EINVAL;
  }
  if (m->version < 1 || m->version > MT_MODEL_VERSION || m->n_state <= 0 ||
      m->n_param < 0 || m->n_input < 0 || m->n_obs <= 0 || m->n_mem < 0 ||
      !m->rhs || !m->observe || (m->n_root > 0 && !m->roots)) {
    snprintf(err, errlen, "model %s: bad version, counts or required ops",
             m->name);
    return MT_EINVAL;
  }
  int rc = check_vars(m->name, "state", m->state, m->n_state, err, errlen);
  if (!rc)
    rc = check_vars(m->name, "parameter", m->param, m->n_param, err, errlen);
  if (!rc)
    rc = check_vars(m->name, "input", m->input, m->n_input, err, errlen);
  if (!rc)
    rc = check_vars(m->name, "observable", m->obs, m->n_obs, err, errlen);
  return rc;
}
