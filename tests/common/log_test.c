#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "rs_err.h"
#include "rs_log.h"

Test(log, levels_parse_and_filter)
{
	rs_log_level l;
	cr_assert_eq(rs_log_level_parse("WARN", &l), 0);
	cr_assert_eq(l, RS_LOG_WARN);
	cr_assert_eq(rs_log_level_parse("verbose", &l), RS_EINVAL);
	cr_assert_str_eq(rs_log_level_name(RS_LOG_WARN), "warn");
	rs_log_init("t", RS_LOG_WARN);
	cr_assert(!rs_log_enabled(RS_LOG_INFO));
	cr_assert(rs_log_enabled(RS_LOG_ERROR));
	rs_log_init("t", RS_LOG_INFO);
}

Test(log, quote_escapes_and_truncates)
{
	char buf[16];
	cr_assert_str_eq(rs_log_quote(buf, sizeof(buf), "a\"b\\c\nd"), "a\\\"b\\\\c d");
	rs_log_quote(buf, sizeof(buf), "0123456789abcdefghij");
	cr_assert_lt(strlen(buf), sizeof(buf));
}

/* The lines rs_log writes to stderr while fn runs, captured through a pipe. */
static void
log_capture(void (*fn)(void), char *out, size_t n)
{
	int fds[2], saved = dup(STDERR_FILENO);
	cr_assert_eq(pipe(fds), 0);
	dup2(fds[1], STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	ssize_t r = read(fds[0], out, n - 1);
	out[r > 0 ? r : 0] = '\0';
	close(fds[0]);
}

static void
log_three_lines(void)
{
	rs_log_init("t", RS_LOG_INFO);
	rs_log_info("t.before", "k=1");
	rs_log_set_request("ab-12:x.Y_z\" bad=1");
	rs_log_info("t.during", "k=2");
	rs_log_set_request(NULL);
	rs_log_info("t.after", "k=3");
}

Test(log, request_id_is_a_fixed_field_of_the_threads_lines)
{
	char buf[4096];
	log_capture(log_three_lines, buf, sizeof(buf));
	char *during = strstr(buf, "event=t.during");
	cr_assert_not_null(during, "%s", buf);
	/* the id's unsafe characters (quote, space, =) are dropped, the field follows event= */
	cr_assert(strncmp(during, "event=t.during req=ab-12:x.Y_zbad1 k=2\n", 39) == 0, "%s", buf);
	cr_assert_not_null(strstr(buf, "event=t.before k=1\n"), "%s", buf);
	cr_assert_not_null(strstr(buf, "event=t.after k=3\n"), "%s", buf);
	cr_assert_str_eq(rs_log_request(), "");
}

static void *
log_other_thread(void *arg)
{
	(void) arg;
	return (void *) rs_log_request();
}

Test(log, request_id_is_per_thread)
{
	pthread_t th;
	void *seen = NULL;
	char longid[200];
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	rs_log_set_request(longid);
	cr_assert_eq(strlen(rs_log_request()), RS_LOG_REQ_MAX);
	cr_assert_eq(pthread_create(&th, NULL, log_other_thread, NULL), 0);
	pthread_join(th, &seen);
	cr_assert_str_eq((const char *) seen, "");
	rs_log_set_request("");
	cr_assert_str_eq(rs_log_request(), "");
}
