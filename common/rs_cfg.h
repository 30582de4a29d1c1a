/* rs_cfg: configuration from environment variables, declared once in a table per service.
 * Names are RS_<SVC>_<KEY>, or RS_<KEY> for shared settings. rs_cfg_load reads every field,
 * applies defaults, checks bounds, and names the bad variable on failure. */
#ifndef RS_CFG_H
#define RS_CFG_H

#include <stddef.h>

#include "rs_log.h"

typedef enum rs_cfg_type {
	RS_CFG_T_STR,    /* const char *; points into the environment or at the default */
	RS_CFG_T_SECRET, /* like STR, masked when logged */
	RS_CFG_T_INT,    /* int, with inclusive bounds */
	RS_CFG_T_DOUBLE, /* double, with inclusive bounds */
	RS_CFG_T_LEVEL,  /* rs_log_level */
	RS_CFG_T_ENUM,   /* int: the position of the value among `choices` */
	RS_CFG_T_END,
} rs_cfg_type;

typedef struct rs_cfg_field {
	const char *name;
	rs_cfg_type type;
	size_t offset;
	const char *def;     /* default as text; NULL = required */
	double min, max;     /* bounds for INT and DOUBLE */
	const char *choices; /* ENUM: the allowed values, comma-separated ("socket,nng") */
} rs_cfg_field;

#define RS_CFG_STR(name, T, f, def)                           \
	{                                                     \
		name, RS_CFG_T_STR, offsetof(T, f), def, 0, 0 \
	}
#define RS_CFG_SECRET(name, T, f, def)                           \
	{                                                        \
		name, RS_CFG_T_SECRET, offsetof(T, f), def, 0, 0 \
	}
#define RS_CFG_INT(name, T, f, def, lo, hi)                          \
	{                                                            \
		name, RS_CFG_T_INT, offsetof(T, f), #def, (lo), (hi) \
	}
#define RS_CFG_DOUBLE(name, T, f, def, lo, hi)                          \
	{                                                               \
		name, RS_CFG_T_DOUBLE, offsetof(T, f), #def, (lo), (hi) \
	}
#define RS_CFG_LEVEL(name, T, f, def)                           \
	{                                                       \
		name, RS_CFG_T_LEVEL, offsetof(T, f), def, 0, 0 \
	}
#define RS_CFG_ENUM(name, T, f, def, choices)                           \
	{                                                               \
		name, RS_CFG_T_ENUM, offsetof(T, f), def, 0, 0, choices \
	}
#define RS_CFG_END                                \
	{                                         \
		NULL, RS_CFG_T_END, 0, NULL, 0, 0 \
	}

/* rs_cfg_load: fill *out from the environment. Returns 0, or RS_EINVAL after writing
 * "config error: VAR=value: reason" to errbuf (size errn). */
int rs_cfg_load(const rs_cfg_field *fields, void *out, char *errbuf, size_t errn);

/* rs_cfg_log: log the effective configuration once (event cfg.effective), secrets masked. */
void rs_cfg_log(const rs_cfg_field *fields, const void *cfg);

#endif
