/*
** medtwin tissue run CONFIG.json --out DIR: a monodomain tissue simulation
** (include/medtwin/tissue.h) from a JSON configuration, writing
** DIR/summary.json, DIR/activation.vti (VTK XML ImageData) and
** DIR/activation.svg (the activation map) all or nothing. docs/tissue.md,
** "The tissue command"; docs/tissue-config.schema.json.
*/
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../tissue/colormap.h"
#include "cli.h"
#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/image.h"
#include "medtwin/induce.h"
#include "medtwin/patient.h"
#include "medtwin/model.h"
#include "medtwin/tissue.h"
#include "medtwin/tissue_spec.h"

/* Most samples drawn per axis in the SVG (the map is subsampled beyond). */
#define SVG_MAX_PX 240

static const char usage_text[] =
  "usage: medtwin tissue run CONFIG.json --out DIR [--json] [--progress]\n"
  "       medtwin tissue induce CONFIG.json --out DIR [--json] [--progress]\n"
  "       medtwin tissue ablate CONFIG.json --out DIR [--json] [--progress]\n"
  "\n"
  "run: simulate monodomain cardiac tissue described by CONFIG.json\n"
  "(schema: docs/tissue-config.schema.json) and write DIR/summary.json,\n"
  "DIR/activation.vti (VTK XML ImageData), DIR/activation.svg,\n"
  "DIR/activation.png and DIR/apd.png (and DIR/snapshots/V_NNNNN.png with\n"
  "outputs.snapshot_ms), all or nothing.\n"
  "induce: the inducibility test of the configuration's \"inducibility\"\n"
  "protocol (S1-S2 or burst from each site): DIR/summary.json (inducible,\n"
  "sites, drivers) and DIR/tissue.png.\n"
  "ablate: test, ablate the drivers, re-test until non-inducible or\n"
  "ablation.max_rounds tests: DIR/summary.json (rounds, lesions, first and\n"
  "last test) and DIR/tissue.png (the final tissue with its lesions).\n"
  "\n"
  "  --out DIR     output directory (created if absent)\n"
  "  --json        print the summary as JSON on standard output\n"
  "  --progress    progress and ETA on standard error even when it is not\n"
  "                a terminal\n"
  "\n"
  "Exit status: 0 ok, 1 runtime failure, 2 bad input (nothing written).\n";

