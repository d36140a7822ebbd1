/*
** CGM sensor error: the model of Breton and Kovatchev (J Diabetes Sci Technol
** 2(5):853, 2008) as simglucose implements it (simglucose/sensor/noise_gen.py,
** cgm.py) with its sensor table (data/uva-padova/sensor_params.csv).
**
** On a 15-minute grid a latent AR(1) process e_0 = z_0,
** e_k = PACF * (e_{k-1} + z_k) with z_k ~ N(0, 1) is mapped through the
** Johnson SU transform  noise = xi + lambda * sinh((e - gamma) / delta)
** (mg/dL). The grid values are taken in blocks of 11 knots (150 min; each
** block starts at the previous block's last knot) and interpolated to the
** sensor's sample times by a not-a-knot cubic spline (scipy's
** interp1d(kind="cubic")). A reading is the true (interstitial) glucose plus
** the noise, clipped to the sensor's [min, max].
*/
#ifndef MEDTWIN_CGM_NOISE_H
#define MEDTWIN_CGM_NOISE_H

#include "medtwin/rng.h"

#define MT_CGM_GRID_MIN 15.0 /* spacing of the latent noise grid, min */
#define MT_CGM_KNOTS 11      /* knots per interpolation block (150 min) */

/* One sensor's error model; a row of sensor_params.csv. */
typedef struct mt_cgm_sensor {
  char name[32];     /* "Dexcom", "GuardianRT", "Navigator" */
  double pacf;       /* AR coefficient of e on the 15-min grid, |pacf| < 1 */
  double gamma;      /* Johnson SU shape (dimensionless) */
  double lambda;     /* Johnson SU scale, mg/dL, > 0 */
  double delta;      /* Johnson SU shape (dimensionless), > 0 */
  double xi;         /* Johnson SU location, mg/dL */
  double sample_min; /* sample period, min, in (0, 150] */
  double lo, hi;     /* reported readings are clipped to [lo, hi], mg/dL */
} mt_cgm_sensor;

/*
** Load a shipped sensor by name (exact, case-sensitive): "Dexcom",
** "GuardianRT" or "Navigator". Returns 0, MT_EINVAL (NULL argument),
** MT_ENOTFOUND (no such sensor; *out untouched), MT_EPARSE (the compiled-in
** table is malformed) or MT_ENOMEM.
*/
int mt_cgm_sensor_load(const char *name, mt_cgm_sensor *out);

/*
** A noise generator: a value type, no allocation. The k-th call of
** mt_cgm_noise_next (k = 1, 2, ...) within a block returns the spline at
** k * sample_min after the block's first knot; when 150 / sample_min is not
** an integer the remainder of each block is skipped, as in simglucose.
** Fields are public for saving and inspection; treat them as read-only.
*/
typedef struct mt_cgm_noise {
  mt_cgm_sensor s;
  mt_rng rng;                /* drives the z_k; one normal per knot */
  double e;                  /* latent e at the newest knot */
  double knot[MT_CGM_KNOTS]; /* noise (mg/dL) at the current block's knots */
  double m[MT_CGM_KNOTS];    /* spline second derivatives at the knots */
  int n_out;                 /* samples per block: floor(150 / sample_min) */
  int next;                  /* index of the next sample in the block, 1-based */
} mt_cgm_noise;

/*
** Start a generator for sensor s driven by a copy of stream rng (the caller's
** rng is not advanced). Draws the first block at once. Returns 0, or MT_EINVAL
** if a parameter is non-finite or out of the range given above; then *g is
** zeroed.
*/
int mt_cgm_noise_init(mt_cgm_noise *g, const mt_cgm_sensor *s, const mt_rng *rng);

/* Additive noise (mg/dL) at the next sensor sample. */
double mt_cgm_noise_next(mt_cgm_noise *g);

/* The reading for true glucose true_mgdl (mg/dL) with this noise: their sum
** clipped to [s->lo, s->hi]. A NaN input gives NaN. */
double mt_cgm_reading(const mt_cgm_sensor *s, double true_mgdl, double noise);

/* The not-a-knot cubic spline through y[i] at i * 15 min (i = 0..10),
** evaluated at t_min in [0, 150] (extrapolated outside). The generator's
** interpolant, exposed for verification against scipy. */
double mt_cgm_interp(const double y[MT_CGM_KNOTS], double t_min);

#endif
