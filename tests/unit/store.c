/*
** Unit tests of the store interface (include/medtwin/store.h) over the
** embedded SQLite back end (src/store/). Every test works in its own
** directory under /tmp, removed afterwards. Database-level facts (journal
** mode, integrity, row counts) are read back with SQLite directly.
*/
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "rm_tree.h"
#include "medtwin/error.h"
#include "medtwin/store.h"
#include "store/ops.h"

static char dir[64];
static mt_store *st;
static char err[MT_ERRMSG_MAX];


static void setup(void)
{
  snprintf(dir, sizeof dir, "/tmp/mt_store_XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  cr_assert_eq(mt_store_open(dir, &st, err, sizeof err), 0, "%s", err);
}

static void teardown(void)
{
  mt_store_close(st);
  st = NULL;
  rm_tree(dir);
}

TestSuite(store, .init = setup, .fini = teardown);

/* One text value from SQL run on a separate connection to file. */
static void sql_text(const char *file, const char *sql, char *out, size_t n)
{
  sqlite3 *db;
  sqlite3_stmt *s;
  cr_assert_eq(sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE, NULL),
               SQLITE_OK, "open %s", file);
  cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK, "%s: %s",
               sql, sqlite3_errmsg(db));
  cr_assert_eq(sqlite3_step(s), SQLITE_ROW, "%s", sql);
  snprintf(out, n, "%s", (const char *)sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  sqlite3_close(db);
}

static void db_path(char *out, size_t n, const char *d)
{
  snprintf(out, n, "%s/medtwin.db", d);
}

static mt_obs obs(const char *patient, const char *device, const char *code,
                  int64_t t_ms, double value)
{
  mt_obs o;
  memset(&o, 0, sizeof o);
  snprintf(o.patient, sizeof o.patient, "%s", patient);
  snprintf(o.device, sizeof o.device, "%s", device);
  snprintf(o.code, sizeof o.code, "%s", code);
  snprintf(o.unit, sizeof o.unit, "mg/dL");
  o.t_ms = t_ms;
  o.value = value;
  return o;
}

