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
**
** The store and the server: SQLite is a shared library with an allocator of
** its own, which the tests of mt_store_open and mt_server_start route
** through the same counters (sqlite3_config(SQLITE_CONFIG_MALLOC) before
** sqlite3_initialize), so its allocations are failed too. Every failure
** met there comes back as MT_ENOMEM (SQLite reports them as SQLITE_NOMEM,
** none as an I/O or cannot-open error), and the tests accept no other code.
** SQLite marks a few of its allocations benign (a connection's lookaside
** buffer among them) and works on without them: a run whose failed
** allocation was one of those succeeds and must leave a whole store. Under valgrind (about 45
** times slower) those loops fail every 13th allocation only.
*/
#include <dirent.h>
#include <math.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <sodium.h>
#include <sqlite3.h>

#include "medtwin/enkf.h"
#include "medtwin/error.h"
#include "medtwin/image.h"
#include "medtwin/import.h"
#include "medtwin/model.h"
#include "medtwin/patient.h"
#include "medtwin/pf.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"
#include "medtwin/twin.h"
#include "medtwin/server.h"
#include "medtwin/store.h"
#include "rm_tree.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

/* atomic: the server's threads allocate beside the test's own */
static _Atomic long calls;      /* allocations since arm() */
static _Atomic long fail_at;    /* the allocation that fails (0: none) */
static _Atomic long failed_one; /* it was reached */
static _Atomic long live;       /* blocks taken and not given back */

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

static void arm(long n)
{
  calls = 0;
  failed_one = 0;
  fail_at = n;
}
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

/* ---- images: libpng allocates through the library's malloc ---- */

static unsigned char img_png[4096];
static size_t img_png_len;
static const char img_pgm[] = "P2 3 2 255 0 1 2 3 4 5\n";
static double img_field[12 * 7];

/* A 12 x 7 RGB PNG in memory (before any allocation is failed). */
static void img_setup(void)
{
  unsigned char rgb[3 * 12 * 7];
  for (int k = 0; k < 3 * 12 * 7; k++)
    rgb[k] = (unsigned char)(k * 5);
  for (int k = 0; k < 12 * 7; k++)
    img_field[k] = k;
  FILE *f = tmpfile();
  char err[MT_ERRMSG_MAX];
  cr_assert_not_null(f);
  cr_assert_eq(mt_png_write_rgb_fp(f, "t.png", 12, 7, rgb, err, sizeof err),
               0, "%s", err);
  rewind(f);
  img_png_len = fread(img_png, 1, sizeof img_png, f);
  fclose(f);
  cr_assert(img_png_len > 8 && img_png_len < sizeof img_png);
}

static int make_img_pgm(void **o)
{
  char err[MT_ERRMSG_MAX];
  return mt_image_read_mem(img_pgm, sizeof img_pgm - 1, "t.pgm",
                           (mt_image **)o, err, sizeof err);
}
static int make_img_png(void **o)
{
  char err[MT_ERRMSG_MAX];
  return mt_image_read_mem(img_png, img_png_len, "t.png", (mt_image **)o,
                           err, sizeof err);
}
static void free_img(void *o) { mt_image_free(o); }

static int make_map(void **o)
{
  char err[MT_ERRMSG_MAX];
  int w, h;
  return mt_map_rgb(img_field, NULL, 12, 7, 0.5, NAN, NAN, "ms", "t",
                    (unsigned char **)o, &w, &h, err, sizeof err);
}

/* A PNG into a scratch stream (opened before arming; the object is a
** dummy, so the test allocates nothing of its own while armed). The
** path-writing mt_png_write_rgb adds mt_afile, whose strdup the wrap does
** not see. */
static FILE *img_out;
static int make_png_out(void **o)
{
  char err[MT_ERRMSG_MAX];
  static const unsigned char rgb[3 * 4] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  rewind(img_out);
  int rc = mt_png_write_rgb_fp(img_out, "t.png", 2, 2, rgb, err, sizeof err);
  *o = rc ? NULL : (void *)rgb;
  return rc;
}
static void no_free(void *o) { (void)o; }

Test(alloc_fail, image_read, .init = img_setup)
{
  each_failure(make_img_pgm, free_img, "mt_image_read_mem (PGM)");
  each_failure(make_img_png, free_img, "mt_image_read_mem (PNG)");
}
Test(alloc_fail, image_map_and_png_out, .init = img_setup)
{
  each_failure(make_map, free, "mt_map_rgb");
  cr_assert_not_null(img_out = tmpfile());
  each_failure(make_png_out, no_free, "mt_png_write_rgb_fp");
  fclose(img_out);
}

