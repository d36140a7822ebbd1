/*
** Schedules compiled to piecewise-constant inputs (include/medtwin/schedule.h):
** each input is level x product(active scales) + sum(active pulses), with a
** segment boundary wherever that value changes, plus every whole time unit
** inside a pulse delivered in bites. Expected values below are worked out by
** hand from that rule; every number used is exactly representable, so the
** comparisons are exact.
*/
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "medtwin/error.h"
#include "medtwin/schedule.h"

static mt_schedule *new_schedule(int n_input)
{
  mt_schedule *s = NULL;
  cr_assert_eq(mt_schedule_create(n_input, &s), 0);
  cr_assert_not_null(s);
  return s;
}

/* Compile s over [t0, t_end) and check the boundaries t[0..n] and input k's
** value on each segment against the expected arrays (n segments). */
static void expect(const mt_schedule *s, const double *basal, double t0,
                   double t_end, int k, int n, const double *t,
                   const double *u)
{
  mt_segments sg;
  cr_assert_eq(mt_schedule_compile(s, basal, t0, t_end, &sg), 0);
  cr_assert_eq(sg.n, n, "expected %d segments, got %d", n, sg.n);
  cr_assert_eq(sg.n_input, mt_schedule_n_input(s));
  for (int i = 0; i <= n; i++)
    cr_assert_eq(sg.t[i], t[i], "boundary %d: expected %g, got %g", i, t[i],
                 sg.t[i]);
  for (int i = 0; i < n; i++)
    cr_assert_eq(sg.u[i * sg.n_input + k], u[i],
                 "segment %d input %d: expected %g, got %g", i, k, u[i],
                 sg.u[i * sg.n_input + k]);
  mt_segments_clear(&sg);
}

Test(schedule, create_and_n_input)
{
  mt_schedule *s = NULL;
  /* A negative input count is rejected and leaves *out NULL (handle rule). */
  cr_assert_eq(mt_schedule_create(-1, &s), MT_EINVAL);
  cr_assert_null(s);
  s = new_schedule(3);
  cr_assert_eq(mt_schedule_n_input(s), 3);
  mt_schedule_free(s);
  mt_schedule_free(NULL); /* NULL-safe by the handle convention */
}

Test(schedule, levels_hold_until_the_next)
{
  /* Basal 1 until the first level at 10 (5), which holds until 20 (7),
  ** which holds to the end of the run. */
  mt_schedule *s = new_schedule(1);
  cr_assert_eq(mt_schedule_level(s, 0, 20, 7.0), 0);
  cr_assert_eq(mt_schedule_level(s, 0, 10, 5.0), 0); /* order of calls free */
  const double basal[1] = {1.0};
  const double t[] = {0, 10, 20, 30}, u[] = {1.0, 5.0, 7.0};
  expect(s, basal, 0, 30, 0, 3, t, u);
  mt_schedule_free(s);
}

Test(schedule, basal_before_first_level_per_input)
{
  /* Two inputs with different basals; only input 1 changes (at 10), so input
  ** 0 stays at its own basal on both segments. */
  mt_schedule *s = new_schedule(2);
  cr_assert_eq(mt_schedule_level(s, 1, 10, 0.25), 0);
  const double basal[2] = {3.0, 0.5};
  const double t[] = {0, 10, 60};
  const double u0[] = {3.0, 3.0}, u1[] = {0.5, 0.25};
  expect(s, basal, 0, 60, 0, 2, t, u0);
  expect(s, basal, 0, 60, 1, 2, t, u1);
  mt_schedule_free(s);
}

Test(schedule, same_time_levels_last_call_wins)
{
  /* schedule.c level_at: "file order breaks ties: the last one wins". */
  mt_schedule *s = new_schedule(1);
  cr_assert_eq(mt_schedule_level(s, 0, 10, 2.0), 0);
  cr_assert_eq(mt_schedule_level(s, 0, 10, 4.0), 0);
  const double basal[1] = {1.0};
  const double t[] = {0, 10, 20}, u[] = {1.0, 4.0};
  expect(s, basal, 0, 20, 0, 2, t, u);
  mt_schedule_free(s);
}