static int bad(const char *file, const char *field, const char *expect)
{
  return cli_fail(EXIT_USAGE, "%s: %s: %s", file, field, expect);
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- outputs ---------------------------------------------------------- */

/* An activation time for a file: -1 where the node never activated (VTK's
** ASCII reader takes no NaN). */
static double act_or(double a) { return isfinite(a) ? a : -1; }

/* VTK XML ImageData (VTK file formats, "XML File Formats", ImageData): one
** piece over the whole extent, point data in x-fastest order, which is the
** engine's node order i + nx (j + ny k). */
static void write_vti(FILE *f, const mt_tissue_config *c, const double *act,
                      const double *apd)
{
  fprintf(f, "<?xml version=\"1.0\"?>\n"
          "<VTKFile type=\"ImageData\" version=\"1.0\" "
          "byte_order=\"LittleEndian\" header_type=\"UInt64\">\n"
          "  <ImageData WholeExtent=\"0 %d 0 %d 0 %d\" Origin=\"0 0 0\" "
          "Spacing=\"%.17g %.17g %.17g\">\n"
          "    <Piece Extent=\"0 %d 0 %d 0 %d\">\n"
          "      <PointData Scalars=\"activation_ms\">\n",
          c->nx - 1, c->ny - 1, c->nz - 1, c->dx_mm, c->dx_mm, c->dx_mm,
          c->nx - 1, c->ny - 1, c->nz - 1);
  long n = (long)c->nx * c->ny * c->nz;
  const char *name[2] = {"activation_ms", "apd_ms"};
  const double *v[2] = {act, apd};
  for (int a = 0; a < 2; a++) {
    fprintf(f, "        <DataArray type=\"Float64\" Name=\"%s\" "
            "NumberOfComponents=\"1\" format=\"ascii\">\n", name[a]);
    for (long i = 0; i < n; i++)
      fprintf(f, "%s%.6g", i % 8 ? " " : "          ", act_or(v[a][i])),
        (i % 8 == 7 || i == n - 1) ? fputc('\n', f) : 0;
    fputs("        </DataArray>\n", f);
  }
  fputs("      </PointData>\n      <CellData>\n      </CellData>\n"
        "    </Piece>\n  </ImageData>\n</VTKFile>\n", f);
}

/* The z = 0 slice of the activation map, y up, with a colour bar (ms) and a
** scale bar (mm). Nodes never activated are grey. */
static void write_svg(FILE *f, const char *model, const mt_tissue_config *c,
                     const double *act)
{
  int nx = c->nx, ny = c->ny;
  int sx = nx > SVG_MAX_PX ? SVG_MAX_PX : nx;
  int sy = ny > SVG_MAX_PX ? SVG_MAX_PX : ny;
  double lx = fmax((nx - 1) * c->dx_mm, c->dx_mm),
         ly = fmax((ny - 1) * c->dx_mm, c->dx_mm);
  /* map area at most 560 x 400 px, aspect kept; a 1D cable gets 40 px */
  double scale = fmin(560 / lx, ny > 1 ? 400 / ly : 1e300);
  double mw = lx * scale, mh = ny > 1 ? ly * scale : 40;
  const double L = 40, T = 40;
  double cb = fmax(mh, 160); /* the colour bar's height */
  double W = L + mw + 130, H = T + fmax(cb + 20, mh + 60);
  double lo = INFINITY, hi = -INFINITY;
  for (int j = 0; j < ny; j++)
    for (int i = 0; i < nx; i++) {
      double a = act[i + (long)nx * j];
      if (isfinite(a))
        lo = fmin(lo, a), hi = fmax(hi, a);
    }
  if (!isfinite(lo))
    lo = 0, hi = 1;
  if (hi <= lo)
    hi = lo + 1;
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
          "height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
          "<title>medtwin tissue: activation time, %s, %d x %d x %d nodes, "
          "z = 0</title>\n", W, H, model, c->nx, c->ny, c->nz);
  fprintf(f, "<text x=\"%g\" y=\"24\" font-size=\"14\">Activation time (ms), "
          "%s, z = 0</text>\n", L, model);
  double pw = mw / sx, ph = mh / sy;
  fputs("<g shape-rendering=\"crispEdges\">\n", f);
  for (int q = 0; q < sy; q++)
    for (int p = 0; p < sx; p++) {
      /* the node nearest the sample's centre */
      int i = sx == nx ? p : (int)lround((p + 0.5) / sx * (nx - 1));
      int j = sy == ny ? q : (int)lround((q + 0.5) / sy * (ny - 1));
      double a = act[i + (long)nx * j];
      int rgb[3] = {190, 190, 190};
      if (isfinite(a))
        mt_map__viridis((a - lo) / (hi - lo), rgb);
      fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
              "fill=\"#%02x%02x%02x\"/>\n", L + p * pw,
              T + (sy - 1 - q) * ph, pw + 0.05, ph + 0.05, rgb[0], rgb[1],
              rgb[2]);
    }
  fputs("</g>\n", f);
  fprintf(f, "<rect x=\"%g\" y=\"%g\" width=\"%.2f\" height=\"%.2f\" "
          "fill=\"none\" stroke=\"#333\"/>\n", L, T, mw, mh);
  /* colour bar: 20 bands, early at the bottom, at least 160 px tall */
  double bx = L + mw + 20, bw = 16;
  for (int k = 0; k < 20; k++) {
    int rgb[3];
    mt_map__viridis((k + 0.5) / 20, rgb);
    fprintf(f, "<rect x=\"%g\" y=\"%.2f\" width=\"%g\" height=\"%.2f\" "
            "fill=\"#%02x%02x%02x\"/>\n", bx, T + cb - (k + 1) * cb / 20, bw,
            cb / 20 + 0.05, rgb[0], rgb[1], rgb[2]);
  }
  double step = mt_map__nice_step(hi - lo);
  for (double v = ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) {
    double y = T + cb - (v - lo) / (hi - lo) * cb;
    fprintf(f, "<line x1=\"%g\" y1=\"%.2f\" x2=\"%g\" y2=\"%.2f\" "
            "stroke=\"#333\"/><text x=\"%g\" y=\"%.2f\">%g</text>\n",
            bx + bw, y, bx + bw + 4, y, bx + bw + 7, y + 4, v);
  }
  fprintf(f, "<text x=\"%g\" y=\"%g\">ms</text>\n", bx, T - 6);
  /* scale bar: a 1-2-5 length near a quarter of the map's width */
  double len = mt_map__nice_step(lx * 1.25);
  double y = T + mh + 30;
  fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%.2f\" y2=\"%g\" stroke=\"#000\" "
          "stroke-width=\"3\"/><text x=\"%g\" y=\"%g\">%g mm</text>\n",
          L, y, L + len * scale, y, L, y + 18, len);
  fprintf(f, "<text x=\"%.2f\" y=\"%g\" fill=\"#555\">grey: not activated; "
          "dx = %g mm</text>\n", L + len * scale + 20, y + 4, c->dx_mm);
  fputs("</svg>\n", f);
}

static json_t *num_or_null(double v)
{
  return isfinite(v) ? json_real(v) : json_null();
}

/* ---- the command -------------------------------------------------------- */

typedef struct topts {
  const char *config, *out, *cmd;
  int json, progress;
} topts;

/* What a spec needs beyond its own fields: per-node arrays and parameter
** sets, owned here. */
typedef struct built {
  double *fibre, *p0, *p1, *dscale;
  unsigned char *mask, *region;
  const double *rp[1];
  long n_fibrotic, n_lesion_mask;
} built;

static void built_free(built *b)
{
  free(b->fibre), free(b->p0), free(b->p1), free(b->dscale);
  free(b->mask), free(b->region);
}