Test(store, resource_lifecycle)
{
  mt_resource r;
  const char *v1 = "{\"resourceType\":\"Patient\",\"id\":\"p1\"}";
  const char *v2 = "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"active\":1}";
  cr_assert_eq(mt_store_resource_create(st, "Patient", "p1", v1, &r, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_eq(r.version_id, 1);
  cr_assert_gt(r.last_updated_ms, 1600000000000LL);
  mt_resource_clear(&r);
  cr_assert_eq(mt_store_resource_create(st, "Patient", "p1", v1, &r, err,
                                        sizeof err), MT_ECONFLICT);
  cr_assert_not_null(strstr(err, "store create"), "%s", err);
  cr_assert_not_null(strstr(err, "already exists"), "%s", err);

  cr_assert_eq(mt_store_resource_read(st, "Patient", "p1", &r, err,
                                      sizeof err), 0, "%s", err);
  cr_assert_str_eq(r.json, v1);
  cr_assert_str_eq(r.type, "Patient");
  cr_assert_str_eq(r.id, "p1");
  cr_assert_eq(r.deleted, 0);
  mt_resource_clear(&r);

  /* Update at version 1, then a stale update must conflict. */
  cr_assert_eq(mt_store_resource_update(st, "Patient", "p1", v2, 1, &r, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_eq(r.version_id, 2);
  mt_resource_clear(&r);
  cr_assert_eq(mt_store_resource_update(st, "Patient", "p1", v1, 1, &r, err,
                                        sizeof err), MT_ECONFLICT);
  cr_assert_not_null(strstr(err, "version 2, not 1"), "%s", err);
  cr_assert_null(r.json);
  cr_assert_eq(mt_store_resource_read(st, "Patient", "p1", &r, err,
                                      sizeof err), 0);
  cr_assert_eq(r.version_id, 2);
  cr_assert_str_eq(r.json, v2);
  mt_resource_clear(&r);

  cr_assert_eq(mt_store_resource_vread(st, "Patient", "p1", 1, &r, err,
                                       sizeof err), 0, "%s", err);
  cr_assert_str_eq(r.json, v1);
  mt_resource_clear(&r);
  cr_assert_eq(mt_store_resource_vread(st, "Patient", "p1", 7, &r, err,
                                       sizeof err), MT_ENOTFOUND);

  /* Delete: a marker version; read reports it, vread returns it. */
  cr_assert_eq(mt_store_resource_delete(st, "Patient", "p1", 2, &r, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_eq(r.version_id, 3);
  cr_assert_eq(r.deleted, 1);
  mt_resource_clear(&r);
  cr_assert_eq(mt_store_resource_delete(st, "Patient", "p1", 0, &r, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_eq(r.version_id, 3, "deleting twice adds no version");
  mt_resource_clear(&r);
  cr_assert_eq(mt_store_resource_read(st, "Patient", "p1", &r, err,
                                      sizeof err), MT_ENOTFOUND);
  cr_assert_eq(r.deleted, 1);
  cr_assert_eq(r.version_id, 3);
  cr_assert_null(r.json);
  mt_resource_clear(&r);

  mt_resource *h;
  size_t n;
  cr_assert_eq(mt_store_resource_history(st, "Patient", "p1", &h, &n, err,
                                         sizeof err), 0, "%s", err);
  cr_assert_eq(n, 3);
  cr_assert_eq(h[0].version_id, 3);
  cr_assert_eq(h[0].deleted, 1);
  cr_assert_str_eq(h[1].json, v2);
  cr_assert_str_eq(h[2].json, v1);
  mt_resource_list_free(h, n);
  cr_assert_eq(mt_store_resource_history(st, "Patient", "nobody", &h, &n,
                                         err, sizeof err), MT_ENOTFOUND);
  cr_assert_null(h);
  cr_assert_eq(n, 0);
}

Test(store, resource_assigned_id_and_verbatim_json)
{
  mt_resource r, back;
  cr_assert_eq(mt_store_resource_create(st, "Observation", NULL, "{not json",
                                        &r, err, sizeof err), 0, "%s", err);
  /* UUID v4: 8-4-4-4-12 hex, version nibble 4, variant 8/9/a/b. */
  cr_assert_eq(strlen(r.id), 36, "%s", r.id);
  cr_assert_eq(r.id[8], '-');
  cr_assert_eq(r.id[14], '4', "%s", r.id);
  cr_assert_not_null(strchr("89ab", r.id[19]), "%s", r.id);
  cr_assert_eq(mt_store_resource_read(st, "Observation", r.id, &back, err,
                                      sizeof err), 0, "%s", err);
  cr_assert_str_eq(back.json, "{not json");
  mt_resource_clear(&back);
  mt_resource r2;
  cr_assert_eq(mt_store_resource_create(st, "Observation", "", "{}", &r2, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_str_neq(r.id, r2.id);
  mt_resource_clear(&r);
  mt_resource_clear(&r2);
}

Test(store, bad_input_is_an_error_not_a_crash)
{
  mt_resource r;
  mt_store *s2 = (mt_store *)0x1;
  cr_assert_eq(mt_store_open(NULL, &s2, err, sizeof err), MT_EINVAL);
  cr_assert_null(s2);
  cr_assert_eq(mt_store_open("", &s2, err, sizeof err), MT_EINVAL);
  cr_assert_not_null(strstr(err, "store open"), "%s", err);
  cr_assert_eq(mt_store_open("postgres://x/y", &s2, err, sizeof err),
               MT_EINVAL);
  cr_assert_eq(mt_store_open("/proc/no/such/dir", &s2, err, sizeof err),
               MT_EIO);
  cr_assert_null(s2);
  cr_assert_eq(mt_store_resource_create(NULL, "Patient", "a", "{}", &r, err,
                                        sizeof err), MT_EINVAL);
  cr_assert_eq(mt_store_resource_create(st, NULL, "a", "{}", &r, err,
                                        sizeof err), MT_EINVAL);
  cr_assert_eq(mt_store_resource_create(st, "Patient", "a b", "{}", &r, err,
                                        sizeof err), MT_EINVAL);
  cr_assert_not_null(strstr(err, "id must match"), "%s", err);
  cr_assert_eq(mt_store_resource_create(st, "Patient", "a", NULL, &r, err,
                                        sizeof err), MT_EINVAL);
  cr_assert_eq(mt_store_resource_read(st, "Patient", "", &r, err,
                                      sizeof err), MT_EINVAL);
  cr_assert_eq(mt_store_resource_read(st, "Patient", "a", NULL, NULL, 0),
               MT_EINVAL);
  cr_assert_eq(mt_store_resource_read(st, "Patient", "absent", &r, err,
                                      sizeof err), MT_ENOTFOUND);
  cr_assert_not_null(strstr(err, "store read: no Patient/absent"), "%s", err);
  cr_assert_eq(mt_store_resource_update(st, "Patient", "absent", "{}", 0, &r,
                                        err, sizeof err), MT_ENOTFOUND);
  cr_assert_eq(mt_store_resource_vread(st, "Patient", "a", 0, &r, err,
                                       sizeof err), MT_EINVAL);
  cr_assert_eq(mt_store_obs_append(st, NULL, NULL, err, sizeof err),
               MT_EINVAL);
  mt_obs o = obs("p", "d", "c", 0, 0.0 / 0.0);
  cr_assert_eq(mt_store_obs_append(st, &o, NULL, err, sizeof err), MT_EINVAL);
  o = obs("p", "", "c", 0, 1);
  cr_assert_eq(mt_store_obs_append(st, &o, NULL, err, sizeof err), MT_EINVAL);
  cr_assert_eq(mt_store_snapshot_put(st, "p", NULL, 0, "x", 1, err,
                                     sizeof err), MT_EINVAL);
  cr_assert_eq(mt_store_event_add(st, (mt_store_log)9, "p", 0, "k", "{}",
                                  err, sizeof err), MT_EINVAL);
  cr_assert_eq(mt_store_commit(st, err, sizeof err), MT_EINVAL);
  cr_assert_eq(mt_store_backup(st, "", err, sizeof err), MT_EINVAL);
  mt_store_close(NULL);
  /* Nothing of the above was stored. */
  char path[128], v[64];
  db_path(path, sizeof path, dir);
  sql_text(path, "SELECT (SELECT count(*) FROM resource) +"
                 " (SELECT count(*) FROM observation)", v, sizeof v);
  cr_assert_str_eq(v, "0");
}

Test(store, observations_idempotent_and_ordered)
{
  int64_t seq[5];
  mt_obs in[5] = {
    obs("p1", "cgm-a", "2339-0", 3000, 130),
    obs("p1", "cgm-a", "2339-0", 1000, 110),
    obs("p1", "cgm-b", "2339-0", 1000, 112), /* same time, later arrival */
    obs("p1", "cgm-a", "other", 2000, 1),
    obs("p2", "cgm-a", "2339-0", 2000, 99),
  };
  for (int i = 0; i < 5; i++)
    cr_assert_eq(mt_store_obs_append(st, &in[i], &seq[i], err, sizeof err), 0,
                 "%d: %s", i, err);
  cr_assert_lt(seq[0], seq[1]);
  cr_assert_lt(seq[1], seq[2]);
  int64_t dup;
  mt_obs again = in[1];
  again.value = 999; /* same key, different value: still a duplicate */
  cr_assert_eq(mt_store_obs_append(st, &again, &dup, err, sizeof err),
               MT_STORE_DUPLICATE);
  cr_assert_eq(dup, seq[1]);

  mt_obs *out;
  size_t n;
  cr_assert_eq(mt_store_obs_query(st, "p1", "2339-0", 0, 10000, &out, &n, err,
                                  sizeof err), 0, "%s", err);
  cr_assert_eq(n, 3);
  cr_assert_eq(out[0].t_ms, 1000);
  cr_assert_str_eq(out[0].device, "cgm-a");
  cr_assert_eq(out[0].value, 110, "the duplicate must not overwrite");
  cr_assert_eq(out[1].t_ms, 1000);
  cr_assert_str_eq(out[1].device, "cgm-b");
  cr_assert_eq(out[1].seq, seq[2]);
  cr_assert_eq(out[2].t_ms, 3000);
  cr_assert_str_eq(out[2].unit, "mg/dL");
  free(out);
  /* Half-open range [1000, 3000). */
  cr_assert_eq(mt_store_obs_query(st, "p1", "2339-0", 1000, 3000, &out, &n,
                                  err, sizeof err), 0, "%s", err);
  cr_assert_eq(n, 2);
  free(out);
  cr_assert_eq(mt_store_obs_query(st, "p3", "2339-0", 0, 10000, &out, &n, err,
                                  sizeof err), 0);
  cr_assert_eq(n, 0);
  cr_assert_null(out);
  cr_assert_eq(mt_store_obs_query(st, "p1", "2339-0", 5, 1, &out, &n, err,
                                  sizeof err), MT_EINVAL);
}

Test(store, snapshots_latest_wins)
{
  void *b;
  size_t len;
  int64_t t;
  cr_assert_eq(mt_store_snapshot_latest(st, "p1", "uva", &t, &b, &len, err,
                                        sizeof err), MT_ENOTFOUND);
  cr_assert_eq(mt_store_snapshot_put(st, "p1", "uva", 100, "a", 1, err,
                                     sizeof err), 0, "%s", err);
  cr_assert_eq(mt_store_snapshot_put(st, "p1", "uva", 300, "bb", 2, err,
                                     sizeof err), 0, "%s", err);
  cr_assert_eq(mt_store_snapshot_put(st, "p1", "uva", 200, "c", 1, err,
                                     sizeof err), 0, "%s", err);
  cr_assert_eq(mt_store_snapshot_put(st, "p1", "other", 900, "z", 1, err,
                                     sizeof err), 0, "%s", err);
  cr_assert_eq(mt_store_snapshot_latest(st, "p1", "uva", &t, &b, &len, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_eq(t, 300);
  cr_assert_eq(len, 2);
  cr_assert_eq(memcmp(b, "bb", 2), 0);
  free(b);
  /* A tie on taken_at: the later put wins. */
  cr_assert_eq(mt_store_snapshot_put(st, "p1", "uva", 300, "ddd", 3, err,
                                     sizeof err), 0, "%s", err);
  cr_assert_eq(mt_store_snapshot_latest(st, "p1", "uva", &t, &b, &len, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_eq(len, 3);
  cr_assert_eq(memcmp(b, "ddd", 3), 0);
  free(b);
  cr_assert_eq(mt_store_snapshot_put(st, "p2", "uva", 5, NULL, 0, err,
                                     sizeof err), 0, "%s", err);
  cr_assert_eq(mt_store_snapshot_latest(st, "p2", "uva", &t, &b, &len, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_eq(len, 0);
  cr_assert_not_null(b);
  free(b);
}

Test(store, alerts_and_quarantine)
{
  cr_assert_eq(mt_store_event_add(st, MT_STORE_ALERT, "p1", 200, "hypo",
                                  "{\"g\":54}", err, sizeof err), 0, "%s",
               err);
  cr_assert_eq(mt_store_event_add(st, MT_STORE_ALERT, "p1", 100, "hyper",
                                  "{\"g\":300}", err, sizeof err), 0, "%s",
               err);
  cr_assert_eq(mt_store_event_add(st, MT_STORE_QUARANTINE, "p1", 150, "range",
                                  "{\"reason\":\"cgm outside 20-600\"}", err,
                                  sizeof err), 0, "%s", err);
  mt_store_event *ev;
  size_t n;
  cr_assert_eq(mt_store_event_list(st, MT_STORE_ALERT, "p1", 0, 1000, &ev, &n,
                                   err, sizeof err), 0, "%s", err);
  cr_assert_eq(n, 2);
  cr_assert_str_eq(ev[0].kind, "hyper");
  cr_assert_eq(ev[0].t_ms, 100);
  cr_assert_str_eq(ev[1].payload, "{\"g\":54}");
  mt_store_event_list_free(ev, n);
  cr_assert_eq(mt_store_event_list(st, MT_STORE_QUARANTINE, "p1", 0, 1000,
                                   &ev, &n, err, sizeof err), 0, "%s", err);
  cr_assert_eq(n, 1);
  cr_assert_str_eq(ev[0].kind, "range");
  mt_store_event_list_free(ev, n);
}

/* Writes of every kind, for the batch and durability tests. */
static void write_some(const char *tag)
{
  char id[32];
  snprintf(id, sizeof id, "r-%s", tag);
  cr_assert_eq(mt_store_resource_create(st, "Patient", id, "{}", NULL, err,
                                        sizeof err), 0, "%s", err);
  mt_obs o = obs("p1", tag, "2339-0", 1000, 100);
  cr_assert_eq(mt_store_obs_append(st, &o, NULL, err, sizeof err), 0, "%s",
               err);
  cr_assert_eq(mt_store_snapshot_put(st, "p1", tag, 1, "s", 1, err,
                                     sizeof err), 0, "%s", err);
  cr_assert_eq(mt_store_event_add(st, MT_STORE_ALERT, "p1", 1, tag, "{}", err,
                                  sizeof err), 0, "%s", err);
}

static long count_rows(const char *file)
{
  char v[64];
  sql_text(file, "SELECT (SELECT count(*) FROM resource) +"
                 " (SELECT count(*) FROM observation) +"
                 " (SELECT count(*) FROM snapshot) +"
                 " (SELECT count(*) FROM alert) +"
                 " (SELECT count(*) FROM quarantine)", v, sizeof v);
  return strtol(v, NULL, 10);
}

Test(store, batch_rollback_leaves_nothing)
{
  char path[128];
  db_path(path, sizeof path, dir);
  cr_assert_eq(mt_store_begin(st, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mt_store_begin(st, err, sizeof err), MT_EINVAL);
  write_some("a");
  cr_assert_eq(mt_store_rollback(st, err, sizeof err), 0, "%s", err);
  cr_assert_eq(count_rows(path), 0);
  mt_resource r;
  cr_assert_eq(mt_store_resource_read(st, "Patient", "r-a", &r, err,
                                      sizeof err), MT_ENOTFOUND);

  /* A failed write inside a batch is undone alone; commit keeps the rest. */
  cr_assert_eq(mt_store_begin(st, err, sizeof err), 0, "%s", err);
  write_some("b");
  cr_assert_eq(mt_store_resource_create(st, "Patient", "r-b", "{}", NULL, err,
                                        sizeof err), MT_ECONFLICT);
  cr_assert_eq(count_rows(path), 0, "uncommitted rows are invisible");
  cr_assert_eq(mt_store_commit(st, err, sizeof err), 0, "%s", err);
  cr_assert_eq(count_rows(path), 4);
  cr_assert_eq(mt_store_rollback(st, err, sizeof err), MT_EINVAL);
}

Test(store, reopen_keeps_everything)
{
  write_some("a");
  write_some("b");
  mt_store_close(st);
  st = NULL;
  cr_assert_eq(mt_store_open(dir, &st, err, sizeof err), 0, "%s", err);
  mt_resource r;
  cr_assert_eq(mt_store_resource_read(st, "Patient", "r-b", &r, err,
                                      sizeof err), 0, "%s", err);
  cr_assert_str_eq(r.json, "{}");
  mt_resource_clear(&r);
  mt_obs *o;
  size_t n;
  cr_assert_eq(mt_store_obs_query(st, "p1", "2339-0", 0, 2000, &o, &n, err,
                                  sizeof err), 0, "%s", err);
  cr_assert_eq(n, 2);
  free(o);
  char path[128];
  db_path(path, sizeof path, dir);
  cr_assert_eq(count_rows(path), 8);
}

Test(store, backup_holds_the_same_rows)
{
  write_some("a");
  write_some("b");
  char bdir[128], bpath[160], path[128];
  snprintf(bdir, sizeof bdir, "%s/copy", dir);
  cr_assert_eq(mkdir(bdir, 0700), 0);
  db_path(bpath, sizeof bpath, bdir);
  db_path(path, sizeof path, dir);
  cr_assert_eq(mt_store_backup(st, bpath, err, sizeof err), 0, "%s", err);
  cr_assert_eq(access(bpath, F_OK), 0);
  cr_assert_eq(count_rows(bpath), count_rows(path));
  cr_assert_eq(count_rows(bpath), 8);
  char v[64];
  sql_text(bpath, "PRAGMA integrity_check", v, sizeof v);
  cr_assert_str_eq(v, "ok");
  /* The copy opens as a store and serves the same resource. */
  mt_store *copy;
  cr_assert_eq(mt_store_open(bdir, &copy, err, sizeof err), 0, "%s", err);
  mt_resource r;
  cr_assert_eq(mt_store_resource_read(copy, "Patient", "r-a", &r, err,
                                      sizeof err), 0, "%s", err);
  mt_resource_clear(&r);
  mt_store_close(copy);
  cr_assert_eq(mt_store_backup(st, "/proc/no/such/dir/x.db", err, sizeof err),
               MT_EIO);
  cr_assert_not_null(strstr(err, "store backup"), "%s", err);
}

Test(store, wal_and_integrity)
{
  write_some("a");
  char path[128], v[64];
  db_path(path, sizeof path, dir);
  sql_text(path, "PRAGMA journal_mode", v, sizeof v);
  cr_assert_str_eq(v, "wal");
  sql_text(path, "SELECT value FROM meta WHERE key = 'schema_version'", v,
           sizeof v);
  cr_assert_eq(strtol(v, NULL, 10), mt_store_schema_version());
  mt_store_close(st);
  st = NULL;
  sql_text(path, "PRAGMA integrity_check", v, sizeof v);
  cr_assert_str_eq(v, "ok");
  cr_assert_str_eq(mt_store_kind(NULL), "none");
}

Test(store, newer_schema_is_refused)
{
  mt_store_close(st);
  st = NULL;
  char path[128], v[64];
  db_path(path, sizeof path, dir);
  sqlite3 *db;
  cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
  cr_assert_eq(sqlite3_exec(db, "UPDATE meta SET value = '99' WHERE key ="
                                " 'schema_version'", NULL, NULL, NULL),
               SQLITE_OK);
  sqlite3_close(db);
  mt_store *s2 = (mt_store *)0x1;
  cr_assert_eq(mt_store_open(dir, &s2, err, sizeof err), MT_EINVAL);
  cr_assert_null(s2);
  cr_assert_not_null(strstr(err, "schema version 99, newer"), "%s", err);
  sql_text(path, "SELECT value FROM meta WHERE key = 'schema_version'", v,
           sizeof v);
  cr_assert_str_eq(v, "99", "a refused store is left untouched");
}

/* Listing a type: the current version of each resource not deleted, by id;
** other types, deleted resources and old versions left out. */
Test(store, list_gives_current_versions_of_a_type)
{
  mt_resource r;
  const char *ids[3] = {"c", "a", "b"};
  for (int k = 0; k < 3; k++) {
    cr_assert_eq(mt_store_resource_create(st, "Patient", ids[k],
                                          "{\"v\":1}", NULL, err, sizeof err),
                 0, "%s", err);
  }
  cr_assert_eq(mt_store_resource_create(st, "Device", "d", "{}", NULL, err,
                                        sizeof err), 0);
  cr_assert_eq(mt_store_resource_update(st, "Patient", "a", "{\"v\":2}", 1,
                                        &r, err, sizeof err), 0, "%s", err);
  mt_resource_clear(&r);
  cr_assert_eq(mt_store_resource_delete(st, "Patient", "b", 0, &r, err,
                                        sizeof err), 0, "%s", err);
  mt_resource_clear(&r);
  mt_resource *list;
  size_t n;
  cr_assert_eq(mt_store_resource_list(st, "Patient", &list, &n, err,
                                      sizeof err), 0, "%s", err);
  cr_assert_eq(n, 2);
  cr_assert_str_eq(list[0].id, "a");
  cr_assert_eq(list[0].version_id, 2);
  cr_assert_str_eq(list[0].json, "{\"v\":2}");
  cr_assert_str_eq(list[1].id, "c");
  mt_resource_list_free(list, n);
  cr_assert_eq(mt_store_resource_list(st, "Encounter", &list, &n, err,
                                      sizeof err), 0);
  cr_assert_eq(n, 0);
}

/* ---- search indexes ---- */

#define NO_DATE INT64_MIN

/* Create type/id with a small JSON body and index it: patient (NULL: none),
** date (NO_DATE: none) and up to four "system|code" tokens. */
static void put_indexed(const char *type, const char *id, const char *patient,
                        int64_t date, const char *t1, const char *t2)
{
  const char *codes[2];
  int n = 0;
  if (t1)
    codes[n++] = t1;
  if (t2)
    codes[n++] = t2;
  mt_res_index ix = {patient, codes, n, date != NO_DATE,
                     date == NO_DATE ? 0 : date};
  cr_assert_eq(mt_store_resource_create(st, type, id, "{}", NULL, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_eq(mt_store_resource_set_index(st, type, id, &ix, err,
                                           sizeof err), 0, "%s", err);
}

/* Run q; the ids of the page joined by ',' into ids; returns the total. */
static long search_ids(const mt_res_query *q, char *ids, size_t cap)
{
  mt_resource *list = (mt_resource *)0x1;
  size_t n = 99;
  long total = -1;
  cr_assert_eq(mt_store_resource_search(st, q, &list, &n, &total, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_leq(n, (size_t)q->count);
  if (n == 0)
    cr_assert_null(list);
  ids[0] = 0;
  for (size_t i = 0; i < n; i++) {
    size_t k = strlen(ids);
    snprintf(ids + k, cap - k, "%s%s", i ? "," : "", list[i].id);
    cr_assert_str_eq(list[i].type, q->type);
    cr_assert_eq(list[i].deleted, 0);
    cr_assert_not_null(list[i].json);
  }
  mt_resource_list_free(list, n);
  return total;
}

static mt_res_query query(const char *type)
{
  mt_res_query q;
  memset(&q, 0, sizeof q);
  q.type = type;
  q.count = 100;
  return q;
}

#define LOINC "http://loinc.org"

/* o1..o7 over two patients; o5 was never indexed; o7 holds 2339-0 in two
** systems; one Patient not indexed. */
static void search_fixture(void)
{
  put_indexed("Observation", "o1", "p1", 1000, LOINC "|2339-0", NULL);
  put_indexed("Observation", "o2", "p1", 2000, LOINC "|8867-4", NULL);
  put_indexed("Observation", "o3", "p2", 3000, LOINC "|2339-0", "|local-glu");
  put_indexed("Observation", "o4", "p2", 2000, "other|2339-0", NULL);
  cr_assert_eq(mt_store_resource_create(st, "Observation", "o5", "{}", NULL,
                                        err, sizeof err), 0, "%s", err);
  put_indexed("Observation", "o6", "p1", NO_DATE, LOINC "|2339-0", NULL);
  put_indexed("Observation", "o7", "p1", 1500, LOINC "|2339-0",
              "urn:x|2339-0");
  cr_assert_eq(mt_store_resource_create(st, "Patient", "p1", "{}", NULL, err,
                                        sizeof err), 0, "%s", err);
}

Test(store, search_each_field_alone)
{
  search_fixture();
  char ids[256];
  mt_res_query q = query("Observation");
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 7);
  cr_assert_str_eq(ids, "o1,o2,o3,o4,o5,o6,o7", "type alone finds the"
                   " unindexed o5 too");
  q = query("Patient");
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 1);
  cr_assert_str_eq(ids, "p1");
  q = query("Encounter");
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 0);

  q = query("Observation");
  q.id = "o5";
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 1);
  cr_assert_str_eq(ids, "o5");
  q.id = "p1";
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 0, "ids are per type");

  q = query("Observation");
  q.patient = "p1";
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 4);
  cr_assert_str_eq(ids, "o1,o2,o6,o7");
  q.patient = "p2";
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 2);
  cr_assert_str_eq(ids, "o3,o4");

  q = query("Observation");
  q.code = "2339-0";
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 5, "o7 counted once");
  cr_assert_str_eq(ids, "o1,o3,o4,o6,o7");
  q.code_system = LOINC;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 4);
  cr_assert_str_eq(ids, "o1,o3,o6,o7");
  q.code_system = "other";
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 1);
  cr_assert_str_eq(ids, "o4");
  q.code = "local-glu";
  q.code_system = "";
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 1, "the empty system");
  cr_assert_str_eq(ids, "o3");
  q.code_system = LOINC;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 0);
  q.code_system = NULL;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 1);
  q.code = NULL;
  q.code_system = "other"; /* ignored without a code */
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 7);
}

Test(store, search_date_bounds_lo_inclusive_hi_exclusive)
{
  search_fixture();
  char ids[256];
  mt_res_query q = query("Observation");
  q.has_date_lo = 1;
  q.date_lo = 1500;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 4);
  cr_assert_str_eq(ids, "o2,o3,o4,o7", "1500 itself is in");
  q = query("Observation");
  q.has_date_hi = 1;
  q.date_hi = 2000;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 2);
  cr_assert_str_eq(ids, "o1,o7", "2000 is out; undated o5, o6 never match");
  q.has_date_lo = 1;
  q.date_lo = 2000;
  q.date_hi = 3000;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 2);
  cr_assert_str_eq(ids, "o2,o4");
  q.date_lo = q.date_hi = 2000;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 0, "an empty range");
  q.date_lo = 3001;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 0, "a reversed range");
}

Test(store, search_fields_combined)
{
  search_fixture();
  char ids[256];
  mt_res_query q = query("Observation");
  q.patient = "p1";
  q.code_system = LOINC;
  q.code = "2339-0";
  q.has_date_lo = q.has_date_hi = 1;
  q.date_lo = 1000;
  q.date_hi = 2000;
  q.sort = -1;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 2);
  cr_assert_str_eq(ids, "o7,o1");
  q.code_system = NULL;
  q.sort = 1;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 2);
  cr_assert_str_eq(ids, "o1,o7");
  q.has_date_lo = q.has_date_hi = 0;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 3);
  cr_assert_str_eq(ids, "o1,o7,o6", "undated last");

  q = query("Observation");
  q.patient = "p2";
  q.code = "2339-0";
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 2);
  cr_assert_str_eq(ids, "o3,o4");
  q.id = "o4";
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 1);
  cr_assert_str_eq(ids, "o4");
  q.id = "o1";
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 0, "o1 is p1's");
  q.patient = "p1";
  q.has_date_lo = 1;
  q.date_lo = 1000;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 1);
  cr_assert_str_eq(ids, "o1");

  q = query("Observation");
  q.patient = "p1";
  q.has_date_lo = 1;
  q.date_lo = 1500;
  q.sort = -1;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 2);
  cr_assert_str_eq(ids, "o2,o7");
}

