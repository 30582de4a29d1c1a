#include "rs_cfg.h"
#include "rs_err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The position of val among the comma-separated choices, or -1. */
static int
cfg_choice(const char *choices, const char *val)
{
	size_t n = strlen(val);
	int i = 0;
	for (const char *p = choices; p != NULL; i++) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t) (comma - p) : strlen(p);
		if (len == n && strncmp(p, val, n) == 0)
			return i;
		p = comma != NULL ? comma + 1 : NULL;
	}
	return -1;
}

/* The choice at position i, copied into buf. */
static const char *
cfg_choice_name(const char *choices, int i, char *buf, size_t n)
{
	const char *p = choices;
	for (; i > 0 && p != NULL; i--) {
		p = strchr(p, ',');
		if (p != NULL)
			p++;
	}
	if (p == NULL)
		return "?";
	snprintf(buf, n, "%.*s", (int) strcspn(p, ","), p);
	return buf;
}

static int
cfg_fail(char *errbuf, size_t errn, const char *name, const char *val, const char *why)
{
	snprintf(errbuf, errn, "config error: %s=%s: %s", name, val != NULL ? val : "(unset)", why);
	return RS_EINVAL;
}

int
rs_cfg_load(const rs_cfg_field *fields, void *out, char *errbuf, size_t errn)
{
	char *base = out;

	for (const rs_cfg_field *f = fields; f->type != RS_CFG_T_END; f++) {
		const char *env = getenv(f->name);
		const char *val = (env != NULL && env[0] != '\0') ? env : f->def;
		char *end;

		if (val == NULL)
			return cfg_fail(errbuf, errn, f->name, NULL, "required");
		switch (f->type) {
		case RS_CFG_T_STR:
		case RS_CFG_T_SECRET:
			*(const char **) (base + f->offset) = val;
			break;
		case RS_CFG_T_INT: {
			errno = 0;
			long long v = strtoll(val, &end, 10);
			if (errno != 0 || end == val || *end != '\0')
				return cfg_fail(errbuf, errn, f->name, val, "not an integer");
			if ((double) v < f->min || (double) v > f->max) {
				char why[96];
				snprintf(why, sizeof(why), "out of range [%.0f, %.0f]", f->min,
				         f->max);
				return cfg_fail(errbuf, errn, f->name, val, why);
			}
			*(int *) (base + f->offset) = (int) v;
			break;
		}
		case RS_CFG_T_DOUBLE: {
			errno = 0;
			double v = strtod(val, &end);
			if (errno != 0 || end == val || *end != '\0')
				return cfg_fail(errbuf, errn, f->name, val, "not a number");
			if (v < f->min || v > f->max) {
				char why[96];
				snprintf(why, sizeof(why), "out of range [%g, %g]", f->min, f->max);
				return cfg_fail(errbuf, errn, f->name, val, why);
			}
			*(double *) (base + f->offset) = v;
			break;
		}
		case RS_CFG_T_LEVEL:
			if (rs_log_level_parse(val, (rs_log_level *) (base + f->offset)) != 0)
				return cfg_fail(errbuf, errn, f->name, val,
				                "expected debug, info, warn or error");
			break;
		case RS_CFG_T_ENUM: {
			int i = cfg_choice(f->choices, val);
			if (i < 0) {
				char why[160];
				snprintf(why, sizeof(why), "expected one of %s", f->choices);
				return cfg_fail(errbuf, errn, f->name, val, why);
			}
			*(int *) (base + f->offset) = i;
			break;
		}
		case RS_CFG_T_END:
			break;
		}
	}
	return 0;
}

void
rs_cfg_log(const rs_cfg_field *fields, const void *cfg)
{
	const char *base = cfg;
	char line[1536];
	size_t n = 0;

	line[0] = '\0';
	for (const rs_cfg_field *f = fields; f->type != RS_CFG_T_END && n < sizeof(line); f++) {
		char q[256];
		int w = 0;
		switch (f->type) {
		case RS_CFG_T_STR:
			w = snprintf(line + n, sizeof(line) - n, "%s%s=\"%s\"", n ? " " : "",
			             f->name,
			             rs_log_quote(q, sizeof(q),
			                          *(const char *const *) (base + f->offset)));
			break;
		case RS_CFG_T_SECRET:
			w = snprintf(line + n, sizeof(line) - n, "%s%s=\"***\"", n ? " " : "",
			             f->name);
			break;
		case RS_CFG_T_INT:
			w = snprintf(line + n, sizeof(line) - n, "%s%s=%d", n ? " " : "", f->name,
			             *(const int *) (base + f->offset));
			break;
		case RS_CFG_T_DOUBLE:
			w = snprintf(line + n, sizeof(line) - n, "%s%s=%g", n ? " " : "", f->name,
			             *(const double *) (base + f->offset));
			break;
		case RS_CFG_T_LEVEL:
			w = snprintf(line + n, sizeof(line) - n, "%s%s=%s", n ? " " : "", f->name,
			             rs_log_level_name(*(const rs_log_level *) (base + f->offset)));
			break;
		case RS_CFG_T_ENUM:
			w = snprintf(line + n, sizeof(line) - n, "%s%s=%s", n ? " " : "", f->name,
			             cfg_choice_name(f->choices, *(const int *) (base + f->offset),
			                             q, sizeof(q)));
			break;
		case RS_CFG_T_END:
			break;
		}
		if (w < 0)
			break;
		n += (size_t) w;
	}
	rs_log_info("cfg.effective", "%s", line);
}
