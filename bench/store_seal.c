/*
** Cost of encryption at rest in the store (include/medtwin/vault.h), beside
** the same store without it, in the same run: the write path the server's
** writer runs for a CGM Observation (resource row sealed, index entry,
** observation row with its sealed value; groups of 100 per commit as the
** server's group commit makes them), a search page of 50 Observations
** (every resource opened), a patient's readings by range (every value
** opened), and the primitives: sealing and opening a 700-byte resource,
** and a cached key lookup. Medians of ROUNDS rounds; each round alternates
** the plain and the encrypted store so that both see the same machine.
** Prints `name value unit`; the ratios are encrypted / plain.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "bench.h"
#include "medtwin/store.h"
#include "medtwin/vault.h"

#define ROUNDS 7
#define PATIENTS 8
#define PER_ROUND 2000 /* observations written per store per round */
#define GROUP 100
#define SEARCHES 200

static const char OBS[] =
  "{\"resourceType\":\"Observation\",\"status\":\"final\",\"category\":[{"
  "\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
  "observation-category\",\"code\":\"laboratory\"}]}],\"code\":{\"coding\":"
  "[{\"system\":\"http://loinc.org\",\"code\":\"99504-3\",\"display\":"
  "\"Glucose [Mass/volume] in Interstitial fluid\"}]},\"subject\":{"
  "\"reference\":\"Patient/p%d\"},\"effectiveDateTime\":\"%s\","
  "\"valueQuantity\":{\"value\":%d,\"unit\":\"mg/dL\",\"system\":"
  "\"http://unitsofmeasure.org\",\"code\":\"mg/dL\"},\"device\":{"
  "\"display\":\"CGM sensor\"}}";

static void die(const char *what, const char *err)
{
  fprintf(stderr, "store_seal: %s: %s\n", what, err);
  exit(1);
}

/* PER_ROUND CGM Observations from number *k on; seconds. */
static double write_round(mt_store *st, long *k)
{
  char err[256], json[1024], when[32], pat[16], id[32];
  const char *tok[] = {"http://loinc.org|99504-3"};
  double t0 = bench_now();
  for (int g = 0; g < PER_ROUND / GROUP; g++) {
    if (mt_store_begin(st, err, sizeof err))
      die("begin", err);
    for (int i = 0; i < GROUP; i++, (*k)++) {
      int p = (int)(*k % PATIENTS) + 1;
      int64_t t = 1767225600000LL + (*k / PATIENTS) * 300000LL;
      time_t sec = (time_t)(t / 1000);
      strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&sec));
      snprintf(pat, sizeof pat, "p%d", p);
      snprintf(id, sizeof id, "o%ld", *k);
      snprintf(json, sizeof json, OBS, p, when, 70 + (int)(*k % 150));
      mt_res_index ix = {.patient = pat, .codes = tok, .n_codes = 1,
                         .has_date = 1, .date_ms = t};
      mt_obs o = {.t_ms = t, .value = 70 + (double)(*k % 150)};
      snprintf(o.patient, sizeof o.patient, "%s", pat);
      snprintf(o.device, sizeof o.device, "cgm");
      snprintf(o.code, sizeof o.code, "99504-3");
      snprintf(o.unit, sizeof o.unit, "mg/dL");
      snprintf(o.resource, sizeof o.resource, "%s", id);
      if (mt_store_resource_create_of(st, pat, "Observation", id, json, NULL,
                                      err, sizeof err) ||
          mt_store_resource_set_index(st, "Observation", id, &ix, err,
                                      sizeof err) ||
          mt_store_obs_append(st, &o, NULL, err, sizeof err) < 0)
        die("write", err);
    }
    if (mt_store_commit(st, err, sizeof err))
      die("commit", err);
  }
  return bench_now() - t0;
}

/* SEARCHES pages of 50 of patient p1, newest first; seconds. */
static double search_round(mt_store *st)
{
  char err[256];
  mt_res_query q = {.type = "Observation", .patient = "p1",
                    .code_system = "http://loinc.org", .code = "99504-3",
                    .sort = -1, .count = 50};
  double t0 = bench_now();
  for (int i = 0; i < SEARCHES; i++) {
    mt_resource *list = NULL;
    size_t n = 0;
    long total = 0;
    if (mt_store_resource_search(st, &q, &list, &n, &total, err, sizeof err))
      die("search", err);
    mt_resource_list_free(list, n);
  }
  return bench_now() - t0;
}

