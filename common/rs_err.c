#include "rs_err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <nng/nng.h>

const char *
rs_strerror(int rv)
{
	switch (rv) {
	case 0:
		return "ok";
#define RS_ERR_STR(name, val, msg) \
	case name:                 \
		return msg;
		RS_ERRORS(RS_ERR_STR)
#undef RS_ERR_STR
	default:
		return "unknown error";
	}
}

const char *
rs_err_name(int rv)
{
	switch (rv) {
	case 0:
		return "RS_OK";
#define RS_ERR_NAME(name, val, msg) \
	case name:                  \
		return #name;
		RS_ERRORS(RS_ERR_NAME)
#undef RS_ERR_NAME
	default:
		return "RS_UNKNOWN";
	}
}

int
rs_err_from_errno(int e)
{
	switch (e) {
	case 0:
		return 0;
	case ENOMEM:
		return RS_ENOMEM;
	case ENOENT:
		return RS_ENOTFOUND;
	case ETIMEDOUT:
		return RS_ETIMEDOUT;
	case EINVAL:
		return RS_EINVAL;
	case EEXIST:
		return RS_EEXIST;
	case EFBIG:
	case E2BIG:
		return RS_ETOOBIG;
	case EBUSY:
	case EAGAIN:
		return RS_EBUSY;
	default:
		return RS_EIO;
	}
}

int
rs_err_from_nng(int e)
{
	switch (e) {
	case 0:
		return 0;
	case NNG_ENOMEM:
		return RS_ENOMEM;
	case NNG_ETIMEDOUT:
		return RS_ETIMEDOUT;
	case NNG_ECLOSED:
	case NNG_ECANCELED:
		return RS_ECLOSED;
	case NNG_EINVAL:
	case NNG_EADDRINVAL:
		return RS_EINVAL;
	case NNG_ECONNREFUSED:
	case NNG_ECONNRESET:
	case NNG_ECONNSHUT:
	case NNG_EUNREACHABLE:
		return RS_EUNAVAIL;
	case NNG_EADDRINUSE:
		return RS_EEXIST;
	case NNG_EMSGSIZE:
		return RS_ETOOBIG;
	case NNG_EPROTO:
		return RS_EPROTO;
	case NNG_EAGAIN:
	case NNG_EBUSY:
		return RS_EBUSY;
	default:
		return RS_EIO;
	}
}

int
rs_err_fmt(char *err, size_t errn, int rv, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errn > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errn, fmt, ap);
		va_end(ap);
	}
	return rv;
}
