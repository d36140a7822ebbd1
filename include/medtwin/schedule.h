/*
** Schedules: time-ordered input events compiled to piecewise-constant inputs.
** Each input is level x product(active scales) + sum(active pulses). The
** integrator restarts at every segment boundary, and only there.
*/
#ifndef MEDTWIN_SCHEDULE_H
#define MEDTWIN_SCHEDULE_H

typedef struct mt_schedule mt_schedule;

/* Split a pulse into segments of one model time unit from its start, so that
** models that count what was delivered "so far" (on_input) see each bite. */
#define MT_PULSE_BITES 0x1u

int mt_schedule_create(int n_input, mt_schedule **out);
void mt_schedule_free(mt_schedule *s);
int mt_schedule_n_input(const mt_schedule *s);
/* Events are kept in the order they were added: their count, and dropping
** every event after the first n (to try inputs and take them back). */
int mt_schedule_count(const mt_schedule *s);
int mt_schedule_truncate(mt_schedule *s, int n);

/*
** The events one by one, for saving a schedule and rebuilding it exactly:
** mt_schedule_event_at copies event i (0 <= i < count, in the order they
** were added) into *e; mt_schedule_add appends e as it is (a level has
** t1 == t0; flags other than 0 only on pulses, and only MT_PULSE_*). Both
** return 0 or MT_EINVAL (an index out of range; an unknown kind or flag; an
** input, time or value that the adding functions below would refuse), or
** MT_ENOMEM.
*/
typedef enum mt_schedule_kind {
  MT_SCHEDULE_LEVEL = 0, /* mt_schedule_level */
  MT_SCHEDULE_SCALE,     /* mt_schedule_scale */
  MT_SCHEDULE_PULSE      /* mt_schedule_pulse */
} mt_schedule_kind;

typedef struct mt_schedule_event {
  mt_schedule_kind kind;
  int k;                /* the input */
  double t0, t1, value; /* [t0, t1) (t0 for a level); level, factor, rate */
  unsigned flags;       /* MT_PULSE_* */
} mt_schedule_event;

int mt_schedule_event_at(const mt_schedule *s, int i, mt_schedule_event *e);
int mt_schedule_add(mt_schedule *s, const mt_schedule_event *e);

/* Input k takes `value` from t on, until its next level change. Before the
** first level change an input sits at its basal value (see compile). */
int mt_schedule_level(mt_schedule *s, int k, double t, double value);
/* Multiply the level of input k by `factor` over [t0, t1). */
int mt_schedule_scale(mt_schedule *s, int k, double t0, double t1,
                      double factor);
/* Add `value` to input k over [t0, t1); flags are MT_PULSE_*. */
int mt_schedule_pulse(mt_schedule *s, int k, double t0, double t1,
                      double value, unsigned flags);

/* The inputs in effect just before t (at the largest double below it): what
** a run continued from t was driven by until then. */
void mt_schedule_inputs_before(const mt_schedule *s, const double *u_basal,
                               double t, double *u);

/* Piecewise-constant inputs: segment i is [t[i], t[i+1]) with inputs
** u[i*n_input ...]. t has n+1 entries; t[n] is the end of the run, and
** u's row n holds the inputs the schedule gives from t[n] on. */
typedef struct mt_segments {
  int n, n_input;
  double *t, *u;
} mt_segments;

/*
** Compile the schedule over [t0, t_end) given each input's basal value.
** Consecutive segments with equal inputs merge, except at bite boundaries.
** Returns 0, MT_EINVAL (t_end <= t0) or MT_ENOMEM; on error *out is empty.
*/
int mt_schedule_compile(const mt_schedule *s, const double *u_basal,
                        double t0, double t_end, mt_segments *out);
void mt_segments_clear(mt_segments *sg);

#endif
