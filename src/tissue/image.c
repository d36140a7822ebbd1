/*
** Greyscale images in (include/medtwin/image.h; docs/tissue.md, "Images"):
**
** - PGM, Netpbm's greyscale format (https://netpbm.sourceforge.net/doc/pgm.html):
**   the magic number P5 (raw) or P2 (plain), whitespace, the width, the
**   height and the maxval (0 < maxval < 65536) as ASCII decimals separated
**   by whitespace, then for P5 a single whitespace character and the raster,
**   height rows of width samples, one byte each when maxval < 256, else two
**   bytes, most significant first; for P2 the samples as ASCII decimals
**   separated by whitespace. From '#' through the next CR or LF is a
**   comment, before the whitespace that delimits the raster (so a comment
**   also ends a number, and after the maxval the comment's own newline does
**   not delimit the raster: another whitespace character must follow). In a
**   P2 raster comments are skipped too, as libnetpbm's reader does.
** - PNG through libpng (http://www.libpng.org/pub/png/libpng-manual.txt): its
**   transforms expand palettes and low bit depths, drop alpha and reduce
**   RGB to grey with the Rec. 709 weights; errors come back through
**   setjmp/longjmp from our error handler, which also keeps libpng silent.
** - The mapping of a picture onto the engine's vertex-centred 2D grid.
*/
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/errfmt.h"
#include "medtwin/error.h"
#include "medtwin/file.h"
#include "medtwin/image.h"

/* deflate's largest expansion, output over input bytes (zlib's technical
** details, https://zlib.net/zlib_tech.html: "the maximum compression
** factor is 1032:1"), with slack for the stream's headers. */
#define DEFLATE_MAX_RATIO 1032.0
#define DEFLATE_SLACK 4096.0

static int failf(char *err, size_t errlen, int code, const char *name,
                 const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = mt_vfail(err, errlen, code, name, fmt, ap);
  va_end(ap);
  return rc;
}

void mt_image_free(mt_image *im)
{
  if (!im)
    return;
  free(im->grey);
  free(im->name);
  free(im);
}

/* An image of w x h pixels, its grey values unset. */
static mt_image *image_new(int w, int h, const char *name)
{
  mt_image *im = calloc(1, sizeof *im);
  if (!im)
    return NULL;
  im->width = w, im->height = h;
  im->grey = malloc((size_t)w * (size_t)h * sizeof *im->grey);
  im->name = malloc(strlen(name) + 1); /* not strdup: libc's own malloc */
  if (im->name)
    memcpy(im->name, name, strlen(name) + 1);
  if (!im->grey || !im->name) {
    mt_image_free(im);
    return NULL;
  }
  return im;
}

/* ---- PGM ----------------------------------------------------------------- */

typedef struct pgm {
  const unsigned char *p;
  size_t n, i; /* bytes, position */
  const char *name;
  char *err;
  size_t errlen;
} pgm;

