/*
** The diffusion operator of the monodomain tissue engine: assembly of the
** vertex-centred anisotropic stencil from cell energies (derivation in
** medtwin/tissue.h and docs/tissue.md), its explicit application, and the
** backward-Euler step by Jacobi-preconditioned conjugate gradients
** (Hestenes & Stiefel, J Res NBS 49:409, 1952; Saad, Iterative Methods for
** Sparse Linear Systems, 2nd ed., 2003, algorithm 9.1).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tissue/tissue_impl.h"

/* Slot of neighbour offset (ox, oy, oz) in {-1,0,1}^3 minus the origin. */
static int slot(int ox, int oy, int oz)
{
  int o = (oz + 1) * 9 + (oy + 1) * 3 + (ox + 1);
  return o < 13 ? o : o - 1;
}

/* Tensor D = g (D_t I + (D_l - D_t) f f^T) of node i (g its conductivity
** factor), accumulated into acc. */
static void add_tensor(const mt_tissue *t, const double *fibre,
                       const double *d_scale, long i, double acc[3][3])
{
  double f[3] = {1, 0, 0};
  if (fibre) {
    double nf = sqrt(fibre[3 * i] * fibre[3 * i] +
                     fibre[3 * i + 1] * fibre[3 * i + 1] +
                     fibre[3 * i + 2] * fibre[3 * i + 2]);
    for (int p = 0; p < 3; p++)
      f[p] = fibre[3 * i + p] / nf;
  }
  double g = d_scale ? d_scale[i] : 1;
  double dl = g * t->cfg.D_l, dtr = g * t->cfg.D_t;
  for (int p = 0; p < 3; p++)
    for (int q = 0; q < 3; q++)
      acc[p][q] += (p == q ? dtr : 0) + (dl - dtr) * f[p] * f[q];
}

typedef struct cell {
  int nc, nd, act[3];
  long node[8];
  int b[8][3]; /* corner's offset within the cell */
} cell;

/* coef[slot(l - k)][node k] += w, the off-diagonal -K_kl of the pair. */
static void couple(mt_tissue *t, const cell *c, int k, int l, double w)
{
  int s = slot(c->b[l][0] - c->b[k][0], c->b[l][1] - c->b[k][1],
               c->b[l][2] - c->b[k][2]);
  t->coef[s][c->node[k]] += w;
}

static void cell_energy(mt_tissue *t, const double *fibre,
                        const double *d_scale, const cell *c)
{
  double D[3][3] = {{0}};
  int full = 1;
  for (int k = 0; k < c->nc; k++) {
    add_tensor(t, fibre, d_scale, c->node[k], D);
    full &= t->tissue[c->node[k]] != 0;
    t->vol[c->node[k]] += 1.0 / c->nc;
  }
  double h2 = t->dx * t->dx, share = 2.0 / c->nc; /* 1 / 2^(d-1) */
  for (int p = 0; p < 3; p++)
    for (int q = 0; q < 3; q++)
      D[p][q] /= c->nc;
  for (int p = 0; p < 3; p++) { /* edges along p */
    if (!c->act[p])
      continue;
    for (int k = 0; k < c->nc; k++) {
      if (c->b[k][p])
        continue;
      for (int l = 0; l < c->nc; l++) {
        int same = 1;
        for (int r = 0; r < 3; r++)
          same &= r == p ? c->b[l][r] == 1 : c->b[l][r] == c->b[k][r];
        if (!same || !t->tissue[c->node[k]] || !t->tissue[c->node[l]])
          continue;
        double w = D[p][p] * share / h2;
        couple(t, c, k, l, w);
        couple(t, c, l, k, w);
      }
    }
  }
  if (!full)
    return;
  for (int p = 0; p < 3; p++) /* 2 D_pq gbar_p gbar_q, p < q */
    for (int q = p + 1; q < 3; q++) {
      if (!c->act[p] || !c->act[q] || D[p][q] == 0)
        continue;
      for (int k = 0; k < c->nc; k++)
        for (int l = 0; l < c->nc; l++) {
          if (k == l)
            continue;
          double spk = (c->b[k][p] ? 1 : -1) * share,
                 sqk = (c->b[k][q] ? 1 : -1) * share,
                 spl = (c->b[l][p] ? 1 : -1) * share,
                 sql = (c->b[l][q] ? 1 : -1) * share;
          couple(t, c, k, l, -D[p][q] * (spk * sql + sqk * spl) / h2);
        }
    }
}

