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

int mt_afile_commit(mt_afile *a, char *err, size_t errlen)
{
  int bad = fflush(a->f) != 0 || ferror(a->f);
  if (!a->tmp) {
    free(a);
    if (bad)
      snprintf(err, errlen, "standard output: write failed");
    return bad ? MT_EIO : 0;
  }
  bad = bad || fsync(fileno(a->f)) != 0;
  bad = fclose(a->f) != 0 || bad;
  a->f = NULL;
  if (bad || rename(a->tmp, a->path) != 0) {
    snprintf(err, errlen, "%s: cannot write: %s", a->path, strerror(errno));
    mt_afile_abort(a);
    return MT_EIO;
  }
  free(a->tmp);
  a->tmp = NULL;
  mt_afile_abort(a);
  return 0;
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
