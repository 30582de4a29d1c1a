/* rs_proc: process plumbing shared by every service main(): stop signals and ids. */
#ifndef RS_PROC_H
#define RS_PROC_H

#include <stddef.h>

/* rs_proc_install_signals: SIGTERM/SIGINT set the stop flag (async-signal-safe, nothing
 * else); SIGPIPE is ignored. A third signal exits at once with status 1. */
void rs_proc_install_signals(void);

/* rs_proc_stop_requested: true once a stop signal arrived (or rs_proc_request_stop ran). */
int rs_proc_stop_requested(void);
void rs_proc_request_stop(void);

/* rs_proc_random_id: n-1 random lowercase hex characters + NUL into buf (n >= 2). */
void rs_proc_random_id(char *buf, size_t n);

#endif