Test(schedule, scale_multiplies_level_in_force)
{
  /* Basal 2, scale x0.5 over [10, 20), a level change to 4 at 15 inside the
  ** window: [0,10) 2, [10,15) 2*0.5 = 1, [15,20) 4*0.5 = 2, [20,30) 4. */
  mt_schedule *s = new_schedule(1);
  cr_assert_eq(mt_schedule_scale(s, 0, 10, 20, 0.5), 0);
  cr_assert_eq(mt_schedule_level(s, 0, 15, 4.0), 0);
  const double basal[1] = {2.0};
  const double t[] = {0, 10, 15, 20, 30}, u[] = {2.0, 1.0, 2.0, 4.0};
  expect(s, basal, 0, 30, 0, 4, t, u);
  mt_schedule_free(s);
}

Test(schedule, overlapping_scales_multiply)
{
  /* Product of active scales: x0.5 on [10, 30), x4 on [20, 40); basal 2:
  ** [0,10) 2, [10,20) 1, [20,30) 2*0.5*4 = 4, [30,40) 8, [40,50) 2. */
  mt_schedule *s = new_schedule(1);
  cr_assert_eq(mt_schedule_scale(s, 0, 10, 30, 0.5), 0);
  cr_assert_eq(mt_schedule_scale(s, 0, 20, 40, 4.0), 0);
  const double basal[1] = {2.0};
  const double t[] = {0, 10, 20, 30, 40, 50}, u[] = {2, 1, 4, 8, 2};
  expect(s, basal, 0, 50, 0, 5, t, u);
  mt_schedule_free(s);
}

Test(schedule, pulses_add_and_overlapping_pulses_sum)
{
  /* Basal 1; pulse +3 on [5, 10) and +2 on [8, 12): [0,5) 1, [5,8) 4,
  ** [8,10) 1+3+2 = 6, [10,12) 3, [12,20) 1. */
  mt_schedule *s = new_schedule(1);
  cr_assert_eq(mt_schedule_pulse(s, 0, 5, 10, 3.0, 0), 0);
  cr_assert_eq(mt_schedule_pulse(s, 0, 8, 12, 2.0, 0), 0);
  const double basal[1] = {1.0};
  const double t[] = {0, 5, 8, 10, 12, 20}, u[] = {1, 4, 6, 3, 1};
  expect(s, basal, 0, 20, 0, 5, t, u);
  mt_schedule_free(s);
}

Test(schedule, scale_applies_to_level_not_pulse)
{
  /* level x scales + pulses: 2 x 0.5 + 3 = 4 (not (2 + 3) x 0.5 = 2.5). */
  mt_schedule *s = new_schedule(1);
  cr_assert_eq(mt_schedule_scale(s, 0, 0, 10, 0.5), 0);
  cr_assert_eq(mt_schedule_pulse(s, 0, 0, 10, 3.0, 0), 0);
  const double basal[1] = {2.0};
  const double t[] = {0, 10, 20}, u[] = {4.0, 2.0};
  expect(s, basal, 0, 20, 0, 2, t, u);
  mt_schedule_free(s);
}

Test(schedule, bites_split_pulse_into_unit_segments)
{
  /* A 15-minute meal over [420, 435) in bites: boundaries 420, 421, ..., 434
  ** and the end at 435, even though the value (1) does not change between
  ** them; with [0, 1440) that is 1 + 15 + 1 = 17 segments. */
  mt_schedule *s = new_schedule(1);
  cr_assert_eq(mt_schedule_pulse(s, 0, 420, 435, 1.0, MT_PULSE_BITES), 0);
  const double basal[1] = {0.0};
  double t[18], u[17];
  t[0] = 0;
  u[0] = 0;
  for (int i = 1; i <= 16; i++)
    t[i] = 419 + i; /* 420 ... 435 */
  for (int i = 1; i <= 15; i++)
    u[i] = 1.0;
  u[16] = 0;
  t[17] = 1440;
  expect(s, basal, 0, 1440, 0, 17, t, u);
  mt_schedule_free(s);
}

