#include "rs_log.h"
#include "rs_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char log_svc[32] = "rs";
static rs_log_level log_min = RS_LOG_INFO;

/* The request the calling thread works on (rs_log_set_request), "" for none. */
static _Thread_local char log_req[RS_LOG_REQ_MAX + 1];

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
rs_log_init(const char *svc, rs_log_level level)
{
	snprintf(log_svc, sizeof(log_svc), "%s", svc != NULL ? svc : "rs");
	log_min = level;
}

int
rs_log_level_parse(const char *s, rs_log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (s != NULL && strcasecmp(s, level_names[i]) == 0) {
			*out = (rs_log_level) i;
			return 0;
		}
	}
	return RS_EINVAL;
}

const char *
rs_log_level_name(rs_log_level level)
{
	return level >= RS_LOG_DEBUG && level <= RS_LOG_ERROR ? level_names[level] : "unknown";
}

void
rs_log_set_request(const char *id)
{
	size_t n = 0;

	for (; id != NULL && *id != '\0' && n < RS_LOG_REQ_MAX; id++) {
		char c = *id;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == ':' || c == '-')
			log_req[n++] = c;
	}
	log_req[n] = '\0';
}

const char *
rs_log_request(void)
{
	return log_req;
}

int
rs_log_enabled(rs_log_level level)
{
	return level >= log_min;
}

void
rs_log_write(rs_log_level level, const char *event, const char *fmt, ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int w;

	if (level < log_min)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	w = snprintf(line, sizeof(line),
	             "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s svc=%s pid=%ld event=%s",
	             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	             (long) (tv.tv_usec / 1000), level_names[level], log_svc, (long) getpid(),
	             event);
	n = w < 0 ? 0 : ((size_t) w < sizeof(line) ? (size_t) w : sizeof(line) - 1);
	if (log_req[0] != '\0' && n + 6 + RS_LOG_REQ_MAX < sizeof(line))
		n += (size_t) snprintf(line + n, sizeof(line) - n, " req=%s", log_req);
	if (fmt != NULL && fmt[0] != '\0' && n + 2 < sizeof(line)) {
		va_list ap;
		line[n++] = ' ';
		va_start(ap, fmt);
		w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (w > 0)
			n += (size_t) w < sizeof(line) - n ? (size_t) w : sizeof(line) - n - 1;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write(2) per line keeps lines from different threads whole. */
	ssize_t r = write(STDERR_FILENO, line, n);
	(void) r;
}

char *
rs_log_quote(char *buf, size_t n, const char *s)
{
	size_t o = 0;

	if (n == 0)
		return buf;
	for (; s != NULL && *s != '\0' && o + 3 < n; s++) {
		unsigned char c = (unsigned char) *s;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char) c;
		} else if (c < 0x20) {
			buf[o++] = ' ';
		} else {
			buf[o++] = (char) c;
		}
	}
	buf[o] = '\0';
	return buf;
}
