/*
** Search indexes of the SQLite back end (schema version 2): what the
** current, non-deleted resources are searched by, in res_index (one row per
** resource: patient, date) and res_code (one row per code token, patient and
** date repeated), and the search over them. The tables, their indexes and
** the query plans: docs/store.md. The entry of a resource is kept in step by
** sqlite.c (created with the resource, removed with its delete marker).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medtwin/error.h"
#include "store/sqlite_int.h"

/* ?i as text, or NULL for NULL or "". */
static void bind_opt(sqlite3_stmt *st, int i, const char *t)
{
  if (t && *t)
    sqlite3_bind_text(st, i, t, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, i);
}

/* ix's code tokens as res_code rows of (type, id); duplicates once. */
static int insert_codes(sq_store *q, const char *type, const char *id,
                        const mt_res_index *ix, const char *op, char *err,
                        size_t errlen)
{
  if (ix->n_codes == 0)
    return 0;
  sqlite3_stmt *st;
  int rc = mt_sq__prepare_hot(q, "INSERT OR IGNORE INTO res_code(type, id,"
                                 " system, code, patient, date_ms)"
                                 " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                              &st, op, err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
  bind_opt(st, 5, ix->patient);
  if (ix->has_date)
    sqlite3_bind_int64(st, 6, ix->date_ms);
  for (int i = 0; !rc && i < ix->n_codes; i++) {
    const char *tok = ix->codes[i], *bar = strchr(tok, '|');
    size_t pl = sizeof MT_STORE_IDENT_PREFIX - 1;
    char blind[MT_SQ_BLIND_LEN + 1];
    sqlite3_bind_text(st, 3, tok, (int)(bar - tok), SQLITE_STATIC);
    if (q->vault && !strncmp(tok, MT_STORE_IDENT_PREFIX, pl)) {
      mt_sq__blind(q, bar + 1, blind); /* identifiers: a blind index */
      sqlite3_bind_text(st, 4, blind, -1, SQLITE_TRANSIENT);
    } else
      sqlite3_bind_text(st, 4, bar + 1, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
      rc = mt_sq__db_fail(q, op, err, errlen);
    sqlite3_reset(st);
  }
  mt_sq__release(q, st);
  return rc;
}

/* The entry exists exactly when the current version is live, so updating
** it finds the resource. */
int mt_sq__resource_set_index(mt_store *s, const char *type, const char *id,
                              const mt_res_index *ix, char *err,
                              size_t errlen)
{
  sq_store *q = (sq_store *)s;
  const char *op = "set index";
  sqlite3_stmt *st;
  int rc = mt_sq__tx_begin(q, op, err, errlen);
  if (rc)
    return rc;
  rc = mt_sq__prepare_hot(q, "UPDATE res_index SET patient = ?3,"
                             " date_ms = ?4 WHERE type = ?1 AND id = ?2",
                          &st, op, err, errlen);
  if (!rc) {
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    bind_opt(st, 3, ix->patient);
    if (ix->has_date)
      sqlite3_bind_int64(st, 4, ix->date_ms);
    rc = mt_sq__step_done(q, st, op, err, errlen);
  }
  if (!rc && sqlite3_changes(q->db) == 0)
    rc = mt_store__fail(err, errlen, MT_ENOTFOUND, op,
                        "no current %s/%s", type, id);
  if (!rc)
    rc = mt_sq__exec_ref(q, "DELETE FROM res_code WHERE type = ?1 AND id = ?2",
                         type, id, op, err, errlen);
  if (!rc)
    rc = insert_codes(q, type, id, ix, op, err, errlen);
  return mt_sq__tx_end(q, rc, op, err, errlen);
}

/*
** A search runs as one read transaction (part of the batch inside one) so
** that the total and the page agree. It is split in segments, each one index
** range in the order asked: sorted by date, the dated matches and then the
** undated ones by id. Counting reads only the index tables.
*/
typedef struct search_seg {
  const char *cond;  /* extra condition */
  const char *order; /* ORDER BY */
} search_seg;

#define SEARCH_SQL_MAX 1024

static void sql_cat(char *buf, const char *s)
{
  size_t n = strlen(buf);
  snprintf(buf + n, SEARCH_SQL_MAX - n, "%s", s);
}

/* Without a system one resource may hold a code twice (two systems). */
static int search_distinct(const mt_res_query *qr)
{
  return qr->code && !qr->code_system;
}

static void search_where(char *sql, const mt_res_query *qr, const char *cond)
{
  sql_cat(sql, qr->code ? " FROM res_code WHERE type = :type"
                        : " FROM res_index WHERE type = :type");
  if (qr->id)
    sql_cat(sql, " AND id = :id");
  if (qr->patient)
    sql_cat(sql, " AND patient = :patient");
  if (qr->code)
    sql_cat(sql, " AND code = :code");
  if (qr->code && qr->code_system)
    sql_cat(sql, " AND system = :system");
  if (qr->has_date_lo)
    sql_cat(sql, " AND date_ms >= :lo");
  if (qr->has_date_hi)
    sql_cat(sql, " AND date_ms < :hi");
  switch (qr->reach) {
  case MT_REACH_TEAM:
    sql_cat(sql, " AND (patient IS NULL OR (patient IN (SELECT patient FROM"
                 " careteam WHERE who = :who) AND patient NOT IN (SELECT"
                 " patient FROM consent WHERE purpose = 'treatment' AND"
                 " active = 0)))");
    break;
  case MT_REACH_RESEARCH:
    sql_cat(sql, " AND (patient IS NULL OR patient IN (SELECT patient FROM"
                 " consent WHERE purpose = 'research' AND active = 1))");
    break;
  case MT_REACH_OWN:
    sql_cat(sql, " AND patient = :who");
    break;
  case MT_REACH_NONE:
    sql_cat(sql, " AND 0");
    break;
  default:
    break;
  }
  sql_cat(sql, cond);
}

static void bind_name(sqlite3_stmt *st, const char *name, const char *v)
{
  int i = sqlite3_bind_parameter_index(st, name);
  if (i)
    sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void bind_name64(sqlite3_stmt *st, const char *name, int64_t v)
{
  int i = sqlite3_bind_parameter_index(st, name);
  if (i)
    sqlite3_bind_int64(st, i, v);
}

static void search_bind(sqlite3_stmt *st, const mt_res_query *qr)
{
  bind_name(st, ":type", qr->type);
  bind_name(st, ":id", qr->id);
  bind_name(st, ":patient", qr->patient);
  bind_name(st, ":who", qr->reach_who);
  bind_name(st, ":code", qr->code);
  bind_name(st, ":system", qr->code_system);
  bind_name64(st, ":lo", qr->date_lo);
  bind_name64(st, ":hi", qr->date_hi);
}

static void count_sql(char *sql, const mt_res_query *qr,
                      const search_seg *seg)
{
  sql[0] = 0;
  sql_cat(sql, search_distinct(qr) ? "SELECT count(DISTINCT id)"
                                   : "SELECT count(*)");
  search_where(sql, qr, seg->cond);
}

static void page_sql(char *sql, const mt_res_query *qr, const search_seg *seg)
{
  sql[0] = 0;
  sql_cat(sql, search_distinct(qr) ? "SELECT DISTINCT id, date_ms"
                                   : "SELECT id, date_ms");
  search_where(sql, qr, seg->cond);
  sql_cat(sql, " ORDER BY ");
  sql_cat(sql, seg->order);
  sql_cat(sql, " LIMIT :limit OFFSET :offset");
}

static int search_count(sq_store *q, const mt_res_query *qr,
                        const search_seg *seg, long *cnt, char *err,
                        size_t errlen)
{
  char sql[SEARCH_SQL_MAX];
  sqlite3_stmt *st;
  count_sql(sql, qr, seg);
  int rc = mt_sq__prepare(q, sql, &st, "search", err, errlen);
  if (rc)
    return rc;
  search_bind(st, qr);
  if (sqlite3_step(st) == SQLITE_ROW)
    *cnt = (long)sqlite3_column_int64(st, 0);
  else
    rc = mt_sq__db_fail(q, "search", err, errlen);
  sqlite3_finalize(st);
  return rc;
}

/* Append the current version of id (by get, type bound) to *list. */
static int search_get(sq_store *q, sqlite3_stmt *get, const char *id,
                      mt_resource **list, size_t *n, size_t *cap, char *err,
                      size_t errlen)
{
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 16;
    mt_resource *p = realloc(*list, nc * sizeof *p);
    if (!p)
      return mt_store__fail(err, errlen, MT_ENOMEM, "search",
                            "out of memory");
    *list = p;
    *cap = nc;
  }
  sqlite3_bind_text(get, 2, id, -1, SQLITE_TRANSIENT);
  int rc = 0, s_ = sqlite3_step(get);
  mt_resource *r = &(*list)[*n];
  memset(r, 0, sizeof *r);
  if (s_ == SQLITE_ROW) {
    (*n)++;
    int k = mt_sq__read_row(q, get, r);
    if (k)
      rc = mt_store__fail(err, errlen, k, "search", k == MT_ENOMEM
                          ? "out of memory" : "%s/%s: its sealed text does "
                          "not open (its key is destroyed, or the row was "
                          "altered)", r->type, r->id);
    else if (r->deleted)
      rc = mt_store__fail(err, errlen, MT_EIO, "search",
                          "index entry of deleted %s/%s", r->type, r->id);
  } else
    rc = s_ == SQLITE_DONE ? mt_store__fail(err, errlen, MT_EIO, "search",
                                            "index entry without resource"
                                            " %s", id)
                           : mt_sq__db_fail(q, "search", err, errlen);
  sqlite3_reset(get);
  return rc;
}

/* Rows [offset, offset + limit) of one segment, appended to *list. */
static int search_page(sq_store *q, const mt_res_query *qr,
                       const search_seg *seg, long offset, long limit,
                       sqlite3_stmt *get, mt_resource **list, size_t *n,
                       size_t *cap, char *err, size_t errlen)
{
  char sql[SEARCH_SQL_MAX];
  sqlite3_stmt *st;
  page_sql(sql, qr, seg);
  int rc = mt_sq__prepare(q, sql, &st, "search", err, errlen);
  if (rc)
    return rc;
  search_bind(st, qr);
  bind_name64(st, ":limit", limit);
  bind_name64(st, ":offset", offset);
  int s_;
  while (!rc && (s_ = sqlite3_step(st)) == SQLITE_ROW)
    rc = search_get(q, get, (const char *)sqlite3_column_text(st, 0), list,
                    n, cap, err, errlen);
  if (!rc && s_ != SQLITE_DONE)
    rc = mt_sq__db_fail(q, "search", err, errlen);
  sqlite3_finalize(st);
  return rc;
}

/* A read transaction of its own outside a batch. */
static int read_begin(sq_store *q, char *err, size_t errlen)
{
  return q->in_batch ? 0 : mt_sq__exec(q, "BEGIN", "search", err, errlen);
}

static int read_end(sq_store *q, int rc, char *err, size_t errlen)
{
  if (q->in_batch)
    return rc;
  if (!rc && (rc = mt_sq__exec(q, "COMMIT", "search", err, errlen)) == 0)
    return 0;
  if (!sqlite3_get_autocommit(q->db))
    sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

static int search_segs(const mt_res_query *qr, search_seg seg[2])
{
  if (qr->sort == 0) {
    seg[0] = (search_seg){"", "id"};
    return 1;
  }
  seg[0] = (search_seg){" AND date_ms IS NOT NULL",
                        qr->sort > 0 ? "date_ms, id" : "date_ms DESC, id"};
  if (qr->has_date_lo || qr->has_date_hi)
    return 1; /* undated resources never match a bound */
  seg[1] = (search_seg){" AND date_ms IS NULL", "id"};
  return 2;
}

int mt_sq__resource_search(mt_store *s, const mt_res_query *q0,
                           mt_resource **list, size_t *n, long *total,
                           char *err, size_t errlen)
{
  sq_store *q = (sq_store *)s;
  mt_res_query blinded = *q0;
  const mt_res_query *qr = q0;
  char blind[MT_SQ_BLIND_LEN + 1];
  if (q->vault && q0->ident && q0->code) { /* as insert_codes stored it */
    mt_sq__blind(q, q0->code, blind);
    blinded.code = blind;
    qr = &blinded;
  }
  search_seg seg[2];
  int nseg = search_segs(qr, seg);
  sqlite3_stmt *get = NULL;
  size_t cap = 0;
  long off = qr->offset, want = qr->count;
  int rc = read_begin(q, err, errlen);
  if (!rc && want > 0)
    rc = mt_sq__prepare_hot(q, "SELECT " RES_COLS " FROM resource WHERE"
                               " type = ?1 AND id = ?2 ORDER BY version_id"
                               " DESC LIMIT 1",
                            &get, "search", err, errlen);
  if (get)
    sqlite3_bind_text(get, 1, qr->type, -1, SQLITE_STATIC);
  for (int i = 0; !rc && i < nseg; i++) {
    long cnt = 0;
    rc = search_count(q, qr, &seg[i], &cnt, err, errlen);
    *total += cnt;
    if (!rc && want > 0 && off < cnt) {
      size_t before = *n;
      rc = search_page(q, qr, &seg[i], off, want, get, list, n, &cap, err,
                       errlen);
      want -= (long)(*n - before);
      off = 0;
    } else if (off >= cnt)
      off -= cnt;
  }
  if (get)
    mt_sq__release(q, get);
  rc = read_end(q, rc, err, errlen);
  if (rc) {
    mt_resource_list_free(*list, *n);
    *list = NULL;
    *n = 0;
    *total = 0;
  }
  return rc;
}

/*
** A patient's compartment: the types in res_index found by a skip scan of its
** primary key (one seek per type, not a read of every row), then each type's
** rows of the patient by res_index_by_patient.
*/
#define PATIENT_FROM \
  " FROM (WITH RECURSIVE t(type) AS (SELECT min(type) FROM res_index" \
  " UNION ALL SELECT (SELECT min(type) FROM res_index WHERE type > t.type)" \
  " FROM t WHERE t.type IS NOT NULL) SELECT type FROM t WHERE type IS NOT" \
  " NULL) AS t JOIN res_index AS x ON x.type = t.type AND x.patient = ?1"

static int patient_count(sq_store *q, const char *patient, long *total,
                         char *err, size_t errlen)
{
  sqlite3_stmt *st;
  int rc = mt_sq__prepare(q, "SELECT count(*)" PATIENT_FROM, &st,
                          "patient resources", err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW)
    *total = (long)sqlite3_column_int64(st, 0);
  else
    rc = mt_sq__db_fail(q, "patient resources", err, errlen);
  sqlite3_finalize(st);
  return rc;
}

/* The first max of them, each read by get (type and id bound per row). */
static int patient_page(sq_store *q, const char *patient, long max,
                        sqlite3_stmt *get, mt_resource **list, size_t *n,
                        char *err, size_t errlen)
{
  sqlite3_stmt *st;
  size_t cap = 0;
  int rc = mt_sq__prepare(q, "SELECT x.type, x.id" PATIENT_FROM
                             " ORDER BY x.type, x.id LIMIT ?2",
                          &st, "patient resources", err, errlen);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, max);
  int s_ = SQLITE_DONE;
  while (!rc && (s_ = sqlite3_step(st)) == SQLITE_ROW) {
    sqlite3_bind_text(get, 1, (const char *)sqlite3_column_text(st, 0), -1,
                      SQLITE_TRANSIENT);
    rc = search_get(q, get, (const char *)sqlite3_column_text(st, 1), list,
                    n, &cap, err, errlen);
  }
  if (!rc && s_ != SQLITE_DONE)
    rc = mt_sq__db_fail(q, "patient resources", err, errlen);
  sqlite3_finalize(st);
  return rc;
}

int mt_sq__patient_resources(mt_store *s, const char *patient, long max,
                             mt_resource **list, size_t *n, long *total,
                             char *err, size_t errlen)
{
  sq_store *q = (sq_store *)s;
  sqlite3_stmt *get = NULL;
  int rc = read_begin(q, err, errlen);
  if (!rc)
    rc = patient_count(q, patient, total, err, errlen);
  if (!rc && max > 0 && *total > 0)
    rc = mt_sq__prepare_hot(q, "SELECT " RES_COLS " FROM resource WHERE"
                               " type = ?1 AND id = ?2 ORDER BY version_id"
                               " DESC LIMIT 1",
                            &get, "patient resources", err, errlen);
  if (get) {
    rc = patient_page(q, patient, max, get, list, n, err, errlen);
    mt_sq__release(q, get);
  }
  rc = read_end(q, rc, err, errlen);
  if (rc) {
    mt_resource_list_free(*list, *n);
    *list = NULL;
    *n = 0;
    *total = 0;
  }
  return rc;
}

/* EXPLAIN QUERY PLAN of one statement, its rows as "detail" lines. */
static int plan_of(sq_store *q, const char *sql, const mt_res_query *qr,
                   char *out, size_t outlen, char *err, size_t errlen)
{
  char eqp[SEARCH_SQL_MAX + 32];
  sqlite3_stmt *st;
  snprintf(eqp, sizeof eqp, "EXPLAIN QUERY PLAN %s", sql);
  int rc = mt_sq__prepare(q, eqp, &st, "plan", err, errlen);
  if (rc)
    return rc;
  search_bind(st, qr);
  while (sqlite3_step(st) == SQLITE_ROW) {
    size_t k = strlen(out);
    snprintf(out + k, outlen - k, "%s\n",
             (const char *)sqlite3_column_text(st, 3));
  }
  sqlite3_finalize(st);
  return 0;
}

int mt_store__search_plan(mt_store *s, const mt_res_query *qr, char *out,
                          size_t outlen, char *err, size_t errlen)
{
  if (!s || s->ops->resource_search != mt_sq__resource_search || !qr ||
      !out || !outlen)
    return mt_store__fail(err, errlen, MT_EINVAL, "plan",
                          "not an SQLite store");
  sq_store *q = (sq_store *)s;
  search_seg seg[2];
  int nseg = search_segs(qr, seg), rc = 0;
  char sql[SEARCH_SQL_MAX];
  out[0] = 0;
  for (int i = 0; !rc && i < nseg; i++) {
    count_sql(sql, qr, &seg[i]);
    rc = plan_of(q, sql, qr, out, outlen, err, errlen);
    page_sql(sql, qr, &seg[i]);
    if (!rc)
      rc = plan_of(q, sql, qr, out, outlen, err, errlen);
  }
  return rc;
}