int mt_tissue__assemble(mt_tissue *t, const double *fibre,
                        const double *d_scale)
{
  int n3[3] = {t->nx, t->ny, t->nz};
  cell c;
  c.nd = 0;
  for (int p = 0; p < 3; p++)
    c.nd += (c.act[p] = n3[p] > 1);
  c.nc = 1 << c.nd;
  for (int s = 0; s < MT_TISSUE_NOFF; s++)
    if (!(t->coef[s] = calloc((size_t)t->n, sizeof(double))))
      return MT_ENOMEM;
  if (!(t->vol = calloc((size_t)t->n, sizeof(double))))
    return MT_ENOMEM;
  int cn[3];
  for (int p = 0; p < 3; p++)
    cn[p] = c.act[p] ? n3[p] - 1 : 1;
  for (int ck = 0; ck < cn[2]; ck++)
    for (int cj = 0; cj < cn[1]; cj++)
      for (int ci = 0; ci < cn[0]; ci++) {
        int k = 0;
        for (int bz = 0; bz <= c.act[2]; bz++)
          for (int by = 0; by <= c.act[1]; by++)
            for (int bx = 0; bx <= c.act[0]; bx++, k++) {
              c.b[k][0] = bx, c.b[k][1] = by, c.b[k][2] = bz;
              c.node[k] = (ci + bx) + (long)t->nx * ((cj + by) +
                                                     (long)t->ny * (ck + bz));
            }
        cell_energy(t, fibre, d_scale, &c);
      }
  double rowmax = 0;
  for (long i = 0; i < t->n; i++) {
    double sum = 0;
    for (int s = 0; s < MT_TISSUE_NOFF; s++)
      sum += fabs(t->coef[s][i] /= t->vol[i]);
    if (sum > rowmax)
      rowmax = sum;
  }
  t->dt_bound = rowmax > 0 ? 1.0 / rowmax : INFINITY;
  t->n_off = 0; /* keep the offsets that couple anything */
  for (int oz = -1; oz <= 1; oz++)
    for (int oy = -1; oy <= 1; oy++)
      for (int ox = -1; ox <= 1; ox++) {
        if (!ox && !oy && !oz)
          continue;
        int s = slot(ox, oy, oz), any = 0;
        for (long i = 0; i < t->n && !any; i++)
          any = t->coef[s][i] != 0;
        double *a = t->coef[s];
        t->coef[s] = NULL;
        if (!any) {
          free(a);
          continue;
        }
        t->coef[t->n_off] = a;
        t->off[t->n_off][0] = ox, t->off[t->n_off][1] = oy;
        t->off[t->n_off][2] = oz;
        t->n_off++;
      }
  return 0;
}

/*
** out = L v: out_i = sum_o coef[o][i] (v[i + off_o] - v[i]), the rows of the
** grid shared out by an orphaned `omp for` (serial outside a parallel
** region), with the implicit barrier at its end.
*/
void mt_tissue__apply_L_rows(const mt_tissue *t, const double *restrict v,
                             double *restrict out)
{
  int nx = t->nx, ny = t->ny, nz = t->nz;
  long rows = (long)ny * nz;
#pragma omp for schedule(static)
  for (long r = 0; r < rows; r++) {
    int j = (int)(r % ny), k = (int)(r / ny);
    long base = r * nx;
    double *restrict o = out + base;
    const double *restrict vi = v + base;
    for (int i = 0; i < nx; i++)
      o[i] = 0;
    for (int s = 0; s < t->n_off; s++) {
      int ox = t->off[s][0], jj = j + t->off[s][1], kk = k + t->off[s][2];
      if (jj < 0 || jj >= ny || kk < 0 || kk >= nz)
        continue;
      const double *restrict c = t->coef[s] + base;
      const double *restrict vn = v + ((long)kk * ny + jj) * nx + ox;
      int lo = ox < 0 ? 1 : 0, hi = ox > 0 ? nx - 1 : nx;
      for (int i = lo; i < hi; i++)
        o[i] += c[i] * (vn[i] - vi[i]);
    }
  }
}