/* ---- the store and the server: SQLite's allocations failed too ---- */

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* n's step in the store and server loops: every allocation natively and
** under ASan, every 13th under valgrind (a whole run would take 10 min). */
static long step_n(void) { return RUNNING_ON_VALGRIND ? 13 : 1; }

/*
** SQLite allocates through its own allocator, not the wrapped malloc:
** these methods route it through the same counters and failures. A block
** carries its size in a header (xSize). Installed in each test that opens
** a store, before sqlite3_initialize (each test is its own process).
*/
#define SQ_HEAD 16 /* keeps SQLite's 8-byte alignment */

static void *sq_malloc(int n)
{
  if (fail_now())
    return NULL;
  unsigned char *p = __real_malloc(SQ_HEAD + (size_t)n);
  if (!p)
    return NULL;
  live++;
  memcpy(p, &n, sizeof n);
  return p + SQ_HEAD;
}
static void sq_free(void *p)
{
  if (!p)
    return;
  live--;
  __real_free((unsigned char *)p - SQ_HEAD);
}
static void *sq_realloc(void *p, int n)
{
  if (!p)
    return sq_malloc(n);
  if (fail_now())
    return NULL;
  unsigned char *q = __real_realloc((unsigned char *)p - SQ_HEAD,
                                    SQ_HEAD + (size_t)n);
  if (!q)
    return NULL;
  memcpy(q, &n, sizeof n);
  return q + SQ_HEAD;
}
static int sq_size(void *p)
{
  int n = 0;
  if (p)
    memcpy(&n, (unsigned char *)p - SQ_HEAD, sizeof n);
  return n;
}
static int sq_roundup(int n) { return (n + 7) & ~7; }
static int sq_init(void *a) { (void)a; return SQLITE_OK; }
static void sq_shutdown(void *a) { (void)a; }

static void sqlite_counted(void)
{
  static sqlite3_mem_methods m = {sq_malloc, sq_free,    sq_realloc,
                                  sq_size,   sq_roundup, sq_init,
                                  sq_shutdown, NULL};
  cr_assert_eq(sqlite3_shutdown(), SQLITE_OK);
  cr_assert_eq(sqlite3_config(SQLITE_CONFIG_MALLOC, &m), SQLITE_OK);
  cr_assert_eq(sqlite3_initialize(), SQLITE_OK);
  cr_assert_geq(sodium_init(), 0);
}

/* A scratch directory in /dev/shm (no disk syncs), else /tmp. */
static void scratch(char made[64], const char *tag)
{
  snprintf(made, 64, "%s/mt_af_%s_XXXXXX", access("/dev/shm", W_OK) ? "/tmp"
           : "/dev/shm", tag);
  cr_assert_not_null(mkdtemp(made));
}

/* What a whole store's file holds: its tables and indexes by name, page
** size and journal mode, read on a connection of the test's own. */
static void schema_of(const char *dir, char *out, size_t n)
{
  char path[128];
  sqlite3 *db;
  sqlite3_stmt *st;
  snprintf(path, sizeof path, "%s/medtwin.db", dir);
  cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
               SQLITE_OK, "open %s", path);
  cr_assert_eq(sqlite3_prepare_v2(db,
      "SELECT (SELECT group_concat(type || ' ' || name, ', ') FROM (SELECT"
      " type, name FROM sqlite_master ORDER BY name)) || '; page_size ' ||"
      " (SELECT page_size FROM pragma_page_size) || '; journal ' ||"
      " (SELECT journal_mode FROM pragma_journal_mode)", -1, &st, NULL),
      SQLITE_OK, "%s", sqlite3_errmsg(db));
  cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
  snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* The store in dir, opened with no failure, works: it holds Patient/keep if
