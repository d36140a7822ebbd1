/* Internal to the medtwin command: subcommands and shared helpers. */
#ifndef MT_CLI_H
#define MT_CLI_H

#include <stdio.h>

#include "medtwin/twin.h"

/* Exit statuses of every medtwin command. */
enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

int cmd_models(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
/* A run as CSV (`medtwin simulate --csv`): t_<time unit>, every observable,
** input and state a column, then medtwin_version, model, patient and the
** parameter hash on every row. */
struct mt_model;
struct mt_series;
struct mt_patient;
void cli_series_csv(FILE *f, const struct mt_model *m,
                    const struct mt_series *s, const struct mt_patient *pt);
/* A run's CSV (csv NULL for none) and its plot (svg NULL for none; drawn
** by plot(f, ctx), 0 or an MT_E* code) written all or nothing: each to a
** temporary, then both renamed. An exit status (1 with one line on
** failure, no file left). */
int cli_write_run(const char *csv, const char *svg, const struct mt_model *m,
                  const struct mt_series *s, const struct mt_patient *pt,
                  int (*plot)(FILE *f, const void *ctx), const void *ctx);
/* medtwin simulate for a beat-resolved heart model (simulate_beats.c):
** patient NULL for the model's first; csv and svg NULL for none (both are
** written all or nothing); scenario names the scenario file in the plot,
** NULL for none; sch NULL for no inputs (drug doses, in s); baroreflex 1 or
** 0 sets the model's parameter baro_on, -1 leaves the condition's. An exit
** status. */
struct mt_sim_config;
struct mt_model;
struct mt_schedule;
int cli_simulate_beats(const struct mt_model *m, const char *patient,
                       const char *csv, const char *svg,
                       const char *scenario, double t_end_s, int json,
                       const struct mt_sim_config *cfg,
                       const struct mt_schedule *sch, int baroreflex);
/* medtwin simulate for a beat-averaged heart model (simulate_beatavg.c):
** days (> 0) or the scenario's duration or 1 day; the scenario's doses
** given per minute; patient NULL for the model's first; csv and svg NULL
** for none (both written all or nothing). An exit status. */
int cli_simulate_averaged(const struct mt_model *m, const char *patient,
                          const char *scenario, const char *csv,
                          const char *svg, double days, int json,
                          const struct mt_sim_config *cfg);
int cmd_twin(int argc, char **argv);
/* medtwin tissue run (tissue.c) */
int cmd_tissue(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_careteam(int argc, char **argv);
int cmd_research(int argc, char **argv);
int cmd_twin_evaluate(int argc, char **argv);
int cmd_twin_cv_evaluate(int argc, char **argv);
int cmd_twin_import(int argc, char **argv);
int cmd_twin_whatif(int argc, char **argv);
int cmd_twin_advisor_evaluate(int argc, char **argv);

/* The vertical axis of a twin's plot: the reading's name, the axis label,
** the range shown at least, the largest value shown at most, the tick step
** and the shaded target band. */
typedef struct twin_svg_axis {
  const char *name, *label;
  double lo, hi, cap, tick, band_lo, band_hi;
} twin_svg_axis;
extern const twin_svg_axis twin_svg_glucose, twin_svg_map;

/* The live twin's run as SVG (src/cli/twin_svg.c): readings rt/rv, each
** reading's forecast at its first horizon, the alerts, on axis ax. 0 or
** -1. */
int twin_svg_write(FILE *f, const twin_svg_axis *ax, const double *rt,
                   const double *rv, int nr, const mt_twin_forecast *fc,
                   int nf, const mt_twin_alert *al, int na);

/*
** Options of a subcommand: --help prints usage_text and exits 0; --json sets
** *json; every other argument must be `--name value`, given to opt(ctx,
** name, value), whose non-zero status stops the parse. 0 or that status
** (EXIT_USAGE with a message naming cmd for a stray or valueless argument).
*/
int cli_parse(int argc, char **argv, const char *cmd, const char *usage_text,
              int *json, int (*opt)(void *ctx, const char *a, const char *v),
              void *ctx);

/* The shipped cohort's age groups, and a patient's (by its name's prefix;
** -1 for none). */
#define CLI_NGROUP 3
extern const char *const cli_group_name[CLI_NGROUP];
int cli_group_of(const char *name);

/* Options of the cohort evaluations: --cohort, --days (1..max_days),
** --seed, and --isf-drift when drift is not NULL. */
typedef struct cli_cohort_opts {
  const char *cmd, *cohort;
  long days, seed, max_days;
  double *drift;
  int json;
} cli_cohort_opts;
int cli_parse_cohort(int argc, char **argv, const char *usage_text,
                     cli_cohort_opts *o);

/*
** Shipped patient i of the model when it belongs to o's cohort: its
** generated days (o->days, o->seed, isf_drift) into *rp and its group into
** *group. 1 when the patient is not in the cohort (nothing generated), 0,
** or an MT_E code with one line in err.
*/
struct mt_replay;
int cli_cohort_replay(const cli_cohort_opts *o, int i, double isf_drift,
                      struct mt_replay **rp, int *group, char *err,
                      size_t errlen);

/*
** Encryption at rest (src/cli/keys.c). Every command that opens a store
** takes --key-store DIR and --master-key-file FILE (cli_parse hands them to
** cli_key_opt); without them the environment (MEDTWIN_KEY_STORE,
** MEDTWIN_MASTER_KEY_FILE, MEDTWIN_MASTER_KEY) and DATA.keys.
*/
typedef struct cli_key_opts {
  const char *key_store, *master_file;
  int plaintext; /* serve --plaintext: no encryption at rest */
} cli_key_opts;
extern cli_key_opts cli_keys;
/* 1 when a is a key option (taken), else 0. */
int cli_key_opt(const char *a, const char *v);
struct mt_vault;
struct mt_store;
struct mt_store_erased;
/* The key store of data when a master key is given (NULL without one,
** unless need_keys: then refused unless --plaintext). EXIT_* status. */
int cli_vault_open(const char *cmd, const char *data, int need_keys,
                   struct mt_vault **v);
/* The store of data with its key store (held until cli_store_close, which
** closes both; cli_store_vault gives it, NULL when not encrypted). */
int cli_store_open(const char *cmd, const char *data, int need_keys,
                   struct mt_store **st);
void cli_store_close(struct mt_store *st);
struct mt_vault *cli_store_vault(void);
void cli_print_erased(const char *id, const struct mt_store_erased *e,
                      int json);
int cmd_keys(int argc, char **argv);
int cmd_patient(int argc, char **argv);
int cmd_trial(int argc, char **argv);
/* medtwin whatif: rank drug regimens (src/cli/whatif_regimens.c). */
int cmd_whatif(int argc, char **argv);
/* medtwin trial report RESULTS.json --out FILE (src/cli/trial_report_cmd.c);
** argv[0] is "report". */
int cmd_trial_report(int argc, char **argv);

/* Print "medtwin: <message>" on stderr; returns status for chaining. */
int cli_fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
