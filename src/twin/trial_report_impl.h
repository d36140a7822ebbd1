/*
** Internal to the virtual-trial report (src/twin/trial_report*.c): readers
** that tolerate missing keys (the results are checked before rendering, but
** not every optional field), formatting, colours, axes, and the figures.
*/
#ifndef MT_TRIAL_REPORT_IMPL_H
#define MT_TRIAL_REPORT_IMPL_H

#include <jansson.h>
#include <stdio.h>

#include "core/escape.h"

#define RPT_DASH "\xe2\x80\x93" /* en dash: a missing number */

/* o[k] as a number (NAN when absent or not a number), a string (NULL). */
double rpt_num(const json_t *o, const char *k);
const char *rpt_str(const json_t *o, const char *k);
/* a and b both present and equal. */
int rpt_streq(const char *a, const char *b);
/* The interval o[k] into lo, hi (NAN when not an interval). */
void rpt_ci(const json_t *o, const char *k, double *lo, double *hi);

/* Numbers into caller buffers; each returns its text (RPT_DASH when not
** finite). f1: one decimal; fn: a whole number without decimals, else one;
** fp: a p value, already HTML ("&lt; 0.001" below 0.001, else three
** decimals); fci: "[lo, hi]" with one decimal. */
typedef char nbuf[48];
typedef char cibuf[2 * sizeof(nbuf) + 8];
const char *rpt_f1(nbuf b, double x);
const char *rpt_fn(nbuf b, double x);
const char *rpt_fp(nbuf b, double p);
const char *rpt_fci(cibuf b, double lo, double hi);

/* Okabe-Ito without its yellow; arm i has colour i % RPT_NPAL, an arm
** named in an example by its position in results.arms (grey if none). */
#define RPT_NPAL 7
extern const char *const rpt_palette[RPT_NPAL];
const char *rpt_arm_colour(const json_t *r, const char *arm);
/* An endpoint's label with its unit, or its key escaped. */
void rpt_ep_name(FILE *f, const char *key);

/* A linear scale mapping the domain [d0, d1] onto [r0, r1]. */
typedef struct rpt_scale {
  double d0, d1, r0, r1;
} rpt_scale;
double rpt_sc(const rpt_scale *s, double v);
/* A tick step of 1, 2 or 5 times a power of ten, about n over range. */
double rpt_tick_step(double range, int n);
/* A vertical axis at x from s's range, grid lines to x_end, title (HTML). */
void rpt_y_axis(FILE *f, const rpt_scale *s, double x, double x_end,
                const char *title_html);
/* A horizontal axis at y with ticks every step (0: automatic). */
void rpt_x_axis(FILE *f, const rpt_scale *s, double y, double step,
                const char *title_html);

/* The figures (src/twin/trial_report_fig.c); 0 or MT_ENOMEM. */
int rpt_figure1(FILE *f, const json_t *r);
int rpt_figure2(FILE *f, const json_t *r);
void rpt_figure3(FILE *f, const json_t *r);

#endif
