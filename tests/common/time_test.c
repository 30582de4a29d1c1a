/* rs_time: a UTC date and time as unix seconds (expected values from Python's
 * calendar.timegm), deadlines and sleeps of any length. */
#include <criterion/criterion.h>

#include "rs_time.h"

Test(time, utc_date_and_time_to_unix_seconds)
{
	cr_assert_eq(rs_time_utc(1970, 1, 1, 0, 0, 0), 0);
	cr_assert_eq(rs_time_utc(2000, 1, 1, 0, 0, 0), 946684800);
	cr_assert_eq(rs_time_utc(2024, 2, 29, 12, 34, 56), 1709210096);
	cr_assert_eq(rs_time_utc(1969, 12, 31, 23, 59, 59), -1);
	/* out of range rolls over: 30 February 2024 is 1 March */
	cr_assert_eq(rs_time_utc(2024, 2, 30, 24, 0, 0), 1709251200 + 86400);
}

/* A deadline is now + ms on the clock asked for, normalized however long the wait. */
Test(time, deadline_in_adds_milliseconds_and_normalizes)
{
	const clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME};
	const int64_t waits[] = {0, 1, 999, 1000, 1500, 2000, 2999, 86400000};
	for (size_t c = 0; c < 2; c++)
		for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
			struct timespec before, after;
			clock_gettime(clocks[c], &before);
			struct timespec d = rs_deadline_in(clocks[c], waits[i]);
			clock_gettime(clocks[c], &after);
			cr_assert(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L,
			          "tv_nsec %ld for %lld ms", d.tv_nsec, (long long) waits[i]);
			int64_t ns = (int64_t) d.tv_sec * 1000000000 + d.tv_nsec;
			int64_t lo = (int64_t) before.tv_sec * 1000000000 + before.tv_nsec;
			int64_t hi = (int64_t) after.tv_sec * 1000000000 + after.tv_nsec;
			cr_assert(ns >= lo + waits[i] * 1000000 && ns <= hi + waits[i] * 1000000,
			          "deadline for %lld ms outside [before, after] + ms",
			          (long long) waits[i]);
		}
	/* a negative wait is now */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct timespec d = rs_deadline_in(CLOCK_MONOTONIC, -5000);
	cr_assert(d.tv_sec <= now.tv_sec + 1);
}

/* A sleep of a second or more sleeps (nanosleep alone refuses 1,000 ms in tv_nsec). */
Test(time, sleep_ms_sleeps_a_second_and_more)
{
	double t0 = rs_mono_ms();
	rs_sleep_ms(1100);
	double t = rs_mono_ms() - t0;
	cr_assert(t >= 1099.0, "slept %.1f ms of 1100", t);
	t0 = rs_mono_ms();
	rs_sleep_ms(15);
	t = rs_mono_ms() - t0;
	cr_assert(t >= 14.9, "slept %.1f ms of 15", t);
}
