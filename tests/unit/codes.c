/*
** Observation codes and units (include/medtwin/codes.h): conversions with
** their published factors (glucose 18.016 mg/dL per mmol/L, the molar mass
** of glucose / 10; the avoirdupois pound 0.45359237 kg exactly, NIST SP 811),
** canonical codes, the HbA1c unit guard, impossible values refused and
** implausible ones flagged. Tolerance 1e-12 relative for the conversions.
*/
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "medtwin/codes.h"

static mt_norm_obs norm(const char *code, double v, const char *unit)
{
  mt_norm_obs o;
  const char *why = NULL;
  cr_assert_eq(mt_norm_quantity(code, v, unit, &o, &why), 1, "%s %g %s: %s",
               code, v, unit, why ? why : "");
  return o;
}

Test(codes, glucose_in_mmol_becomes_mg_per_dl_under_one_code)
{
  mt_norm_obs a = norm("105272-9", 5.5, "mmol/L");
  cr_assert_str_eq(a.code, "99504-3");
  cr_assert_str_eq(a.unit, "mg/dL");
  cr_assert(fabs(a.value - 5.5 * 18.016) <= 1e-12 * 99.088);
  mt_norm_obs b = norm("15074-8", 10, "mmol/L");
  cr_assert_str_eq(b.code, "2339-0");
  cr_assert(fabs(b.value - 180.16) <= 1e-12 * 180.16);
  mt_norm_obs c = norm("2339-0", 95, "mg/dL");
  cr_assert_eq(c.value, 95);
  cr_assert_eq(c.flagged, 0);
}

Test(codes, heart_rate_units_are_the_same)
{
  cr_assert_eq(norm("8867-4", 72, "/min").value, 72);
  cr_assert_eq(norm("8867-4", 72, "{beat}/min").value, 72);
  cr_assert_str_eq(norm("8867-4", 72, "{beat}/min").unit, "/min");
}

Test(codes, weight_in_pounds_and_grams)
{
  cr_assert(fabs(norm("29463-7", 150, "[lb_av]").value - 68.0388555) < 1e-9);
  cr_assert(fabs(norm("29463-7", 3500, "g").value - 3.5) < 1e-15);
}

Test(codes, spo2_codes_meet_and_extremes_are_flagged_not_refused)
{
  mt_norm_obs a = norm("2708-6", 72.25, "%");
  cr_assert_str_eq(a.code, "59408-5");
  cr_assert_eq(a.flagged, 1); /* possible, implausible: accepted, flagged */
  cr_assert_eq(norm("59408-5", 97, "%").flagged, 0);
}

Test(codes, impossible_values_and_wrong_units_are_refused)
{
  mt_norm_obs o;
  const char *why;
  cr_assert_eq(mt_norm_quantity("2339-0", -5, "mg/dL", &o, &why), -1);
  cr_assert_not_null(strstr(why, "impossible"));
  cr_assert_eq(mt_norm_quantity("59408-5", 101, "%", &o, &why), -1);
  cr_assert_eq(mt_norm_quantity("4548-4", 48, "mmol/mol", &o, &why), -1);
  cr_assert_not_null(strstr(why, "59261-8"));
  cr_assert_eq(mt_norm_quantity("8867-4", 70, "Hz", &o, &why), -1);
  cr_assert_eq(mt_norm_quantity("2339-0", 90, NULL, &o, &why), -1);
  cr_assert_eq(mt_norm_quantity("2339-0", NAN, "mg/dL", &o, &why), -1);
}

Test(codes, other_codes_are_not_the_twins)
{
  mt_norm_obs o;
  const char *why;
  cr_assert_eq(mt_norm_quantity("8310-5", 37, "Cel", &o, &why), 0);
  cr_assert_eq(mt_norm_is_bp_panel("85354-9"), 1);
  cr_assert_eq(mt_norm_is_bp_panel("55284-4"), 1);
  cr_assert_eq(mt_norm_is_bp_panel("8480-6"), 0);
}

/* Announced carbohydrate, a twin input: grams only, never negative. */
Test(codes, carbohydrate_intake_in_grams)
{
  mt_norm_obs o;
  const char *why;
  cr_assert_eq(norm("9059-7", 45, "g").value, 45);
  cr_assert_eq(mt_norm_quantity("9059-7", -1, "g", &o, &why), -1);
  cr_assert_eq(mt_norm_quantity("9059-7", 45, "kg", &o, &why), -1);
}

/* The cardiovascular twin's readings: MAP 8478-0 in mm[Hg], EF 10230-1 in %
** (a fraction 0-100: 0.35 written as "1" is another unit, refused), cardiac
** output 8741-1 in L/min; the plausible ranges are the stream kinds' of
** docs/stream.md (map 20-250 mmHg, ef 5-90 %, co 0.5-20 L/min). */
Test(codes, vital_signs_of_the_heart_twin)
{
  mt_norm_obs o;
  const char *why;
  mt_norm_obs m = norm("8478-0", 78, "mm[Hg]");
  cr_assert_str_eq(m.code, "8478-0");
  cr_assert_str_eq(m.unit, "mm[Hg]");
  cr_assert_eq(m.value, 78);
  cr_assert_eq(m.flagged, 0);
  cr_assert_eq(norm("8478-0", 15, "mm[Hg]").flagged, 1);
  cr_assert_eq(mt_norm_quantity("8478-0", 78, "mmHg", &o, &why), -1);
  cr_assert_not_null(strstr(why, "unit"));
  cr_assert_eq(mt_norm_quantity("8478-0", -1, "mm[Hg]", &o, &why), -1);
  cr_assert_eq(norm("10230-1", 35, "%").value, 35);
  cr_assert_eq(norm("10230-1", 3, "%").flagged, 1);
  cr_assert_eq(mt_norm_quantity("10230-1", 0.35, "1", &o, &why), -1);
  cr_assert_eq(mt_norm_quantity("10230-1", 101, "%", &o, &why), -1);
  cr_assert_eq(norm("8741-1", 4.2, "L/min").value, 4.2);
  cr_assert_eq(norm("8741-1", 25, "L/min").flagged, 1);
  cr_assert_eq(mt_norm_quantity("8741-1", 4.2, "mL/min", &o, &why), -1);
}
