#include "jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
gw_jw_init(gw_jw *w, size_t cap)
{
	w->w_len = 0;
	w->w_cap = cap < 64 ? 64 : cap;
	w->w_buf = malloc(w->w_cap);
	w->w_oom = w->w_buf == NULL;
	if (w->w_oom)
		w->w_cap = 0;
}

void
gw_jw_free(gw_jw *w)
{
	free(w->w_buf);
	w->w_buf = NULL;
	w->w_len = w->w_cap = 0;
}

/* Room for n more bytes plus the terminating NUL; 0 or -1 (sticky out of memory). */
static int
jw_room(gw_jw *w, size_t n)
{
	if (w->w_oom)
		return -1;
	if (w->w_len + n + 1 <= w->w_cap)
		return 0;
	size_t cap = w->w_cap ? w->w_cap : 64;
	while (cap < w->w_len + n + 1)
		cap *= 2;
	char *nb = realloc(w->w_buf, cap);
	if (nb == NULL) {
		w->w_oom = 1;
		return -1;
	}
	w->w_buf = nb;
	w->w_cap = cap;
	return 0;
}

char *
gw_jw_take(gw_jw *w, size_t *len)
{
	char *s = NULL;
	if (!w->w_oom && jw_room(w, 0) == 0) {
		w->w_buf[w->w_len] = '\0';
		s = w->w_buf;
		*len = w->w_len;
		w->w_buf = NULL;
	}
	gw_jw_free(w);
	return s;
}

void
gw_jw_raw(gw_jw *w, const char *s, size_t n)
{
	if (jw_room(w, n) != 0)
		return;
	memcpy(w->w_buf + w->w_len, s, n);
	w->w_len += n;
}

void
gw_jw_str(gw_jw *w, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *) (s != NULL ? s : "");
	size_t n = strlen((const char *) p);
	/* Worst case every byte becomes \u00XX. */
	if (jw_room(w, n * 6 + 2) != 0)
		return;
	char *o = w->w_buf + w->w_len;
	*o++ = '"';
	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*o++ = (char) c;
			i++;
			continue;
		}
		if (c >= 0x80) {
			size_t k = gw_utf8_seq(p + i);
			if (k == 0) {
				*o++ = '?';
				i++;
			} else {
				memcpy(o, p + i, k);
				o += k;
				i += k;
			}
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"':
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case '\b':
			*o++ = 'b';
			break;
		case '\f':
			*o++ = 'f';
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
		i++;
	}
	*o++ = '"';
	w->w_len = (size_t) (o - w->w_buf);
}

void
gw_jw_int(gw_jw *w, int64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	uint64_t u = v < 0 ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;
	do {
		tmp[--i] = (char) ('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		tmp[--i] = '-';
	gw_jw_raw(w, tmp + i, sizeof(tmp) - i);
}

void
gw_jw_bool(gw_jw *w, int v)
{
	if (v)
		gw_jw_lit(w, "true");
	else
		gw_jw_lit(w, "false");
}

/* jansson's real formatting (jsonp_dtostr): "%.<prec>g", ".0" appended when the text has
 * neither '.' nor 'e', and no '+' or leading zeros in the exponent. */
static void
jw_dtostr(gw_jw *w, double v, int prec)
{
	char buf[48];
	int n = snprintf(buf, sizeof(buf), "%.*g", prec, v);
	if (n < 0 || (size_t) n >= sizeof(buf) - 3)
		n = snprintf(buf, sizeof(buf), "0.0");
	size_t len = (size_t) n;
	if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL) {
		buf[len++] = '.';
		buf[len++] = '0';
		buf[len] = '\0';
	}
	char *start = strchr(buf, 'e');
	if (start != NULL) {
		start++;
		char *end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, len - (size_t) (end - buf) + 1);
			len -= (size_t) (end - start);
		}
	}
	gw_jw_raw(w, buf, len);
}

void
gw_jw_real(gw_jw *w, double v)
{
	jw_dtostr(w, isfinite(v) ? v : 0.0, 10);
}

void
gw_jw_f32(gw_jw *w, float v)
{
	/* gw_json_f32 rounds to 6 digits and jansson prints that double with 10: the same
	 * digits as printing 6 at once, except that %.10g writes 1e6..1e10 without exponent. */
	double d = isfinite(v) ? (double) v : 0.0;
	if (fabs(d) >= 999999.5) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%.6g", d);
		d = strtod(buf, NULL);
		jw_dtostr(w, d, 10);
		return;
	}
	jw_dtostr(w, d, 6);
}

void
gw_jw_ms(gw_jw *w, double ms)
{
	if (!isfinite(ms) || ms < 0)
		ms = 0;
	jw_dtostr(w, round(ms * 1000.0) / 1000.0, 10);
}

void
gw_jw_json(gw_jw *w, json_t *j)
{
	size_t n = j != NULL ? json_dumpb(j, NULL, 0, JSON_COMPACT | JSON_REAL_PRECISION(10)) : 0;
	if (n == 0) {
		json_decref(j);
		gw_jw_lit(w, "null");
		return;
	}
	if (jw_room(w, n) == 0) {
		json_dumpb(j, w->w_buf + w->w_len, n, JSON_COMPACT | JSON_REAL_PRECISION(10));
		w->w_len += n;
	}
	json_decref(j);
}

size_t
gw_utf8_seq(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	unsigned v = c & (0x7F >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	return n;
}
