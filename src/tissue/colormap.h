/*
** Internal: the colour map and tick steps shared by the tissue maps (the
** SVG of src/cli/tissue.c and the PNG of src/tissue/png_out.c).
*/
#ifndef MT_TISSUE_COLORMAP_H
#define MT_TISSUE_COLORMAP_H

#include <math.h>

/* Viridis (matplotlib's default map, van der Walt and Smith 2015) at 9
** anchors, linear in between; x in [0, 1]. */
static inline void mt_map__viridis(double x, int rgb[3])
{
  static const unsigned char a[9][3] = {
    {68, 1, 84},    {71, 44, 122},  {59, 81, 139},  {44, 113, 142},
    {33, 144, 141}, {39, 173, 129}, {92, 200, 99},  {170, 220, 50},
    {253, 231, 37}};
  x = fmin(fmax(x, 0), 1) * 8;
  int k = (int)fmin(floor(x), 7);
  double w = x - k;
  for (int i = 0; i < 3; i++)
    rgb[i] = (int)lround(a[k][i] + w * (a[k + 1][i] - a[k][i]));
}

/* A tick step of about span / 5: 1, 2 or 5 times a power of ten. */
static inline double mt_map__nice_step(double span)
{
  if (!(span > 0))
    return 1;
  double p = pow(10, floor(log10(span / 5))), r = span / 5 / p;
  return p * (r < 1.5 ? 1 : r < 3.5 ? 2 : 5);
}

#endif
