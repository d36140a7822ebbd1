/*
** Atomic output files and whole-file reads (include/medtwin/file.h). Each
** test works in its own fresh directory under /tmp and removes it.
*/
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "medtwin/error.h"
#include "medtwin/file.h"

static char dir[64];

static void make_dir(void)
{
  snprintf(dir, sizeof dir, "/tmp/mt-file-test-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

/* Number of entries in d other than . and ..; the first one's name goes to
** first (if not NULL). Optionally unlink every entry. */
static int scan(const char *d, char *first, size_t firstlen, int unlink_all)
{
  DIR *h = opendir(d);
  if (!h)
    return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(h))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    if (n == 0 && first)
      snprintf(first, firstlen, "%s", e->d_name);
    if (unlink_all) {
      char p[512];
      snprintf(p, sizeof p, "%s/%s", d, e->d_name);
      unlink(p);
    }
    n++;
  }
  closedir(h);
  return n;
}

static void remove_dir(void)
{
  scan(dir, NULL, 0, 1);
  rmdir(dir);
}

static void in_dir(char *p, size_t n, const char *name)
{
  snprintf(p, n, "%s/%s", dir, name);
}

static void write_raw(const char *p, const char *data, size_t len)
{
  FILE *f = fopen(p, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(data, 1, len, f), len);
  cr_assert_eq(fclose(f), 0);
}

TestSuite(file, .init = make_dir, .fini = remove_dir);

Test(file, commit_writes_full_content)
{
  char p[128], err[MT_ERRMSG_MAX] = "", name[256];
  in_dir(p, sizeof p, "out.csv");
  mt_afile *f;
  cr_assert_eq(mt_afile_open(p, &f, err, sizeof err), 0, "%s", err);
  FILE *s = mt_afile_stream(f);
  cr_assert_not_null(s);
  /* 20,000 lines: far more than any stdio buffer, so some of it reaches the
  ** temporary file before commit. */
  for (int i = 0; i < 20000; i++)
    fprintf(s, "%d,%d\n", i, 2 * i);
  /* Before commit: the final path does not exist; one temporary file sits
  ** in the same directory (file.h: "a temporary file in the same
  ** directory"), named after the target. */
  cr_assert_eq(access(p, F_OK), -1);
  cr_assert_eq(errno, ENOENT);
  cr_assert_eq(scan(dir, name, sizeof name, 0), 1);
  cr_assert_eq(strncmp(name, "out.csv", 7), 0, "temp file %s", name);
  cr_assert_str_neq(name, "out.csv");
  cr_assert_eq(mt_afile_commit(f, err, sizeof err), 0, "%s", err);
  /* After: only the final file, holding every line. */
  cr_assert_eq(scan(dir, name, sizeof name, 0), 1);
  cr_assert_str_eq(name, "out.csv");
  char *buf;
  size_t len;
  cr_assert_eq(mt_file_read(p, &buf, &len, err, sizeof err), 0, "%s", err);
  size_t off = 0;
  char line[32];
  for (int i = 0; i < 20000; i++) {
    int n = snprintf(line, sizeof line, "%d,%d\n", i, 2 * i);
    cr_assert_leq(off + (size_t)n, len);
    cr_assert_eq(memcmp(buf + off, line, (size_t)n), 0, "line %d", i);
    off += (size_t)n;
  }
  cr_assert_eq(off, len); /* nothing more */
  free(buf);
}

Test(file, commit_replaces_existing_file_only_at_commit)
{
  char p[128], err[MT_ERRMSG_MAX] = "", *buf;
  size_t len;
  in_dir(p, sizeof p, "out.txt");
  write_raw(p, "old\n", 4);
  mt_afile *f;
  cr_assert_eq(mt_afile_open(p, &f, err, sizeof err), 0, "%s", err);
  fputs("new content\n", mt_afile_stream(f));
  cr_assert_eq(fflush(mt_afile_stream(f)), 0);
  /* A reader still sees the old file in full. */
  cr_assert_eq(mt_file_read(p, &buf, &len, err, sizeof err), 0);
  cr_assert_str_eq(buf, "old\n");
  free(buf);
  cr_assert_eq(mt_afile_commit(f, err, sizeof err), 0, "%s", err);
  cr_assert_eq(mt_file_read(p, &buf, &len, err, sizeof err), 0);
  cr_assert_str_eq(buf, "new content\n");
  cr_assert_eq(len, 12);
  free(buf);
}

Test(file, abort_leaves_nothing)
{
  char p[128], err[MT_ERRMSG_MAX] = "";
  in_dir(p, sizeof p, "out.csv");
  mt_afile *f;
  cr_assert_eq(mt_afile_open(p, &f, err, sizeof err), 0, "%s", err);
  fputs("partial", mt_afile_stream(f));
  cr_assert_eq(scan(dir, NULL, 0, 0), 1); /* the temporary file */
  mt_afile_abort(f);
  cr_assert_eq(scan(dir, NULL, 0, 0), 0); /* neither final nor temp file */
  mt_afile_abort(NULL);                   /* NULL-safe (file.h) */
}

