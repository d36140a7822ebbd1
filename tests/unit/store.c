/*
** Unit tests of the store interface (include/medtwin/store.h) over the
** embedded SQLite back end (src/store/). Every test works in its own
** directory under /tmp, removed afterwards. Database-level facts (journal
** mode, integrity, row counts) are read back with SQLite directly.
*/
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "medtwin/error.h"
#include "medtwin/store.h"

static char dir[64];
static mt_store *st;
static char err[MT_ERRMSG_MAX];

static void rm_tree(const char *d)
{
  DIR *h = opendir(d);
  if (!h)
    return;
  struct dirent *e;
  char p[512];
  while ((e = readdir(h))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    snprintf(p, sizeof p, "%s/%s", d, e->d_name);
    if (unlink(p) != 0)
      rm_tree(p);
  }
  closedir(h);
  rmdir(d);
}

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