/* Every reading of every patient; seconds, and the rows into *rows. */
static double query_round(mt_store *st, long *rows)
{
  char err[256], pat[16];
  double t0 = bench_now();
  *rows = 0;
  for (int p = 1; p <= PATIENTS; p++) {
    mt_obs *o = NULL;
    size_t n = 0;
    snprintf(pat, sizeof pat, "p%d", p);
    if (mt_store_obs_query(st, pat, "99504-3", 0, INT64_MAX, &o, &n, err,
                           sizeof err))
      die("query", err);
    *rows += (long)n;
    free(o);
  }
  return bench_now() - t0;
}

static double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof *v, bench_cmp);
  return v[n / 2];
}

int main(void)
{
  char base[] = "/tmp/mt_bench_seal_XXXXXX", plain[96], sealed[96], keys[96];
  char err[256];
  if (sodium_init() < 0 || !mkdtemp(base))
    die("setup", "no temporary directory or libsodium");
  snprintf(plain, sizeof plain, "%s/plain", base);
  snprintf(sealed, sizeof sealed, "%s/sealed", base);
  snprintf(keys, sizeof keys, "%s/keys", base);
  unsigned char mk[MT_VAULT_KEY_BYTES];
  randombytes_buf(mk, sizeof mk);
  mt_vault *v;
  mt_store *sp, *se;
  if (mt_vault_open(keys, sealed, mk, &v, err, sizeof err))
    die("vault", err);
  if (mt_store_open(plain, &sp, err, sizeof err) ||
      mt_store_open_vault(sealed, v, &se, err, sizeof err))
    die("open", err);

  double w[2][ROUNDS], s[2][ROUNDS], qr[2][ROUNDS];
  long kp = 0, ke = 0, rows = 0;
  for (int r = 0; r < ROUNDS; r++) {
    w[0][r] = PER_ROUND / write_round(sp, &kp);
    w[1][r] = PER_ROUND / write_round(se, &ke);
    s[0][r] = SEARCHES / search_round(sp);
    s[1][r] = SEARCHES / search_round(se);
    double t = query_round(sp, &rows);
    qr[0][r] = rows / t;
    qr[1][r] = rows / query_round(se, &rows);
  }

  /* the primitives */
  unsigned char key[MT_VAULT_KEY_BYTES], *box, *back;
  size_t n = strlen(OBS);
  box = malloc(n + MT_SEAL_OVERHEAD);
  back = malloc(n);
  if (mt_vault_key(v, "p1", 0, key, err, sizeof err))
    die("key", err);
  double seal[ROUNDS], open_[ROUNDS], look[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = bench_now();
    for (int i = 0; i < 100000; i++)
      mt_seal(key, "ad", 2, OBS, n, box);
    seal[r] = (bench_now() - t0) / 100000 * 1e9;
    t0 = bench_now();
    for (int i = 0; i < 100000; i++)
      if (mt_unseal(key, "ad", 2, box, n + MT_SEAL_OVERHEAD, back))
        die("unseal", "does not open");
    open_[r] = (bench_now() - t0) / 100000 * 1e9;
    t0 = bench_now();
    for (int i = 0; i < 100000; i++)
      mt_vault_key(v, "p1", 0, key, err, sizeof err);
    look[r] = (bench_now() - t0) / 100000 * 1e9;
  }
  free(box);
  free(back);

  double wp = median(w[0], ROUNDS), we = median(w[1], ROUNDS);
  double sp_ = median(s[0], ROUNDS), se_ = median(s[1], ROUNDS);
  double qp = median(qr[0], ROUNDS), qe = median(qr[1], ROUNDS);
  printf("write_plain %.0f obs/s\nwrite_sealed %.0f obs/s\n"
         "write_ratio %.3f x\n", wp, we, we / wp);
  printf("search50_plain %.0f pages/s\nsearch50_sealed %.0f pages/s\n"
         "search50_ratio %.3f x\n", sp_, se_, se_ / sp_);
  printf("obs_query_plain %.0f rows/s\nobs_query_sealed %.0f rows/s\n"
         "obs_query_ratio %.3f x\n", qp, qe, qe / qp);
  printf("seal_700B %.0f ns\nunseal_700B %.0f ns\nkey_lookup_cached %.0f ns\n",
         median(seal, ROUNDS), median(open_, ROUNDS), median(look, ROUNDS));
  mt_store_close(sp);
  mt_store_close(se);
  mt_vault_close(v);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
  return system(cmd) != 0;
}