/* a 2000, b 1000, c undated, d 2000, e never indexed; all code "|k" but e. */
static void sort_fixture(void)
{
  put_indexed("Observation", "d", "p", 2000, "|k", NULL);
  put_indexed("Observation", "c", "p", NO_DATE, "|k", NULL);
  put_indexed("Observation", "b", "p", 1000, "|k", NULL);
  put_indexed("Observation", "a", "p", 2000, "|k", NULL);
  cr_assert_eq(mt_store_resource_create(st, "Observation", "e", "{}", NULL,
                                        err, sizeof err), 0, "%s", err);
}

Test(store, search_sort_orders_put_undated_last)
{
  sort_fixture();
  char ids[256];
  mt_res_query q = query("Observation");
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 5);
  cr_assert_str_eq(ids, "a,b,c,d,e");
  q.sort = 1;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 5);
  cr_assert_str_eq(ids, "b,a,d,c,e");
  q.sort = -1;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 5);
  cr_assert_str_eq(ids, "a,d,b,c,e", "ties by id ascending");
  /* The same through the code table and the patient index. */
  q.code = "k";
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 4);
  cr_assert_str_eq(ids, "a,d,b,c");
  q.sort = 1;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 4);
  cr_assert_str_eq(ids, "b,a,d,c");
  q.code = NULL;
  q.patient = "p";
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 4);
  cr_assert_str_eq(ids, "b,a,d,c");
  q.sort = -1;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 4);
  cr_assert_str_eq(ids, "a,d,b,c");
}