** keep, takes a new resource that reads back, and its file has the schema
** of a store made without failure (ref). */
static void store_whole(const char *dir, int keep, const char *ref, long n)
{
  char err[MT_ERRMSG_MAX], got[4096];
  mt_store *s = NULL;
  mt_resource r = {0};
  int rc = mt_store_open(dir, &s, err, sizeof err);
  cr_assert_eq(rc, 0, "after failure %ld, a plain open: %d %s", n, rc, err);
  if (keep) {
    rc = mt_store_resource_read(s, "Patient", "keep", &r, err, sizeof err);
    cr_assert_eq(rc, 0, "after failure %ld: Patient/keep: %s", n, err);
    cr_assert_str_eq(r.json, "{\"resourceType\":\"Patient\",\"id\":\"keep\"}");
    mt_resource_clear(&r);
  }
  rc = mt_store_resource_create(s, "Patient", NULL, "{\"a\":1}", &r, err,
                                sizeof err);
  cr_assert_eq(rc, 0, "after failure %ld: create: %s", n, err);
  char id[MT_STORE_KEY_MAX + 1];
  snprintf(id, sizeof id, "%s", r.id);
  mt_resource_clear(&r);
  rc = mt_store_resource_read(s, "Patient", id, &r, err, sizeof err);
  cr_assert_eq(rc, 0, "after failure %ld: read back: %s", n, err);
  cr_assert_str_eq(r.json, "{\"a\":1}");
  mt_resource_clear(&r);
  mt_store_close(s);
  schema_of(dir, got, sizeof got);
  cr_assert_str_eq(got, ref, "after failure %ld: the file holds %s, not %s",
                   n, got, ref);
}

/*
** mt_store_open(dir) with allocation n failing, n = 1, 2, ...; fresh: dir
** is removed before each run (a new store), else it holds a store with
** Patient/keep. A run that failed must return MT_ENOMEM (see the codes
** below), hand back no handle and leave no block; a run that succeeded
** although an allocation failed met one of SQLite's benign allocations,
** whose failure it works around: its store must be whole. After every run
** the store, opened again without failure, must be whole.
*/
static void open_failures(const char *dir, int fresh, const char *ref)
{
  long n, benign = 0;
  for (n = 1; n < 100000; n += step_n()) {
    if (fresh)
      rm_tree(dir);
    char err[MT_ERRMSG_MAX] = "";
    mt_store *s = (mt_store *)&n; /* must come back NULL */
    long before = live;
    arm(n);
    int rc = mt_store_open(dir, &s, err, sizeof err);
    disarm();
    if (!failed_one || rc == 0) {
      cr_assert_eq(rc, 0, "mt_store_open: %d with no allocation failed: %s",
                   rc, err);
      mt_store_close(s);
      cr_assert_eq(live, before, "mt_store_open and close (failure %ld): "
                   "%ld blocks not freed", n, live - before);
      store_whole(dir, !fresh, ref, n);
      if (!failed_one)
        break;
      benign++;
      continue;
    }
    cr_assert_eq(rc, MT_ENOMEM, "mt_store_open: allocation %ld failed, got "
                 "%d: %s", n, rc, err);
    cr_assert_null(s, "mt_store_open: allocation %ld failed but a handle "
                   "came back", n);
    cr_assert(err[0], "mt_store_open: allocation %ld failed, no message", n);
    cr_assert_eq(live, before, "mt_store_open: allocation %ld failed and "
                 "%ld blocks were not freed", n, live - before);
    store_whole(dir, !fresh, ref, n);
  }
  cr_assert_gt(n, 1, "mt_store_open: no allocation was intercepted");
  cr_log_info("mt_store_open (%s): %ld allocations, %ld benign",
              fresh ? "new" : "existing", (long)calls, benign);
}

/* The reference: a store made without failure, its schema into ref. */
static void reference(char *ref, size_t n)
{
  char d[64], err[MT_ERRMSG_MAX];
  mt_store *s;
  scratch(d, "ref");
  cr_assert_eq(mt_store_open(d, &s, err, sizeof err), 0, "%s", err);
  mt_store_close(s);
  schema_of(d, ref, n);
  rm_tree(d);
}

Test(alloc_fail, store_open_new)
{
  char d[64], ref[4096];
  sqlite_counted();
  reference(ref, sizeof ref);
  scratch(d, "new");
  open_failures(d, 1, ref);
  rm_tree(d);
}