static int is_ws(int c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

/* Skip whitespace and comments ('#' through the next CR or LF, included). */
static void skip_blank(pgm *r)
{
  while (r->i < r->n) {
    int c = r->p[r->i];
    if (c == '#') {
      while (r->i < r->n && r->p[r->i] != '\n' && r->p[r->i] != '\r')
        r->i++;
      if (r->i < r->n)
        r->i++;
    } else if (is_ws(c))
      r->i++;
    else
      break;
  }
}

/* What stands at the position, for a message. */
static const char *found(const pgm *r, char *buf, size_t len)
{
  if (r->i >= r->n)
    return "the end of the file";
  int c = r->p[r->i];
  if (c > 32 && c < 127)
    snprintf(buf, len, "'%c' at byte %zu", c, r->i);
  else
    snprintf(buf, len, "byte 0x%02x at byte %zu", c, r->i);
  return buf;
}

/* A decimal number in [lo, hi] after whitespace and comments, ended by
** whitespace, a comment or (when end_ok) the end of the file. */
static int number(pgm *r, const char *what, long lo, long hi, int end_ok,
                  long *out)
{
  char fb[48];
  skip_blank(r);
  if (r->i >= r->n || r->p[r->i] < '0' || r->p[r->i] > '9')
    return failf(r->err, r->errlen, MT_EINVAL, r->name, "PGM: %s: expected a "
                 "decimal number from %ld to %ld, found %s%s", what, lo, hi,
                 found(r, fb, sizeof fb), r->i >= r->n ? " (truncated)" : "");
  size_t start = r->i;
  long v = 0;
  while (r->i < r->n && r->p[r->i] >= '0' && r->p[r->i] <= '9') {
    if (v <= hi)
      v = 10 * v + (r->p[r->i] - '0');
    r->i++;
  }
  if (v < lo || v > hi) {
    int nd = (int)(r->i - start) > 12 ? 12 : (int)(r->i - start);
    return failf(r->err, r->errlen, MT_EINVAL, r->name, "PGM: %s: expected a "
                 "decimal number from %ld to %ld, found %.*s%s", what, lo, hi,
                 nd, (const char *)r->p + start,
                 (int)(r->i - start) > nd ? "..." : "");
  }
  if (r->i < r->n ? !is_ws(r->p[r->i]) && r->p[r->i] != '#' : !end_ok)
    return failf(r->err, r->errlen, MT_EINVAL, r->name, "PGM: %s: expected "
                 "whitespace after the number, found %s%s", what,
                 found(r, fb, sizeof fb), r->i >= r->n ? " (truncated)" : "");
  *out = v;
  return 0;
}

/* P5's raster: w h samples of 1 or 2 bytes after one whitespace byte. */
static int pgm_raw(pgm *r, mt_image *im, long maxval)
{
  const char *nm = r->name;
  while (r->i < r->n && r->p[r->i] == '#') { /* comments through CR/LF */
    while (r->i < r->n && r->p[r->i] != '\n' && r->p[r->i] != '\r')
      r->i++;
    if (r->i < r->n)
      r->i++;
  }
  if (r->i >= r->n || !is_ws(r->p[r->i]))
    return failf(r->err, r->errlen, MT_EINVAL, nm, "PGM: expected one "
                 "whitespace character after the maxval, then the raster%s",
                 r->i >= r->n ? "; the file ends there (truncated)" : "");
  r->i++;
  size_t bps = maxval < 256 ? 1 : 2,
         need = (size_t)im->width * (size_t)im->height * bps;
  if (r->n - r->i < need)
    return failf(r->err, r->errlen, MT_EINVAL, nm, "PGM: truncated: the P5 "
                 "raster of %d x %d pixels needs %zu bytes (%zu a sample), "
                 "the file has %zu after the header", im->width, im->height,
                 need, bps, r->n - r->i);
  const unsigned char *p = r->p + r->i;
  size_t np = (size_t)im->width * (size_t)im->height;
  for (size_t k = 0; k < np; k++) {
    long s = bps == 1 ? p[k] : (long)p[2 * k] << 8 | p[2 * k + 1];
    if (s > maxval)
      return failf(r->err, r->errlen, MT_EINVAL, nm, "PGM: the sample at "
                   "column %zu, row %zu (from the top) is %ld: expected at "
                   "most the maxval %ld", k % (size_t)im->width,
                   k / (size_t)im->width, s, maxval);
    im->grey[k] = (double)s / (double)maxval;
  }
  return 0;
}

/* P2's raster: w h decimal samples, then nothing but whitespace and
** comments. */
static int pgm_plain(pgm *r, mt_image *im, long maxval)
{
  size_t np = (size_t)im->width * (size_t)im->height;
  for (size_t k = 0; k < np; k++) {
    char what[160];
    snprintf(what, sizeof what, "sample %zu of %zu (column %zu, row %zu from "
             "the top)", k + 1, np, k % (size_t)im->width,
             k / (size_t)im->width);
    long s;
    int rc = number(r, what, 0, maxval, k + 1 == np, &s);
    if (rc)
      return rc;
    im->grey[k] = (double)s / (double)maxval;
  }
  skip_blank(r);
  if (r->i < r->n) {
    char fb[48];
    return failf(r->err, r->errlen, MT_EINVAL, r->name, "PGM: expected "
                 "%d x %d = %zu samples and then the end of the file, found "
                 "%s", im->width, im->height, np, found(r, fb, sizeof fb));
  }
  return 0;
}

static int read_pgm(pgm *r, mt_image **out)
{
  int plain = r->p[1] == '2';
  r->i = 2;
  long w, h, maxval;
  int rc;
  if (r->i < r->n && !is_ws(r->p[r->i]) && r->p[r->i] != '#')
    return failf(r->err, r->errlen, MT_EINVAL, r->name, "PGM: expected "
                 "whitespace after the magic number P%c", r->p[1]);
  if ((rc = number(r, "width", 1, MT_IMAGE_MAX_SIDE, 0, &w)) ||
      (rc = number(r, "height", 1, MT_IMAGE_MAX_SIDE, 0, &h)) ||
      (rc = number(r, "maxval", 1, 65535, 0, &maxval)))
    return rc;
  /* before allocating: a P2 sample takes at least a digit and a separator */
  size_t np = (size_t)w * (size_t)h;
  if (plain && (r->n - r->i) / 2 + 1 < np)
    return failf(r->err, r->errlen, MT_EINVAL, r->name, "PGM: truncated: %ld "
                 "x %ld samples cannot fit in the %zu bytes after the header",
                 w, h, r->n - r->i);
  if (!plain && r->n - r->i < np * (maxval < 256 ? 1 : 2))
    return failf(r->err, r->errlen, MT_EINVAL, r->name, "PGM: truncated: the "
                 "P5 raster of %ld x %ld pixels needs %zu bytes, the file has "
                 "%zu after the header", w, h, np * (maxval < 256 ? 1 : 2),
                 r->n - r->i);
  mt_image *im = image_new((int)w, (int)h, r->name);
  if (!im)
    return failf(r->err, r->errlen, MT_ENOMEM, r->name, "out of memory for "
                 "%ld x %ld pixels", w, h);
  rc = plain ? pgm_plain(r, im, maxval) : pgm_raw(r, im, maxval);
  if (rc) {
    mt_image_free(im);
    return rc;
  }
  *out = im;
  return 0;
}

/* ---- PNG ----------------------------------------------------------------- */

/* Everything a PNG read owns, outside the frame of the function that calls
** setjmp (so nothing it needs after a longjmp is one of its locals). */
typedef struct pngrd {
  const unsigned char *p;
  size_t n, i;
  png_structp png;
  png_infop info;
  png_bytep data;
  png_bytepp rows;
  mt_image *im;
  const char *name;
  int code;      /* MT_EINVAL unless set otherwise */
  int ours;      /* msg is ours (else libpng's) */
  char msg[256];
} pngrd;

static void png_fail(png_structp png, png_const_charp msg)
{
  pngrd *c = png_get_error_ptr(png);
  snprintf(c->msg, sizeof c->msg, "%s", msg);
  png_longjmp(png, 1);
}

static void png_quiet(png_structp png, png_const_charp msg)
{
  (void)png, (void)msg; /* the library never prints */
}

/* libpng allocates through these, so that its allocations are ours (and
** an allocation-failure test fails them too); a failure makes the read
** MT_ENOMEM, whether libpng then stops or works on without the block. */
static png_voidp png_alloc(png_structp png, png_alloc_size_t n)
{
  void *p = malloc(n);
  if (!p)
    ((pngrd *)png_get_mem_ptr(png))->code = MT_ENOMEM;
  return p;
}

static void png_dealloc(png_structp png, png_voidp p)
{
  (void)png;
  free(p);
}

static void png_from_mem(png_structp png, png_bytep out, size_t len)
{
  pngrd *c = png_get_io_ptr(png);
  if (len > c->n - c->i)
    png_error(png, "truncated: the file ends inside the PNG data");
  memcpy(out, c->p + c->i, len);
  c->i += len;
}

/* Our own refusal from inside the decode: message, code, longjmp. */
static void png_refuse(pngrd *c, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->msg, sizeof c->msg, fmt, ap);
  va_end(ap);
  c->code = code;
  c->ours = 1;
  png_longjmp(c->png, 1);
}

