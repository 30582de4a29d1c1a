/* rs_time: clocks. Wall time for timestamps and deadlines that cross processes,
 * monotonic time for measuring durations. */
#ifndef RS_TIME_H
#define RS_TIME_H

#include <stdint.h>
#include <time.h>

int64_t rs_now_ms(void);  /* unix time in ms (CLOCK_REALTIME) */
int64_t rs_mono_us(void); /* monotonic µs, for durations only */
double rs_mono_ms(void);  /* monotonic ms as a double */

/* rs_deadline_left_ms: ms until the absolute unix-ms deadline, 0 if passed;
 * a deadline of 0 means "none" and returns dflt. */
int rs_deadline_left_ms(int64_t deadline_unix_ms, int dflt);

/* rs_deadline_in: the time ms (>= 0) after now on clock, normalized (tv_nsec < 1 s): an
 * absolute timeout for pthread_cond_timedwait on a condition variable of that clock. */
struct timespec rs_deadline_in(clockid_t clock, int64_t ms);

/* rs_sleep_ms: sleeps ms (>= 0) milliseconds, a second or more too (nanosleep refuses a
 * tv_nsec of a second or more); a signal ends the sleep early. */
void rs_sleep_ms(int64_t ms);

/* rs_time_utc: unix seconds of a UTC date and time of day (month 1-12, day 1-31; out-of-range
 * values roll over as timegm's do). */
int64_t rs_time_utc(int year, int month, int day, int hour, int min, int sec);

#endif
