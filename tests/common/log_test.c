#include <criterion/criterion.h>
#include <string.h>

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