/* Header checks, then the transforms to one 8- or 16-bit grey channel. */
static void png_setup(pngrd *c)
{
  png_structp png = c->png;
  png_infop info = c->info;
  png_uint_32 w, h;
  int depth, ctype;
  png_read_info(png, info);
  png_get_IHDR(png, info, &w, &h, &depth, &ctype, NULL, NULL, NULL);
  if (w > MT_IMAGE_MAX_SIDE || h > MT_IMAGE_MAX_SIDE)
    png_refuse(c, MT_EINVAL, "%lu x %lu pixels: expected a width and height "
               "from 1 to %d", (unsigned long)w, (unsigned long)h,
               MT_IMAGE_MAX_SIDE);
  /* every pixel's bits are in the inflated data, at most 1032 times the
  ** file's size: refuse what cannot be there before allocating for it */
  double bits = (double)w * h * png_get_channels(png, info) * depth;
  if (bits / 8 > DEFLATE_MAX_RATIO * (double)c->n + DEFLATE_SLACK)
    png_refuse(c, MT_EINVAL, "truncated: %lu x %lu pixels cannot be held in "
               "%zu bytes", (unsigned long)w, (unsigned long)h, c->n);
  if (ctype == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb(png);
  if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  png_set_strip_alpha(png);
  /* the coded values as they are: a file gamma (gAMA, sRGB) would make
  ** libpng weigh linearised values and re-encode the result */
  png_set_gamma_fixed(png, PNG_FP_1, PNG_FP_1);
  if (ctype & PNG_COLOR_MASK_COLOR) /* Rec. 709: 0.2126, 0.7152, 0.0722 */
    png_set_rgb_to_gray_fixed(png, PNG_ERROR_ACTION_NONE, 21260, 71520);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_channels(png, info) != 1 ||
      (png_get_bit_depth(png, info) != 8 && png_get_bit_depth(png, info) != 16))
    png_refuse(c, MT_EINVAL, "unsupported pixel layout after conversion to "
               "grey (%d channels, %d bits)", png_get_channels(png, info),
               png_get_bit_depth(png, info));
}

