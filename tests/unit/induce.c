/*
** Programmed stimulation, inducibility and ablation (medtwin/induce.h).
**
** The substrate (constructed, not measured): an Aliev-Panfilov sheet
** 40 x 40 mm (dx 0.5 mm, D 0.05 mm^2/ms, dt 0.1 ms) with a non-conducting
** disc of radius 7 mm at its centre (a scar) and, above it, a 6 mm band
** from the scar to the edge whose excitation threshold a is 0.2 instead of
** the paper's 0.15 (less excitable, so a premature beat blocks there: the
** unidirectional block of Mines' ring). Paced just left of the scar, a
** premature S2 blocks in the band and travels round the scar the other way:
** anatomical re-entry round the obstacle. A lesion from the scar to the
** sheet's edge leaves no circuit (the isthmus ablation of scar-related
** re-entry). The expectations follow from that construction; the scar's
** centre (20, 20) mm is the reference position of the driver.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/error.h"
#include "medtwin/induce.h"
#include "medtwin/patient.h"

#define L 40.0
#define DX 0.5
#define N 81
#define R 7.0

static unsigned char mask[N * N], reg[N * N];
static double p0[16], p1[16];
static const double *rp[1] = {p1};

static const mt_model *setup(mt_tissue_config *c)
{
  const mt_model *m = mt_model_find("aliev_panfilov_1996");
  cr_assert_not_null(m);
  cr_assert(m->n_param <= 16);
  mt_patient *pt;
  char e[MT_ERRMSG_MAX];
  cr_assert_eq(mt_patient_load(m, m->patients->name(0), &pt, e, sizeof e),
               0, "%s", e);
  memcpy(p0, pt->param, (size_t)m->n_param * sizeof(double));
  mt_patient_free(pt);
  memcpy(p1, p0, sizeof p1);
  p1[1] = 0.2; /* a: the excitation threshold */
  for (int j = 0; j < N; j++)
    for (int i = 0; i < N; i++) {
      double x = i * DX - L / 2, y = j * DX - L / 2;
      mask[i + N * j] = hypot(x, y) > R;
      reg[i + N * j] = fabs(x) < 3 && y > 0;
    }
  mt_tissue_config_init(c);
  c->nx = c->ny = N, c->dx_mm = DX, c->dt_ms = 0.1;
  c->D_l = c->D_t = 0.05, c->act_threshold_mV = -40;
  c->threads = 1; /* tests run side by side: no oversubscribed team */
  c->mask = mask, c->region = reg, c->n_region = 1, c->region_param = rp;
  c->param = p0;
  return m;
}

static void protocol(mt_protocol *p)
{
  mt_protocol_init(p);
  p->n_s1 = 2, p->bcl_ms = 500; /* shortened from 8 x 600 ms for speed */
  p->s2_start_ms = 340, p->s2_step_ms = 20, p->s2_min_ms = 260;
}

static const mt_pace_site site = {L / 2 - R - 2, L / 2, 1};

/* The same protocol after a given lesion from the scar straight down to
** the edge: no circuit remains, nothing persists. */
Test(induce, a_lesion_from_the_scar_to_the_edge_makes_it_non_inducible)
{
  mt_tissue_config c;
  const mt_model *m = setup(&c);
  mt_protocol p;
  protocol(&p);
  mt_lesion les = {L / 2, L / 2 - R, L / 2, 0, 2, -1, 0};
  mt_ablate_result a;
  char err[MT_ERRMSG_MAX] = "";
  cr_assert_eq(mt_ablate_loop(m, &c, &site, 1, &p, &les, 1, 2, 1, NULL, NULL,
                              &a, err, sizeof err), 0, "%s", err);
  cr_assert_eq(a.rounds, 1);
  cr_assert_eq(a.inducible, 0);
  cr_assert_eq(a.first.site[0].induced, 0);
  cr_log_info("given lesion: %d couplings tried, activity at most %.0f ms",
              a.first.site[0].tries, a.first.site[0].activity_ms);
  cr_assert_gt(a.first.site[0].tries, 1, "several couplings tried");
  cr_assert_eq(a.mask[N / 2 + N * 2], 0, "the lesion is in the mask");
  mt_ablate_result_free(&a);
}

