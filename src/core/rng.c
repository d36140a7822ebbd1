/*
** Counter-based random streams: Random123's Philox4x64-10 (Salmon et al.,
** SC'11) keyed by (seed, a) with (b, c, block number) as the counter, as laid
** out in include/medtwin/rng.h. Normals by Box-Muller (Box and Muller 1958).
*/
#include <math.h>
#include <string.h>

#include <Random123/philox.h>
#include <Random123/u01fixedpt.h>

#include "medtwin/rng.h"

#define TWO_PI 6.283185307179586476925286766559

void mt_rng_init(mt_rng *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
  memset(r, 0, sizeof *r);
  r->key[0] = seed;
  r->key[1] = a;
  r->ctr[0] = b;
  r->ctr[1] = c;
}

/* Compute the block at r->ctr into r->buf and step the 128-bit block number. */
static void refill(mt_rng *r)
{
  philox4x64_ctr_t ctr = {{r->ctr[0], r->ctr[1], r->ctr[2], r->ctr[3]}};
  philox4x64_key_t key = {{r->key[0], r->key[1]}};
  philox4x64_ctr_t out = philox4x64(ctr, key);
  memcpy(r->buf, out.v, sizeof r->buf);
  r->left = 4;
  if (++r->ctr[3] == 0)
    r->ctr[2]++;
}

uint64_t mt_rng_u64(mt_rng *r)
{
  if (r->left <= 0)
    refill(r);
  return r->buf[4 - r->left--];
}

double mt_rng_uniform(mt_rng *r)
{
  return u01fixedpt_open_open_64_double(mt_rng_u64(r));
}

double mt_rng_normal(mt_rng *r)
{
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  /* u1 in (0, 1) keeps the radius finite and positive. */
  double u1 = mt_rng_uniform(r), u2 = mt_rng_uniform(r);
  double rad = sqrt(-2.0 * log(u1)), th = TWO_PI * u2;
  r->spare = rad * sin(th);
  r->has_spare = 1;
  return rad * cos(th);
}
