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
#include "medtwin/model.h"
#include "medtwin/tissue.h"
#include "medtwin/tissue_spec.h"

/* Most samples drawn per axis in the SVG (the map is subsampled beyond). */
#define SVG_MAX_PX 240

static const char usage_text[] =
  "usage: medtwin tissue run CONFIG.json --out DIR [--json] [--progress]\n"
  "\n"
  "Simulate monodomain cardiac tissue described by CONFIG.json (schema:\n"
  "docs/tissue-config.schema.json) and write DIR/summary.json,\n"
  "DIR/activation.vti (VTK XML ImageData) and DIR/activation.svg, all or\n"
  "nothing.\n"
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
  const char *config, *out;
  int json, progress;
} topts;

static int topt(void *ctx, const char *a, const char *v)
{
  topts *o = ctx;
  if (!strcmp(a, "--out"))
    o->out = v;
  else
    return cli_fail(EXIT_USAGE, "tissue run: unknown option '%s'", a);
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

static int run(const topts *o)
{
  char *text, err[MT_ERRMSG_MAX];
  size_t len;
  if (mt_file_read(o->config, &text, &len, err, sizeof err))
    return cli_fail(EXIT_USAGE, "%s", err);
  mt_tissue_spec *t = malloc(sizeof *t);
  if (!t) {
    free(text);
    return cli_fail(EXIT_RUNTIME, "tissue run: out of memory");
  }
  int rc = mt_tissue_spec_parse(text, len, o->config, t, err, sizeof err)
               ? cli_fail(EXIT_USAGE, "%s", err) : 0;
  free(text);
  double *fibre = NULL;
  mt_tissue *ts = NULL;
  if (rc)
    goto done;
  mt_tissue_config *c = &t->c;
  long n = (long)c->nx * c->ny * c->nz;
  if (t->has_angle) {
    double a = t->angle_deg * 3.14159265358979323846 / 180;
    if (!(fibre = malloc(3 * (size_t)n * sizeof *fibre))) {
      rc = cli_fail(EXIT_RUNTIME, "tissue run: out of memory for %ld nodes",
                    n);
      goto done;
    }
    for (long i = 0; i < n; i++)
      fibre[3 * i] = cos(a), fibre[3 * i + 1] = sin(a), fibre[3 * i + 2] = 0;
    c->fibre = fibre;
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
  while (done_steps < steps) {
    long k = steps - done_steps < chunk ? steps - done_steps : chunk;
    if (mt_tissue_step(ts, k)) {
      if (show)
        fputc('\n', stderr);
      rc = cli_fail(EXIT_RUNTIME, "tissue run: %s", mt_tissue_errmsg(ts));
      goto done;
    }
    done_steps += k;
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
  const char *names[3] = {"summary.json", "activation.vti", "activation.svg"};
  int want[3] = {1, t->vti, t->svg};
  mt_afile *af[3] = {NULL, NULL, NULL};
  int nf = 0;
  for (int i = 0; i < 3 && !rc; i++) {
    if (!want[i])
      continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", o->out, names[i]);
    json_object_set_new(s, i == 1 ? "vti" : i == 2 ? "svg" : "summary",
                        json_string(path));
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
    if (mt_afile_commit_all(af, nf, err, sizeof err))
      rc = cli_fail(EXIT_RUNTIME, "tissue run: %s", err);
    nf = 0;
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
  mt_tissue_free(ts);
  free(fibre);
  free(t);
  return rc;
}

int cmd_tissue(int argc, char **argv)
{
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    fputs(usage_text, argc < 2 ? stderr : stdout);
    return argc < 2 ? EXIT_USAGE : EXIT_OK;
  }
  if (strcmp(argv[1], "run"))
    return cli_fail(EXIT_USAGE, "tissue: unknown subcommand '%s' (run "
                    "'medtwin tissue --help')", argv[1]);
  topts o = {0};
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
      return cli_fail(EXIT_USAGE, "tissue run: too many arguments");
  }
  int rc = cli_parse(na, args, "tissue run", usage_text, &o.json, topt, &o);
  if (rc)
    return rc;
  if (!o.config || !o.out)
    return cli_fail(EXIT_USAGE, "tissue run: CONFIG.json and --out DIR are "
                    "required (run 'medtwin tissue run --help')");
  return run(&o);
}