Test(schedule, without_bites_equal_segments_merge)
{
  /* The same pulse without MT_PULSE_BITES: one segment [420, 435). */
  mt_schedule *s = new_schedule(1);
  cr_assert_eq(mt_schedule_pulse(s, 0, 420, 435, 1.0, 0), 0);
  const double basal[1] = {0.0};
  const double t[] = {0, 420, 435, 1440}, u[] = {0, 1, 0};
  expect(s, basal, 0, 1440, 0, 3, t, u);
  mt_schedule_free(s);
}

Test(schedule, no_change_no_boundary)
{
  /* Events that do not change the value leave no boundary ("consecutive
  ** segments with equal inputs merge"): a level equal to basal at 10, the
  ** same level twice (20, 30), a x1 scale, a +0 pulse, and two abutting
  ** pulses of the same value [40, 50) + [50, 60). Expected boundaries: 20
  ** (3 -> 5), 40 (5 -> 7) and 60 (7 -> 5). */
  mt_schedule *s = new_schedule(1);
  cr_assert_eq(mt_schedule_level(s, 0, 10, 3.0), 0);
  cr_assert_eq(mt_schedule_level(s, 0, 20, 5.0), 0);
  cr_assert_eq(mt_schedule_level(s, 0, 30, 5.0), 0);
  cr_assert_eq(mt_schedule_scale(s, 0, 25, 35, 1.0), 0);
  cr_assert_eq(mt_schedule_pulse(s, 0, 5, 15, 0.0, 0), 0);
  cr_assert_eq(mt_schedule_pulse(s, 0, 40, 50, 2.0, 0), 0);
  cr_assert_eq(mt_schedule_pulse(s, 0, 50, 60, 2.0, 0), 0);
  const double basal[1] = {3.0};
  const double t[] = {0, 20, 40, 60, 100}, u[] = {3, 5, 7, 5};
  expect(s, basal, 0, 100, 0, 4, t, u);
  mt_schedule_free(s);
}

Test(schedule, events_at_or_after_end_ignored_and_pulse_cut)
{
  /* Over [0, 30): a level at 30 (= t_end) and at 40, and a pulse [35, 40)
  ** never act; a pulse [20, 50) is cut at 30. */
  mt_schedule *s = new_schedule(1);
  cr_assert_eq(mt_schedule_level(s, 0, 30, 9.0), 0);
  cr_assert_eq(mt_schedule_level(s, 0, 40, 8.0), 0);
  cr_assert_eq(mt_schedule_pulse(s, 0, 35, 40, 4.0, 0), 0);
  cr_assert_eq(mt_schedule_pulse(s, 0, 20, 50, 2.0, 0), 0);
  const double basal[1] = {1.0};
  const double t[] = {0, 20, 30}, u[] = {1.0, 3.0};
  expect(s, basal, 0, 30, 0, 2, t, u);
  mt_schedule_free(s);
}

Test(schedule, pulse_to_infinity)
{
  /* t1 may be +inf (only NaN is rejected): the pulse runs to the end. */
  mt_schedule *s = new_schedule(1);
  cr_assert_eq(mt_schedule_pulse(s, 0, 10, INFINITY, 1.0, 0), 0);
  const double basal[1] = {0.0};
  const double t[] = {0, 10, 20}, u[] = {0.0, 1.0};
  expect(s, basal, 0, 20, 0, 2, t, u);
  mt_schedule_free(s);
}

Test(schedule, bites_pulse_cut_at_end)
{
  /* Bites over [1435, 1450) with the run ending at 1440: ticks 1435..1439,
  ** then the end 1440 (no tick at or past the end). */
  mt_schedule *s = new_schedule(1);
  cr_assert_eq(mt_schedule_pulse(s, 0, 1435, 1450, 1.0, MT_PULSE_BITES), 0);
  const double basal[1] = {0.0};
  const double t[] = {0, 1435, 1436, 1437, 1438, 1439, 1440};
  const double u[] = {0, 1, 1, 1, 1, 1};
  expect(s, basal, 0, 1440, 0, 6, t, u);
  mt_schedule_free(s);
}