/* The loop: inducible with a driver circling the scar, lesions through the
** drivers, non-inducible. */
Test(induce, inducible_then_ablate_and_retest_until_non_inducible,
     .timeout = 300)
{
  mt_tissue_config c;
  const mt_model *m = setup(&c);
  mt_protocol p;
  protocol(&p);
  mt_ablate_result a;
  char err[MT_ERRMSG_MAX] = "";
  cr_assert_eq(mt_ablate_loop(m, &c, &site, 1, &p, NULL, 0, 2, 4, NULL, NULL,
                              &a, err, sizeof err), 0, "%s", err);
  const mt_induce_result *r = &a.first;
  cr_assert_eq(r->inducible, 1);
  cr_assert_eq(r->site[0].induced, 1);
  cr_assert_geq(r->site[0].activity_ms, p.persist_ms);
  int hole = -1;
  for (int k = 0; k < r->n_driver; k++) {
    cr_log_info("driver (%.1f, %.1f) charge %d hole %d rotations %.2f",
                r->driver[k].x_mm, r->driver[k].y_mm, r->driver[k].charge,
                r->driver[k].hole, r->driver[k].rotations);
    cr_assert_geq(r->driver[k].rotations, 1.0 - 1e-9);
    if (r->driver[k].hole)
      hole = k;
  }
  cr_assert_geq(hole, 0, "a driver circles the scar");
  /* the hole's centroid: the scar's centre to within a node */
  cr_assert_lt(hypot(r->driver[hole].x_mm - L / 2,
                     r->driver[hole].y_mm - L / 2), DX);
  cr_assert_eq(a.inducible, 0, "non-inducible after %d rounds", a.rounds);
  cr_assert_gt(a.rounds, 1);
  cr_assert_gt(a.n_lesion, 0);
  /* one lesion starts on the scar's rim and ends on the exterior */
  int through = 0;
  for (int k = 0; k < a.n_lesion; k++) {
    const mt_lesion *l = &a.lesion[k];
    cr_log_info("lesion (%.1f, %.1f)-(%.1f, %.1f) round %d", l->x0_mm,
                l->y0_mm, l->x1_mm, l->y1_mm, l->round);
    double r0 = hypot(l->x0_mm - L / 2, l->y0_mm - L / 2);
    through |= fabs(r0 - R) <= DX + 1e-9;
  }
  cr_assert(through, "a lesion joins the scar");
  mt_ablate_result_free(&a);
}

Test(induce, bad_input_is_refused_with_the_field_named)
{
  mt_tissue_config c;
  const mt_model *m = setup(&c);
  mt_protocol p;
  protocol(&p);
  mt_induce_result r;
  char err[MT_ERRMSG_MAX] = "";
  mt_pace_site in_scar = {L / 2, L / 2, 1}, outside = {-5, 3, 1};
  cr_assert_eq(mt_induce_test(m, &c, &in_scar, 1, &p, NULL, NULL, &r, err,
                              sizeof err), MT_EINVAL);
  cr_assert(strstr(err, "sites[0]"), "%s", err);
  cr_assert_eq(mt_induce_test(m, &c, &outside, 1, &p, NULL, NULL, &r, err,
                              sizeof err), MT_EINVAL);
  p.s2_start_ms = 50; /* below s2_min_ms */
  cr_assert_eq(mt_induce_test(m, &c, &site, 1, &p, NULL, NULL, &r, err,
                              sizeof err), MT_EINVAL);
  cr_assert(strstr(err, "s2_start_ms"), "%s", err);
  protocol(&p);
  c.nz = 2;
  cr_assert_eq(mt_induce_test(m, &c, &site, 1, &p, NULL, NULL, &r, err,
                              sizeof err), MT_EINVAL);
  cr_assert(strstr(err, "2D sheet"), "%s", err);
}

/* Lesion geometry: a segment of width w marks the nodes within w/2. */
Test(induce, a_lesion_marks_the_nodes_within_half_its_width)
{
  unsigned char m[21 * 21];
  memset(m, 1, sizeof m);
  mt_lesion l = {2, 5, 8, 5, 1.0, -1, 0}; /* dx 0.5: y 4.5..5.5 */
  long k = mt_lesion_apply(m, 21, 21, 0.5, &l);
  /* x 2..8 (13 columns) x y 4.5, 5, 5.5, and the round caps' tips
  ** (1.5, 5) and (8.5, 5) at exactly w/2 from the ends */
  cr_assert_eq(k, 13 * 3 + 2, "got %ld", k);
  cr_assert_eq(m[4 + 21 * 10], 0);
  cr_assert_eq(m[3 + 21 * 10], 0);
  cr_assert_eq(m[3 + 21 * 9], 1, "(1.5, 4.5) is 0.71 mm from the end");
  cr_assert_eq(m[4 + 21 * 11], 0);
  cr_assert_eq(m[4 + 21 * 12], 1);
  cr_assert_eq(mt_lesion_apply(m, 21, 21, 0.5, &l), 0, "idempotent");
}

