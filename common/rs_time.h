/* rs_time: clocks. Wall time for timestamps and deadlines that cross processes,
 * monotonic time for measuring durations. */
#ifndef RS_TIME_H
#define RS_TIME_H

#include <stdint.h>

int64_t rs_now_ms(void);  /* unix time in ms (CLOCK_REALTIME) */
int64_t rs_mono_us(void); /* monotonic µs, for durations only */
double rs_mono_ms(void);  /* monotonic ms as a double */

/* rs_deadline_left_ms: ms until the absolute unix-ms deadline, 0 if passed;
 * a deadline of 0 means "none" and returns dflt. */
int rs_deadline_left_ms(int64_t deadline_unix_ms, int dflt);

#endif