/* The image path: as given when absolute, else beside the configuration. */
static void image_path(const char *config, const char *img, char *out,
                       size_t len)
{
  const char *slash = strrchr(config, '/');
  if (img[0] == '/' || !slash)
    snprintf(out, len, "%s", img);
  else
    snprintf(out, len, "%.*s/%s", (int)(slash - config), config, img);
}

/* The grey of image img (relative to the configuration's folder) at every
** node of the 2D grid; field names it in messages. 0 or an exit status. */
static int grid_image(const char *config, const char *field, const char *img,
                      double pixel_mm, const mt_tissue_config *c,
                      double **grey)
{
  char path[2048], err[MT_ERRMSG_MAX];
  image_path(config, img, path, sizeof path);
  mt_image *im;
  if (!(*grey = malloc((size_t)c->nx * c->ny * sizeof **grey)))
    return cli_fail(EXIT_RUNTIME, "tissue: out of memory");
  int e = mt_image_read(path, &im, err, sizeof err);
  if (!e) {
    e = mt_image_to_grid(im, pixel_mm, c->nx, c->ny, c->dx_mm, *grey, err,
                         sizeof err);
    mt_image_free(im);
  }
  if (e) {
    free(*grey);
    *grey = NULL;
    return cli_fail(e == MT_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE, "%s: %s: %s",
                    config, field, err);
  }
  return 0;
}

/* Fill the spec's config with fibres, parameters, substrate and lesions.
** Returns 0 or an exit status (message printed). */
static int build(const char *config, mt_tissue_spec *t, built *b)
{
  mt_tissue_config *c = &t->c;
  const mt_model *m = t->m;
  long n = (long)c->nx * c->ny * c->nz;
  char err[MT_ERRMSG_MAX];
  memset(b, 0, sizeof *b);
  if (!(b->p0 = calloc((size_t)m->n_param + 1, sizeof(double))) ||
      !(b->p1 = calloc((size_t)m->n_param + 1, sizeof(double))))
    return cli_fail(EXIT_RUNTIME, "tissue: out of memory");
  if (m->patients && m->patients->n > 0) {
    mt_patient *pt;
    if (mt_patient_load(m, m->patients->name(0), &pt, err, sizeof err))
      return cli_fail(EXIT_RUNTIME, "tissue: %s", err);
    memcpy(b->p0, pt->param, (size_t)m->n_param * sizeof(double));
    mt_patient_free(pt);
  }
  for (int k = 0; k < t->param.n; k++)
    b->p0[t->param.idx[k]] = t->param.val[k];
  c->param = b->p0;
  if (t->has_angle) {
    double a = t->angle_deg * 3.14159265358979323846 / 180;
    if (!(b->fibre = malloc(3 * (size_t)n * sizeof *b->fibre)))
      return cli_fail(EXIT_RUNTIME, "tissue: out of memory for %ld nodes", n);
    for (long i = 0; i < n; i++)
      b->fibre[3 * i] = cos(a), b->fibre[3 * i + 1] = sin(a),
      b->fibre[3 * i + 2] = 0;
    c->fibre = b->fibre;
  }
  if (!(b->mask = malloc((size_t)n)))
    return cli_fail(EXIT_RUNTIME, "tissue: out of memory for %ld nodes", n);
  memset(b->mask, 1, (size_t)n);
  c->mask = b->mask;
  if (t->has_substrate) {
    const mt_tissue_substrate *sb = &t->sub;
    double *grey;
    int e = grid_image(config, "substrate.image", sb->image, sb->pixel_mm, c,
                       &grey);
    if (e)
      return e;
    if (sb->remodelled) {
      b->region = calloc((size_t)n, 1);
      b->dscale = malloc((size_t)n * sizeof *b->dscale);
      if (!b->region || !b->dscale) {
        free(grey);
        return cli_fail(EXIT_RUNTIME, "tissue: out of memory");
      }
      memcpy(b->p1, b->p0, (size_t)m->n_param * sizeof(double));
      for (int k = 0; k < sb->param.n; k++)
        b->p1[sb->param.idx[k]] = sb->param.val[k];
      b->rp[0] = b->p1;
      c->region = b->region, c->n_region = 1, c->region_param = b->rp;
      c->d_scale = b->dscale;
    }
    for (long i = 0; i < n; i++) {
      int fib = grey[i] >= sb->threshold;
      b->n_fibrotic += fib;
      if (sb->remodelled && grey[i] >= sb->scar_threshold) {
        b->mask[i] = 0;
        b->dscale[i] = 1; /* enters the means of the cells it corners */
      } else if (sb->remodelled) {
        b->region[i] = (unsigned char)fib;
        b->dscale[i] = fib ? sb->d_scale : 1;
      } else if (fib) {
        b->mask[i] = 0;
      }
    }
    free(grey);
  }
  if (t->has_lesion_mask) {
    double *grey;
    int e = grid_image(config, "lesion_mask.image", t->lesion_image,
                       t->lesion_pixel_mm, c, &grey);
    if (e)
      return e;
    for (long i = 0; i < n; i++)
      if (grey[i] >= t->lesion_threshold && b->mask[i])
        b->mask[i] = 0, b->n_lesion_mask++;
    free(grey);
  }
  for (int k = 0; k < t->nlesion; k++)
    mt_lesion_apply(b->mask, c->nx, c->ny, c->dx_mm, &t->lesion[k]);
  if (t->auto_sites) { /* spread over the tissue before any ablation */
    int k = mt_pace_sites_spread(b->mask, c->nx, c->ny, c->dx_mm,
                                 t->auto_sites, t->auto_radius_mm, t->site);
    if (k < 0)
      return cli_fail(EXIT_RUNTIME, "tissue: out of memory");
    t->nsite = k;
  }
  return 0;
}