/* Decode into c->im; 0, or -1 with c->msg and c->code. */
static int png_decode(pngrd *c)
{
  if (setjmp(png_jmpbuf(c->png)))
    return -1;
  png_set_read_fn(c->png, c, png_from_mem);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  /* the libFuzzer build only (MT_FUZZ): mutated bytes get past the
  ** checksums and into the decoder, as libpng's own fuzz target does */
  png_set_crc_action(c->png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
  png_set_option(c->png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif
  png_setup(c);
  png_uint_32 w = png_get_image_width(c->png, c->info),
              h = png_get_image_height(c->png, c->info);
  size_t rb = png_get_rowbytes(c->png, c->info);
  c->data = malloc(rb * h);
  c->rows = malloc(h * sizeof *c->rows);
  c->im = image_new((int)w, (int)h, c->name);
  if (!c->data || !c->rows || !c->im)
    png_refuse(c, MT_ENOMEM, "out of memory for %lu x %lu pixels",
               (unsigned long)w, (unsigned long)h);
  for (png_uint_32 r = 0; r < h; r++)
    c->rows[r] = c->data + r * rb;
  png_read_image(c->png, c->rows);
  png_read_end(c->png, NULL);
  int wide = png_get_bit_depth(c->png, c->info) == 16;
  for (png_uint_32 r = 0; r < h; r++)
    for (png_uint_32 k = 0; k < w; k++) {
      const png_byte *s = c->rows[r] + (wide ? 2 * k : k);
      c->im->grey[k + (size_t)w * r] =
          wide ? (s[0] << 8 | s[1]) / 65535.0 : s[0] / 255.0;
    }
  return 0;
}

static int read_png(const unsigned char *p, size_t n, const char *name,
                    mt_image **out, char *err, size_t errlen)
{
  pngrd c = {.p = p, .n = n, .i = 0, .name = name, .code = MT_EINVAL};
  c.png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &c, png_fail,
                                   png_quiet, &c, png_alloc, png_dealloc);
  if (c.png)
    c.info = png_create_info_struct(c.png);
  if (!c.png || !c.info) {
    png_destroy_read_struct(c.png ? &c.png : NULL, NULL, NULL);
    return failf(err, errlen, MT_ENOMEM, name, "out of memory for libpng");
  }
  int rc = png_decode(&c);
  png_destroy_read_struct(&c.png, &c.info, NULL);
  free(c.data);
  free(c.rows);
  if (rc || c.code == MT_ENOMEM) {
    mt_image_free(c.im);
    if (c.code == MT_ENOMEM)
      return failf(err, errlen, MT_ENOMEM, name, "PNG: out of memory (%s)",
                   rc ? c.msg : "libpng");
    return failf(err, errlen, c.code, name, c.ours ? "PNG: %s"
                 : "PNG: %s: expected a whole, valid PNG image", c.msg);
  }
  *out = c.im;
  return 0;
}

/* ---- entry points ------------------------------------------------------- */

int mt_image_read_mem(const void *data, size_t len, const char *name,
                      mt_image **out, char *err, size_t errlen)
{
  static const unsigned char sig[8] = {137, 'P', 'N', 'G', 13, 10, 26, 10};
  const unsigned char *p = data;
  *out = NULL;
  if (!name)
    name = "(image)";
  if (len >= 2 && p[0] == 'P' && (p[1] == '2' || p[1] == '5')) {
    pgm r = {p, len, 0, name, err, errlen};
    return read_pgm(&r, out);
  }
  if (len >= 8 && !memcmp(p, sig, 8))
    return read_png(p, len, name, out, err, errlen);
  if (len == 0)
    return failf(err, errlen, MT_EINVAL, name, "empty file: expected a PGM "
                 "(P2, P5) or PNG image");
  if (len < 8 && !memcmp(p, sig, len))
    return failf(err, errlen, MT_EINVAL, name, "truncated: the file ends "
                 "inside the PNG signature");
  if (len >= 2 && p[0] == 'P' && p[1] >= '1' && p[1] <= '7')
    return failf(err, errlen, MT_EINVAL, name, "a Netpbm P%c file (%s): "
                 "expected a greyscale PGM, magic number P2 or P5", p[1],
                 p[1] == '1' || p[1] == '4' ? "PBM, bitmap"
                 : p[1] == '3' || p[1] == '6' ? "PPM, colour" : "PAM");
  return failf(err, errlen, MT_EINVAL, name, "not a PGM or PNG image: "
               "expected the magic number P2 or P5 (PGM) or the PNG signature "
               "at the start of the file");
}

int mt_image_read(const char *path, mt_image **out, char *err, size_t errlen)
{
  char *buf;
  size_t len;
  *out = NULL;
  int rc = mt_file_read(path, &buf, &len, err, errlen);
  if (rc == MT_ENOMEM)
    return failf(err, errlen, rc, path, "out of memory reading the file");
  if (rc)
    return rc;
  rc = mt_image_read_mem(buf, len, path, out, err, errlen);
  free(buf);
  return rc;
}

/* ---- onto the grid -------------------------------------------------------- */

/* The pixel index containing coordinate x (mm) along an axis of n pixels of
** px mm: floor(x / px), nodes on an edge going to the higher pixel despite
** rounding, at most n - 1. */
static int pixel_of(double x, double px, int n)
{
  double q = floor(x / px * (1 + 1e-9) + 1e-9);
  return q >= n - 1 ? n - 1 : q < 0 ? 0 : (int)q;
}

int mt_image_to_grid(const mt_image *im, double pixel_mm, int nx, int ny,
                     double dx_mm, double *out, char *err, size_t errlen)
{
  const char *nm = im && im->name ? im->name : "(image)";
  if (!im || !im->grey || im->width < 1 || im->height < 1 || !out)
    return failf(err, errlen, MT_EINVAL, nm, "expected an image and an "
                 "output array");
  if (!(pixel_mm > 0) || !isfinite(pixel_mm))
    return failf(err, errlen, MT_EINVAL, nm, "pixel size %g mm: expected a "
                 "finite number > 0", pixel_mm);
  if (!(dx_mm > 0) || !isfinite(dx_mm) || nx < 1 || ny < 1)
    return failf(err, errlen, MT_EINVAL, nm, "grid nx %d, ny %d, dx %g mm: "
                 "expected nx, ny >= 1 and dx finite > 0", nx, ny, dx_mm);
  double W = im->width * pixel_mm, H = im->height * pixel_mm,
         gx = (nx - 1) * dx_mm, gy = (ny - 1) * dx_mm,
         tol = fmax(pixel_mm, dx_mm) * (1 + 1e-9);
  if (fabs(W - gx) > tol || fabs(H - gy) > tol)
    return failf(err, errlen, MT_EINVAL, nm, "image of %d x %d pixels at %g "
                 "mm is %g x %g mm; the grid is %g x %g mm (nx %d, ny %d, dx "
                 "%g mm): expected the same extent within one pixel or node "
                 "spacing (%g mm)", im->width, im->height, pixel_mm, W, H, gx,
                 gy, nx, ny, dx_mm, fmax(pixel_mm, dx_mm));
  for (int j = 0; j < ny; j++) {
    int row = im->height - 1 - pixel_of(j * dx_mm, pixel_mm, im->height);
    for (int i = 0; i < nx; i++)
      out[i + (size_t)nx * j] =
          im->grey[pixel_of(i * dx_mm, pixel_mm, im->width) +
                   (size_t)im->width * row];
  }
  return 0;
}