Test(store, search_pages_and_totals)
{
  sort_fixture();
  char ids[256];
  mt_res_query q = query("Observation");
  q.sort = -1;
  q.count = 2;
  const char *pages[] = {"a,d", "b,c", "e", ""};
  for (int k = 0; k < 4; k++) {
    q.offset = 2 * k;
    cr_assert_eq(search_ids(&q, ids, sizeof ids), 5, "offset %ld",
                 q.offset);
    cr_assert_str_eq(ids, pages[k], "offset %ld", q.offset);
  }
  q.offset = 3; /* a page across the dated and undated segments */
  q.count = 10;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 5);
  cr_assert_str_eq(ids, "c,e");
  q.offset = 1000;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 5);
  cr_assert_str_eq(ids, "");
  q.sort = 0;
  q.offset = 1;
  q.count = 3;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 5);
  cr_assert_str_eq(ids, "b,c,d");
  /* count 0: the total alone, with or without list outputs. */
  q.count = 0;
  long total = -1;
  cr_assert_eq(mt_store_resource_search(st, &q, NULL, NULL, &total, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_eq(total, 5);
  q.code = "k";
  q.has_date_lo = 1;
  q.date_lo = 2000;
  cr_assert_eq(mt_store_resource_search(st, &q, NULL, NULL, &total, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_eq(total, 2);
}

Test(store, search_leaves_out_deleted_and_follows_updates)
{
  char ids[256];
  put_indexed("Observation", "x", "p1", 1000, "|a", NULL);
  put_indexed("Observation", "y", "p1", 2000, "|a", NULL);
  cr_assert_eq(mt_store_resource_delete(st, "Observation", "y", 0, NULL, err,
                                        sizeof err), 0, "%s", err);
  mt_res_query q = query("Observation");
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 1);
  cr_assert_str_eq(ids, "x");
  q.code = "a";
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 1);
  cr_assert_str_eq(ids, "x");

  /* An update keeps the old entry until set_index replaces it. */
  mt_resource r;
  cr_assert_eq(mt_store_resource_update(st, "Observation", "x", "{\"v\":2}",
                                        1, &r, err, sizeof err), 0, "%s",
               err);
  mt_resource_clear(&r);
  mt_resource *list;
  size_t n;
  long total;
  cr_assert_eq(mt_store_resource_search(st, &q, &list, &n, &total, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_eq(n, 1);
  cr_assert_eq(list[0].version_id, 2, "the current version is returned");
  cr_assert_str_eq(list[0].json, "{\"v\":2}");
  mt_resource_list_free(list, n);
  const char *b[] = {"|b"};
  mt_res_index ix = {"p2", b, 1, 1, 5000};
  cr_assert_eq(mt_store_resource_set_index(st, "Observation", "x", &ix, err,
                                           sizeof err), 0, "%s", err);
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 0, "code a is gone");
  q.code = "b";
  q.patient = "p2";
  q.has_date_lo = 1;
  q.date_lo = 5000;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 1);
  cr_assert_str_eq(ids, "x");
  q = query("Observation");
  q.patient = "p1";
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 0, "patient p1 is gone");

  /* A deleted resource cannot be indexed; reviving gives a bare entry. */
  cr_assert_eq(mt_store_resource_set_index(st, "Observation", "y", &ix, err,
                                           sizeof err), MT_ENOTFOUND);
  cr_assert_eq(mt_store_resource_set_index(st, "Observation", "zz", &ix, err,
                                           sizeof err), MT_ENOTFOUND);
  cr_assert_eq(mt_store_resource_update(st, "Observation", "y", "{}", 0, NULL,
                                        err, sizeof err), 0, "%s", err);
  q = query("Observation");
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 2);
  cr_assert_str_eq(ids, "x,y");
  q.code = "a";
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 0, "y revived unindexed");

  /* In a batch: set_index rolls back with it. */
  const char *c[] = {"|c"};
  mt_res_index ic = {NULL, c, 1, 0, 0};
  cr_assert_eq(mt_store_begin(st, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mt_store_resource_set_index(st, "Observation", "y", &ic, err,
                                           sizeof err), 0, "%s", err);
  q.code = "c";
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 1, "seen inside the batch");
  cr_assert_eq(mt_store_rollback(st, err, sizeof err), 0, "%s", err);
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 0);
}

