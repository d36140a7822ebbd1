/*
** Images in and out of the tissue engine (include/medtwin/image.h,
** docs/tissue.md "Images"). Each test works in its own fresh directory under
** /tmp and removes it.
**
** References: the PGM layout of Netpbm's specification
** (https://netpbm.sourceforge.net/doc/pgm.html: sample s of maxval m is
** grey s / m, two bytes most significant first when m > 255); PNG files made
** here with libpng's own writer and read back with libpng's simplified API,
** independently of the code under test; the Rec. 709 luma weights 0.2126,
** 0.7152, 0.0722 (ITU-R BT.709-6, item 3.2); viridis' end colours (68, 1,
** 84) and (253, 231, 37): matplotlib's listed map (_cm_listed.py, first and
** last entries times 255, rounded).
*/
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "medtwin/error.h"
#include "medtwin/image.h"
#include "rm_tree.h"

static char dir[64];

static void make_dir(void)
{
  snprintf(dir, sizeof dir, "/tmp/mt-image-test-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void) { rm_tree(dir); }

TestSuite(image, .init = make_dir, .fini = remove_dir);

static char *in_dir(const char *name)
{
  static char p[4][256];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

static void write_raw(const char *p, const void *data, size_t len)
{
  FILE *f = fopen(p, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(data, 1, len, f), len);
  cr_assert_eq(fclose(f), 0);
}

/* Entries in the scratch directory. */
static int entries(void)
{
  DIR *h = opendir(dir);
  cr_assert_not_null(h);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(h)))
    n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  closedir(h);
  return n;
}

static mt_image *read_ok(const char *path)
{
  mt_image *im = NULL;
  char err[MT_ERRMSG_MAX] = "";
  int rc = mt_image_read(path, &im, err, sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_not_null(im);
  return im;
}

/* ---- PGM ------------------------------------------------------------------ */

Test(image, pgm_p2_8_bit_reads_back_exactly)
{
  const char *p = in_dir("a.pgm");
  const char txt[] = "P2\n# a comment\n3 2 # width height\n255\n"
                     "0 128 255\n  1\t2\n3\n";
  write_raw(p, txt, strlen(txt));
  mt_image *im = read_ok(p);
  cr_assert_eq(im->width, 3);
  cr_assert_eq(im->height, 2);
  const int s[6] = {0, 128, 255, 1, 2, 3}; /* row 0 = the top row */
  for (int k = 0; k < 6; k++)
    cr_assert_eq(im->grey[k], s[k] / 255.0, "sample %d", k);
  cr_assert_str_eq(im->name, p);
  mt_image_free(im);
}

Test(image, pgm_p2_16_bit_reads_back_exactly)
{
  const char *p = in_dir("a.pgm");
  const char txt[] = "P2 2 2 65535 0 65535\n43981 256\n";
  write_raw(p, txt, strlen(txt));
  mt_image *im = read_ok(p);
  const int s[4] = {0, 65535, 43981, 256};
  for (int k = 0; k < 4; k++)
    cr_assert_eq(im->grey[k], s[k] / 65535.0, "sample %d", k);
  mt_image_free(im);
}

Test(image, pgm_p5_8_bit_reads_back_exactly)
{
  const char *p = in_dir("a.pgm");
  /* comments in the header, one ending a number; maxval 200 */
  unsigned char buf[64];
  int n = snprintf((char *)buf, sizeof buf, "P5#c\n4#w\n 3\n#m\n200\n");
  const unsigned char px[12] = {0, 1, 2, 3, 50, 100, 150, 200, 7, 8, 9, 10};
  memcpy(buf + n, px, 12);
  write_raw(p, buf, (size_t)n + 12);
  mt_image *im = read_ok(p);
  cr_assert_eq(im->width, 4);
  cr_assert_eq(im->height, 3);
  for (int k = 0; k < 12; k++)
    cr_assert_eq(im->grey[k], px[k] / 200.0, "sample %d", k);
  mt_image_free(im);
}

Test(image, pgm_p5_16_bit_is_big_endian)
{
  const char *p = in_dir("a.pgm");
  unsigned char buf[64];
  int n = snprintf((char *)buf, sizeof buf, "P5\n3 1\n1000\n");
  /* 1000 = 0x03e8, 256 = 0x0100, 1 = 0x0001: most significant byte first */
  const unsigned char px[6] = {0x03, 0xe8, 0x01, 0x00, 0x00, 0x01};
  memcpy(buf + n, px, 6);
  write_raw(p, buf, (size_t)n + 6);
  mt_image *im = read_ok(p);
  cr_assert_eq(im->grey[0], 1.0);
  cr_assert_eq(im->grey[1], 256 / 1000.0);
  cr_assert_eq(im->grey[2], 1 / 1000.0);
  mt_image_free(im);
}

/* A refusal: rc, *out NULL, the message starting with the path and holding
** what, and the file itself unchanged. */
static void refused(const char *name, const void *data, size_t len,
                    int want, const char *what)
{
  const char *p = in_dir(name);
  write_raw(p, data, len);
  mt_image *im = (mt_image *)&im; /* must be reset to NULL */
  char err[MT_ERRMSG_MAX] = "";
  int rc = mt_image_read(p, &im, err, sizeof err);
  cr_assert_eq(rc, want, "%s: rc %d (%s)", name, rc, err);
  cr_assert_null(im, "%s", name);
  cr_assert_eq(strncmp(err, p, strlen(p)), 0, "%s: %s", name, err);
  cr_assert_not_null(strstr(err, what), "%s: '%s' lacks '%s'", name, err,
                     what);
  cr_assert_null(strchr(err, '\n'), "%s", err);
  struct stat st;
  cr_assert_eq(stat(p, &st), 0);
  cr_assert_eq((size_t)st.st_size, len, "%s changed", name);
  cr_assert_eq(entries(), 1, "%s: a file was left beside it", name);
  unlink(p);
}

Test(image, bad_pgm_files_are_refused_with_the_reason)
{
  static const char trunc5[] = "P5\n4 4\n255\n0123456789";
  refused("gif.pgm", "GIF89a\1\0\1\0", 10, MT_EINVAL,
          "expected the magic number P2 or P5");
  refused("ppm.pgm", "P6\n1 1\n255\n\0\0\0", 14, MT_EINVAL,
          "PPM, colour");
  refused("empty.pgm", "", 0, MT_EINVAL, "empty file");
  refused("trunc5.pgm", trunc5, sizeof trunc5 - 1, MT_EINVAL, "truncated");
  refused("maxval0.pgm", "P2 1 1 0 0\n", 11, MT_EINVAL,
          "maxval: expected a decimal number from 1 to 65535, found 0");
  refused("maxval.pgm", "P2 1 1 65536 0\n", 15, MT_EINVAL,
          "maxval: expected a decimal number from 1 to 65535, found 65536");
  refused("width0.pgm", "P5 0 1 255\n", 11, MT_EINVAL,
          "width: expected a decimal number from 1 to 16384, found 0");
  refused("wide.pgm", "P5 16385 1 255\n", 15, MT_EINVAL,
          "width: expected a decimal number from 1 to 16384, found 16385");
  refused("height.pgm", "P2 1 x 255\n", 11, MT_EINVAL,
          "height: expected a decimal number from 1 to 16384, found 'x'");
  refused("garbage.pgm", "P5 3x 2 255\n", 12, MT_EINVAL,
          "width: expected whitespace after the number, found 'x'");
  refused("magic.pgm", "P5x 1 1 255\n", 12, MT_EINVAL,
          "expected whitespace after the magic number P5");
  refused("over.pgm", "P2 2 1 10 3 11\n", 15, MT_EINVAL,
          "from 0 to 10, found 11");
  refused("p5over.pgm", "P5 1 1 10\n\x0b", 11, MT_EINVAL,
          "is 11: expected at most the maxval 10");
  refused("trunc2.pgm", "P2 2 2 10 1 2 3", 15, MT_EINVAL, "truncated");
  refused("extra.pgm", "P2 1 1 10 1 2\n", 14, MT_EINVAL,
          "expected 1 x 1 = 1 samples and then the end of the file");
  refused("header.pgm", "P5 1 1", 6, MT_EINVAL, "(truncated)");
  /* a comment after the maxval does not delimit the raster by itself */
  refused("comment.pgm", "P5 1 1 255#c\n", 13, MT_EINVAL,
          "expected one whitespace character after the maxval");
}

Test(image, a_missing_file_is_an_io_error)
{
  mt_image *im = NULL;
  char err[MT_ERRMSG_MAX] = "";
  const char *p = in_dir("none.pgm");
  cr_assert_eq(mt_image_read(p, &im, err, sizeof err), MT_EIO);
  cr_assert_null(im);
  cr_assert_not_null(strstr(err, p), "%s", err);
}

/* ---- PNG ------------------------------------------------------------------ */

/* A PNG made with libpng's writer: rows of w samples of the given type and
** depth (packed as libpng expects), optional palette, optional Adam7. */
static int with_srgb; /* make_png writes sRGB, gAMA and cHRM chunks */

static void make_png(const char *path, int w, int h, int depth, int ctype,
                     int interlace, const png_color *pal, int npal,
                     const unsigned char *data, size_t rowbytes)
{
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL,
                                            NULL, NULL);
  png_infop info = png_create_info_struct(png);
  cr_assert(png && info);
  cr_assert_eq(setjmp(png_jmpbuf(png)), 0, "libpng failed writing %s", path);
  png_init_io(png, f);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, ctype,
               interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (pal)
    png_set_PLTE(png, info, pal, npal);
  if (with_srgb)
    png_set_sRGB_gAMA_and_cHRM(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
  png_write_info(png, info);
  png_bytep rows[64];
  cr_assert(h <= 64);
  for (int r = 0; r < h; r++)
    rows[r] = (png_bytep)data + r * rowbytes;
  png_write_image(png, rows);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  cr_assert_eq(fclose(f), 0);
}

static double luma709(const unsigned char *c)
{
  return (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255;
}

Test(image, png_rgb_written_and_read_back_as_rec709_luma)
{
  const char *p = in_dir("rgb.png");
  const unsigned char rgb[3 * 6] = {0, 0, 0,     255, 255, 255, 255, 0, 0,
                                    0, 255, 0,   0, 0, 255,     100, 150, 200};
  char err[MT_ERRMSG_MAX] = "";
  cr_assert_eq(mt_png_write_rgb(p, 3, 2, rgb, err, sizeof err), 0, "%s", err);
  cr_assert_eq(entries(), 1); /* no temporary file left */
  mt_image *im = read_ok(p);
  cr_assert_eq(im->width, 3);
  cr_assert_eq(im->height, 2);
  for (int k = 0; k < 6; k++)
    cr_assert(fabs(im->grey[k] - luma709(rgb + 3 * k)) <= 1 / 255.0,
              "pixel %d: %g, expected %g", k, im->grey[k],
              luma709(rgb + 3 * k));
  mt_image_free(im);
}

Test(image, png_grey_16_bit_and_2_bit_read_exactly)
{
  const char *p = in_dir("g16.png");
  const unsigned char g16[2 * 2 * 2] = {0x00, 0x00, 0xff, 0xff,
                                        0xab, 0xcd, 0x01, 0x00};
  make_png(p, 2, 2, 16, PNG_COLOR_TYPE_GRAY, 0, NULL, 0, g16, 4);
  mt_image *im = read_ok(p);
  const int s[4] = {0, 65535, 0xabcd, 0x0100};
  for (int k = 0; k < 4; k++)
    cr_assert_eq(im->grey[k], s[k] / 65535.0, "sample %d", k);
  mt_image_free(im);
  /* 2-bit: 4 levels 0..3 packed from the high bits; expanded to 8 bits by
  ** bit replication (PNG spec, 12.5: 3 -> 255, 1 -> 85) */
  p = in_dir("g2.png");
  const unsigned char g2[1] = {0x1b}; /* 00 01 10 11 */
  make_png(p, 4, 1, 2, PNG_COLOR_TYPE_GRAY, 0, NULL, 0, g2, 1);
  im = read_ok(p);
  for (int k = 0; k < 4; k++)
    cr_assert_eq(im->grey[k], k / 3.0, "level %d: %g", k, im->grey[k]);
  mt_image_free(im);
}

Test(image, png_palette_grey_alpha_and_interlaced_rgba)
{
  const png_color pal[3] = {{255, 0, 0}, {10, 20, 30}, {255, 255, 255}};
  const unsigned char idx[3] = {2, 0, 1};
  const char *p = in_dir("pal.png");
  make_png(p, 3, 1, 8, PNG_COLOR_TYPE_PALETTE, 0, pal, 3, idx, 3);
  mt_image *im = read_ok(p);
  for (int k = 0; k < 3; k++) {
    const unsigned char c[3] = {pal[idx[k]].red, pal[idx[k]].green,
                                pal[idx[k]].blue};
    cr_assert(fabs(im->grey[k] - luma709(c)) <= 1 / 255.0, "pixel %d", k);
  }
  mt_image_free(im);
  /* grey + alpha: the alpha is dropped, the grey kept */
  p = in_dir("ga.png");
  const unsigned char ga[4] = {200, 0, 17, 255};
  make_png(p, 2, 1, 8, PNG_COLOR_TYPE_GRAY_ALPHA, 0, NULL, 0, ga, 4);
  im = read_ok(p);
  cr_assert_eq(im->grey[0], 200 / 255.0);
  cr_assert_eq(im->grey[1], 17 / 255.0);
  mt_image_free(im);
  /* RGBA, Adam7-interlaced, 9 x 9 (every pass non-empty) */
  p = in_dir("rgba.png");
  unsigned char rgba[9 * 9 * 4];
  for (int k = 0; k < 81; k++)
    rgba[4 * k] = (unsigned char)(3 * k), rgba[4 * k + 1] = (unsigned char)k,
    rgba[4 * k + 2] = (unsigned char)(255 - k), rgba[4 * k + 3] = 7;
  make_png(p, 9, 9, 8, PNG_COLOR_TYPE_RGBA, 1, NULL, 0, rgba, 36);
  im = read_ok(p);
  cr_assert_eq(im->width, 9);
  for (int k = 0; k < 81; k++)
    cr_assert(fabs(im->grey[k] - luma709(rgba + 4 * k)) <= 1 / 255.0,
              "pixel %d: %g, expected %g", k, im->grey[k],
              luma709(rgba + 4 * k));
  mt_image_free(im);
}

Test(image, png_file_gamma_does_not_change_the_weights)
{
  /* sRGB, gAMA 1/2.2 and cHRM, as many tools write them: the grey is still
  ** the Rec. 709 sum of the coded values (libpng would otherwise weigh
  ** linearised values: red would read 0.49, not 0.21) */
  const unsigned char rgb[3 * 4] = {255, 0, 0, 0, 255, 0, 0, 0, 255,
                                    100, 150, 200};
  const char *p = in_dir("srgb.png");
  with_srgb = 1;
  make_png(p, 4, 1, 8, PNG_COLOR_TYPE_RGB, 0, NULL, 0, rgb, 12);
  with_srgb = 0;
  mt_image *im = read_ok(p);
  for (int k = 0; k < 4; k++)
    cr_assert(fabs(im->grey[k] - luma709(rgb + 3 * k)) <= 1 / 255.0,
              "pixel %d: %g, expected %g", k, im->grey[k],
              luma709(rgb + 3 * k));
  mt_image_free(im);
}

static unsigned char *slurp(const char *p, size_t *len)
{
  FILE *f = fopen(p, "rb");
  cr_assert_not_null(f);
  static unsigned char buf[1 << 16];
  *len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  return buf;
}

Test(image, bad_png_files_are_refused)
{
  const unsigned char rgb[3 * 16] = {1, 2, 3};
  char err[MT_ERRMSG_MAX];
  const char *p = in_dir("ok.png");
  cr_assert_eq(mt_png_write_rgb(p, 4, 4, rgb, err, sizeof err), 0, "%s", err);
  size_t n;
  unsigned char *b = slurp(p, &n);
  unlink(p);
  refused("half.png", b, n / 2, MT_EINVAL, "truncated");
  refused("sig.png", b, 5, MT_EINVAL, "inside the PNG signature");
  refused("noend.png", b, n - 12, MT_EINVAL, "truncated"); /* no IEND */
  b[20] ^= 1; /* IHDR's width, its CRC now wrong */
  refused("crc.png", b, n, MT_EINVAL, "expected a whole, valid PNG image");
  b[20] ^= 1;
  /* IHDR claiming 16384 x 16384 RGB (805 MB of pixels) with a correct CRC:
  ** refused from the file's size before anything that large is allocated */
  b[16] = 0, b[17] = 0, b[18] = 0x40, b[19] = 0;
  b[20] = 0, b[21] = 0, b[22] = 0x40, b[23] = 0;
  unsigned long crc = crc32(0, b + 12, 17);
  b[29] = (unsigned char)(crc >> 24), b[30] = (unsigned char)(crc >> 16);
  b[31] = (unsigned char)(crc >> 8), b[32] = (unsigned char)crc;
  refused("huge.png", b, n, MT_EINVAL, "16384 x 16384 pixels cannot be held");
  b[18] = 0x40, b[19] = 1; /* 16385 wide */
  crc = crc32(0, b + 12, 17);
  b[29] = (unsigned char)(crc >> 24), b[30] = (unsigned char)(crc >> 16);
  b[31] = (unsigned char)(crc >> 8), b[32] = (unsigned char)crc;
  refused("wide.png", b, n, MT_EINVAL, "from 1 to 16384");
}

/* ---- onto the grid ------------------------------------------------------- */

static mt_image *image_of(int w, int h)
{
  char txt[4096];
  int n = snprintf(txt, sizeof txt, "P2 %d %d 1000\n", w, h);
  for (int k = 0; k < w * h; k++)
    n += snprintf(txt + n, sizeof txt - (size_t)n, "%d ", k);
  mt_image *im = NULL;
  char err[MT_ERRMSG_MAX] = "";
  cr_assert_eq(mt_image_read_mem(txt, (size_t)n, "pic.pgm", &im, err,
                                 sizeof err), 0, "%s", err);
  return im; /* pixel k (row-major from the top) has grey k / 1000 */
}

Test(image, the_top_left_pixel_goes_to_node_0_ny_minus_1)
{
  mt_image *im = image_of(3, 2); /* 3 x 2 px of 1 mm: 3 x 2 mm */
  double out[4 * 3];
  char err[MT_ERRMSG_MAX] = "";
  /* nodes at 0, 1, 2, 3 mm in x and 0, 1, 2 mm in y */
  cr_assert_eq(mt_image_to_grid(im, 1, 4, 3, 1, out, err, sizeof err), 0,
               "%s", err);
  /* node (i, j) -> column min(2, i), row from the top 1 - min(1, j) */
  const int px[3][4] = {{3, 4, 5, 5},  /* j = 0: the bottom row */
                        {0, 1, 2, 2},  /* j = 1 */
                        {0, 1, 2, 2}}; /* j = 2 */
  for (int j = 0; j < 3; j++)
    for (int i = 0; i < 4; i++)
      cr_assert_eq(out[i + 4 * j], px[j][i] / 1000.0, "node (%d, %d)", i, j);
  cr_assert_eq(out[0 + 4 * 2], im->grey[0]); /* top-left -> (0, ny-1) */
  /* finer grid: 0.25 mm nodes over 0.5 mm pixels, 2 nodes a pixel */
  double fine[9 * 5];
  cr_assert_eq(mt_image_to_grid(im, 0.5, 9, 5, 0.25, fine, err, sizeof err),
               0, "%s", err);
  for (int j = 0; j < 5; j++)
    for (int i = 0; i < 9; i++) {
      int c = i / 2 > 2 ? 2 : i / 2, r = 1 - (j / 2 > 1 ? 1 : j / 2);
      cr_assert_eq(fine[i + 9 * j], (c + 3 * r) / 1000.0, "node (%d, %d)", i,
                   j);
    }
  mt_image_free(im);
}

Test(image, size_mismatch_names_the_image_and_both_extents)
{
  mt_image *im = image_of(12, 8);
  double out[101 * 101];
  for (int k = 0; k < 101 * 101; k++)
    out[k] = -7;
  char err[MT_ERRMSG_MAX] = "";
  /* 12 x 8 px at 2.5 mm = 30 x 20 mm against 101 x 101 nodes at 0.25 mm =
  ** 25 x 25 mm */
  cr_assert_eq(mt_image_to_grid(im, 2.5, 101, 101, 0.25, out, err,
                                sizeof err), MT_EINVAL);
  cr_assert_eq(strncmp(err, "pic.pgm: ", 9), 0, "%s", err);
  cr_assert_not_null(strstr(err, "12 x 8 pixels at 2.5 mm is 30 x 20 mm"),
                     "%s", err);
  cr_assert_not_null(strstr(err, "the grid is 25 x 25 mm (nx 101, ny 101, "
                            "dx 0.25 mm)"), "%s", err);
  for (int k = 0; k < 101 * 101; k++)
    cr_assert_eq(out[k], -7, "node %d written", k);
  /* within one pixel: 30 x 20 mm against 12 x 8 nodes at 2.5 mm (27.5 x
  ** 17.5 mm: one pixel short) is accepted; 11 x 8 nodes (25 mm) is not */
  cr_assert_eq(mt_image_to_grid(im, 2.5, 12, 8, 2.5, out, err, sizeof err), 0,
               "%s", err);
  cr_assert_eq(mt_image_to_grid(im, 2.5, 11, 8, 2.5, out, err, sizeof err),
               MT_EINVAL);
  cr_assert_eq(mt_image_to_grid(im, 0, 13, 9, 2.5, out, err, sizeof err),
               MT_EINVAL);
  cr_assert_not_null(strstr(err, "pixel size 0 mm"), "%s", err);
  cr_assert_eq(mt_image_to_grid(im, NAN, 13, 9, 2.5, out, err, sizeof err),
               MT_EINVAL);
  mt_image_free(im);
}

/* ---- PNG out and maps ------------------------------------------------------ */

/* RGB pixels of a PNG by libpng's simplified API (not the code under
** test); the caller frees. */
static unsigned char *read_rgb(const char *path, int *w, int *h)
{
  png_image pi;
  memset(&pi, 0, sizeof pi);
  pi.version = PNG_IMAGE_VERSION;
  cr_assert(png_image_begin_read_from_file(&pi, path), "%s", pi.message);
  pi.format = PNG_FORMAT_RGB;
  unsigned char *buf = malloc(PNG_IMAGE_SIZE(pi));
  cr_assert_not_null(buf);
  cr_assert(png_image_finish_read(&pi, NULL, buf, 0, NULL), "%s", pi.message);
  *w = (int)pi.width, *h = (int)pi.height;
  return buf;
}

static void pixel_is(const unsigned char *px, int w, int x, int y, int r,
                     int g, int b, const char *what)
{
  const unsigned char *q = px + 3 * ((size_t)w * y + x);
  cr_assert(q[0] == r && q[1] == g && q[2] == b,
            "%s at (%d, %d): %d %d %d, expected %d %d %d", what, x, y, q[0],
            q[1], q[2], r, g, b);
}

Test(image, map_png_has_vmin_vmax_and_grey_where_expected)
{
  enum { NX = 20, NY = 10 };
  double v[NX * NY];
  unsigned char tis[NX * NY];
  for (int j = 0; j < NY; j++)
    for (int i = 0; i < NX; i++)
      v[i + NX * j] = i < NX / 2 ? -90 : 40, tis[i + NX * j] = 1;
  v[NX - 1 + NX * (NY - 1)] = 500; /* clamped to vmax's colour */
  tis[5 + NX * 5] = 0;             /* not tissue */
  v[6 + NX * 2] = NAN;             /* no value */
  const char *p = in_dir("v.png");
  char err[MT_ERRMSG_MAX] = "";
  cr_assert_eq(mt_map_png(p, v, tis, NX, NY, 0.5, -90, 40, "mV",
                          "V at t = 120 ms", err, sizeof err), 0, "%s", err);
  cr_assert_eq(entries(), 1);
  int w, h, w2, h2;
  unsigned char *px = read_rgb(p, &w, &h), *mem;
  cr_assert_eq(mt_map_rgb(v, tis, NX, NY, 0.5, -90, 40, "mV",
                          "V at t = 120 ms", &mem, &w2, &h2, err,
                          sizeof err), 0, "%s", err);
  cr_assert_eq(w, w2);
  cr_assert_eq(h, h2);
  cr_assert_eq(memcmp(px, mem, 3 * (size_t)w * h), 0);
  /* the header's layout: sx = sy = 600 / 20 = 30 pixels a node */
  int s = 30;
  cr_assert(w > MT_MAP_LEFT + NX * s && h > MT_MAP_TOP + NY * s,
            "%d x %d", w, h);
#define AT(i, j) MT_MAP_LEFT + (i) * s + s / 2, MT_MAP_TOP + (NY - 1 - (j)) * s + s / 2
  pixel_is(px, w, AT(0, 0), 68, 1, 84, "vmin, node (0, 0)");
  pixel_is(px, w, AT(NX / 2 - 1, NY - 1), 68, 1, 84, "vmin, node (9, 9)");
  pixel_is(px, w, AT(NX / 2, 0), 253, 231, 37, "vmax, node (10, 0)");
  pixel_is(px, w, AT(NX - 1, NY - 1), 253, 231, 37, "above vmax");
  pixel_is(px, w, AT(5, 5), MT_MAP_GREY, MT_MAP_GREY, MT_MAP_GREY,
           "not tissue");
  pixel_is(px, w, AT(6, 2), MT_MAP_GREY, MT_MAP_GREY, MT_MAP_GREY, "NaN");
  /* the top-left corner of node (0, ny-1) is the map's first pixel, the
  ** map is exactly NX s x NY s pixels: the outline (51, 51, 51) just
  ** outside it on every side */
  pixel_is(px, w, MT_MAP_LEFT, MT_MAP_TOP, 68, 1, 84, "map corner");
  pixel_is(px, w, MT_MAP_LEFT + NX * s - 1, MT_MAP_TOP + NY * s - 1, 253, 231,
           37, "node (19, 0), bottom-right pixel");
  pixel_is(px, w, MT_MAP_LEFT - 1, MT_MAP_TOP + 5, 51, 51, 51, "left edge");
  pixel_is(px, w, MT_MAP_LEFT + NX * s, MT_MAP_TOP + 5, 51, 51, 51,
           "right edge");
  pixel_is(px, w, MT_MAP_LEFT + 5, MT_MAP_TOP - 1, 51, 51, 51, "top edge");
  pixel_is(px, w, MT_MAP_LEFT + 5, MT_MAP_TOP + NY * s, 51, 51, 51,
           "bottom edge");
#undef AT
  /* our own reader sees the same size */
  mt_image *im = read_ok(p);
  cr_assert(im->width == w && im->height == h);
  mt_image_free(im);
  /* the title is drawn: black dots in its band, none elsewhere above it */
  int ink = 0;
  for (int y = 0; y < MT_MAP_TOP - 20; y++)
    for (int x = 0; x < w; x++)
      ink += px[3 * ((size_t)w * y + x)] == 0;
  cr_assert(ink > 50, "title ink %d", ink);
  free(px);
  free(mem);
}

Test(image, a_cable_is_drawn_40_pixels_tall)
{
  double v[50];
  for (int i = 0; i < 50; i++)
    v[i] = i;
  unsigned char *px;
  int w, h;
  char err[MT_ERRMSG_MAX] = "";
  /* vmin, vmax NaN: the data's range 0 .. 49 */
  cr_assert_eq(mt_map_rgb(v, NULL, 50, 1, 0.1, NAN, NAN, "ms", "cable", &px,
                          &w, &h, err, sizeof err), 0, "%s", err);
  int s = 600 / 50;
  for (int y = MT_MAP_TOP; y < MT_MAP_TOP + 40; y++) {
    pixel_is(px, w, MT_MAP_LEFT, y, 68, 1, 84, "first node");
    pixel_is(px, w, MT_MAP_LEFT + 50 * s - 1, y, 253, 231, 37, "last node");
  }
  free(px);
}

Test(image, bad_maps_and_pngs_write_nothing)
{
  double v[4] = {0, 1, 2, 3};
  char err[MT_ERRMSG_MAX] = "";
  const char *p = in_dir("m.png");
  cr_assert_eq(mt_map_png(p, v, NULL, 2, 2, 0.5, 1, 1, "ms", "t", err,
                          sizeof err), MT_EINVAL);
  cr_assert_not_null(strstr(err, "expected finite vmin < vmax"), "%s", err);
  cr_assert_eq(mt_map_png(p, v, NULL, 2, 2, 0.5, NAN, 1, "ms", "t", err,
                          sizeof err), MT_EINVAL);
  cr_assert_eq(mt_map_png(p, v, NULL, 0, 2, 0.5, 0, 1, "ms", "t", err,
                          sizeof err), MT_EINVAL);
  cr_assert_eq(mt_map_png(p, v, NULL, 2, 2, 0, 0, 1, "ms", "t", err,
                          sizeof err), MT_EINVAL);
  const unsigned char rgb[3] = {1, 2, 3};
  cr_assert_eq(mt_png_write_rgb(p, 0, 1, rgb, err, sizeof err), MT_EINVAL);
  cr_assert_eq(entries(), 0);
  /* a directory that does not exist: MT_EIO, nothing anywhere */
  const char *q = in_dir("no/such/m.png");
  cr_assert_eq(mt_png_write_rgb(q, 1, 1, rgb, err, sizeof err), MT_EIO);
  cr_assert_not_null(strstr(err, q), "%s", err);
  cr_assert_eq(entries(), 0);
}
