/*
** Pictures out (include/medtwin/image.h; docs/tissue.md, "Images"): PNG
** files through libpng (http://www.libpng.org/pub/png/libpng-manual.txt,
** "IV. Writing"), and colour maps of a 2D field with a colour bar, a scale
** bar and a title, labelled in a built-in 5 x 7 bitmap font (the glyph
** shapes of the HD44780 character generator's 5 x 7 set, Hitachi HD44780U
** data sheet, ROM code A00, with g and V redrawn to tell them from 9 and U;
** drawn 2 x 2 pixels a dot). The colours are the
** SVG activation map's (src/tissue/colormap.h).
*/
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/errfmt.h"
#include "colormap.h"
#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/image.h"

#define PNG_MAX_SIDE 65535 /* what mt_png_write_rgb accepts */
#define TITLE_MAX 120
#define FONT_SCALE 2       /* pixels per dot of the 5 x 7 font */
#define ADVANCE (6 * FONT_SCALE)
#define LINE_H (7 * FONT_SCALE)

static int failf(char *err, size_t errlen, int code, const char *name,
                 const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = mt_vfail(err, errlen, code, name, fmt, ap);
  va_end(ap);
  return rc;
}

/* ---- PNG writer ------------------------------------------------------- */

typedef struct pngwr {
  png_structp png;
  png_infop info;
  int nomem; /* an allocation of libpng's failed */
  char msg[256];
} pngwr;

/* libpng allocates through our malloc (see image.c, png_alloc). */
static png_voidp wr_alloc(png_structp png, png_alloc_size_t n)
{
  void *p = malloc(n);
  if (!p)
    ((pngwr *)png_get_mem_ptr(png))->nomem = 1;
  return p;
}

static void wr_dealloc(png_structp png, png_voidp p)
{
  (void)png;
  free(p);
}

static void wr_fail(png_structp png, png_const_charp msg)
{
  pngwr *c = png_get_error_ptr(png);
  snprintf(c->msg, sizeof c->msg, "%s", msg);
  png_longjmp(png, 1);
}

static void wr_quiet(png_structp png, png_const_charp msg)
{
  (void)png, (void)msg; /* the library never prints */
}

/* 0, or -1 with c->msg. */
static int wr_encode(pngwr *c, FILE *f, int w, int h,
                     const unsigned char *rgb)
{
  if (setjmp(png_jmpbuf(c->png)))
    return -1;
  png_init_io(c->png, f);
  png_set_IHDR(c->png, c->info, (png_uint_32)w, (png_uint_32)h, 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(c->png, c->info);
  for (int r = 0; r < h; r++)
    png_write_row(c->png, rgb + 3 * (size_t)w * r);
  png_write_end(c->png, NULL);
  return 0;
}

int mt_png_write_rgb_fp(FILE *f, const char *name, int w, int h,
                        const unsigned char *rgb, char *err, size_t errlen)
{
  if (!name)
    name = "(png)";
  if (!f || !rgb || w < 1 || h < 1 || w > PNG_MAX_SIDE || h > PNG_MAX_SIDE)
    return failf(err, errlen, MT_EINVAL, name, "PNG of %d x %d pixels: "
                 "expected a width and height from 1 to %d and pixels", w, h,
                 PNG_MAX_SIDE);
  pngwr c = {.png = NULL};
  c.png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, &c, wr_fail,
                                    wr_quiet, &c, wr_alloc, wr_dealloc);
  if (c.png)
    c.info = png_create_info_struct(c.png);
  if (!c.png || !c.info) {
    png_destroy_write_struct(c.png ? &c.png : NULL, NULL);
    return failf(err, errlen, MT_ENOMEM, name, "out of memory for libpng");
  }
  int rc = wr_encode(&c, f, w, h, rgb);
  png_destroy_write_struct(&c.png, &c.info);
  if (c.nomem)
    return failf(err, errlen, MT_ENOMEM, name, "writing the PNG: out of "
                 "memory");
  if (rc)
    return failf(err, errlen, MT_EIO, name, "writing the PNG: %s", c.msg);
  if (ferror(f))
    return failf(err, errlen, MT_EIO, name, "writing the PNG failed");
  return 0;
}

int mt_png_write_rgb(const char *path, int w, int h, const unsigned char *rgb,
                     char *err, size_t errlen)
{
  if (!path || !rgb || w < 1 || h < 1 || w > PNG_MAX_SIDE || h > PNG_MAX_SIDE)
    return failf(err, errlen, MT_EINVAL, path ? path : "(png)", "PNG of %d x "
                 "%d pixels: expected a width and height from 1 to %d and "
                 "pixels", w, h, PNG_MAX_SIDE);
  mt_afile *af;
  int rc = mt_afile_open(path, &af, err, errlen);
  if (rc == MT_ENOMEM)
    return failf(err, errlen, rc, path, "out of memory");
  if (rc)
    return rc;
  rc = mt_png_write_rgb_fp(mt_afile_stream(af), path, w, h, rgb, err, errlen);
  if (rc) {
    mt_afile_abort(af);
    return rc;
  }
  return mt_afile_commit(af, err, errlen);
}

