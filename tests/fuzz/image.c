/*
** Images (include/medtwin/image.h): mt_image_read_mem, the reader behind
** mt_image_read, on the raw bytes as a PGM or PNG file. A refusal must be
** MT_EINVAL (or MT_ENOMEM) with one line starting with the name given and
** nothing returned; an image that reads must have a size of 1 to 16384 on
** each side, every grey value in [0, 1], and map onto the grid of its own
** pixels (1 mm pixels, nodes 1 mm apart) node (i, j) = pixel (i, H-1-j).
*/
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "medtwin/error.h"
#include "medtwin/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char err[MT_ERRMSG_MAX] = "";
  mt_image *im = (mt_image *)&err; /* must come back NULL on a refusal */
  int rc = mt_image_read_mem(data, size, "fuzz.img", &im, err, sizeof err);
  if (rc) {
    if ((rc != MT_EINVAL && rc != MT_ENOMEM) || im ||
        strncmp(err, "fuzz.img: ", 10) || strchr(err, '\n'))
      abort();
    return 0;
  }
  int w = im->width, h = im->height;
  if (!im->grey || w < 1 || h < 1 || w > MT_IMAGE_MAX_SIDE ||
      h > MT_IMAGE_MAX_SIDE || strcmp(im->name, "fuzz.img"))
    abort();
  size_t n = (size_t)w * (size_t)h;
  for (size_t k = 0; k < n; k++)
    if (!(im->grey[k] >= 0 && im->grey[k] <= 1))
      abort();
  if (n <= 1 << 20) {
    double *g = malloc(n * sizeof *g);
    if (g) {
      if (mt_image_to_grid(im, 1, w, h, 1, g, err, sizeof err))
        abort();
      for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++)
          if (g[i + (size_t)w * j] != im->grey[i + (size_t)w * (h - 1 - j)])
            abort();
      free(g);
    }
  }
  mt_image_free(im);
  return 0;
}