Test(file, commit_into_removed_directory)
{
  char p[128], err[MT_ERRMSG_MAX] = "";
  in_dir(p, sizeof p, "out.csv");
  mt_afile *f;
  cr_assert_eq(mt_afile_open(p, &f, err, sizeof err), 0, "%s", err);
  fputs("data\n", mt_afile_stream(f));
  /* Remove the temporary file and the directory under the open stream. */
  cr_assert_eq(scan(dir, NULL, 0, 1), 1);
  cr_assert_eq(rmdir(dir), 0);
  err[0] = '\0';
  cr_assert_eq(mt_afile_commit(f, err, sizeof err), MT_EIO);
  cr_assert_not_null(strstr(err, p), "message '%s' should name %s", err, p);
  cr_assert_eq(access(p, F_OK), -1);
}

Test(file, open_in_missing_directory)
{
  char p[128], err[MT_ERRMSG_MAX] = "";
  in_dir(p, sizeof p, "no-such-dir/out.csv");
  mt_afile *f = (mt_afile *)&f; /* not NULL, to see it reset */
  cr_assert_eq(mt_afile_open(p, &f, err, sizeof err), MT_EIO);
  cr_assert_null(f);
  cr_assert_not_null(strstr(err, p), "message '%s' should name %s", err, p);
  cr_assert_not_null(strstr(err, strerror(ENOENT)), "%s", err);
  cr_assert_eq(scan(dir, NULL, 0, 0), 0);
}

/* Write n bytes 1..255 cyclically (no NUL inside), read back, compare. */
static void read_exact(size_t n)
{
  char p[128], err[MT_ERRMSG_MAX] = "", *buf = NULL;
  in_dir(p, sizeof p, "blob.bin");
  char *data = malloc(n ? n : 1);
  cr_assert_not_null(data);
  for (size_t i = 0; i < n; i++)
    data[i] = (char)(1 + i % 255);
  write_raw(p, data, n);
  size_t len = 1234567;
  cr_assert_eq(mt_file_read(p, &buf, &len, err, sizeof err), 0, "%s", err);
  cr_assert_eq(len, n, "size %zu read as %zu", n, len);
  cr_assert_eq(memcmp(buf, data, n), 0, "size %zu: content differs", n);
  cr_assert_eq(buf[n], '\0'); /* file.h: NUL-terminated */
  free(buf);
  free(data);
}

Test(file, read_exact_sizes)
{
  /* Around the initial 4096-byte buffer of mt_file_read and its doublings:
  ** empty, just under, at and over each of 4096 and 8192, and 100,000. */
  const size_t sizes[] = {0, 1, 4095, 4096, 4097, 8191, 8192, 8193, 100000};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    read_exact(sizes[i]);
}

Test(file, read_len_may_be_null)
{
  char p[128], err[MT_ERRMSG_MAX] = "", *buf = NULL;
  in_dir(p, sizeof p, "t.txt");
  write_raw(p, "abc", 3);
  cr_assert_eq(mt_file_read(p, &buf, NULL, err, sizeof err), 0);
  cr_assert_str_eq(buf, "abc");
  free(buf);
}

Test(file, read_missing_file)
{
  char p[128], err[MT_ERRMSG_MAX] = "";
  in_dir(p, sizeof p, "absent.json");
  char *buf = (char *)p; /* not NULL, to see it reset */
  size_t len = 0;
  cr_assert_eq(mt_file_read(p, &buf, &len, err, sizeof err), MT_EIO);
  cr_assert_null(buf);
  /* file.h: "message with the path and the system's reason". */
  cr_assert_not_null(strstr(err, p), "message '%s' should name %s", err, p);
  cr_assert_not_null(strstr(err, strerror(ENOENT)), "message '%s'", err);
}

/* Mode of a committed file under a given umask: 0666 & ~mask, as for a
** file created with fopen (mkstemp alone would give 0600). */
static void mode_under(mode_t mask, mode_t want)
{
  char p[128], err[MT_ERRMSG_MAX] = "";
  in_dir(p, sizeof p, "mode.txt");
  unlink(p);
  mode_t old = umask(mask);
  mt_afile *f;
  cr_assert_eq(mt_afile_open(p, &f, err, sizeof err), 0, "%s", err);
  fputs("x", mt_afile_stream(f));
  cr_assert_eq(mt_afile_commit(f, err, sizeof err), 0, "%s", err);
  cr_assert_eq(umask(old), mask); /* the library restores the umask */
  struct stat st;
  cr_assert_eq(stat(p, &st), 0);
  cr_assert_eq(st.st_mode & 0777, want, "umask %03o: mode %03o, want %03o",
               (unsigned)mask, (unsigned)(st.st_mode & 0777),
               (unsigned)want);
}

Test(file, mode_honours_umask)
{
  mode_under(022, 0644);
  mode_under(077, 0600);
  mode_under(002, 0664);
}

Test(file, dash_is_stdout)
{
  /* "-" means standard output: the stream is stdout and commit succeeds
  ** without creating a file named "-". */
  char err[MT_ERRMSG_MAX] = "";
  mt_afile *f;
  cr_assert_eq(mt_afile_open("-", &f, err, sizeof err), 0);
  cr_assert_eq(mt_afile_stream(f), stdout);
  cr_assert_eq(mt_afile_commit(f, err, sizeof err), 0);
  cr_assert_eq(access("-", F_OK), -1);
}