Test(store, search_and_index_bad_input)
{
  put_indexed("Observation", "x", NULL, NO_DATE, NULL, NULL);
  const char *nobar[] = {"2339-0"};
  const char *nocode[] = {"http://loinc.org|"};
  const char *ctl[] = {"|a\tb"};
  char longsys[300];
  memset(longsys, 's', sizeof longsys - 3);
  snprintf(longsys + sizeof longsys - 3, 3, "|a");
  const char *toolong[] = {longsys};
  const char *const *bad[] = {nobar, nocode, ctl, toolong};
  for (int k = 0; k < 4; k++) {
    mt_res_index ix = {NULL, bad[k], 1, 0, 0};
    cr_assert_eq(mt_store_resource_set_index(st, "Observation", "x", &ix, err,
                                             sizeof err), MT_EINVAL, "%d", k);
  }
  mt_res_index ix = {NULL, NULL, 1, 0, 0};
  cr_assert_eq(mt_store_resource_set_index(st, "Observation", "x", &ix, err,
                                           sizeof err), MT_EINVAL);
  ix.n_codes = -1;
  cr_assert_eq(mt_store_resource_set_index(st, "Observation", "x", &ix, err,
                                           sizeof err), MT_EINVAL);
  cr_assert_eq(mt_store_resource_set_index(st, "Observation", "x", NULL, err,
                                           sizeof err), MT_EINVAL);
  cr_assert_eq(mt_store_resource_set_index(st, "Observation", "x/y", &ix,
                                           err, sizeof err), MT_EINVAL);

  mt_resource *list;
  size_t n;
  long total;
  cr_assert_eq(mt_store_resource_search(st, NULL, &list, &n, &total, err,
                                        sizeof err), MT_EINVAL);
  mt_res_query q = query("Obs ervation");
  cr_assert_eq(mt_store_resource_search(st, &q, &list, &n, &total, err,
                                        sizeof err), MT_EINVAL);
  q = query("Observation");
  q.sort = 2;
  cr_assert_eq(mt_store_resource_search(st, &q, &list, &n, &total, err,
                                        sizeof err), MT_EINVAL);
  cr_assert_not_null(strstr(err, "store search"), "%s", err);
  q.sort = 0;
  q.offset = -1;
  cr_assert_eq(mt_store_resource_search(st, &q, &list, &n, &total, err,
                                        sizeof err), MT_EINVAL);
  q.offset = 0;
  q.id = "a b";
  cr_assert_eq(mt_store_resource_search(st, &q, &list, &n, &total, err,
                                        sizeof err), MT_EINVAL);
  q.id = NULL;
  cr_assert_eq(mt_store_resource_search(st, &q, NULL, &n, &total, err,
                                        sizeof err), MT_EINVAL,
               "a page needs a list");
  cr_assert_eq(mt_store_resource_search(st, &q, &list, &n, NULL, err,
                                        sizeof err), MT_EINVAL);
  cr_assert_eq(mt_store_resource_search(NULL, &q, &list, &n, &total, err,
                                        sizeof err), MT_EINVAL);
  cr_assert_null(list);
  cr_assert_eq(n, 0);
  cr_assert_eq(total, 0);
  /* What failed stored nothing: x is still found by type only. */
  cr_assert_eq(mt_store_resource_search(st, &q, &list, &n, &total, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_eq(total, 1);
  mt_resource_list_free(list, n);
}

/* Schema version 1, as the previous release wrote it. */
static const char schema_v1[] =
  "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
  " WITHOUT ROWID;"
  "CREATE TABLE resource(type TEXT NOT NULL, id TEXT NOT NULL,"
  " version_id INTEGER NOT NULL CHECK(version_id > 0),"
  " last_updated INTEGER NOT NULL,"
  " deleted INTEGER NOT NULL DEFAULT 0 CHECK(deleted IN (0, 1)),"
  " json TEXT, CHECK((deleted = 1) = (json IS NULL)),"
  " PRIMARY KEY(type, id, version_id)) WITHOUT ROWID;"
  "CREATE TABLE observation(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
  " patient TEXT NOT NULL, device TEXT NOT NULL, code TEXT NOT NULL,"
  " t_ms INTEGER NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL,"
  " arrived_ms INTEGER NOT NULL, UNIQUE(patient, device, code, t_ms));"
  "CREATE INDEX observation_by_code ON observation"
  "(patient, code, t_ms, seq, device, value, unit);"
  "CREATE TABLE snapshot(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
  " patient TEXT NOT NULL, model TEXT NOT NULL, taken_at INTEGER NOT NULL,"
  " blob BLOB NOT NULL);"
  "CREATE INDEX snapshot_latest ON snapshot(patient, model, taken_at, seq);"
  "CREATE TABLE alert(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
  " patient TEXT NOT NULL, t_ms INTEGER NOT NULL, kind TEXT NOT NULL,"
  " payload TEXT NOT NULL, arrived_ms INTEGER NOT NULL);"
  "CREATE INDEX alert_by_time ON alert(patient, t_ms, seq);"
  "CREATE TABLE quarantine(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
  " patient TEXT NOT NULL, t_ms INTEGER NOT NULL, kind TEXT NOT NULL,"
  " payload TEXT NOT NULL, arrived_ms INTEGER NOT NULL);"
  "CREATE INDEX quarantine_by_time ON quarantine(patient, t_ms, seq);"
  "INSERT INTO meta(key, value) VALUES('schema_version', '1');"
  /* Patient a at version 2, b deleted, c revived, one Observation. */
  "INSERT INTO resource VALUES('Patient', 'a', 1, 1, 0, '{\"v\":1}');"
  "INSERT INTO resource VALUES('Patient', 'a', 2, 2, 0, '{\"v\":2}');"
  "INSERT INTO resource VALUES('Patient', 'b', 1, 1, 0, '{}');"
  "INSERT INTO resource VALUES('Patient', 'b', 2, 2, 1, NULL);"
  "INSERT INTO resource VALUES('Patient', 'c', 1, 1, 0, '{}');"
  "INSERT INTO resource VALUES('Patient', 'c', 2, 2, 1, NULL);"
  "INSERT INTO resource VALUES('Patient', 'c', 3, 3, 0, '{\"v\":3}');"
  "INSERT INTO resource VALUES('Observation', 'o', 1, 1, 0, '{}');";

Test(store, migration_from_schema_1_indexes_by_type_and_id)
{
  mt_store_close(st);
  st = NULL;
  char path[128], v[64];
  db_path(path, sizeof path, dir);
  unlink(path);
  sqlite3 *db;
  cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
  cr_assert_eq(sqlite3_exec(db, schema_v1, NULL, NULL, NULL), SQLITE_OK,
               "%s", sqlite3_errmsg(db));
  sqlite3_close(db);

  cr_assert_eq(mt_store_open(dir, &st, err, sizeof err), 0, "%s", err);
  sql_text(path, "SELECT value FROM meta WHERE key = 'schema_version'", v,
           sizeof v);
  cr_assert_str_eq(v, "6", "1 -> 2 -> 3 -> 4 -> 5 -> 6 in one open");
  sql_text(path, "SELECT group_concat(type || '/' || id || '=' || owner, ' ')"
                 " FROM (SELECT DISTINCT type, id, owner FROM resource"
                 " ORDER BY type, id)", v, sizeof v);
  cr_assert_str_eq(v, "Observation/o= Patient/a=a Patient/b=b Patient/c=c",
                   "version 6: a Patient owns itself; the Observation had "
                   "no patient in its (empty) index entry");
  sql_text(path, "SELECT count(*) FROM pragma_table_info('observation')"
                 " WHERE name = 'resource'", v, sizeof v);
  cr_assert_str_eq(v, "1", "version 3 adds observation.resource");
  sql_text(path, "SELECT group_concat(type || '/' || id, ' ') FROM"
                 " (SELECT * FROM res_index ORDER BY type, id)", v, sizeof v);
  cr_assert_str_eq(v, "Observation/o Patient/a Patient/c");
  sql_text(path, "PRAGMA integrity_check", v, sizeof v);
  cr_assert_str_eq(v, "ok");

  char ids[256];
  mt_res_query q = query("Patient");
  mt_resource *list;
  size_t n;
  long total;
  cr_assert_eq(mt_store_resource_search(st, &q, &list, &n, &total, err,
                                        sizeof err), 0, "%s", err);
  cr_assert_eq(total, 2);
  cr_assert_str_eq(list[0].json, "{\"v\":2}");
  cr_assert_str_eq(list[1].json, "{\"v\":3}");
  mt_resource_list_free(list, n);
  q.sort = -1;
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 2);
  cr_assert_str_eq(ids, "a,c", "undated, by id");
  q.patient = "a";
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 0);

  /* Migrated entries index like new ones; a deleted one stays out. */
  mt_res_index ix = {"a", NULL, 0, 1, 7};
  cr_assert_eq(mt_store_resource_set_index(st, "Patient", "c", &ix, err,
                                           sizeof err), 0, "%s", err);
  cr_assert_eq(search_ids(&q, ids, sizeof ids), 1);
  cr_assert_str_eq(ids, "c");
  cr_assert_eq(mt_store_resource_set_index(st, "Patient", "b", &ix, err,
                                           sizeof err), MT_ENOTFOUND);
  /* Reopening does not migrate twice. */
  mt_store_close(st);
  st = NULL;
  cr_assert_eq(mt_store_open(dir, &st, err, sizeof err), 0, "%s", err);
  sql_text(path, "SELECT count(*) FROM res_index", v, sizeof v);
  cr_assert_str_eq(v, "3");
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

#define SCALE_N 200000
#define SCALE_PATIENTS 20
#define SCALE_CODES 5

/*
** 200,000 indexed Observations (20 patients x 5 codes x 2,000 times, 5 min
** apart), inserted in batches of 10,000. The server's common search:
** patient + code + date range, newest first, a page of 50 (1,000 matches
** in range). Measured median on the development machine (2 cores, SQLite
** 3.40.1, RelWithDebInfo): see docs/store.md; asserted under 50 ms.
*/
Test(store, search_scales_to_200k_resources, .timeout = 120)
{
  static const char *codes[SCALE_CODES] = {
    LOINC "|2339-0", LOINC "|8867-4", LOINC "|8480-6", LOINC "|8462-4",
    LOINC "|9279-1"};
  const int64_t t0 = 1700000000000LL, step = 300000;
  char id[32], pat[16];
  double t_ins = now_s();
  for (int i = 0; i < SCALE_N; i++) {
    if (i % 10000 == 0)
      cr_assert_eq(mt_store_begin(st, err, sizeof err), 0, "%s", err);
    int p = i % SCALE_PATIENTS, c = (i / SCALE_PATIENTS) % SCALE_CODES;
    int64_t t = t0 + (int64_t)(i / (SCALE_PATIENTS * SCALE_CODES)) * step;
    snprintf(id, sizeof id, "obs-%d", i);
    snprintf(pat, sizeof pat, "pat-%d", p);
    mt_res_index ix = {pat, &codes[c], 1, 1, t};
    int rc = mt_store_resource_create(st, "Observation", id,
                                      "{\"resourceType\":\"Observation\"}",
                                      NULL, err, sizeof err);
    if (!rc)
      rc = mt_store_resource_set_index(st, "Observation", id, &ix, err,
                                       sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    if (i % 10000 == 9999)
      cr_assert_eq(mt_store_commit(st, err, sizeof err), 0, "%s", err);
  }
  t_ins = now_s() - t_ins;

  mt_res_query q = query("Observation");
  q.patient = "pat-7";
  q.code_system = "http://loinc.org";
  q.code = "2339-0";
  q.has_date_lo = q.has_date_hi = 1;
  q.date_lo = t0 + 500 * step;
  q.date_hi = t0 + 1500 * step;
  q.sort = -1;
  q.count = 50;
  double ms[21];
  for (int k = 0; k < 21; k++) {
    mt_resource *list;
    size_t n;
    long total;
    double t = now_s();
    cr_assert_eq(mt_store_resource_search(st, &q, &list, &n, &total, err,
                                          sizeof err), 0, "%s", err);
    ms[k] = (now_s() - t) * 1e3;
    cr_assert_eq(total, 1000);
    cr_assert_eq(n, 50);
    /* Newest first: time index 1499 is i = 1499 * 100 + 7. */
    cr_assert_str_eq(list[0].id, "obs-149907");
    cr_assert_str_eq(list[49].id, "obs-145007");
    mt_resource_list_free(list, n);
  }
  qsort(ms, 21, sizeof ms[0], cmp_double);
  /* The same without a system, and the total alone of one type. */
  q.code_system = NULL;
  double t = now_s();
  long total;
  mt_resource *list;
  size_t n;
  cr_assert_eq(mt_store_resource_search(st, &q, &list, &n, &total, err,
                                        sizeof err), 0, "%s", err);
  double ms_nosys = (now_s() - t) * 1e3;
  cr_assert_eq(total, 1000);
  cr_assert_str_eq(list[0].id, "obs-149907");
  mt_resource_list_free(list, n);
  mt_res_query all = query("Observation");
  all.count = 0;
  t = now_s();
  cr_assert_eq(mt_store_resource_search(st, &all, NULL, NULL, &total, err,
                                        sizeof err), 0, "%s", err);
  double ms_count = (now_s() - t) * 1e3;
  cr_assert_eq(total, SCALE_N);
  /* The plan: one covering-index range, no scan, no full sort. */
  char plan[1024];
  q.code_system = "http://loinc.org";
  cr_assert_eq(mt_store__search_plan(st, &q, plan, sizeof plan, err,
                                     sizeof err), 0, "%s", err);
  cr_log_info("plan of patient + code + date, -date:\n%s", plan);
  cr_assert_not_null(strstr(plan, "SEARCH res_code USING COVERING INDEX"
                                  " res_code_by_patient (type=? AND"
                                  " patient=? AND code=? AND date_ms>? AND"
                                  " date_ms<?)"), "%s", plan);
  cr_assert_null(strstr(plan, "SCAN"), "%s", plan);
  cr_assert_null(strstr(plan, "TEMP B-TREE FOR ORDER BY"), "%s", plan);
  mt_res_query pq = query("Observation");
  pq.patient = "pat-7";
  pq.sort = -1;
  cr_assert_eq(mt_store__search_plan(st, &pq, plan, sizeof plan, err,
                                     sizeof err), 0, "%s", err);
  cr_log_info("plan of patient, -date:\n%s", plan);
  cr_assert_not_null(strstr(plan, "res_index_by_patient (type=? AND"
                                  " patient=? AND date_ms>?)"), "%s", plan);
  cr_assert_null(strstr(plan, "SCAN"), "%s", plan);
  cr_assert_null(strstr(plan, "TEMP B-TREE FOR ORDER BY"), "%s", plan);
  cr_log_info("insert %.2f s; search median %.3f ms (max %.3f); without"
              " system %.3f ms; count of all %.3f ms", t_ins, ms[10], ms[20],
              ms_nosys, ms_count);
  cr_assert_lt(ms[10], 50.0, "median %.3f ms", ms[10]);
}

/* ---- several handles, several threads ---- */

typedef struct worker {
  pthread_t th;
  atomic_int *stop;
  long rounds;      /* transactions written or searches made */
  long live;        /* writer: resources it left; reader: its last total */
  char error[MT_ERRMSG_MAX]; /* the first failure, "" if none */
} worker;

static void worker_fail(worker *w, const char *what)
{
  if (!w->error[0])
    snprintf(w->error, sizeof w->error, "%s", what);
  atomic_store(w->stop, 1);
}

/* A pair "a-k", "b-k" in one batch; every third round one batch deletes an
** earlier pair. So any committed state holds whole pairs only. */
static int write_round(mt_store *s, worker *w, char *e, size_t n)
{
  long k = w->rounds;
  char id[32];
  const char *codes[] = {"|x"};
  mt_res_index ix = {"P", codes, 1, 1, k};
  int rc = mt_store_begin(s, e, n);
  for (int h = 0; !rc && h < 2; h++) {
    snprintf(id, sizeof id, "%c-%ld", "ab"[h], k);
    rc = mt_store_resource_create(s, "Observation", id, "{}", NULL, e, n);
    if (!rc)
      rc = mt_store_resource_set_index(s, "Observation", id, &ix, e, n);
  }
  for (int h = 0; !rc && k % 3 == 2 && h < 2; h++) {
    snprintf(id, sizeof id, "%c-%ld", "ab"[h], k - 2);
    rc = mt_store_resource_delete(s, "Observation", id, 0, NULL, e, n);
  }
  if (rc) {
    mt_store_rollback(s, NULL, 0);
    return rc;
  }
  rc = mt_store_commit(s, e, n);
  w->live += k % 3 == 2 ? 0 : 2;
  return rc;
}

static void *writer_main(void *arg)
{
  worker *w = arg;
  mt_store *s;
  char e[MT_ERRMSG_MAX];
  if (mt_store_open(dir, &s, e, sizeof e) != 0) {
    worker_fail(w, e);
    return NULL;
  }
  double end = now_s() + 1.0;
  while (!atomic_load(w->stop) && now_s() < end) {
    if (write_round(s, w, e, sizeof e) != 0) {
      worker_fail(w, e);
      break;
    }
    w->rounds++;
  }
  atomic_store(w->stop, 1);
  mt_store_close(s);
  return NULL;
}

/* One search of everything by id: whole pairs, the total matching. */
static int read_round(mt_store *s, worker *w, char *e, size_t n)
{
  mt_res_query q = query("Observation");
  q.patient = "P";
  q.count = 1000000;
  mt_resource *list;
  size_t nl;
  long total;
  int rc = mt_store_resource_search(s, &q, &list, &nl, &total, e, n);
  if (rc)
    return rc;
  if ((size_t)total != nl || nl % 2 != 0)
    snprintf(e, n, "total %ld, page %zu: not whole pairs", total, nl);
  for (size_t i = 0; i < nl / 2 && !(nl % 2); i++)
    if (list[i].id[0] != 'a' || list[i + nl / 2].id[0] != 'b' ||
        strcmp(list[i].id + 1, list[i + nl / 2].id + 1) != 0) {
      snprintf(e, n, "%s without its pair", list[i].id);
      break;
    }
  mt_resource_list_free(list, nl);
  if ((size_t)total != nl || nl % 2 != 0 || strstr(e, "pair"))
    return MT_EIO;
  w->live = total;
  return 0;
}

static void *reader_main(void *arg)
{
  worker *w = arg;
  mt_store *s;
  char e[MT_ERRMSG_MAX];
  if (mt_store_open(dir, &s, e, sizeof e) != 0) {
    worker_fail(w, e);
    return NULL;
  }
  while (!atomic_load(w->stop)) {
    e[0] = 0;
    if (read_round(s, w, e, sizeof e) != 0) {
      worker_fail(w, e);
      break;
    }
    w->rounds++;
  }
  /* After the writer is done: the last commit is visible. */
  e[0] = 0;
  if (!w->error[0] && read_round(s, w, e, sizeof e) != 0)
    worker_fail(w, e);
  mt_store_close(s);
  return NULL;
}

Test(store, one_writer_two_readers_see_whole_transactions, .timeout = 60)
{
  atomic_int stop = 0;
  worker w[3];
  memset(w, 0, sizeof w);
  for (int i = 0; i < 3; i++) {
    w[i].stop = &stop;
    cr_assert_eq(pthread_create(&w[i].th, NULL,
                                i == 0 ? writer_main : reader_main, &w[i]),
                 0);
  }
  for (int i = 0; i < 3; i++)
    pthread_join(w[i].th, NULL);
  for (int i = 0; i < 3; i++)
    cr_assert_str_eq(w[i].error, "", "thread %d: %s", i, w[i].error);
  cr_log_info("writer %ld transactions; readers %ld and %ld searches",
              w[0].rounds, w[1].rounds, w[2].rounds);
  cr_assert_gt(w[0].rounds, 10);
  cr_assert_gt(w[1].rounds, 10);
  cr_assert_gt(w[2].rounds, 10);
  cr_assert_eq(w[1].live, w[0].live, "reader 1 sees the last commit");
  cr_assert_eq(w[2].live, w[0].live, "reader 2 sees the last commit");
}

/* ---- what the server's twins and writer use (schema 3) ---- */

static mt_obs obs_of(const char *patient, const char *code, int64_t t,
                     double v, const char *res)
{
  mt_obs o;
  memset(&o, 0, sizeof o);
  snprintf(o.patient, sizeof o.patient, "%s", patient);
  snprintf(o.device, sizeof o.device, "-");
  snprintf(o.code, sizeof o.code, "%s", code);
  snprintf(o.unit, sizeof o.unit, "mg/dL");
  snprintf(o.resource, sizeof o.resource, "%s", res);
  o.t_ms = t, o.value = v;
  return o;
}

Test(store, obs_since_in_arrival_order_with_their_resource)
{
  int64_t seq[4];
  /* arrival order differs from time order on purpose */
  mt_obs in[4] = {obs_of("p", "99504-3", 300, 1, "r1"),
                  obs_of("p", "9059-7", 100, 2, "r2"),
                  obs_of("q", "99504-3", 200, 3, "r3"),
                  obs_of("p", "99504-3", 200, 4, "")};
  for (int k = 0; k < 4; k++)
    cr_assert_eq(mt_store_obs_append(st, &in[k], &seq[k], err, sizeof err),
                 0, "%s", err);
  mt_obs *out;
  size_t n;
  cr_assert_eq(mt_store_obs_since(st, "p", 0, &out, &n, err, sizeof err), 0);
  cr_assert_eq(n, 3);
  cr_assert(out[0].seq == seq[0] && out[1].seq == seq[1] &&
            out[2].seq == seq[3], "by seq, all codes, only p");
  cr_assert_str_eq(out[0].resource, "r1");
  cr_assert_str_eq(out[1].code, "9059-7");
  cr_assert_str_eq(out[2].resource, "");
  free(out);
  cr_assert_eq(mt_store_obs_since(st, "p", seq[1], &out, &n, err, sizeof err),
               0);
  cr_assert(n == 1 && out[0].seq == seq[3], "after a seq: only later ones");
  free(out);
  mt_obs got;
  cr_assert_eq(mt_store_obs_get(st, seq[2], &got, err, sizeof err), 0);
  cr_assert(!strcmp(got.patient, "q") && got.value == 3 &&
            !strcmp(got.resource, "r3"));
  cr_assert_eq(mt_store_obs_get(st, 999, &got, err, sizeof err), MT_ENOTFOUND);
  /* a duplicate keeps the first row, its resource and seq */
  mt_obs again = obs_of("p", "99504-3", 300, 9, "r9");
  int64_t s2;
  cr_assert_eq(mt_store_obs_append(st, &again, &s2, err, sizeof err),
               MT_STORE_DUPLICATE);
  cr_assert_eq(s2, seq[0]);
  cr_assert_eq(mt_store_obs_get(st, s2, &got, err, sizeof err), 0);
  cr_assert(!strcmp(got.resource, "r1") && got.value == 1);
}

Test(store, snapshot_keys_and_prune)
{
  char b[3] = "ab";
  cr_assert_eq(mt_store_snapshot_put(st, "p2", "m", 5, b, 1, err, sizeof err),
               0);
  for (int k = 0; k < 4; k++)
    cr_assert_eq(mt_store_snapshot_put(st, "p1", "m", 10 + k, b + (k & 1), 1,
                                       err, sizeof err), 0);
  mt_store_twin_key *keys;
  size_t n;
  cr_assert_eq(mt_store_snapshot_keys(st, &keys, &n, err, sizeof err), 0);
  cr_assert(n == 2 && !strcmp(keys[0].patient, "p1") &&
            !strcmp(keys[1].patient, "p2") && !strcmp(keys[1].model, "m"));
  free(keys);
  cr_assert_eq(mt_store_snapshot_prune(st, "p1", "m", 2, err, sizeof err), 0);
  char path[128], v[32];
  db_path(path, sizeof path, dir);
  sql_text(path, "SELECT group_concat(taken_at) FROM (SELECT taken_at FROM"
                 " snapshot WHERE patient = 'p1' ORDER BY taken_at)", v,
           sizeof v);
  cr_assert_str_eq(v, "12,13", "the 2 latest kept");
  sql_text(path, "SELECT count(*) FROM snapshot WHERE patient = 'p2'", v,
           sizeof v);
  cr_assert_str_eq(v, "1", "other twins untouched");
  cr_assert_eq(mt_store_snapshot_prune(st, "p1", "m", 0, err, sizeof err),
               MT_EINVAL);
}

Test(store, savepoint_units_in_a_batch)
{
  cr_assert_eq(mt_store_savepoint(st, err, sizeof err), MT_EINVAL,
               "outside a batch");
  cr_assert_eq(mt_store_begin(st, err, sizeof err), 0);
  cr_assert_eq(mt_store_savepoint(st, err, sizeof err), 0);
  cr_assert_eq(mt_store_resource_create(st, "Patient", "kept", "{}", NULL,
                                        err, sizeof err), 0);
  cr_assert_eq(mt_store_savepoint(st, err, sizeof err), MT_EINVAL,
               "units do not nest");
  cr_assert_eq(mt_store_savepoint_end(st, 1, err, sizeof err), 0);
  cr_assert_eq(mt_store_savepoint(st, err, sizeof err), 0);
  cr_assert_eq(mt_store_resource_create(st, "Patient", "undone", "{}", NULL,
                                        err, sizeof err), 0);
  mt_obs o = obs_of("p", "99504-3", 1, 1, "undone");
  cr_assert_eq(mt_store_obs_append(st, &o, NULL, err, sizeof err), 0);
  cr_assert_eq(mt_store_savepoint_end(st, 0, err, sizeof err), 0);
  cr_assert_eq(mt_store_commit(st, err, sizeof err), 0);
  mt_resource r = {0};
  cr_assert_eq(mt_store_resource_read(st, "Patient", "kept", &r, err,
                                      sizeof err), 0);
  mt_resource_clear(&r);
  cr_assert_eq(mt_store_resource_read(st, "Patient", "undone", &r, err,
                                      sizeof err), MT_ENOTFOUND);
  mt_obs *out;
  size_t n;
  cr_assert_eq(mt_store_obs_since(st, "p", 0, &out, &n, err, sizeof err), 0);
  cr_assert_eq(n, 0, "the undone unit's observation is gone too");
  free(out);
}

/* A patient's compartment: every type, ordered by type and id; deleted and
** other patients' resources left out; max cuts the list, not the total. */
Test(store, patient_resources)
{
  search_fixture();
  put_indexed("Condition", "c1", "p1", NO_DATE, NULL, NULL);
  put_indexed("Condition", "c2", "p2", NO_DATE, NULL, NULL);
  put_indexed("Encounter", "e1", "p1", 500, NULL, NULL);
  put_indexed("Encounter", "e2", "p1", 600, NULL, NULL);
  mt_res_index self = {"p1", NULL, 0, 0, 0};
  cr_assert_eq(mt_store_resource_set_index(st, "Patient", "p1", &self, err,
                                           sizeof err), 0, "%s", err);
  cr_assert_eq(mt_store_resource_delete(st, "Encounter", "e2", 0, NULL, err,
                                        sizeof err), 0, "%s", err);
  mt_resource *list = (mt_resource *)0x1;
  size_t n = 99;
  long total = -1;
  cr_assert_eq(mt_store_patient_resources(st, "p1", 100, &list, &n, &total,
                                          err, sizeof err), 0, "%s", err);
  cr_assert_eq(total, 7);
  cr_assert_eq(n, 7);
  static const char *const want[][2] = {
      {"Condition", "c1"},   {"Encounter", "e1"},   {"Observation", "o1"},
      {"Observation", "o2"}, {"Observation", "o6"}, {"Observation", "o7"},
      {"Patient", "p1"}};
  for (size_t i = 0; i < n; i++) {
    cr_assert_str_eq(list[i].type, want[i][0], "%zu", i);
    cr_assert_str_eq(list[i].id, want[i][1], "%zu", i);
    cr_assert_not_null(list[i].json);
  }
  mt_resource_list_free(list, n);
  cr_assert_eq(mt_store_patient_resources(st, "p1", 2, &list, &n, &total,
                                          err, sizeof err), 0, "%s", err);
  cr_assert_eq(total, 7);
  cr_assert_eq(n, 2);
  cr_assert_str_eq(list[1].id, "e1");
  mt_resource_list_free(list, n);
  cr_assert_eq(mt_store_patient_resources(st, "p1", 0, &list, &n, &total,
                                          err, sizeof err), 0, "%s", err);
  cr_assert_eq(total, 7);
  cr_assert_eq(n, 0);
  cr_assert_null(list);
  cr_assert_eq(mt_store_patient_resources(st, "nobody", 10, &list, &n,
                                          &total, err, sizeof err), 0, "%s",
               err);
  cr_assert_eq(total, 0);
  cr_assert_eq(n, 0);
  cr_assert_eq(mt_store_patient_resources(st, "", 10, &list, &n, &total, err,
                                          sizeof err), MT_EINVAL);
  cr_assert_eq(mt_store_patient_resources(st, "p1", -1, &list, &n, &total,
                                          err, sizeof err), MT_EINVAL);
  cr_assert_eq(mt_store_patient_resources(st, "p1", 1, NULL, &n, &total,
                                          err, sizeof err), MT_EINVAL);
  cr_assert_eq(mt_store_patient_resources(NULL, "p1", 1, &list, &n, &total,
                                          err, sizeof err), MT_EINVAL);
}
