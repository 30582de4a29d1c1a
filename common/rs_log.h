/* rs_log: one structured line per event on stderr, fixed fields first:
 *   ts=2026-11-28T00:00:00.123Z level=info svc=gateway pid=41 event=svc.ready listen=...
 *   ts=... level=warn svc=ranking pid=42 event=rpc.request_failed req=3f2a... method=rank ...
 * Event ids are dotted and stable so alerts can match them. The caller's fmt adds
 * key=value fields; quote values that may contain spaces (rs_log_quote helps).
 * Thread-safe: each line is written with a single write(2). */
#ifndef RS_LOG_H
#define RS_LOG_H

#include <stddef.h>

typedef enum rs_log_level {
	RS_LOG_DEBUG = 0,
	RS_LOG_INFO = 1,
	RS_LOG_WARN = 2,
	RS_LOG_ERROR = 3,
} rs_log_level;

/* rs_log_init: set the service name and the minimum level. Call once, before threads start. */
void rs_log_init(const char *svc, rs_log_level level);

/* rs_log_level_parse: "debug"/"info"/"warn"/"error" -> level. Returns 0 or RS_EINVAL. */
int rs_log_level_parse(const char *s, rs_log_level *out);

/* rs_log_level_name: "debug"/"info"/"warn"/"error" (static). */
const char *rs_log_level_name(rs_log_level level);

/* rs_log_enabled: true when a line at level would be written (skip costly formatting). */
int rs_log_enabled(rs_log_level level);

void rs_log_write(rs_log_level level, const char *event, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#define rs_log_debug(event, ...) rs_log_write(RS_LOG_DEBUG, (event), __VA_ARGS__)
#define rs_log_info(event, ...)  rs_log_write(RS_LOG_INFO, (event), __VA_ARGS__)
#define rs_log_warn(event, ...)  rs_log_write(RS_LOG_WARN, (event), __VA_ARGS__)
#define rs_log_error(event, ...) rs_log_write(RS_LOG_ERROR, (event), __VA_ARGS__)

/* rs_log_set_request: the request id of the calling thread's lines from now on (copied: up to
 * RS_LOG_REQ_MAX characters of [A-Za-z0-9._:-], others dropped); NULL or "" clears it. While set,
 * every line of this thread carries it as the fixed field req=<id> right after event=, so a
 * request can be followed across services (rs_rpc's server sets it for each request it
 * handles). Callers then do not add their own req= field. */
#define RS_LOG_REQ_MAX 64
void rs_log_set_request(const char *id);

/* rs_log_request: the calling thread's request id ("" when none). */
const char *rs_log_request(void);

/* rs_log_quote: copy s into buf (size n) with '"' and '\\' escaped and control characters
 * replaced, truncated to fit. Returns buf, for use as a "%s" argument inside quotes. */
char *rs_log_quote(char *buf, size_t n, const char *s);

#endif
