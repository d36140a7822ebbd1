/* Tests' scratch directories: remove one and everything under it. */
#ifndef MT_TEST_RM_TREE_H
#define MT_TEST_RM_TREE_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static inline void rm_tree(const char *d)
{
  DIR *h = opendir(d);
  if (!h)
    return;
  struct dirent *e;
  char p[512];
  while ((e = readdir(h))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    snprintf(p, sizeof p, "%.250s/%.255s", d, e->d_name);
    if (unlink(p) != 0)
      rm_tree(p);
  }
  closedir(h);
  rmdir(d);
}

#endif
