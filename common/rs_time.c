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

struct timespec
rs_deadline_in(clockid_t clock, int64_t ms)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	if (ms < 0)
		ms = 0;
	ts.tv_sec += (time_t) (ms / 1000);
	ts.tv_nsec += (long) (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

void
rs_sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {.tv_sec = (time_t) (ms / 1000),
	                      .tv_nsec = (long) (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
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
