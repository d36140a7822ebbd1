/*
** The virtual-trial report: one self-contained HTML5 file (inline style,
** inline SVG figures, no script, nothing fetched) rendered from the results
** of `medtwin trial run` (docs/trial-protocol.md, "Results"; the figures in
** docs/trial-report.md). A pure function of the results: the same results
** give the same bytes.
*/
#ifndef MEDTWIN_TRIAL_REPORT_H
#define MEDTWIN_TRIAL_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/*
** Write the report of results (borrowed for the call) to out. Required keys:
** protocol, cohort, arms, comparisons; the sections of the optional keys
** (subgroups, multiplicity, hypothetical, run, patients, examples,
** sample_size) are left out when they are absent. Every string of the
** results is HTML-escaped. The results are checked before anything is
** written. Returns 0; MT_EINVAL when results is not an object or a key is
** missing or of the wrong type, with one line naming the key's path in err
** ("results: arms[1].endpoints: expected an object"); MT_ENOMEM; MT_EIO when
** out reports an error (the output is then incomplete).
*/
int mt_trial_report_html(const json_t *results, FILE *out, char *err,
                         size_t errlen);

/*
** The report written to path atomically (include/medtwin/file.h): on any
** error nothing is left at path, an earlier file there is kept. "-" writes
** to standard output. Returns as mt_trial_report_html; MT_EIO also when the
** file cannot be created or committed, with the path and reason in err.
*/
int mt_trial_report_write(const json_t *results, const char *path, char *err,
                          size_t errlen);

#endif