Test(schedule, bites_pulse_after_end_ignored)
{
  /* A meal in bites long after the end of the run (a forecast over the
  ** first hour of a day with a meal at 420) is an event after t_end and is
  ** ignored: one basal segment, return 0. */
  mt_schedule *s = new_schedule(1);
  cr_assert_eq(mt_schedule_pulse(s, 0, 420, 435, 1.0, MT_PULSE_BITES), 0);
  const double basal[1] = {0.0};
  const double t[] = {0, 60}, u[] = {0};
  expect(s, basal, 0, 60, 0, 1, t, u);
  mt_schedule_free(s);
}

Test(schedule, events_before_t0)
{
  /* Compile over [0, 20): a level 3 at -10 is in force at 0; a x2 scale on
  ** [-10, 5) and a +1 pulse on [-5, 8) are active at 0:
  ** [0,5) 3*2+1 = 7, [5,8) 3+1 = 4, [8,20) 3. */
  mt_schedule *s = new_schedule(1);
  cr_assert_eq(mt_schedule_level(s, 0, -10, 3.0), 0);
  cr_assert_eq(mt_schedule_scale(s, 0, -10, 5, 2.0), 0);
  cr_assert_eq(mt_schedule_pulse(s, 0, -5, 8, 1.0, 0), 0);
  const double basal[1] = {1.0};
  const double t[] = {0, 5, 8, 20}, u[] = {7, 4, 3};
  expect(s, basal, 0, 20, 0, 3, t, u);
  mt_schedule_free(s);
}

Test(schedule, bites_started_before_t0)
{
  /* Bites counted from the pulse start -2.5: ticks -2.5, -1.5, -0.5, 0.5,
  ** 1.5, 2.5; those inside (0, 20) are 0.5, 1.5, 2.5, then the end at 3. */
  mt_schedule *s = new_schedule(1);
  cr_assert_eq(mt_schedule_pulse(s, 0, -2.5, 3, 2.0, MT_PULSE_BITES), 0);
  const double basal[1] = {0.0};
  const double t[] = {0, 0.5, 1.5, 2.5, 3, 20}, u[] = {2, 2, 2, 2, 0};
  expect(s, basal, 0, 20, 0, 5, t, u);
  mt_schedule_free(s);
}

Test(schedule, fractional_times)
{
  /* Level 2 at 10.5; bites pulse +1 over [12.5, 15): ticks 12.5, 13.5,
  ** 14.5, end 15; compiled from t0 = 0.25 to 20.75. */
  mt_schedule *s = new_schedule(1);
  cr_assert_eq(mt_schedule_level(s, 0, 10.5, 2.0), 0);
  cr_assert_eq(mt_schedule_pulse(s, 0, 12.5, 15, 1.0, MT_PULSE_BITES), 0);
  const double basal[1] = {0.0};
  const double t[] = {0.25, 10.5, 12.5, 13.5, 14.5, 15, 20.75};
  const double u[] = {0, 2, 3, 3, 3, 2};
  expect(s, basal, 0.25, 20.75, 0, 6, t, u);
  mt_schedule_free(s);
}

Test(schedule, invalid_arguments)
{
  /* schedule.h: input index in [0, n_input), finite times with t0 <= t1
  ** (t1 may be +inf, never NaN) and a finite value; otherwise MT_EINVAL. */
  mt_schedule *s = new_schedule(2);
  cr_assert_eq(mt_schedule_level(s, -1, 0, 1), MT_EINVAL);
  cr_assert_eq(mt_schedule_level(s, 2, 0, 1), MT_EINVAL);
  cr_assert_eq(mt_schedule_level(s, 0, NAN, 1), MT_EINVAL);
  cr_assert_eq(mt_schedule_level(s, 0, INFINITY, 1), MT_EINVAL);
  cr_assert_eq(mt_schedule_level(s, 0, 0, INFINITY), MT_EINVAL);
  cr_assert_eq(mt_schedule_level(s, 0, 0, NAN), MT_EINVAL);
  cr_assert_eq(mt_schedule_scale(s, 2, 0, 1, 2), MT_EINVAL);
  cr_assert_eq(mt_schedule_scale(s, 0, 5, 4, 2), MT_EINVAL);
  cr_assert_eq(mt_schedule_scale(s, 0, 0, NAN, 2), MT_EINVAL);
  cr_assert_eq(mt_schedule_scale(s, 0, 0, 1, NAN), MT_EINVAL);
  cr_assert_eq(mt_schedule_pulse(s, -1, 0, 1, 1, 0), MT_EINVAL);
  cr_assert_eq(mt_schedule_pulse(s, 0, NAN, 1, 1, 0), MT_EINVAL);
  cr_assert_eq(mt_schedule_pulse(s, 0, 10, 9.5, 1, 0), MT_EINVAL);
  cr_assert_eq(mt_schedule_pulse(s, 0, 0, 1, -INFINITY, 0), MT_EINVAL);
  /* Rejected events are not recorded: one segment at basal. */
  const double basal[2] = {1.0, 2.0};
  const double t[] = {0, 10}, u0[] = {1.0}, u1[] = {2.0};
  expect(s, basal, 0, 10, 0, 1, t, u0);
  expect(s, basal, 0, 10, 1, 1, t, u1);
  mt_schedule_free(s);
}

