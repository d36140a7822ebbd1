/*
** Allocation failure: every create function, with its Nth allocation made
** to fail for N = 1, 2, ... until it succeeds, must return MT_ENOMEM (never
** crash, never succeed half-built) and free what it had taken: the count
** of live blocks is the same before and after each failed call. This
** executable is linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
** (CMakeLists.txt), which reroutes the library's own allocations (linked
** statically) through the counters below; the shared libraries it calls
** (LAPACK, SUNDIALS, jansson) allocate through their own symbols and are
** not failed. Under the ASan build, LeakSanitizer checks the same at exit.
*/
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "medtwin/enkf.h"
#include "medtwin/error.h"
#include "medtwin/import.h"
#include "medtwin/model.h"
#include "medtwin/patient.h"
#include "medtwin/pf.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"
#include "medtwin/twin.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

static long calls;      /* allocations since arm() */
static long fail_at;    /* the allocation that fails (0: none) */
static long failed_one; /* it was reached */
static long live;       /* blocks taken and not given back */

static int fail_now(void)
{
  if (!fail_at)
    return 0;
  if (++calls == fail_at) {
    failed_one = 1;
    return 1;
  }
  return 0;
}

static void *counted(void *p)
{
  live += p != NULL;
  return p;
}

void *__wrap_malloc(size_t n)
{
  return fail_now() ? NULL : counted(__real_malloc(n));
}
void *__wrap_calloc(size_t k, size_t n)
{
  return fail_now() ? NULL : counted(__real_calloc(k, n));
}
void *__wrap_realloc(void *p, size_t n)
{
  if (fail_now())
    return NULL;
  void *q = __real_realloc(p, n);
  live += !p && q; /* a new block only when there was none */
  return q;
}
void __wrap_free(void *p)
{
  live -= p != NULL;
  __real_free(p);
}

static void arm(long n) { calls = 0, failed_one = 0, fail_at = n; }
static void disarm(void) { fail_at = 0; }

/*
** Run make() with allocation n failing, for n = 1, 2, ...: each run that
** reached its failing allocation must return MT_ENOMEM; the first run that
** did not reach it must succeed. release() frees a success. At least one
** allocation must have been failed, else the wrap is not in effect.
*/
static void each_failure(int (*make)(void **), void (*release)(void *),
                         const char *what)
{
  long n;
  for (n = 1; n < 100000; n++) {
    void *obj = NULL;
    long before = live;
    arm(n);
    int rc = make(&obj);
    disarm();
    if (!failed_one) {
      cr_assert_eq(rc, 0, "%s: %d with no allocation failed", what, rc);
      release(obj);
      break;
    }
    cr_assert_eq(rc, MT_ENOMEM, "%s: allocation %ld failed, got %d", what, n,
                 rc);
    cr_assert_null(obj, "%s: allocation %ld failed but an object came back",
                   what, n);
    cr_assert_eq(live, before, "%s: allocation %ld failed and %ld blocks "
                 "were not freed", what, n, live - before);
  }
  cr_assert_gt(n, 1, "%s: no allocation was intercepted", what);
}

static int make_enkf(void **o) { return mt_enkf_create(13, 1, 32, (mt_enkf **)o); }
static void free_enkf(void *o) { mt_enkf_free(o); }
static int make_pf(void **o) { return mt_pf_create(13, 1, 64, (mt_pf **)o); }
static void free_pf(void *o) { mt_pf_free(o); }
static int make_schedule(void **o) { return mt_schedule_create(3, (mt_schedule **)o); }
static void free_schedule(void *o) { mt_schedule_free(o); }

static int make_import(void **o)
{
  mt_import_config cfg;
  mt_import_config_init(&cfg);
  return mt_import_create(&cfg, (mt_import **)o);
}
static void free_import(void *o) { mt_import_free(o); }

static int make_patient(void **o)
{
  return mt_patient_create(mt_model_find("uva_padova_t1d"),
                           (mt_patient **)o);
}
static void free_patient(void *o) { mt_patient_free(o); }

static int make_sim(void **o)
{
  return mt_sim_create(mt_model_find("uva_padova_t1d"), NULL, (mt_sim **)o);
}
static void free_sim(void *o) { mt_sim_free(o); }

static int make_twin(void **o)
{
  char err[MT_ERRMSG_MAX];
  mt_twin_config cfg;
  mt_twin_config_init(&cfg);
  cfg.members = 16;
  return mt_twin_create(&cfg, (mt_twin **)o, err, sizeof err);
}
static void free_twin(void *o) { mt_twin_free(o); }

Test(alloc_fail, enkf) { each_failure(make_enkf, free_enkf, "mt_enkf_create"); }
Test(alloc_fail, pf) { each_failure(make_pf, free_pf, "mt_pf_create"); }
Test(alloc_fail, schedule)
{
  each_failure(make_schedule, free_schedule, "mt_schedule_create");
}
Test(alloc_fail, import)
{
  each_failure(make_import, free_import, "mt_import_create");
}
Test(alloc_fail, patient)
{
  each_failure(make_patient, free_patient, "mt_patient_create");
}
Test(alloc_fail, sim) { each_failure(make_sim, free_sim, "mt_sim_create"); }
Test(alloc_fail, twin) { each_failure(make_twin, free_twin, "mt_twin_create"); }
