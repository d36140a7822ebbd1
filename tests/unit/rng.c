/*
** Unit tests of the counter-based random streams (src/core/rng.c).
**
** Known answers: Random123's published known-answer vectors for
** Philox4x64-10 (file kat_vectors of the Random123 distribution, the same
** three lines quoted in its C++ successor's example "kat" program). The
** statistical checks use fixed streams, so they are deterministic; each bound
** is 5 standard errors of the sample statistic for n independent draws:
**   uniform: SE(mean) = sqrt(1/12 / n), SE(var) = sqrt((mu4 - sigma^4) / n)
**            = sqrt(1/180 / n) (mu4 = 1/80, sigma^2 = 1/12);
**   normal:  SE(mean) = 1/sqrt(n), SE(var) = sqrt(2/n), SE(skew) = sqrt(6/n),
**            SE(excess kurtosis) = sqrt(24/n).
** The Kolmogorov-Smirnov check uses the asymptotic 1% critical value
** 1.63 / sqrt(n) (Smirnov's limit distribution, K(1.628) = 0.99).
*/
#include <math.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include "medtwin/rng.h"

static const uint64_t ONES = ~(uint64_t)0;

/* Draw four words and compare with a published Philox4x64-10 block. */
static void assert_block(mt_rng *r, const uint64_t want[4], const char *what)
{
  for (int i = 0; i < 4; i++) {
    uint64_t got = mt_rng_u64(r);
    cr_assert_eq(got, want[i], "%s word %d: got %016llx, want %016llx", what,
                 i, (unsigned long long)got, (unsigned long long)want[i]);
  }
}

Test(rng, philox_known_answers)
{
  /* kat_vectors: philox4x64 10, counter 0, key 0. Stream (0; 0, 0, 0). */
  static const uint64_t zero[4] = {0x16554d9eca36314cULL, 0xdb20fe9d672d0fdcULL,
                                   0xd7e772cee186176bULL, 0x7e68b68aec7ba23bULL};
  /* kat_vectors: every counter and key word 2^64 - 1. */
  static const uint64_t ones[4] = {0x87b092c3013fe90bULL, 0x438c3c67be8d0224ULL,
                                   0x9cc7d7c69cd777b6ULL, 0xa09caebf594f0ba0ULL};
  /* kat_vectors: counter = digits of pi, key = the following digits. */
  static const uint64_t pi[4] = {0xa528f45403e61d95ULL, 0x38c72dbd566e9788ULL,
                                 0xa5a1610e72fd18b5ULL, 0x57bd43b5e52b7fe6ULL};
  mt_rng r;
  mt_rng_init(&r, 0, 0, 0, 0);
  assert_block(&r, zero, "ctr 0 key 0");

  /* Block number 2^128 - 1 is reached by setting the counter words; the
  ** layout key = {seed, a}, ctr = {b, c, hi, lo} is the one rng.h documents. */
  mt_rng_init(&r, ONES, ONES, ONES, ONES);
  r.ctr[2] = r.ctr[3] = ONES;
  assert_block(&r, ones, "all ones");
  cr_assert(r.ctr[2] == 0 && r.ctr[3] == 0, "128-bit block number wraps");

  mt_rng_init(&r, 0x452821e638d01377ULL, 0xbe5466cf34e90c6cULL,
              0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL);
  r.ctr[2] = 0xa4093822299f31d0ULL;
  r.ctr[3] = 0x082efa98ec4e6c89ULL;
  assert_block(&r, pi, "pi");
}

Test(rng, block_number_carries)
{
  /* After block lo = 2^64 - 1 comes block (hi + 1, 0), not block (hi, 0). */
  mt_rng a, b;
  mt_rng_init(&a, 7, 1, 2, 3);
  a.ctr[3] = ONES;
  for (int i = 0; i < 4; i++)
    mt_rng_u64(&a);
  cr_assert_eq(a.ctr[2], 1);
  cr_assert_eq(a.ctr[3], 0);
  mt_rng_init(&b, 7, 1, 2, 3);
  b.ctr[2] = 1;
  for (int i = 0; i < 8; i++)
    cr_assert_eq(mt_rng_u64(&a), mt_rng_u64(&b));
  /* ... and block (0, 0) is still the stream's first block. */
  mt_rng_init(&b, 7, 1, 2, 3);
  cr_assert_neq(mt_rng_u64(&a), mt_rng_u64(&b));
}

Test(rng, same_stream_same_sequence)
{
  mt_rng a, b;
  mt_rng_init(&a, 42, 3, 17, 5);
  mt_rng_init(&b, 42, 3, 17, 5);
  for (int i = 0; i < 10000; i++) {
    cr_assert_eq(mt_rng_u64(&a), mt_rng_u64(&b), "u64 draw %d", i);
    cr_assert_eq(mt_rng_uniform(&a), mt_rng_uniform(&b), "uniform draw %d", i);
    cr_assert_eq(mt_rng_normal(&a), mt_rng_normal(&b), "normal draw %d", i);
  }
  /* A copy continues the same sequence on its own. */
  mt_rng c = a;
  for (int i = 0; i < 100; i++)
    cr_assert_eq(mt_rng_normal(&a), mt_rng_normal(&c));
}

