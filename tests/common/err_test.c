#include <criterion/criterion.h>
#include <errno.h>
#include <nng/nng.h>
#include <string.h>

#include "rs_err.h"

Test(err, every_code_has_a_message_and_a_name)
{
	int codes[] = {
#define X(name, val, msg) name,
	        RS_ERRORS(X)
#undef X
	};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		cr_assert_neq(strcmp(rs_strerror(codes[i]), "unknown error"), 0);
		cr_assert_neq(strcmp(rs_err_name(codes[i]), "RS_UNKNOWN"), 0);
	}
	cr_assert_str_eq(rs_strerror(0), "ok");
	cr_assert_str_eq(rs_strerror(-9999), "unknown error");
	cr_assert_str_eq(rs_err_name(RS_ETIMEDOUT), "RS_ETIMEDOUT");
}

Test(err, foreign_codes_translate)
{
	cr_assert_eq(rs_err_from_errno(ENOMEM), RS_ENOMEM);
	cr_assert_eq(rs_err_from_errno(ENOENT), RS_ENOTFOUND);
	cr_assert_eq(rs_err_from_errno(0), 0);
	cr_assert_eq(rs_err_from_nng(NNG_ETIMEDOUT), RS_ETIMEDOUT);
	cr_assert_eq(rs_err_from_nng(NNG_ECONNREFUSED), RS_EUNAVAIL);
	cr_assert_eq(rs_err_from_nng(NNG_EADDRINUSE), RS_EEXIST);
}

Test(err, fmt_writes_the_message_and_returns_the_code)
{
	char buf[16] = "untouched";

	cr_assert_eq(rs_err_fmt(buf, sizeof(buf), RS_EINVAL, "bad %s at %d", "row", 7), RS_EINVAL);
	cr_assert_str_eq(buf, "bad row at 7");
	cr_assert_eq(rs_err_fmt(buf, 4, RS_EIO, "%s", "truncated"), RS_EIO);
	cr_assert_str_eq(buf, "tru");
	cr_assert_eq(rs_err_fmt(NULL, 0, RS_ENOMEM, "nowhere"), RS_ENOMEM);
}
