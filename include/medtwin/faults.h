/*
** Online CGM sensor-fault detection: a causal check the live twin runs on
** each reading before assimilating it, after Facchinetti et al. (IEEE Trans
** Biomed Eng 60(2):406, 2013: a reading outside the model's prediction
** interval is a failure) and Baysal et al. (J Diabetes Sci Technol
** 8(6):1091, 2014: pressure-induced sensor attenuations found overnight,
** in real time, from the CGM signal). Rules, thresholds, their sources and
** the measured detection delays and false-positive rates: docs/faults.md.
**
** The detector is a value type: no allocation, copyable (a copy is a
** snapshot: it judges the rest of a stream as the original would). Fields
** are public for saving and inspection; treat them as read-only.
**
** Each reading gets one verdict, final when returned. "Accepted" readings
** are those judged MT_FAULT_NONE; rates compare a reading with the last
** accepted one, at most gap_min before it.
**  - MT_FAULT_FLAT: the value has stayed within flat_mgdl of a run's first
**    value for flat_min or longer (a stuck sensor): every reading of the run
**    from then on. Runs at the sensor's clip bounds (sensor_lo/hi_mgdl) are
**    saturated readings, not stuck ones, and are never flat.
**  - MT_FAULT_JUMP: the reading moved faster than jump_rate and is
**    unexplained: more than k_sd forecast SDs from the forecast or, without
**    one, more than jump_rate (times the interval) from the recent trend.
**    The readings after it stay JUMP until one is within k_sd SDs of the
**    forecast, or back within jump_return_frac of the jump from the level
**    before it (extrapolated along the trend for up to trend_min), or
**    jump_settle_min has passed since the jump (the new level is then taken
**    as genuine).
**  - MT_FAULT_COMPRESSION: at night (clock time in [night_start_min,
**    night_end_min)), a sudden drop to a low value, flagged from the reading
**    at which it is recognised: readings falling faster than comp_rate since
**    a drop that began at night, no more than comp_confirm_min ago, from a
**    trend not falling faster than comp_pre_rate, on course to reach
**    comp_low_mgdl by then, to a new low below every accepted reading of the
**    comp_window_min before the drop; with a forecast, comp_k_sd SDs below
**    it; from the readings alone, after two such intervals in a row (or one
**    faster than jump_rate). The episode is confirmed once a reading is
**    comp_depth_mgdl below that window's lowest reading and at or below
**    comp_low_mgdl, within comp_confirm_min of the drop's start; until then
**    it ends at the first reading that does not keep falling faster than
**    comp_rate. It ends when a reading is back comp_recover_frac of the way
**    from the episode's lowest reading to the window's lowest, or within
**    comp_k_sd SDs of the forecast, or at the latest comp_max_min after its
**    first flagged reading.
**  - MT_FAULT_NONE: assimilate it.
** MT_FAULT_GAP is never a reading's verdict: mt_fault_gap() says whether
** the stream is in a gap. After a gap, a flat line's end, a jump's settling
** or a compression's timeout the trend starts afresh from the next
** accepted reading (a compression needs comp_window_min of accepted
** readings before it again).
*/
#ifndef MEDTWIN_FAULTS_H
#define MEDTWIN_FAULTS_H

typedef enum mt_fault_kind {
  MT_FAULT_NONE = 0,    /* plausible: assimilate it */
  MT_FAULT_FLAT,        /* stuck sensor: the value repeats */
  MT_FAULT_JUMP,        /* implausible step (spike, dropout, offset) */
  MT_FAULT_COMPRESSION, /* pressure-induced low at night */
  MT_FAULT_GAP,         /* no reading for more than gap_min */
  MT_FAULT_NKIND
} mt_fault_kind;

/* "none", "flat", "jump", "compression", "gap"; NULL for an invalid kind. */
const char *mt_fault_name(mt_fault_kind k);

