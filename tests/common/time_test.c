/* rs_time: a UTC date and time as unix seconds (expected values from Python's
 * calendar.timegm). */
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
