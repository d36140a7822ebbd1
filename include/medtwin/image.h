/*
** Images in and out of the tissue engine (docs/tissue.md, "Images").
**
** In: a greyscale picture (a fibrosis map, a mask) from a PGM file (Netpbm,
** P2 and P5, https://netpbm.sourceforge.net/doc/pgm.html) or a PNG file
** (through libpng), as grey levels in [0, 1], and its mapping onto the
** engine's vertex-centred grid at a stated pixel size.
**
** Out: PNG files (through libpng) of RGB pixels, and colour maps of a 2D
** field on the grid (activation time, APD, snapshots of V) with a colour
** bar, a scale bar and a title drawn in a built-in 5 x 7 bitmap font.
*/
#ifndef MEDTWIN_IMAGE_H
#define MEDTWIN_IMAGE_H

#include <stddef.h>
#include <stdio.h>

/* Largest width or height read, in pixels. */
#define MT_IMAGE_MAX_SIDE 16384

/*
** A greyscale picture. grey holds width x height values in [0, 1] (0 black,
** 1 white), row by row from the top row of the picture: the pixel in column
** c (from the left) and row r (from the top) is grey[c + width r]. name is
** the file's name (or the name given to mt_image_read_mem), for messages.
** Made by mt_image_read / mt_image_read_mem, released by mt_image_free.
*/
typedef struct mt_image {
  int width, height; /* pixels, 1 .. MT_IMAGE_MAX_SIDE */
  double *grey;
  char *name;
} mt_image;

/*
** Read the PGM (P2 or P5, maxval 1 .. 65535) or PNG file at path; the format
** is told by its first bytes, not by the name. A PGM sample s becomes s /
** maxval. A PNG is reduced to one grey channel by libpng's transforms:
** palette entries and bit depths below 8 are expanded, alpha is dropped
** (the colour values are kept as they are, not composited), RGB becomes
** 0.2126 R + 0.7152 G + 0.0722 B (the Rec. 709 weights, libpng's defaults,
** on the coded values); 8-bit samples are divided by 255, 16-bit by 65535.
** Interlaced PNGs are read whole. Neither format is gamma-decoded.
**
** Returns 0 with *out set, or *out = NULL and: MT_EIO when the file cannot
** be read; MT_EINVAL for anything that is not a whole, valid image (wrong
** magic, garbage or a bad number in the header, a width or height of 0 or
** over MT_IMAGE_MAX_SIDE, a maxval outside 1 .. 65535, a sample above
** maxval, truncated data, a corrupt PNG); MT_ENOMEM. err gets one line
** starting with the file's name and saying what was expected.
*/
int mt_image_read(const char *path, mt_image **out, char *err, size_t errlen);

/* The same on len bytes in memory (borrowed for the call); name stands for
** the file in messages and in (*out)->name. */
int mt_image_read_mem(const void *data, size_t len, const char *name,
                      mt_image **out, char *err, size_t errlen);

/* NULL-safe. */
void mt_image_free(mt_image *im);

/*
** Sample im onto the 2D grid of nx x ny vertex-centred nodes at x = i dx_mm,
** y = j dx_mm (y up, as the engine's node order i + nx j). The picture
** covers [0, W px] x [0, H px] mm (px = pixel_mm; W, H its width and
** height) with its top row at the largest y. Node (i, j) takes the grey of
** the pixel containing (i dx, j dx): column min(W-1, floor(x / px)), row
** from the top H-1-min(H-1, floor(y / px)) (a node on a pixel edge belongs
** to the pixel above it in x and y; 1e-9 relative slack for rounding);
** out[i + nx j] (nx ny values, written only on success).
**
** The picture must have the grid's extent within one pixel or one node
** spacing: |W px - (nx-1) dx| <= max(px, dx), and the same in y. Returns
** 0, or MT_EINVAL (nothing written) with a message naming the image and
** both extents, or naming a bad pixel_mm (finite > 0), dx_mm, nx or ny.
*/
int mt_image_to_grid(const mt_image *im, double pixel_mm, int nx, int ny,
                     double dx_mm, double *out, char *err, size_t errlen);

/*
** Write a w x h 8-bit RGB picture (rgb: 3 w h bytes, rows from the top) as a
** PNG file through libpng, all or nothing: into a temporary file beside
** path, renamed into place when complete (mt_afile, medtwin/file.h; "-"
** writes to standard output).
** 1 <= w, h <= 65535. Returns 0, MT_EINVAL (bad size), MT_EIO
** or MT_ENOMEM with a message naming path; on error path is untouched.
*/
int mt_png_write_rgb(const char *path, int w, int h, const unsigned char *rgb,
                     char *err, size_t errlen);

/* The same into an open stream f (name for messages), for a caller that
** commits several files together (mt_afile_commit_all). On error what was
** written to f is incomplete. */
int mt_png_write_rgb_fp(FILE *f, const char *name, int w, int h,
                        const unsigned char *rgb, char *err, size_t errlen);

/*
** Layout of a map (mt_map_rgb): node (i, j) of an nx x ny field is a block
** of sx x sy pixels, its top-left corner at (MT_MAP_LEFT + i sx,
** MT_MAP_TOP + (ny-1-j) sy) (y up); sx = max(1, 600 / max(nx, ny)) (integer
** division: small grids scaled up to about 400-600 pixels, every node at
** least one pixel) and sy = sx, or ceil(40 / ny) when ny sx < 40 (a cable
** is drawn 40 pixels tall).
*/
#define MT_MAP_LEFT 40
#define MT_MAP_TOP 40
/* The colour of a node outside the tissue, or of NaN. */
#define MT_MAP_GREY 190

/*
** Render the field val (nx ny values, node i + nx j; only its z = 0 slice
** for a 3D field) as an RGB picture: viridis from vmin (dark blue) to vmax
** (yellow), values outside clamped, nodes where tissue is 0 (tissue may be
** NULL: all tissue) or val is NaN grey (MT_MAP_GREY). To the right a colour
** bar labelled with vmin, the midpoint and vmax and, above it, unit; under
** the map a scale bar (a 1-2-5 length near a quarter of the width, mm) with
** its label; title at the top (at most 120 characters; characters outside
** the font drawn as '?'). vmin and vmax both NaN: the range of the finite
** tissue values (the SVG map's rule). Fixed vmin, vmax (e.g. V from -90 to
** +40 mV) give comparable frames of an animation.
**
** On success *rgb is a malloc'd 3 w h buffer (the caller frees it), *w and
** *h its size. MT_EINVAL: nx, ny < 1 or over MT_IMAGE_MAX_SIDE, dx_mm not
** finite > 0, vmin >= vmax or only one of them NaN; MT_ENOMEM.
*/
int mt_map_rgb(const double *val, const unsigned char *tissue, int nx, int ny,
               double dx_mm, double vmin, double vmax, const char *unit,
               const char *title, unsigned char **rgb, int *w, int *h,
               char *err, size_t errlen);

/* mt_map_rgb written to path as a PNG (mt_png_write_rgb): all or nothing,
** the message naming path. */
int mt_map_png(const char *path, const double *val,
               const unsigned char *tissue, int nx, int ny, double dx_mm,
               double vmin, double vmax, const char *unit, const char *title,
               char *err, size_t errlen);

#endif