Test(schedule, compile_empty_interval_is_einval)
{
  /* schedule.h: MT_EINVAL for t_end <= t0, and "on error *out is empty";
  ** the struct starts filled with garbage to see it cleared. */
  mt_schedule *s = new_schedule(1);
  cr_assert_eq(mt_schedule_level(s, 0, 5, 1.0), 0);
  const double basal[1] = {0.0};
  const double ends[2] = {10.0, 9.0}; /* t_end == t0, t_end < t0 */
  for (int i = 0; i < 2; i++) {
    mt_segments sg;
    memset(&sg, 0x5a, sizeof sg);
    cr_assert_eq(mt_schedule_compile(s, basal, 10, ends[i], &sg), MT_EINVAL);
    cr_assert_eq(sg.n, 0);
    cr_assert_null(sg.t);
    cr_assert_null(sg.u);
    mt_segments_clear(&sg);
  }
  mt_schedule_free(s);
}

Test(schedule, segments_clear_on_empty_is_safe)
{
  mt_segments sg = {0};
  mt_segments_clear(&sg);
  mt_segments_clear(&sg); /* twice: clear leaves the struct empty */
  cr_assert_eq(sg.n, 0);
  cr_assert_null(sg.t);
  cr_assert_null(sg.u);
}

/* Events added and then taken back leave the schedule compiling exactly as
** before; a count beyond what is there is refused. */
Test(schedule, truncate_takes_back_added_events)
{
  mt_schedule *s;
  cr_assert_eq(mt_schedule_create(2, &s), 0);
  cr_assert_eq(mt_schedule_level(s, 0, 10, 1.5), 0);
  cr_assert_eq(mt_schedule_pulse(s, 1, 20, 25, 2.0, MT_PULSE_BITES), 0);
  const double basal[2] = {1, 0};
  mt_segments a, b, c;
  cr_assert_eq(mt_schedule_compile(s, basal, 0, 100, &a), 0);
  int n = mt_schedule_count(s);
  cr_assert_eq(n, 2);
  cr_assert_eq(mt_schedule_scale(s, 0, 30, 60, 0.5), 0);
  cr_assert_eq(mt_schedule_pulse(s, 1, 40, 41, 4.0, 0), 0);
  cr_assert_eq(mt_schedule_compile(s, basal, 0, 100, &b), 0);
  cr_assert_gt(b.n, a.n);
  cr_assert_eq(mt_schedule_truncate(s, n), 0);
  cr_assert_eq(mt_schedule_compile(s, basal, 0, 100, &c), 0);
  cr_assert_eq(c.n, a.n);
  cr_assert(memcmp(c.t, a.t, (size_t)(a.n + 1) * sizeof *a.t) == 0);
  cr_assert(memcmp(c.u, a.u, (size_t)(a.n + 1) * 2 * sizeof *a.u) == 0);
  cr_assert_eq(mt_schedule_truncate(s, n + 1), MT_EINVAL);
  cr_assert_eq(mt_schedule_truncate(s, -1), MT_EINVAL);
  mt_segments_clear(&a);
  mt_segments_clear(&b);
  mt_segments_clear(&c);
  mt_schedule_free(s);
}