/* ---- the 5 x 7 font ------------------------------------------------------ */

/* Rows top to bottom, bit 4 the leftmost dot. */
typedef struct glyph {
  char c;
  unsigned char row[7];
} glyph;

static const glyph font[] = {
  {' ', {0, 0, 0, 0, 0, 0, 0}},
  {'.', {0, 0, 0, 0, 0, 0x0C, 0x0C}},
  {'-', {0, 0, 0, 0x1F, 0, 0, 0}},
  {'+', {0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0}},
  {',', {0, 0, 0, 0, 0x0C, 0x04, 0x08}},
  {':', {0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0}},
  {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}},
  {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
  {'/', {0, 0x01, 0x02, 0x04, 0x08, 0x10, 0}},
  {'=', {0, 0, 0x1F, 0, 0x1F, 0, 0}},
  {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}},
  {'_', {0, 0, 0, 0, 0, 0, 0x1F}},
  {'?', {0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04}},
  {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}},
  {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
  {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}},
  {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
  {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}},
  {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
  {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}},
  {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
  {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}},
  {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
  {'A', {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11}},
  {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
  {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}},
  {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
  {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}},
  {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
  {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}},
  {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
  {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}},
  {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
  {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}},
  {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
  {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}},
  {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
  {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
  {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
  {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}},
  {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
  {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}},
  {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
  {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
  {'V', {0x11, 0x11, 0x11, 0x11, 0x0A, 0x0A, 0x04}},
  {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}},
  {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
  {'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}},
  {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
  {'a', {0, 0, 0x0E, 0x01, 0x0F, 0x11, 0x0F}},
  {'b', {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E}},
  {'c', {0, 0, 0x0E, 0x10, 0x10, 0x11, 0x0E}},
  {'d', {0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F}},
  {'e', {0, 0, 0x0E, 0x11, 0x1F, 0x10, 0x0E}},
  {'f', {0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08}},
  {'g', {0, 0, 0x0F, 0x11, 0x0F, 0x01, 0x0E}},
  {'h', {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11}},
  {'i', {0x04, 0, 0x0C, 0x04, 0x04, 0x04, 0x0E}},
  {'j', {0x02, 0, 0x06, 0x02, 0x02, 0x12, 0x0C}},
  {'k', {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12}},
  {'l', {0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}},
  {'m', {0, 0, 0x1A, 0x15, 0x15, 0x11, 0x11}},
  {'n', {0, 0, 0x16, 0x19, 0x11, 0x11, 0x11}},
  {'o', {0, 0, 0x0E, 0x11, 0x11, 0x11, 0x0E}},
  {'p', {0, 0, 0x1E, 0x11, 0x1E, 0x10, 0x10}},
  {'q', {0, 0, 0x0D, 0x13, 0x0F, 0x01, 0x01}},
  {'r', {0, 0, 0x16, 0x19, 0x10, 0x10, 0x10}},
  {'s', {0, 0, 0x0E, 0x10, 0x0E, 0x01, 0x1E}},
  {'t', {0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06}},
  {'u', {0, 0, 0x11, 0x11, 0x11, 0x13, 0x0D}},
  {'v', {0, 0, 0x11, 0x11, 0x11, 0x0A, 0x04}},
  {'w', {0, 0, 0x11, 0x11, 0x15, 0x15, 0x0A}},
  {'x', {0, 0, 0x11, 0x0A, 0x04, 0x0A, 0x11}},
  {'y', {0, 0, 0x11, 0x11, 0x0F, 0x01, 0x0E}},
  {'z', {0, 0, 0x1F, 0x02, 0x04, 0x08, 0x1F}},
};

static const glyph *glyph_of(char ch)
{
  const glyph *q = NULL;
  for (size_t k = 0; k < sizeof font / sizeof *font; k++) {
    if (font[k].c == ch)
      return &font[k];
    if (font[k].c == '?')
      q = &font[k];
  }
  return q;
}

/* ---- drawing --------------------------------------------------------------- */

typedef struct canvas {
  unsigned char *px; /* 3 w h, rows from the top */
  int w, h;
} canvas;

/* Fill a rectangle, clipped to the canvas. */
static void fill(canvas *c, int x0, int y0, int w, int h, const int rgb[3])
{
  int x1 = x0 + w > c->w ? c->w : x0 + w, y1 = y0 + h > c->h ? c->h : y0 + h;
  for (int y = y0 < 0 ? 0 : y0; y < y1; y++)
    for (int x = x0 < 0 ? 0 : x0; x < x1; x++) {
      unsigned char *p = c->px + 3 * ((size_t)c->w * y + x);
      p[0] = (unsigned char)rgb[0], p[1] = (unsigned char)rgb[1],
      p[2] = (unsigned char)rgb[2];
    }
}

/* A one-pixel outline around the w x h rectangle at (x0, y0), outside it. */
static void frame(canvas *c, int x0, int y0, int w, int h, const int rgb[3])
{
  fill(c, x0 - 1, y0 - 1, w + 2, 1, rgb);
  fill(c, x0 - 1, y0 + h, w + 2, 1, rgb);
  fill(c, x0 - 1, y0, 1, h, rgb);
  fill(c, x0 + w, y0, 1, h, rgb);
}

static int text_width(const char *s)
{
  size_t n = strlen(s);
  return n ? (int)n * ADVANCE - FONT_SCALE : 0;
}

/* s in black, its top-left corner at (x, y). */
static void text(canvas *c, int x, int y, const char *s)
{
  static const int ink[3] = {0, 0, 0};
  for (; *s; s++, x += ADVANCE) {
    const glyph *g = glyph_of(*s);
    for (int r = 0; r < 7; r++)
      for (int d = 0; d < 5; d++)
        if (g->row[r] >> (4 - d) & 1)
          fill(c, x + d * FONT_SCALE, y + r * FONT_SCALE, FONT_SCALE,
               FONT_SCALE, ink);
  }
}

/* ---- maps ------------------------------------------------------------------ */

typedef struct layout {
  int sx, sy, mw, mh;     /* pixels a node, map size */
  int bx, bw, bh;         /* colour bar: left, width, height */
  int lx;                 /* labels' left */
  int sb_y, sb_len;       /* scale bar: top, length in pixels */
  double sb_mm;
  char lab[3][32], sb_lab[32], title[TITLE_MAX + 1];
  int w, h;
} layout;

static int imax(int a, int b) { return a > b ? a : b; }

static void lay_out(layout *o, int nx, int ny, double dx, double lo,
                    double hi, const char *unit, const char *title)
{
  o->sx = imax(1, 600 / imax(nx, ny));
  o->sy = ny * o->sx < 40 ? (40 + ny - 1) / ny : o->sx;
  o->mw = nx * o->sx, o->mh = ny * o->sy;
  o->bx = MT_MAP_LEFT + o->mw + 24, o->bw = 20, o->bh = imax(o->mh, 160);
  o->lx = o->bx + o->bw + 8;
  double v[3] = {hi, (lo + hi) / 2, lo};
  int lw = unit ? text_width(unit) - o->bw - 8 : 0;
  for (int k = 0; k < 3; k++) {
    snprintf(o->lab[k], sizeof o->lab[k], "%.4g", v[k]);
    lw = imax(lw, text_width(o->lab[k]));
  }
  double lx_mm = fmax((nx - 1) * dx, dx);
  o->sb_mm = mt_map__nice_step(lx_mm * 1.25);
  o->sb_len = imax(1, (int)lround(o->sb_mm / dx * o->sx));
  snprintf(o->sb_lab, sizeof o->sb_lab, "%g mm", o->sb_mm);
  o->sb_y = MT_MAP_TOP + o->mh + 14;
  snprintf(o->title, sizeof o->title, "%s", title ? title : "");
  int foot = text_width(o->sb_lab) + 24 + text_width("grey: no value");
  o->w = imax(o->lx + lw + 12,
              MT_MAP_LEFT + imax(text_width(o->title), foot) + 12);
  o->h = imax(MT_MAP_TOP + o->bh + LINE_H,
              o->sb_y + 4 + 8 + LINE_H + 10);
}

/* The field's blocks, y up; grey outside the tissue and for non-finite. */
static void draw_field(canvas *c, const layout *o, const double *val,
                       const unsigned char *tissue, int nx, int ny,
                       double lo, double hi)
{
  for (int j = 0; j < ny; j++)
    for (int i = 0; i < nx; i++) {
      size_t n = (size_t)i + (size_t)nx * j;
      int rgb[3] = {MT_MAP_GREY, MT_MAP_GREY, MT_MAP_GREY};
      if ((!tissue || tissue[n]) && isfinite(val[n]))
        mt_map__viridis((val[n] - lo) / (hi - lo), rgb);
      fill(c, MT_MAP_LEFT + i * o->sx, MT_MAP_TOP + (ny - 1 - j) * o->sy,
           o->sx, o->sy, rgb);
    }
}

/* Colour bar (vmax at the top), ticks and labels, unit above. */
static void draw_bar(canvas *c, const layout *o, const char *unit)
{
  static const int dark[3] = {51, 51, 51};
  for (int y = 0; y < o->bh; y++) {
    int rgb[3];
    mt_map__viridis(1 - (y + 0.5) / o->bh, rgb);
    fill(c, o->bx, MT_MAP_TOP + y, o->bw, 1, rgb);
  }
  frame(c, o->bx, MT_MAP_TOP, o->bw, o->bh, dark);
  int ty[3] = {MT_MAP_TOP, MT_MAP_TOP + o->bh / 2, MT_MAP_TOP + o->bh - 1};
  for (int k = 0; k < 3; k++) {
    fill(c, o->bx - 6, ty[k], 5, 1, dark); /* ticks left of the bar */
    int y = ty[k] - LINE_H / 2;
    y = y < MT_MAP_TOP - 2 ? MT_MAP_TOP - 2 : y;
    text(c, o->lx, y, o->lab[k]);
  }
  if (unit)
    text(c, o->bx, MT_MAP_TOP - LINE_H - 6, unit);
}

static int map_render(const char *name, const double *val,
                      const unsigned char *tissue, int nx, int ny,
                      double dx, double lo, double hi, const char *unit,
                      const char *title, canvas *c, char *err, size_t errlen)
{
  if (!val || nx < 1 || ny < 1 || nx > MT_IMAGE_MAX_SIDE ||
      ny > MT_IMAGE_MAX_SIDE || !(dx > 0) || !isfinite(dx))
    return failf(err, errlen, MT_EINVAL, name, "map of nx %d, ny %d, dx %g "
                 "mm: expected values, 1 <= nx, ny <= %d and dx finite > 0",
                 nx, ny, dx, MT_IMAGE_MAX_SIDE);
  if (isnan(lo) && isnan(hi)) { /* the finite tissue values' range */
    lo = INFINITY, hi = -INFINITY;
    for (size_t n = 0; n < (size_t)nx * ny; n++)
      if ((!tissue || tissue[n]) && isfinite(val[n]))
        lo = fmin(lo, val[n]), hi = fmax(hi, val[n]);
    if (!isfinite(lo))
      lo = 0, hi = 1;
    if (hi <= lo)
      hi = lo + 1;
  }
  if (!(lo < hi) || !isfinite(lo) || !isfinite(hi))
    return failf(err, errlen, MT_EINVAL, name, "colour range %g .. %g: "
                 "expected finite vmin < vmax (or both NaN: the data's)", lo,
                 hi);
  layout *o = malloc(sizeof *o);
  if (!o)
    return failf(err, errlen, MT_ENOMEM, name, "out of memory");
  lay_out(o, nx, ny, dx, lo, hi, unit, title);
  c->w = o->w, c->h = o->h;
  c->px = malloc(3 * (size_t)c->w * (size_t)c->h);
  if (!c->px) {
    free(o);
    return failf(err, errlen, MT_ENOMEM, name, "out of memory for a %d x %d "
                 "picture", c->w, c->h);
  }
  static const int white[3] = {255, 255, 255}, dark[3] = {51, 51, 51},
                   black[3] = {0, 0, 0};
  fill(c, 0, 0, c->w, c->h, white);
  draw_field(c, o, val, tissue, nx, ny, lo, hi);
  frame(c, MT_MAP_LEFT, MT_MAP_TOP, o->mw, o->mh, dark);
  draw_bar(c, o, unit);
  text(c, MT_MAP_LEFT, 6, o->title);
  fill(c, MT_MAP_LEFT, o->sb_y, o->sb_len, 4, black);
  text(c, MT_MAP_LEFT, o->sb_y + 4 + 8, o->sb_lab);
  text(c, MT_MAP_LEFT + text_width(o->sb_lab) + 24, o->sb_y + 4 + 8,
       "grey: no value");
  free(o);
  return 0;
}

int mt_map_rgb(const double *val, const unsigned char *tissue, int nx, int ny,
               double dx_mm, double vmin, double vmax, const char *unit,
               const char *title, unsigned char **rgb, int *w, int *h,
               char *err, size_t errlen)
{
  canvas c = {NULL, 0, 0};
  *rgb = NULL;
  int rc = map_render("map", val, tissue, nx, ny, dx_mm, vmin, vmax, unit,
                      title, &c, err, errlen);
  if (rc)
    return rc;
  *rgb = c.px, *w = c.w, *h = c.h;
  return 0;
}

int mt_map_png(const char *path, const double *val,
               const unsigned char *tissue, int nx, int ny, double dx_mm,
               double vmin, double vmax, const char *unit, const char *title,
               char *err, size_t errlen)
{
  canvas c = {NULL, 0, 0};
  const char *name = path ? path : "(png)";
  int rc = map_render(name, val, tissue, nx, ny, dx_mm, vmin, vmax, unit,
                      title, &c, err, errlen);
  if (rc)
    return rc;
  rc = mt_png_write_rgb(path, c.w, c.h, c.px, err, errlen);
  free(c.px);
  return rc;
}