Test(rng, interleaving_does_not_matter)
{
  /* No shared state: stream A's numbers are the same whether or not another
  ** stream is drawn from in between (what makes thread counts irrelevant). */
  enum { N = 3000 };
  static double alone[N];
  mt_rng a, b;
  mt_rng_init(&a, 9, 1, 0, 0);
  for (int i = 0; i < N; i++)
    alone[i] = mt_rng_normal(&a);
  mt_rng_init(&a, 9, 1, 0, 0);
  mt_rng_init(&b, 9, 2, 0, 0);
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < i % 3; j++)
      mt_rng_u64(&b);
    cr_assert_eq(mt_rng_normal(&a), alone[i], "draw %d", i);
  }
}

Test(rng, each_key_selects_a_different_stream)
{
  /* Changing any one of seed, a, b, c by 1 changes every one of the first
  ** 1000 words (a chance match has probability about 1000 / 2^64). */
  static const uint64_t base[4] = {1234, 5, 6, 7};
  for (int k = 0; k < 4; k++) {
    uint64_t v[4] = {base[0], base[1], base[2], base[3]};
    v[k]++;
    mt_rng r0, r1;
    mt_rng_init(&r0, base[0], base[1], base[2], base[3]);
    mt_rng_init(&r1, v[0], v[1], v[2], v[3]);
    int same = 0;
    for (int i = 0; i < 1000; i++)
      same += mt_rng_u64(&r0) == mt_rng_u64(&r1);
    cr_assert_eq(same, 0, "key %d: %d of 1000 words equal", k, same);
  }
}

Test(rng, uniform_endpoints)
{
  /* The smallest and largest words map inside (0, 1): 2^-53 and 1 - 2^-53. */
  mt_rng r;
  mt_rng_init(&r, 0, 0, 0, 0);
  r.buf[0] = 0;
  r.buf[1] = ONES;
  r.left = 4;
  cr_assert_eq(mt_rng_uniform(&r), ldexp(1.0, -53));
  cr_assert_eq(mt_rng_uniform(&r), 1.0 - ldexp(1.0, -53));
}

Test(rng, box_muller_uses_first_uniform_for_radius)
{
  /* u1 = 1/2 + 2^-53, u2 = 2^-53: z0 = sqrt(-2 ln u1) cos(2 pi u2), which is
  ** sqrt(2 ln 2) = 1.1774100225154747 to 1e-15, and z1 = z0 tan(2 pi u2). */
  mt_rng r;
  mt_rng_init(&r, 0, 0, 0, 0);
  r.buf[0] = (uint64_t)1 << 63;
  r.buf[1] = 0;
  r.left = 4;
  double z0 = mt_rng_normal(&r), z1 = mt_rng_normal(&r);
  cr_assert(fabs(z0 - 1.1774100225154747) < 1e-14, "z0 = %.17g", z0);
  cr_assert(z1 > 0 && z1 < 1e-14, "z1 = %.17g", z1);
  cr_assert_eq(r.left, 2, "one pair uses two words");
}

Test(rng, uniform_moments)
{
  enum { N = 1000000 };
  mt_rng r;
  mt_rng_init(&r, 2024, 1, 0, 0);
  double s = 0, s2 = 0;
  for (int i = 0; i < N; i++) {
    double u = mt_rng_uniform(&r);
    cr_assert(u > 0.0 && u < 1.0, "draw %d = %.17g", i, u);
    s += u;
    s2 += u * u;
  }
  double mean = s / N, var = s2 / N - mean * mean;
  double se_mean = sqrt(1.0 / 12.0 / N), se_var = sqrt(1.0 / 180.0 / N);
  cr_assert(fabs(mean - 0.5) < 5 * se_mean, "mean %.6f", mean);
  cr_assert(fabs(var - 1.0 / 12.0) < 5 * se_var, "var %.6f", var);
}

Test(rng, normal_moments)
{
  enum { N = 1000000 };
  static double x[N];
  mt_rng r;
  mt_rng_init(&r, 2024, 2, 0, 0);
  double m = 0;
  for (int i = 0; i < N; i++)
    m += x[i] = mt_rng_normal(&r);
  m /= N;
  double c2 = 0, c3 = 0, c4 = 0;
  for (int i = 0; i < N; i++) {
    double d = x[i] - m, d2 = d * d;
    c2 += d2;
    c3 += d2 * d;
    c4 += d2 * d2;
  }
  c2 /= N;
  c3 /= N;
  c4 /= N;
  double skew = c3 / pow(c2, 1.5), kurt = c4 / (c2 * c2) - 3.0;
  cr_assert(fabs(m) < 5 / sqrt(N), "mean %.6f", m);
  cr_assert(fabs(c2 - 1.0) < 5 * sqrt(2.0 / N), "var %.6f", c2);
  cr_assert(fabs(skew) < 5 * sqrt(6.0 / N), "skewness %.6f", skew);
  cr_assert(fabs(kurt) < 5 * sqrt(24.0 / N), "excess kurtosis %.6f", kurt);
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

Test(rng, normal_kolmogorov_smirnov)
{
  enum { N = 100000 };
  static double x[N];
  mt_rng r;
  mt_rng_init(&r, 2024, 3, 0, 0);
  for (int i = 0; i < N; i++)
    x[i] = mt_rng_normal(&r);
  qsort(x, N, sizeof x[0], cmp_double);
  double d = 0;
  for (int i = 0; i < N; i++) {
    double f = 0.5 * erfc(-x[i] / sqrt(2.0));
    d = fmax(d, fmax(f - (double)i / N, (double)(i + 1) / N - f));
  }
  cr_assert(d < 1.63 / sqrt(N), "KS D = %.6f, sqrt(n) D = %.3f", d,
            d * sqrt(N));
}
