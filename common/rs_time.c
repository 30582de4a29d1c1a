#include "rs_time.h"

#include <time.h>

int64_t
rs_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
rs_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double
rs_mono_ms(void)
{
	return (double) rs_mono_us() / 1000.0;
}

int
rs_deadline_left_ms(int64_t deadline_unix_ms, int dflt)
{
	if (deadline_unix_ms <= 0)
		return dflt;
	int64_t left = deadline_unix_ms - rs_now_ms();
	if (left <= 0)
		return 0;
	return left > 3600000 ? 3600000 : (int) left;
}

int64_t
rs_time_utc(int year, int month, int day, int hour, int min, int sec)
{
	struct tm tm = {.tm_year = year - 1900,
	                .tm_mon = month - 1,
	                .tm_mday = day,
	                .tm_hour = hour,
	                .tm_min = min,
	                .tm_sec = sec};

	return (int64_t) timegm(&tm);
}