/* Thresholds, with their defaults (mt_fault_config_init). Rates are
** mg/dL/min, levels mg/dL, times min. Rationale: docs/faults.md. */
typedef struct mt_fault_config {
  double flat_mgdl;      /* a run: readings within this of its first (0.1) */
  double flat_min;       /* a run this long is a flat line (30) */
  double sensor_lo_mgdl; /* the sensor's clip bounds: runs at them are */
  double sensor_hi_mgdl; /* saturated, not stuck (39, 600: GuardianRT) */
  double jump_rate;      /* physiological bound on |rate| (5) */
  double k_sd;           /* forecast band of jumps and their end, SDs (2) */
  double jump_return_frac; /* a jump has ended when back within this
                         ** fraction of its size of the level (0.5) */
  double jump_settle_min; /* a jump's new level is accepted after (30) */
  double trend_min;      /* the trend: least squares over the accepted
                         ** readings this far back from the last one (15) */
  double night_start_min, night_end_min; /* clock, min after midnight
                         ** (1320 = 22:00, 420 = 07:00) */
  double comp_rate;      /* a compression falls faster than this (2) */
  double comp_pre_rate;  /* ... from a trend not falling faster (1) */
  double comp_k_sd;      /* ... this many forecast SDs below it (1.5) */
  double comp_window_min; /* ... to below every reading this long before (30) */
  double comp_confirm_min; /* ... is confirmed within this of its start (20) */
  double comp_depth_mgdl; /* ... this far below the window's lowest (30) */
  double comp_low_mgdl;  /* ... and at or below this (80) */
  double comp_recover_frac; /* over when back this fraction of the way from
                         ** its lowest reading to the window's lowest (0.5) */
  double comp_max_min;   /* over at the latest this long after its first
                         ** flagged reading (120) */
  double gap_min;        /* no reading for longer than this is a gap (15) */
} mt_fault_config;

#define MT_FAULT_HIST 64 /* accepted readings kept (75 min at 5 min) */

typedef struct mt_fault_detector {
  mt_fault_config cfg;
  int n_read;             /* readings judged */
  double t_last;          /* time of the last reading judged, min */
  /* accepted readings since the trend last restarted, oldest first */
  int n_hist;
  double hist_t[MT_FAULT_HIST], hist_v[MT_FAULT_HIST];
  /* the current run of repeated values */
  double run_v, run_t0;
  int run_flat;           /* 1 while the run is flagged */
  /* the open episode: MT_FAULT_NONE, _JUMP or _COMPRESSION */
  mt_fault_kind ep;
  double ep_start;        /* time of its first reading */
  double ref_v, ref_t, ref_s; /* the level before it (an accepted reading),
                          ** its time and the trend then (mg/dL/min) */
  double jump_mgdl;       /* a jump's size from the level, signed */
  double prev_v, prev_t;  /* the episode's latest reading */
  double floor_v;         /* a compression's window's lowest reading */
  double low_v;           /* ... and its own lowest */
  int confirmed;          /* a compression reached its depth and low */
} mt_fault_detector;

void mt_fault_config_init(mt_fault_config *cfg);

/*
** Start a detector with cfg (copied; NULL for the defaults). Returns 0, or
** MT_EINVAL (NULL d; a threshold non-finite or out of range: lengths,
** rates and SD multiples positive, the fractions in (0, 1), clock times in
** [0, 1440), sensor_lo_mgdl < sensor_hi_mgdl); then *d is zeroed.
*/
int mt_fault_init(mt_fault_detector *d, const mt_fault_config *cfg);

/*
** Judge the reading mgdl (mg/dL) taken at t_min (minutes from the stream's
** start); called once per reading in time order. predicted_mgdl and
** predicted_sd are the forecast of this reading made before it arrived
** (sensor noise included); NAN, or an SD not above 0, for none: the rules
** then use the readings alone. clock_offset_min is the clock time at
** t = 0, minutes after midnight (NAN is taken as 0). Returns the fault the
** reading belongs to, MT_FAULT_NONE to assimilate it. A reading with a
** non-finite time or value, or not after the previous one, is not judged:
** MT_FAULT_NONE, and the detector is unchanged (late and implausible data
** are for the twin's quarantine).
*/
mt_fault_kind mt_fault_check(mt_fault_detector *d, double t_min, double mgdl,
                             double predicted_mgdl, double predicted_sd,
                             double clock_offset_min);

/* 1 when no reading has come for more than gap_min before t_min (the twin
** flags the gap and keeps forecasting), else 0; 0 before the first one. */
int mt_fault_gap(const mt_fault_detector *d, double t_min);

#endif