/* Burst pacing: 6 pulses at 300 ms (a cycle length short enough to block
** in the band, found by trial) induce re-entry with a driver round the
** scar; the loop ablates its drivers until the same burst induces nothing. */
Test(induce, burst_pacing_induces_and_the_loop_ends_it, .timeout = 300)
{
  mt_tissue_config c;
  const mt_model *m = setup(&c);
  mt_protocol p;
  mt_protocol_init(&p);
  p.kind = MT_PROTOCOL_BURST, p.n_burst = 6, p.burst_cl_ms = 300;
  mt_ablate_result a;
  char err[MT_ERRMSG_MAX] = "";
  cr_assert_eq(mt_ablate_loop(m, &c, &site, 1, &p, NULL, 0, 2, 4, NULL, NULL,
                              &a, err, sizeof err), 0, "%s", err);
  cr_assert_eq(a.first.inducible, 1);
  cr_assert_eq(a.first.site[0].tries, 1);
  cr_assert(isnan(a.first.site[0].coupling_ms));
  int hole = 0;
  for (int k = 0; k < a.first.n_driver; k++)
    hole |= a.first.driver[k].hole;
  cr_assert(hole, "a driver circles the scar");
  cr_assert_eq(a.inducible, 0, "non-inducible after %d tests", a.rounds);
  cr_assert_lt(a.last.site[0].activity_ms, p.persist_ms);
  mt_ablate_result_free(&a);
}

/* Sites spread by farthest-point sampling: on tissue, deterministic, the
** first at the tissue's centroid, and (the method's guarantee: each site
** was the farthest when chosen) no two sites closer than the final
** covering radius, the largest distance from a tissue node to its nearest
** site. */
Test(induce, sites_spread_over_the_tissue)
{
  mt_pace_site s[8], s2[8];
  cr_assert_eq(mt_pace_sites_spread(NULL, 21, 21, 1.0, 2, 1, s), 2);
  cr_assert_float_eq(s[0].x_mm, 10, 1e-12); /* the centre */
  cr_assert_float_eq(s[0].y_mm, 10, 1e-12);
  cr_assert_float_eq(s[1].x_mm, 0, 1e-12); /* a corner; ties: node 0 */
  cr_assert_float_eq(s[1].y_mm, 0, 1e-12);
  mt_tissue_config c;
  setup(&c);
  cr_assert_eq(mt_pace_sites_spread(mask, N, N, DX, 8, 1, s), 8);
  cr_assert_eq(mt_pace_sites_spread(mask, N, N, DX, 8, 1, s2), 8);
  cr_assert_eq(memcmp(s, s2, sizeof s), 0, "deterministic");
  double cover = 0, minpair = INFINITY;
  for (int k = 0; k < 8; k++) {
    int i = (int)lround(s[k].x_mm / DX), j = (int)lround(s[k].y_mm / DX);
    cr_assert_eq(mask[i + N * j], 1, "site %d on tissue", k);
    for (int l = 0; l < k; l++)
      minpair = fmin(minpair, hypot(s[k].x_mm - s[l].x_mm,
                                    s[k].y_mm - s[l].y_mm));
  }
  for (int j = 0; j < N; j++)
    for (int i = 0; i < N; i++) {
      if (!mask[i + N * j])
        continue;
      double d = INFINITY;
      for (int k = 0; k < 8; k++)
        d = fmin(d, hypot(i * DX - s[k].x_mm, j * DX - s[k].y_mm));
      cover = fmax(cover, d);
    }
  cr_log_info("8 sites: closest pair %.2f mm, covering radius %.2f mm",
              minpair, cover);
  cr_assert_geq(minpair, cover - 1e-9);
  /* the first: on the scar's rim, the tissue node nearest (20, 20) */
  cr_assert_lt(fabs(hypot(s[0].x_mm - L / 2, s[0].y_mm - L / 2) - R), DX);
}
