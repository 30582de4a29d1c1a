#include "util.h"

#include "rs_err.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

int
gw_parse_id(const char *s, int64_t *out)
{
	int64_t v = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 19)
		return RS_EINVAL;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return RS_EINVAL;
		int d = *p - '0';
		if (v > (INT64_MAX - d) / 10)
			return RS_EINVAL;
		v = v * 10 + d;
	}
	if (v <= 0)
		return RS_EINVAL;
	*out = v;
	return 0;
}

int
gw_query_int(gw_req *req, const char *key, int lo, int hi, int dflt, int *out)
{
	const char *s = gw_req_query(req, key);
	int64_t v;

	if (s == NULL) {
		*out = dflt;
		return 0;
	}
	if (gw_parse_id(s, &v) != 0 || v < lo || v > hi) {
		gw_reply_error(req, 400, "bad_request", "%s must be an integer in [%d, %d]", key,
		               lo, hi);
		return RS_EINVAL;
	}
	*out = (int) v;
	return 0;
}

int
gw_query_flag(gw_req *req, const char *key)
{
	const char *s = gw_req_query(req, key);
	if (s == NULL || strcmp(s, "0") == 0 || strcmp(s, "false") == 0 || strcmp(s, "no") == 0)
		return 0;
	if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 || s[0] == '\0')
		return 1;
	return -1;
}

static int
iso_digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char) (*p)[i]))
			return RS_EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int
gw_parse_iso8601(const char *s, int64_t *out_ms)
{
	int y, mo, d, h, mi, sec, ms = 0, off = 0;
	const char *p = s;

	if (s == NULL || iso_digits(&p, 4, &y) || *p++ != '-' || iso_digits(&p, 2, &mo) ||
	    *p++ != '-' || iso_digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
		return RS_EINVAL;
	p++;
	if (iso_digits(&p, 2, &h) || *p++ != ':' || iso_digits(&p, 2, &mi) || *p++ != ':' ||
	    iso_digits(&p, 2, &sec))
		return RS_EINVAL;
	if (*p == '.') {
		int nd = 0, scale = 100;
		p++;
		while (isdigit((unsigned char) *p)) {
			if (nd < 3)
				ms += (*p - '0') * scale;
			scale /= 10;
			nd++;
			p++;
		}
		if (nd == 0)
			return RS_EINVAL;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;
		p++;
		if (iso_digits(&p, 2, &oh))
			return RS_EINVAL;
		if (*p == ':')
			p++;
		if (iso_digits(&p, 2, &om) || oh > 23 || om > 59)
			return RS_EINVAL;
		off = sign * (oh * 60 + om);
	} else {
		return RS_EINVAL; /* a timestamp without a zone is ambiguous */
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return RS_EINVAL;
	struct tm tm = {.tm_year = y - 1900,
	                .tm_mon = mo - 1,
	                .tm_mday = d,
	                .tm_hour = h,
	                .tm_min = mi,
	                .tm_sec = sec};
	time_t t = timegm(&tm);
	if (t == (time_t) -1 && !(y == 1969 && mo == 12 && d == 31))
		return RS_EINVAL;
	*out_ms = ((int64_t) t - (int64_t) off * 60) * 1000 + ms;
	return 0;
}