static int topt(void *ctx, const char *a, const char *v)
{
  topts *o = ctx;
  if (!strcmp(a, "--out"))
    o->out = v;
  else
    return cli_fail(EXIT_USAGE, "tissue %s: unknown option '%s'", o->cmd,
                    a);
  return 0;
}

static int make_dir(const char *dir)
{
  if (mkdir(dir, 0777) && errno != EEXIST)
    return cli_fail(EXIT_RUNTIME, "tissue run: %s: %s", dir, strerror(errno));
  struct stat sb;
  if (stat(dir, &sb) || !S_ISDIR(sb.st_mode))
    return cli_fail(EXIT_RUNTIME, "tissue run: %s: not a directory", dir);
  return 0;
}

/* Remove dir and the frames V_*.png in it (a folder of our own). */
static void remove_frames(const char *dir)
{
  char fp[4200];
  for (int i = 0; i < 100000; i++) {
    snprintf(fp, sizeof fp, "%.4000s/V_%05d.png", dir, i);
    if (unlink(fp) && errno == ENOENT)
      break;
  }
  rmdir(dir);
}

/* Read and parse the configuration: 0 with *out (to free), or an exit
** status with the message printed. */
static int load_spec(const topts *o, mt_tissue_spec **out)
{
  char *text, err[MT_ERRMSG_MAX];
  size_t len;
  *out = NULL;
  if (mt_file_read(o->config, &text, &len, err, sizeof err))
    return cli_fail(EXIT_USAGE, "%s", err);
  mt_tissue_spec *t = malloc(sizeof *t);
  if (!t) {
    free(text);
    return cli_fail(EXIT_RUNTIME, "tissue %s: out of memory", o->cmd);
  }
  int rc = mt_tissue_spec_parse(text, len, o->config, t, err, sizeof err);
  free(text);
  if (rc) {
    free(t);
    return cli_fail(EXIT_USAGE, "%s", err);
  }
  *out = t;
  return 0;
}

