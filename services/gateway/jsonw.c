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

/* 10^0 .. 10^19 */
static const uint64_t jw_pow10[20] = {1u,
                                      10u,
                                      100u,
                                      1000u,
                                      10000u,
                                      100000u,
                                      1000000u,
                                      10000000u,
                                      100000000u,
                                      1000000000u,
                                      10000000000u,
                                      100000000000u,
                                      1000000000000u,
                                      10000000000000u,
                                      100000000000000u,
                                      1000000000000000u,
                                      10000000000000000u,
                                      100000000000000000u,
                                      1000000000000000000u,
                                      10000000000000000000u};

int
gw_jw_fmt_g(char *buf, size_t cap, int prec, double v)
{
	/* The fast path: 1e-4 <= |v| < 10^prec, where %g writes no exponent; the value's
	 * digits are exact integer arithmetic on its binary form (v = m 2^e), rounded to
	 * nearest, ties to even, as glibc's printf rounds. Anything else: snprintf. */
	double a = fabs(v);
	if (prec < 1 || prec > 10 || cap < 32 || !(a >= 1e-4) || !(a < (double) jw_pow10[prec]))
		return snprintf(buf, cap, "%.*g", prec, v);
	uint64_t bits;
	memcpy(&bits, &a, sizeof(bits));
	int be = (int) (bits >> 52);
	uint64_t m = bits & ((1ull << 52) - 1);
	if (be == 0)
		return snprintf(buf, cap, "%.*g", prec, v); /* subnormal: never in range */
	m |= 1ull << 52;
	int e = be - 1075; /* a = m 2^e */
	/* x: the decimal exponent of a (10^x <= a < 10^(x+1)); 10^-k doubles lie above 10^-k,
	 * so comparing with them is comparing with the exact powers */
	static const double neg[5] = {1, 1e-1, 1e-2, 1e-3, 1e-4};
	int x;
	if (a >= 1) {
		for (x = 0; x + 1 < prec && a >= (double) jw_pow10[x + 1]; x++)
			;
	} else {
		for (x = -1; a < neg[-x]; x--)
			;
	}
	int sc = prec - 1 - x; /* q = round(a 10^sc): prec digits; 0 <= sc <= prec + 3 */
	unsigned __int128 num = (unsigned __int128) m * jw_pow10[sc];
	unsigned __int128 q;
	if (e >= 0) {
		q = num << e; /* an integer below 10^prec: nothing to round */
	} else {
		int sh = -e;
		if (sh >= 128)
			return snprintf(buf, cap, "%.*g", prec, v);
		q = num >> sh;
		unsigned __int128 rem = num - (q << sh), half = (unsigned __int128) 1 << (sh - 1);
		if (rem > half || (rem == half && (q & 1)))
			q++;
	}
	if (q == (unsigned __int128) jw_pow10[prec]) { /* rounded up to the next power */
		q /= 10;
		if (++x >= prec)
			return snprintf(buf, cap, "%.*g", prec, v);
	}
	char dig[12];
	uint64_t d = (uint64_t) q;
	for (int i = prec - 1; i >= 0; i--, d /= 10)
		dig[i] = (char) ('0' + d % 10);
	int nd = prec;
	while (nd > 1 && dig[nd - 1] == '0')
		nd--; /* %g drops trailing zeros (of the fraction: x < prec - 1 below) */
	size_t n = 0;
	if (v < 0)
		buf[n++] = '-';
	if (x >= 0) {
		for (int i = 0; i <= x; i++)
			buf[n++] = dig[i];
		if (nd > x + 1) {
			buf[n++] = '.';
			for (int i = x + 1; i < nd; i++)
				buf[n++] = dig[i];
		}
	} else {
		buf[n++] = '0';
		buf[n++] = '.';
		for (int i = -1; i > x; i--)
			buf[n++] = '0';
		for (int i = 0; i < nd; i++)
			buf[n++] = dig[i];
	}
	buf[n] = '\0';
	return (int) n;
}

/* jansson's real formatting (jsonp_dtostr): "%.<prec>g", ".0" appended when the text has
 * neither '.' nor 'e', and no '+' or leading zeros in the exponent. */
static void
jw_dtostr(gw_jw *w, double v, int prec)
{
	char buf[48];
	int n = gw_jw_fmt_g(buf, sizeof(buf), prec, v);
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
