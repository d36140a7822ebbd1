/*
** The live twin's state, shared by the twin (twin.c) and its snapshot
** image (snapshot.c). Not a public header: the layout may change with
** any release (the image format has its own version).
*/
#ifndef MT_TWIN_TWIN_IMPL_H
#define MT_TWIN_TWIN_IMPL_H

#include <stddef.h>

#include "medtwin/cgm_noise.h"
#include "medtwin/enkf.h"
#include "medtwin/error.h"
#include "medtwin/faults.h"
#include "medtwin/pf.h"
#include "medtwin/schedule.h"
#include "medtwin/sim.h"
#include "medtwin/twin.h"
#include "medtwin/twin_spec.h"

#define AHEAD_MAX 64  /* samples ahead kept: up to 320 min on the grid */

/* The ensemble after a reading, for re-assimilation from there when data
** arrive late: members' parameters, states and memory, time, count. */
struct snapshot {
  double t, *v;      /* t: -INFINITY for the start, before any reading */
  long n_reading;
};

/* An accepted datum in the observation log. */
struct entry {
  mt_datum d;
  mt_fault_kind fault; /* a reading's verdict: NONE = assimilated */
};

struct mt_twin {
  mt_twin_config cfg;
  const mt_model *m;
  int N, ns, np, nm, ne, n;  /* members, sizes, estimated, augmented */
  const mt_twin_spec *spec;  /* how the twin reads the model's data */
  int obs_ix[MT_SPEC_MAX];   /* the spec's readings: observable indices */
  int in_ix[MT_SPEC_MAX];    /* the spec's inputs: input indices */
  int alert_ix[MT_ALERT_NKIND]; /* the spec's alerts: observable indices */
  int primary;               /* the forecast observable */
  double offset[MT_SPEC_MAX]; /* relative readings: reading - members' mean
                             ** at the baseline, NAN before it */
  double t_base[MT_SPEC_MAX]; /* and the baseline reading's time */
  int cgm;                   /* the CGM-path observable, or -1 */
  int ins;                   /* the input a basal row drives, or -1 (the
                             ** what-if's basal factor) */
  int *est;                  /* ne parameter indices */
  double *P, *X, *MEM;       /* N x np, N x ns, N x nm (contiguous) */
  double *Z, *Y, *eps;       /* N x n, N, ns (state transform offsets) */
  const double **pp, **xp, **mp;
  const mt_schedule **sp;
  mt_series *out;            /* N series of one sample */
  mt_series *ahead;          /* N series of up to AHEAD_MAX samples */
  int ahead_ok, ahead_nt, want_nt; /* the course ahead: valid, its length,
                             ** the length to run (longest asked) */
  mt_schedule **sch;         /* N: each member's inputs */
  int *mark;                 /* N: event counts before a what-if */

  mt_sim *sim;
  mt_enkf *kf;
  mt_pf *pf;                 /* with cfg.method MT_TWIN_PF */
  double ess, ess_sum;       /* last and summed effective sample size */
  long n_analysis;           /* analyses made (re-assimilations included) */
  double r;                  /* CGM observation variance, (mg/dL)^2 */
  double sensor_sd;          /* CGM sensor noise SD, mg/dL */
  mt_cgm_sensor sensor;      /* its error model, for forecast readings */
  double e_sd;               /* SD of the sensor's stationary latent noise */
  double t_now;
  long n_reading;
  struct entry *log;         /* accepted data by time (arrival order at
                             ** equal times) */
  mt_fault_detector fd;
  mt_fault_kind fault_ep;    /* the fault episode under way, or NONE */
  long n_log, cap_log;
  mt_twin_quarantined *quar; /* data refused, with the reasons */
  long n_quar, cap_quar;
  struct snapshot *snap;     /* the ensemble after recent readings */
  int n_snap, cap_snap;
  mt_alert_episode episode[MT_ALERT_NKIND]; /* by the spec's alerts */
  int n_alert;
  mt_twin_alert alert[MT_ALERT_NKIND];
  char err[MT_ERRMSG_MAX];
};

/* The reasons of the quarantine log besides mt_datum_check's (static
** strings: the log holds these pointers). */
extern const char mt_twin_reason_late[];
extern const char mt_twin_reason_duplicate[];
extern const char mt_twin_reason_unused[];
extern const char *const mt_twin_reason_fault[MT_FAULT_NKIND];

/* Doubles in one ensemble copy: P, X and MEM of every member. */
static inline size_t mt_twin_member_doubles(const mt_twin *tw)
{
  return (size_t)tw->N * (size_t)(tw->np + tw->ns + tw->nm);
}

#endif
