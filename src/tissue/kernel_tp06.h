/* Internal: the voltage table of the ten Tusscher-Panfilov 2006 kernel
** (kernel_tp06.c), shared with its test. */
#ifndef MT_TISSUE_KERNEL_TP06_H
#define MT_TISSUE_KERNEL_TP06_H

#define TAB_VMIN (-150.0) /* mV, first row */
#define TAB_DV 0.05       /* mV between rows; -40 mV (h, j) is a row */
#define TAB_N 5001        /* rows: up to +100 mV */
#define TAB_NG 11         /* gates m .. f2 (fCass depends on Ca_ss) */
enum {
  TAB_A = 0,             /* a = x_inf (1 - e), per gate */
  TAB_E = TAB_NG,        /* e = exp(-dt / tau), per gate */
  TAB_NAK = 2 * TAB_NG,  /* I_NaK / (Na_i / (Na_i + K_mNa)) */
  TAB_NACA1, TAB_NACA2,  /* I_NaCa = NACA1 Na_i^3 - NACA2 Ca_i */
  TAB_PK,                /* I_pK / (V - E_K) */
  TAB_CAL1, TAB_CAL2,    /* I_CaL = d f f2 fCass (CAL1 Ca_ss - CAL2) */
  TAB_NF
};

/* Row of the table at V (mV) for parameters p and step dt (ms): TAB_NF
** values, computed with libm from the model's formulas. */
void mt_tp06_tab_row(const double *p, double dt, double V, double *row);

#endif
