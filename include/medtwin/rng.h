/*
** Counter-based random streams on Random123's Philox4x64-10 (Salmon, Moraes,
** Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC'11).
**
** A stream is named by a 64-bit seed and three 64-bit keys (for example
** ensemble member, observation index, purpose), so the numbers a member or a
** patient draws depend only on those names: the same for any thread count,
** rank count or order of work. There is no global state; an mt_rng is a plain
** value that may be copied (a copy continues the same sequence independently).
*/
#ifndef MEDTWIN_RNG_H
#define MEDTWIN_RNG_H

#include <stdint.h>

/*
** Layout of one stream (seed; a, b, c) on Philox4x64's 2-word key and
** 4-word counter:
**
**   key = { seed, a }
**   ctr = { b, c, block_hi, block_lo }
**
** block_hi:block_lo is a 128-bit block number starting at 0; each block is one
** Philox call giving four 64-bit words, used in order ctr[0..3] of the output.
** Streams differ when any of seed, a, b or c differs. The fields are public
** so that a stream can be saved and restored as bytes; treat them as
** read-only otherwise.
*/
typedef struct mt_rng {
  uint64_t key[2];
  uint64_t ctr[4];  /* counter of the next block to compute */
  uint64_t buf[4];  /* the current block's output */
  int left;         /* words of buf not yet used (taken from buf[4 - left]) */
  double spare;     /* second normal of the last Box-Muller pair */
  int has_spare;
} mt_rng;

/* Start stream (seed; a, b, c) at its first word. Never fails. */
void mt_rng_init(mt_rng *r, uint64_t seed, uint64_t a, uint64_t b, uint64_t c);

/* The next 64 uniformly distributed bits. */
uint64_t mt_rng_u64(mt_rng *r);

/* Uniform on the open interval (0, 1): (2k + 1) / 2^53 for k uniform in
** [0, 2^52), from the top 52 bits of one word (Random123's
** u01fixedpt_open_open_64_double). Never 0 or 1, so log(u) is always finite. */
double mt_rng_uniform(mt_rng *r);

/* Standard normal N(0, 1) by the Box-Muller transform (Box and Muller, Ann.
** Math. Stat. 29:610, 1958) of two uniforms; the pair's second value is kept
** and returned by the next call. Consumes exactly two words per pair, so the
** output depends only on the stream and the order of calls on it. */
double mt_rng_normal(mt_rng *r);

#endif
