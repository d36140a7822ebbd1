/*
** Atomic output files: written to a temporary file in the same directory and
** renamed into place on commit, so a reader never sees half a file and a
** failed command leaves nothing behind.
*/
#ifndef MEDTWIN_FILE_H
#define MEDTWIN_FILE_H

#include <stddef.h>
#include <stdio.h>

typedef struct mt_afile mt_afile;

/* Open path for atomic writing; "-" means standard output (not atomic).
** Returns 0 or MT_EIO with a message in err. */
int mt_afile_open(const char *path, mt_afile **out, char *err, size_t errlen);
FILE *mt_afile_stream(mt_afile *f);
/* Flush, fsync and rename into place; frees f. 0 or MT_EIO. */
int mt_afile_commit(mt_afile *f, char *err, size_t errlen);
/*
** Commit n files together: every one is completed and checked before any is
** renamed into place; if a rename still fails, the files already renamed by
** this call are removed again, so either all n appear or none does. Frees
** every f. 0 or MT_EIO with a message naming the path.
*/
int mt_afile_commit_all(mt_afile **f, int n, char *err, size_t errlen);
/* Remove the temporary file; frees f. NULL-safe. */
void mt_afile_abort(mt_afile *f);

/* Read a whole file into a NUL-terminated malloc'd buffer. 0 or MT_EIO
** (message with the path and the system's reason) or MT_ENOMEM. */
int mt_file_read(const char *path, char **buf, size_t *len, char *err,
                 size_t errlen);

#endif