static int run(const topts *o)
{
  char err[MT_ERRMSG_MAX];
  mt_tissue_spec *t;
  int rc = load_spec(o, &t);
  if (rc)
    return rc;
  built bl = {0};
  char partial[4096] = ""; /* snapshot frames until they are committed */
  mt_tissue *ts = NULL;
  if (rc)
    goto done;
  mt_tissue_config *c = &t->c;
  long n = (long)c->nx * c->ny * c->nz;
  if ((rc = build(o->config, t, &bl)))
    goto done;
  if (t->nstim < 1) {
    rc = bad(o->config, "stimuli", "expected for tissue run (the "
             "inducibility protocol is run by tissue induce and ablate)");
    goto done;
  }
  int e = mt_tissue_create(t->m, c, &ts, err, sizeof err);
  if (e) {
    rc = e == MT_EINVAL ? cli_fail(EXIT_USAGE, "%s: %s", o->config, err)
                        : cli_fail(EXIT_RUNTIME, "%s", err);
    goto done;
  }
  for (int k = 0; k < t->nstim; k++)
    if (mt_tissue_add_stim(ts, &t->stim[k])) {
      char f[32];
      snprintf(f, sizeof f, "stimuli[%d]", k);
      rc = bad(o->config, f, "expected a box covering at least one node "
               "(positions i dx mm) and valid times");
      goto done;
    }
  /* run in chunks of about 1 % of the steps, reporting progress */
  long steps = lround(t->duration_ms / c->dt_ms);
  int show = o->progress || isatty(STDERR_FILENO);
  long chunk = steps / 100 > 0 ? steps / 100 : 1, done_steps = 0;
  double t0 = now_s(), last = t0;
  long snap = t->snapshot_ms > 0 ? lround(t->snapshot_ms / c->dt_ms) : 0;
  int frame = 0;
  if (snap) {
    snprintf(partial, sizeof partial, "%.4000s/snapshots.partial", o->out);
    if ((rc = make_dir(o->out)) || (rc = make_dir(partial))) {
      partial[0] = 0;
      goto done;
    }
  }
  while (done_steps < steps) {
    long k = steps - done_steps < chunk ? steps - done_steps : chunk;
    if (snap && k > snap - done_steps % snap)
      k = snap - done_steps % snap;
    if (mt_tissue_step(ts, k)) {
      if (show)
        fputc('\n', stderr);
      rc = cli_fail(EXIT_RUNTIME, "tissue run: %s", mt_tissue_errmsg(ts));
      goto done;
    }
    done_steps += k;
    if (snap && done_steps % snap == 0) {
      char fp[4200], title[80];
      snprintf(fp, sizeof fp, "%.4000s/V_%05d.png", partial, frame++);
      snprintf(title, sizeof title, "V at %.1f ms", mt_tissue_time(ts));
      if (mt_map_png(fp, mt_tissue_state(ts, 0), mt_tissue_mask(ts), c->nx,
                     c->ny, c->dx_mm, -90, 40, "mV", title, err,
                     sizeof err)) {
        rc = cli_fail(EXIT_RUNTIME, "tissue run: %s", err);
        goto done;
      }
    }
    double tn = now_s();
    if (show && (tn - last >= 0.5 || done_steps == steps)) {
      double el = tn - t0, eta = el / done_steps * (steps - done_steps);
      fprintf(stderr, "\rtissue: %3.0f%%  t = %.1f of %.1f ms  elapsed %.1f s"
              "  ETA %.1f s ", 100.0 * done_steps / steps, mt_tissue_time(ts),
              t->duration_ms, el, eta);
      last = tn;
    }
  }
  double wall = now_s() - t0;
  if (show)
    fputc('\n', stderr);

  const double *act = mt_tissue_activation(ts), *apd = mt_tissue_apd(ts);
  double first = INFINITY, lastact = -INFINITY;
  long nact = 0;
  for (long i = 0; i < n; i++)
    if (isfinite(act[i]))
      nact++, first = fmin(first, act[i]), lastact = fmax(lastact, act[i]);
  json_t *s = json_object(), *g = json_object(), *ac = json_object();
  json_object_set_new(s, "medtwin_version", json_string(MT_VERSION));
  json_object_set_new(s, "config", json_string(o->config));
  json_object_set_new(s, "model", json_string(t->m->name));
  json_object_set_new(g, "nx", json_integer(c->nx));
  json_object_set_new(g, "ny", json_integer(c->ny));
  json_object_set_new(g, "nz", json_integer(c->nz));
  json_object_set_new(g, "dx_mm", json_real(c->dx_mm));
  json_object_set_new(g, "nodes", json_integer(n));
  json_object_set_new(s, "grid", g);
  json_object_set_new(s, "D_l", json_real(c->D_l));
  json_object_set_new(s, "D_t", json_real(c->D_t));
  json_object_set_new(s, "fibre_angle_deg", json_real(t->angle_deg));
  json_object_set_new(s, "diffusion", json_string(c->diffusion ==
                      MT_TISSUE_EXPLICIT ? "explicit" : "semi-implicit"));
  json_object_set_new(s, "cells", json_string(c->generic_cells ? "generic"
                                                                : "fast"));
  json_object_set_new(s, "dt_ms", json_real(c->dt_ms));
  json_object_set_new(s, "dt_bound_ms", json_real(mt_tissue_dt_bound(ts)));
  json_object_set_new(s, "duration_ms", json_real(t->duration_ms));
  json_object_set_new(s, "t_end_ms", json_real(mt_tissue_time(ts)));
  json_object_set_new(s, "steps", json_integer(steps));
  json_object_set_new(s, "wall_s", json_real(wall));
  json_object_set_new(s, "cell_updates_per_s",
                      num_or_null((double)n * steps / wall));
  json_object_set_new(ac, "threshold_mV", json_real(c->act_threshold_mV));
  json_object_set_new(ac, "first_ms", num_or_null(first));
  json_object_set_new(ac, "last_ms", num_or_null(lastact));
  json_object_set_new(ac, "nodes_activated", json_integer(nact));
  json_object_set_new(ac, "fraction_activated", json_real((double)nact / n));
  if (t->cv_x) {
    /* along the middle row (y, z at the middle node), from a quarter to
    ** three quarters of the length, away from the stimulus and the far
    ** edge */
    int j = (c->ny - 1) / 2, k = (c->nz - 1) / 2;
    long a = mt_tissue_index(ts, (c->nx - 1) / 4, j, k),
         b = mt_tissue_index(ts, 3 * (c->nx - 1) / 4, j, k);
    json_object_set_new(ac, "cv_x_mm_per_ms",
                        num_or_null(c->nx >= 5 ? mt_tissue_cv(ts, a, b, 21)
                                               : NAN));
  }
  json_object_set_new(s, "activation", ac);

  /* all or nothing: summary, then the optional files */
  if ((rc = make_dir(o->out)))
    goto out;
  const char *names[5] = {"summary.json", "activation.vti", "activation.svg",
                          "activation.png", "apd.png"};
  static const char *const keys[5] = {"summary", "vti", "svg",
                                      "activation_png", "apd_png"};
  int want[5] = {1, t->vti, t->svg, t->png && c->nz == 1 && c->ny > 1,
                 t->png && c->nz == 1 && c->ny > 1};
  mt_afile *af[5] = {NULL, NULL, NULL, NULL, NULL};
  int nf = 0;
  if (snap) {
    char sp[4200];
    snprintf(sp, sizeof sp, "%.4000s/snapshots", o->out);
    json_object_set_new(s, "snapshots", json_string(sp));
    json_object_set_new(s, "snapshot_frames", json_integer(frame));
  }
  for (int i = 0; i < 5 && !rc; i++) {
    if (!want[i])
      continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", o->out, names[i]);
    json_object_set_new(s, keys[i], json_string(path));
    if (mt_afile_open(path, &af[nf], err, sizeof err)) {
      rc = cli_fail(EXIT_RUNTIME, "tissue run: %s", err);
      break;
    }
    nf++;
  }
  if (!rc) {
    int k = 0;
    if (json_dumpf(s, mt_afile_stream(af[k++]), JSON_INDENT(2) |
                   JSON_REAL_PRECISION(10)) == 0)
      fputc('\n', mt_afile_stream(af[0]));
    if (t->vti)
      write_vti(mt_afile_stream(af[k++]), c, act, apd);
    if (t->svg)
      write_svg(mt_afile_stream(af[k++]), t->m->name, c, act);
    for (int i = 3; i < 5 && !rc; i++) {
      if (!want[i])
        continue;
      unsigned char *rgb;
      int w, h;
      char title[120];
      snprintf(title, sizeof title, "%s, %s", i == 3 ? "activation time"
               : "action potential duration", t->m->name);
      if (mt_map_rgb(i == 3 ? act : apd, mt_tissue_mask(ts), c->nx, c->ny,
                     c->dx_mm, NAN, NAN, "ms", title, &rgb, &w, &h, err,
                     sizeof err) ||
          mt_png_write_rgb_fp(mt_afile_stream(af[k]), names[i], w, h, rgb,
                              err, sizeof err))
        rc = cli_fail(EXIT_RUNTIME, "tissue run: %s", err);
      free(rgb);
      k++;
    }
    if (!rc && mt_afile_commit_all(af, nf, err, sizeof err))
      rc = cli_fail(EXIT_RUNTIME, "tissue run: %s", err);
    if (!rc)
      nf = 0;
  }
  if (!rc && snap) { /* the frames join the outputs */
    char sp[4200];
    snprintf(sp, sizeof sp, "%.4000s/snapshots", o->out);
    remove_frames(sp);
    if (rename(partial, sp))
      rc = cli_fail(EXIT_RUNTIME, "tissue run: %s: %s", sp, strerror(errno));
    else
      partial[0] = 0;
  }
  for (int i = 0; i < nf; i++)
    mt_afile_abort(af[i]);
  if (!rc) {
    if (o->json) {
      json_dumpf(s, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
      fputc('\n', stdout);
    } else {
      printf("tissue: %s %d x %d x %d nodes, %ld steps of %g ms (%s) in "
             "%.2f s, %.3g cell updates/s; %ld of %ld nodes activated",
             t->m->name, c->nx, c->ny, c->nz, steps, c->dt_ms,
             c->diffusion == MT_TISSUE_EXPLICIT ? "explicit" : "semi-implicit",
             wall, (double)n * steps / wall, nact, n);
      if (nact)
        printf(", %.2f to %.2f ms", first, lastact);
      printf("; wrote %s\n", o->out);
    }
  }
out:
  json_decref(s);
done:
  if (partial[0]) { /* nothing half-written */
    remove_frames(partial);
  }
  mt_tissue_free(ts);
  built_free(&bl);
  free(t);
  return rc;
}

/* ---- induce and ablate ------------------------------------------------- */

static void induce_progress(void *ctx, int site, double coupling,
                            double activity)
{
  const topts *o = ctx;
  if (!o->progress && !isatty(STDERR_FILENO))
    return;
  if (isfinite(coupling))
    fprintf(stderr, "\rtissue %s: site %d  S2 coupling %.0f ms          ",
            o->cmd, site, coupling);
  else
    fprintf(stderr, "\rtissue %s: site %d  activity %.0f ms after pacing  ",
            o->cmd, site, activity);
}

static json_t *site_json(const mt_site_result *r)
{
  json_t *j = json_object();
  json_object_set_new(j, "x_mm", json_real(r->site.x_mm));
  json_object_set_new(j, "y_mm", json_real(r->site.y_mm));
  json_object_set_new(j, "radius_mm", json_real(r->site.radius_mm));
  json_object_set_new(j, "induced", json_boolean(r->induced));
  json_object_set_new(j, "captured", json_boolean(r->captured));
  json_object_set_new(j, "coupling_ms", num_or_null(r->coupling_ms));
  json_object_set_new(j, "loss_of_capture_ms", num_or_null(r->loss_ms));
  json_object_set_new(j, "activity_after_pacing_ms",
                      json_real(r->activity_ms));
  json_object_set_new(j, "cycle_ms", num_or_null(r->cycle_ms));
  json_object_set_new(j, "tries", json_integer(r->tries));
  return j;
}

static json_t *test_json(const mt_induce_result *r)
{
  json_t *j = json_object(), *sa = json_array(), *da = json_array();
  json_object_set_new(j, "inducible", json_boolean(r->inducible));
  for (int k = 0; k < r->n_site; k++)
    json_array_append_new(sa, site_json(&r->site[k]));
  for (int k = 0; k < r->n_driver; k++) {
    const mt_driver *d = &r->driver[k];
    json_t *e = json_object();
    json_object_set_new(e, "x_mm", json_real(d->x_mm));
    json_object_set_new(e, "y_mm", json_real(d->y_mm));
    json_object_set_new(e, "charge", json_integer(d->charge));
    json_object_set_new(e, "kind", json_string(d->hole ? "anatomical"
                                                       : "functional"));
    json_object_set_new(e, "first_ms", json_real(d->t_first_ms));
    json_object_set_new(e, "last_ms", json_real(d->t_last_ms));
    json_object_set_new(e, "lifetime_ms",
                        json_real(d->t_last_ms - d->t_first_ms));
    json_object_set_new(e, "rotations", json_real(d->rotations));
    json_object_set_new(e, "site", json_integer(d->site));
    json_array_append_new(da, e);
  }
  json_object_set_new(j, "sites", sa);
  json_object_set_new(j, "drivers", da);
  json_object_set_new(j, "simulated_ms", json_real(r->sim_ms));
  return j;
}

static json_t *lesion_json(const mt_lesion *l)
{
  json_t *e = json_object();
  json_object_set_new(e, "from", json_pack("[f, f]", l->x0_mm, l->y0_mm));
  json_object_set_new(e, "to", json_pack("[f, f]", l->x1_mm, l->y1_mm));
  json_object_set_new(e, "width_mm", json_real(l->width_mm));
  json_object_set_new(e, "round", json_integer(l->round));
  if (l->driver >= 0)
    json_object_set_new(e, "driver", json_integer(l->driver));
  return e;
}

static int induce(const topts *o)
{
  char err[MT_ERRMSG_MAX];
  mt_tissue_spec *t;
  int rc = load_spec(o, &t);
  if (rc)
    return rc;
  built bl = {0};
  int ablate = !strcmp(o->cmd, "ablate");
  mt_induce_result ir = {0};
  mt_ablate_result ar = {0};
  json_t *s = NULL;
  if (!rc && !t->has_protocol)
    rc = bad(o->config, "inducibility", "expected the protocol and sites "
             "of the test (tissue induce and ablate)");
  if (rc || (rc = build(o->config, t, &bl)))
    goto done;
  mt_tissue_config *c = &t->c;
  double t0 = now_s();
  int e = ablate ? mt_ablate_loop(t->m, c, t->site, t->nsite, &t->proto, NULL,
                                  0, t->ablate_width_mm, t->ablate_rounds,
                                  induce_progress, (void *)o, &ar, err,
                                  sizeof err)
                 : mt_induce_test(t->m, c, t->site, t->nsite, &t->proto,
                                  induce_progress, (void *)o, &ir, err,
                                  sizeof err);
  double wall = now_s() - t0;
  if (o->progress || isatty(STDERR_FILENO))
    fputc('\n', stderr);
  if (e) {
    rc = e == MT_EINVAL ? cli_fail(EXIT_USAGE, "%s: %s", o->config, err)
                        : cli_fail(EXIT_RUNTIME, "tissue %s: %s", o->cmd, err);
    goto done;
  }
  const mt_induce_result *last = ablate ? &ar.last : &ir;
  long n = (long)c->nx * c->ny;
  s = json_object();
  json_object_set_new(s, "medtwin_version", json_string(MT_VERSION));
  json_object_set_new(s, "config", json_string(o->config));
  json_object_set_new(s, "model", json_string(t->m->name));
  json_object_set_new(s, "protocol", json_string(
      t->proto.kind == MT_PROTOCOL_S1S2 ? "s1s2" : "burst"));
  json_object_set_new(s, "persist_ms", json_real(t->proto.persist_ms));
  json_object_set_new(s, "fibrotic_nodes", json_integer(bl.n_fibrotic));
  json_object_set_new(s, "inducible", json_boolean(last->inducible));
  json_t *les = json_array();
  for (int k = 0; k < t->nlesion; k++)
    json_array_append_new(les, lesion_json(&t->lesion[k]));
  for (int k = 0; ablate && k < ar.n_lesion; k++)
    json_array_append_new(les, lesion_json(&ar.lesion[k]));
  json_object_set_new(s, "lesions", les);
  if (t->has_lesion_mask) {
    json_object_set_new(s, "lesion_mask", json_string(t->lesion_image));
    json_object_set_new(s, "lesion_mask_nodes",
                        json_integer(bl.n_lesion_mask));
  }
  if (ablate) {
    json_object_set_new(s, "rounds", json_integer(ar.rounds));
    json_object_set_new(s, "first_test", test_json(&ar.first));
    json_object_set_new(s, "last_test", test_json(&ar.last));
  } else {
    json_object_set_new(s, "test", test_json(&ir));
  }
  json_object_set_new(s, "wall_s", json_real(wall));
  /* tissue.png: remodelled (1) and healthy (0) tissue; grey: scar and
  ** lesions */
  const unsigned char *mask = ablate ? ar.mask : bl.mask;
  double *val = malloc((size_t)n * sizeof *val);
  unsigned char *rgb = NULL;
  int w, h;
  if (!val) {
    rc = cli_fail(EXIT_RUNTIME, "tissue: out of memory");
    goto done;
  }
  for (long i = 0; i < n; i++)
    val[i] = bl.region ? bl.region[i] : 0;
  int me = mt_map_rgb(val, mask, c->nx, c->ny, c->dx_mm, 0, 1,
                      "remodelled", ablate ? "tissue after ablation (grey: "
                      "non-conducting)" : "tissue (grey: non-conducting)",
                      &rgb, &w, &h, err, sizeof err);
  free(val);
  if (me) {
    rc = cli_fail(EXIT_RUNTIME, "tissue %s: %s", o->cmd, err);
    goto done;
  }
  mt_afile *af[2] = {NULL, NULL};
  int nf = 0;
  if ((rc = make_dir(o->out))) {
    free(rgb);
    goto done;
  }
  static const char *const names[2] = {"summary.json", "tissue.png"};
  for (int i = 0; i < 2 && !rc; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", o->out, names[i]);
    json_object_set_new(s, i ? "tissue_png" : "summary", json_string(path));
    if (mt_afile_open(path, &af[nf], err, sizeof err))
      rc = cli_fail(EXIT_RUNTIME, "tissue %s: %s", o->cmd, err);
    else
      nf++;
  }
  if (!rc) {
    if (json_dumpf(s, mt_afile_stream(af[0]), JSON_INDENT(2) |
                   JSON_REAL_PRECISION(10)) == 0)
      fputc('\n', mt_afile_stream(af[0]));
    if (mt_png_write_rgb_fp(mt_afile_stream(af[1]), names[1], w, h, rgb, err,
                            sizeof err) ||
        mt_afile_commit_all(af, nf, err, sizeof err))
      rc = cli_fail(EXIT_RUNTIME, "tissue %s: %s", o->cmd, err);
    else
      nf = 0;
  }
  for (int i = 0; i < nf; i++)
    mt_afile_abort(af[i]);
  free(rgb);
  if (!rc) {
    if (o->json) {
      json_dumpf(s, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
      fputc('\n', stdout);
    } else if (ablate) {
      printf("tissue ablate: %s after %d test%s, %d lesion%s added; first "
             "test %s with %d driver%s; %.1f s; wrote %s\n",
             ar.inducible ? "still inducible" : "non-inducible", ar.rounds,
             ar.rounds == 1 ? "" : "s", ar.n_lesion,
             ar.n_lesion == 1 ? "" : "s",
             ar.first.inducible ? "inducible" : "non-inducible",
             ar.first.n_driver, ar.first.n_driver == 1 ? "" : "s", wall,
             o->out);
    } else {
      printf("tissue induce: %s (%d site%s, %d driver%s); %.1f s; wrote %s\n",
             ir.inducible ? "inducible" : "non-inducible", ir.n_site,
             ir.n_site == 1 ? "" : "s", ir.n_driver,
             ir.n_driver == 1 ? "" : "s", wall, o->out);
    }
  }
done:
  json_decref(s);
  mt_induce_result_free(&ir);
  mt_ablate_result_free(&ar);
  built_free(&bl);
  free(t);
  return rc;
}

int cmd_tissue(int argc, char **argv)
{
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    fputs(usage_text, argc < 2 ? stderr : stdout);
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  if (strcmp(argv[1], "run") && strcmp(argv[1], "induce") &&
      strcmp(argv[1], "ablate"))
    return cli_fail(EXIT_USAGE, "tissue: unknown subcommand '%s' (run, "
                    "induce or ablate; 'medtwin tissue --help')", argv[1]);
  topts o = {0};
  o.cmd = argv[1];
  /* the configuration is the first non-option argument; --progress takes
  ** no value, so it is taken out before the common parser */
  char *args[64];
  int na = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--progress"))
      o.progress = 1;
    else if (!o.config && strncmp(argv[i], "--", 2) && i > 1 &&
             (na == 1 || strcmp(args[na - 1], "--out")))
      o.config = argv[i];
    else if (na < 64)
      args[na++] = argv[i];
    else
      return cli_fail(EXIT_USAGE, "tissue %s: too many arguments", o.cmd);
  }
  char name[32];
  snprintf(name, sizeof name, "tissue %s", o.cmd);
  int rc = cli_parse(na, args, name, usage_text, &o.json, topt, &o);
  if (rc)
    return rc;
  if (!o.config || !o.out)
    return cli_fail(EXIT_USAGE, "%s: CONFIG.json and --out DIR are "
                    "required (run 'medtwin tissue --help')", name);
  return strcmp(o.cmd, "run") ? induce(&o) : run(&o);
}
