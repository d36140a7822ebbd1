/* Atomic output files (temporary + rename) and whole-file reads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "medtwin/error.h"
#include "medtwin/file.h"

struct mt_afile {
  FILE *f;
  char *path, *tmp; /* tmp is NULL for standard output */
};

int mt_afile_open(const char *path, mt_afile **out, char *err, size_t errlen)
{
  *out = NULL;
  mt_afile *a = calloc(1, sizeof *a);
  if (!a)
    return MT_ENOMEM;
  if (strcmp(path, "-") == 0) {
    a->f = stdout;
    *out = a;
    return 0;
  }
  size_t n = strlen(path);
  a->path = strdup(path);
  a->tmp = malloc(n + 16);
  if (!a->path || !a->tmp) {
    mt_afile_abort(a);
    return MT_ENOMEM;
  }
  snprintf(a->tmp, n + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(a->tmp);
  if (fd >= 0) { /* mkstemp makes 0600; give the file the usual mode */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
  }
  if (fd < 0 || !(a->f = fdopen(fd, "w"))) {
    snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    free(a->tmp);
    a->tmp = NULL;
    mt_afile_abort(a);
    return MT_EIO;
  }
  *out = a;
  return 0;
}

FILE *mt_afile_stream(mt_afile *f) { return f->f; }

/* Flush and sync a file's content and close it; 0 or MT_EIO. */
static int finish(mt_afile *a, char *err, size_t errlen)
{
  int bad = fflush(a->f) != 0 || ferror(a->f);
  if (a->tmp) {
    bad = bad || fsync(fileno(a->f)) != 0;
    bad = fclose(a->f) != 0 || bad;
    a->f = NULL;
  }
  if (bad)
    snprintf(err, errlen, "%s: cannot write: %s",
             a->path ? a->path : "standard output", strerror(errno));
  return bad ? MT_EIO : 0;
}

/* A destination that rename() would refuse (a directory) fails early. */
static int check_dest(const mt_afile *a, char *err, size_t errlen)
{
  struct stat st;
  if (a->tmp && stat(a->path, &st) == 0 && S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "%s: cannot write: %s", a->path, strerror(EISDIR));
    return MT_EIO;
  }
  return 0;
}

int mt_afile_commit_all(mt_afile **f, int n, char *err, size_t errlen)
{
  int rc = 0, done = 0;
  for (int i = 0; i < n && !rc; i++)
    rc = finish(f[i], err, errlen);
  for (int i = 0; i < n && !rc; i++)
    rc = check_dest(f[i], err, errlen);
  for (; done < n && !rc; done++)
    if (f[done]->tmp && rename(f[done]->tmp, f[done]->path) != 0) {
      snprintf(err, errlen, "%s: cannot write: %s", f[done]->path,
               strerror(errno));
      rc = MT_EIO;
      break;
    }
  for (int i = 0; i < n; i++) {
    if (i < done && f[i]->tmp) { /* renamed: undo on failure, else keep */
      if (rc)
        unlink(f[i]->path);
      free(f[i]->tmp);
      f[i]->tmp = NULL;
    }
    mt_afile_abort(f[i]);
  }
  return rc;
}

int mt_afile_commit(mt_afile *a, char *err, size_t errlen)
{
  return mt_afile_commit_all(&a, 1, err, errlen);
}

void mt_afile_abort(mt_afile *a)
{
  if (!a)
    return;
  if (a->f && a->f != stdout)
    fclose(a->f);
  if (a->tmp)
    unlink(a->tmp);
  free(a->tmp);
  free(a->path);
  free(a);
}

int mt_file_read(const char *path, char **buf, size_t *len, char *err,
                 size_t errlen)
{
  *buf = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    return MT_EIO;
  }
  size_t cap = 4096, n = 0;
  char *b = malloc(cap);
  while (b) {
    n += fread(b + n, 1, cap - n - 1, f);
    if (n < cap - 1)
      break;
    char *nb = realloc(b, cap *= 2);
    if (!nb)
      free(b);
    b = nb;
  }
  int bad = b && ferror(f);
  fclose(f);
  if (!b)
    return MT_ENOMEM;
  if (bad) {
    free(b);
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    return MT_EIO;
  }
  b[n] = '\0';
  *buf = b;
  if (len)
    *len = n;
  return 0;
}
