/*
** Observation codes and units the twins use (LOINC, UCUM), normalised on
** the way in. A FHIR Observation with one of these codes becomes one or
** more rows of canonical code, unit and value; any other code is stored
** verbatim and never fed to a twin.
**
**   code                 canonical       accepted units -> canonical
**   99504-3 CGM glucose  99504-3 mg/dL   mg/dL; mmol/L x 18.016
**   105272-9 CGM (mmol)  99504-3 mg/dL   mmol/L x 18.016; mg/dL
**   2339-0 blood glucose 2339-0 mg/dL    mg/dL; mmol/L x 18.016
**   15074-8 (mmol/L)     2339-0 mg/dL    mmol/L x 18.016; mg/dL
**   8867-4 heart rate    8867-4 /min     /min, {beat}/min, {beats}/min
**   85354-9, 55284-4     8480-6 and 8462-4 mm[Hg], from the components
**     blood pressure     (systolic, diastolic) in either order
**   8480-6, 8462-4       themselves, mm[Hg]
**   8478-0 mean arterial 8478-0 mm[Hg]   mm[Hg]
**     pressure
**   10230-1 LV ejection  10230-1 %       % (a fraction of 0-100 %)
**     fraction
**   8741-1 cardiac       8741-1 L/min    L/min
**     output
**   2708-6, 59408-5 SpO2 59408-5 %        %
**   4548-4 HbA1c (NGSP)  4548-4 %         % only: mmol/mol (IFCC) is code
**                                         59261-8, never converted silently
**   29463-7 body weight  29463-7 kg       kg; g / 1000; [lb_av] x 0.45359237
**   9059-7 carbohydrate  9059-7 g         g (announced carbs: a twin input)
**     intake estimated
**
** mmol/L to mg/dL: 18.016, glucose's molar mass / 10 (docs/import.md).
** Physically impossible values (a negative concentration, rate or mass,
** SpO2 or HbA1c above 100 %) are refused; possible but implausible ones
** (SpO2 below 80 %, heart rate above 250 /min, glucose above 1000 mg/dL,
** MAP outside 20-250 mmHg, EF outside 5-90 %, cardiac output outside
** 0.5-20 L/min: the twin's ranges of docs/stream.md) are accepted and
** flagged.
*/
#ifndef MEDTWIN_CODES_H
#define MEDTWIN_CODES_H

typedef struct mt_norm_obs {
  const char *code, *unit; /* canonical (static strings) */
  double value;
  int flagged;             /* possible but implausible */
} mt_norm_obs;

/*
** Normalise a LOINC code with a value and a UCUM unit (codes and units as
** they came; NULL unit is an error for coded quantities). Returns 1 and
** *out for a twin code, 0 for a code the twins do not use (store it
** verbatim), or -1 with *why naming the problem (unit not accepted for the
** code, impossible value).
*/
int mt_norm_quantity(const char *code, double value, const char *unit,
                     mt_norm_obs *out, const char **why);

/* Whether code is a blood-pressure panel (its values are components). */
int mt_norm_is_bp_panel(const char *code);

#endif