Test(alloc_fail, store_open_existing)
{
  char d[64], ref[4096], err[MT_ERRMSG_MAX];
  mt_store *s;
  sqlite_counted();
  reference(ref, sizeof ref);
  scratch(d, "old");
  cr_assert_eq(mt_store_open(d, &s, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mt_store_resource_create(s, "Patient", "keep",
               "{\"resourceType\":\"Patient\",\"id\":\"keep\"}", NULL, err,
               sizeof err), 0, "%s", err);
  mt_store_close(s);
  open_failures(d, 0, ref);
  rm_tree(d);
}

/* Threads of this process now (/proc/self/task). */
static int threads_now(void)
{
  DIR *d = opendir("/proc/self/task");
  cr_assert_not_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* A joined thread leaves /proc a moment after pthread_join returns. */
static int threads_settle(int want)
{
  int n = threads_now();
  for (int k = 0; k < 200 && n != want; k++) {
    nanosleep(&(struct timespec){0, 5000000}, NULL);
    n = threads_now();
  }
  return n;
}

/* GET /health on the server at port: its status line says 200. */
static void health(int port, long n)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(fd, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((unsigned short)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0,
               "after failure %ld: connect to port %d", n, port);
  static const char req[] = "GET /health HTTP/1.0\r\n\r\n";
  cr_assert_eq(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
  char buf[64] = "";
  size_t got = 0;
  ssize_t k;
  while (got < 12 && (k = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
    got += (size_t)k;
  close(fd);
  cr_assert(got >= 12 && !strncmp(buf + 8, " 200", 4),
            "after failure %ld: GET /health: %.40s", n, buf);
}

/* A normal start on dir, a request, a stop. */
static void serve_once(const char *dir, long n)
{
  mt_server_config cfg;
  mt_server *s;
  char err[MT_ERRMSG_MAX] = "";
  int port = 0;
  mt_server_config_init(&cfg);
  cfg.port = 0;
  cfg.data_dir = dir;
  int rc = mt_server_start(&cfg, &s, &port, err, sizeof err);
  cr_assert_eq(rc, 0, "after failure %ld, a plain start: %d %s", n, rc, err);
  cr_assert_gt(port, 0);
  health(port, n);
  mt_server_stop(s);
}

/*
** mt_server_start (127.0.0.1, port 0, no TLS, MQTT or demo) on a data
** directory that holds a store, with allocation n failing, n = 1, 2, ...
** A failed start must return MT_ENOMEM, hand back no server, leave no
** block and no thread; then a plain start serves GET /health and stops.
** A start that succeeded although an allocation failed (one of SQLite's
** benign ones) must stop cleanly.
**
** Limit: libmicrohttpd and glibc (pthread_create) are shared libraries, so
** their allocations are not failed. Every failure reached is the library's
** own or SQLite's, and all of them come before the writer thread starts,
** so a failed start never had a thread to stop: every n is deterministic.
** Between the writer and libmicrohttpd nothing allocates (no --audit-key,
** MQTT or demo here, whose starts are not covered).
*/
Test(alloc_fail, server_start)
{
  char d[64];
  long n, benign = 0;
  sqlite_counted();
  scratch(d, "srv");
  serve_once(d, 0); /* the store, and any first-use state, made */
  for (n = 1; n < 100000; n += step_n()) {
    mt_server_config cfg;
    mt_server *s = (mt_server *)&n; /* must come back NULL */
    char err[MT_ERRMSG_MAX] = "";
    int port = 0;
    mt_server_config_init(&cfg);
    cfg.port = 0;
    cfg.data_dir = d;
    int threads = threads_now();
    long before = live;
    arm(n);
    int rc = mt_server_start(&cfg, &s, &port, err, sizeof err);
    disarm();
    if (!failed_one || rc == 0) {
      cr_assert_eq(rc, 0, "mt_server_start: %d with no allocation failed: %s",
                   rc, err);
      health(port, n);
      mt_server_stop(s);
      cr_assert_eq(threads_settle(threads), threads, "mt_server_start "
                   "(failure %ld) and stop: threads left", n);
      if (!failed_one)
        break;
      benign++;
      continue;
    }
    cr_assert_eq(rc, MT_ENOMEM, "mt_server_start: allocation %ld failed, "
                 "got %d: %s", n, rc, err);
    cr_assert_null(s, "mt_server_start: allocation %ld failed but a server "
                   "came back", n);
    cr_assert(err[0], "mt_server_start: allocation %ld failed, no message",
              n);
    cr_assert_eq(live, before, "mt_server_start: allocation %ld failed and "
                 "%ld blocks were not freed", n, live - before);
    cr_assert_eq(threads_settle(threads), threads, "mt_server_start: "
                 "allocation %ld failed and left %d threads", n,
                 threads_now() - threads);
    serve_once(d, n);
  }
  cr_assert_gt(n, 1, "mt_server_start: no allocation was intercepted");
  cr_log_info("mt_server_start: %ld allocations, %ld benign", (long)calls,
              benign);
  rm_tree(d);
}
