/*
** Replays fuzz inputs without libFuzzer: calls LLVMFuzzerTestOneInput once
** on every regular file of each directory given (not recursive; names
** starting with '.' skipped). A directory that does not exist is skipped, so
** an empty regress/ need not be kept in git. A crash or a sanitizer report
** fails the run; otherwise exits 0 and prints how many inputs it replayed.
** Exits 2 when no input was found at all.
*/
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int read_file(const char *path, uint8_t **buf, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  size_t cap = 4096, n = 0;
  uint8_t *b = malloc(cap);
  while (b) {
    n += fread(b + n, 1, cap - n, f);
    if (n < cap)
      break;
    uint8_t *nb = realloc(b, cap * 2);
    if (!nb) {
      free(b);
      b = NULL;
      break;
    }
    b = nb;
    cap *= 2;
  }
  int bad = !b || ferror(f);
  fclose(f);
  if (bad) {
    free(b);
    return -1;
  }
  *buf = b;
  *len = n;
  return 0;
}

static int replay_dir(const char *dir, long *count)
{
  DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? 0 : -1;
  struct dirent *de;
  int rc = 0;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    uint8_t *buf;
    size_t len;
    if (read_file(path, &buf, &len) != 0) {
      fprintf(stderr, "replay: cannot read %s\n", path);
      rc = -1;
      continue;
    }
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    (*count)++;
  }
  closedir(d);
  return rc;
}

int main(int argc, char **argv)
{
  long count = 0;
  int rc = 0;
  for (int i = 1; i < argc; i++)
    if (replay_dir(argv[i], &count) != 0) {
      fprintf(stderr, "replay: cannot read directory %s\n", argv[i]);
      rc = 1;
    }
  printf("replayed %ld inputs\n", count);
  return rc ? rc : count ? 0 : 2;
}