static void apply_L(const mt_tissue *t, const double *v, double *out)
{
#pragma omp parallel MT_TISSUE_TEAM(t)
  mt_tissue__apply_L_rows(t, v, out);
}

static int explicit_step(mt_tissue *t)
{
  double *v = t->x[0], *lv = t->v_new, dt = t->dt;
  apply_L(t, v, lv);
#pragma omp parallel for schedule(static) MT_TISSUE_TEAM(t)
  for (long i = 0; i < t->n; i++)
    v[i] += dt * lv[i];
  return 0;
}

static double dot(const mt_tissue *t, long n, const double *a,
                  const double *b)
{
  double s = 0;
  (void)t; /* only the team size, which a build without OpenMP ignores */
#pragma omp parallel for reduction(+ : s) schedule(static) MT_TISSUE_TEAM(t)
  for (long i = 0; i < n; i++)
    s += a[i] * b[i];
  return s;
}

/* q = A p / 1 with A = M (I - dt L). */
static void apply_A(const mt_tissue *t, const double *p, double *q)
{
  apply_L(t, p, q);
  double dt = t->dt;
#pragma omp parallel for schedule(static) MT_TISSUE_TEAM(t)
  for (long i = 0; i < t->n; i++)
    q[i] = t->vol[i] * (p[i] - dt * q[i]);
}

/* (M + dt K) y = M v by PCG, y starting from v, written over v. */
static int implicit_step(mt_tissue *t)
{
  long n = t->n;
  double *y = t->x[0], *r = t->cg_r, *z = t->cg_z, *p = t->cg_p,
         *q = t->cg_q, *dg = t->cg_diag, dt = t->dt;
  double bb = 0;
  for (long i = 0; i < n; i++)
    bb += t->vol[i] * y[i] * t->vol[i] * y[i];
  apply_L(t, y, r); /* r = b - A y = dt M L y at y = v */
#pragma omp parallel for schedule(static) MT_TISSUE_TEAM(t)
  for (long i = 0; i < n; i++) {
    r[i] *= dt * t->vol[i];
    z[i] = r[i] / dg[i];
    p[i] = z[i];
  }
  double rz = dot(t, n, r, z), tol2 = t->cfg.cg_tol * t->cfg.cg_tol * bb;
  int it = 0;
  while (dot(t, n, r, r) > tol2) {
    if (++it > t->cfg.cg_max_iter) {
      snprintf(t->err, sizeof t->err,
               "conjugate gradients: no convergence to %g in %d iterations "
               "at t = %g ms", t->cfg.cg_tol, t->cfg.cg_max_iter,
               t->step * t->dt);
      return MT_ESOLVER;
    }
    apply_A(t, p, q);
    double alpha = rz / dot(t, n, p, q);
#pragma omp parallel for schedule(static) MT_TISSUE_TEAM(t)
    for (long i = 0; i < n; i++) {
      y[i] += alpha * p[i];
      r[i] -= alpha * q[i];
      z[i] = r[i] / dg[i];
    }
    double rz1 = dot(t, n, r, z), beta = rz1 / rz;
    rz = rz1;
#pragma omp parallel for schedule(static) MT_TISSUE_TEAM(t)
    for (long i = 0; i < n; i++)
      p[i] = z[i] + beta * p[i];
  }
  t->cg_iter = it;
  return 0;
}

int mt_tissue__diffuse(mt_tissue *t)
{
  if (!t->n_off)
    return 0;
  return t->cfg.diffusion == MT_TISSUE_SEMI_IMPLICIT ? implicit_step(t)
                                                     : explicit_step(t);
}
