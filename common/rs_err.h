/* rs_err: the project's error codes. 0 is success, every failure is a negative RS_E*.
 * Foreign codes (errno, NNG, libpq, LMDB) are translated where they enter (rs_err_from_*). */
#ifndef RS_ERR_H
#define RS_ERR_H

#include <stddef.h>

#define RS_ERRORS(X)                                           \
	X(RS_ENOMEM, -1, "out of memory")                      \
	X(RS_ENOTFOUND, -2, "not found")                       \
	X(RS_ETIMEDOUT, -3, "timed out")                       \
	X(RS_ECORRUPT, -4, "stored data has unexpected shape") \
	X(RS_EINVAL, -5, "invalid argument")                   \
	X(RS_EIO, -6, "input/output error")                    \
	X(RS_EUNAVAIL, -7, "service unavailable")              \
	X(RS_ECLOSED, -8, "closed")                            \
	X(RS_EPROTO, -9, "malformed message")                  \
	X(RS_EDB, -10, "database error")                       \
	X(RS_ETOOBIG, -11, "too large")                        \
	X(RS_EEXIST, -12, "already exists")                    \
	X(RS_EVERSION, -13, "incompatible version")            \
	X(RS_EBUSY, -14, "busy")                               \
	X(RS_EINTERNAL, -15, "internal error")

enum rs_err {
#define RS_ERR_ENUM(name, val, msg) name = (val),
	RS_ERRORS(RS_ERR_ENUM)
#undef RS_ERR_ENUM
};

/* rs_strerror: a static, lowercase description of rv (0 -> "ok"). Never NULL. */
const char *rs_strerror(int rv);

/* rs_err_fmt: a message into err (size errn; nothing when err is NULL or errn 0); returns rv,
 * so that `return rs_err_fmt(err, errn, RS_EINVAL, "...", ...);` reports and fails at once. */
int rs_err_fmt(char *err, size_t errn, int rv, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* rs_err_name: the symbolic name of rv ("RS_ETIMEDOUT"), or "RS_UNKNOWN". */
const char *rs_err_name(int rv);

/* rs_err_from_errno: map an errno value to an RS_E* code. */
int rs_err_from_errno(int e);

/* rs_err_from_nng: map an NNG error value (nng_err) to an RS_E* code. */
int rs_err_from_nng(int e);

#endif
