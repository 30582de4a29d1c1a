/* jsonw: a JSON writer straight into one growing buffer, for the hot responses (a
 * recommendation list is ~60 values; building a jansson tree costs a malloc per value and a
 * second pass to dump it). Output is byte-for-byte what json_dumps(JSON_COMPACT |
 * JSON_REAL_PRECISION(10)) prints for the same values in the same order (render.h's number
 * rules: invalid UTF-8 bytes become '?', non-finite numbers 0).
 *
 * The caller writes separators itself: gw_jw_lit(w, "{\"k\":"), a value, gw_jw_lit(w, ",\"k2\":").
 * Out of memory is sticky: later writes are ignored and gw_jw_take returns NULL. */
#ifndef GW_JSONW_H
#define GW_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef struct gw_jw {
	char *w_buf; /* malloc'd */
	size_t w_len, w_cap;
	int w_oom;
} gw_jw;

/* gw_jw_init: an empty writer with room for about cap bytes. */
void gw_jw_init(gw_jw *w, size_t cap);

/* gw_jw_free: frees the buffer (no-op after gw_jw_take). */
void gw_jw_free(gw_jw *w);

/* gw_jw_take: the NUL-terminated text (malloc'd, the caller frees it) and its length; NULL
 * after an allocation failure (the buffer is freed then). The writer is empty afterwards. */
char *gw_jw_take(gw_jw *w, size_t *len);

void gw_jw_raw(gw_jw *w, const char *s, size_t n);
#define gw_jw_lit(w, s) gw_jw_raw((w), "" s, sizeof(s) - 1) /* s: a string literal */

void gw_jw_str(gw_jw *w, const char *s); /* a JSON string; NULL -> "" */
void gw_jw_int(gw_jw *w, int64_t v);
void gw_jw_bool(gw_jw *w, int v);
/* gw_jw_fmt_g: snprintf(buf, cap, "%.*g", prec, v), the same text, without stdio for the
 * values JSON answers carry (1e-4 <= |v| < 10^prec, prec <= 10: exact integer arithmetic). */
int gw_jw_fmt_g(char *buf, size_t cap, int prec, double v);
void gw_jw_real(gw_jw *w, double v); /* like gw_json_num: 0 for NaN/inf */
void gw_jw_f32(gw_jw *w, float v);   /* like gw_json_f32: 6 significant digits */
void gw_jw_ms(gw_jw *w, double ms);  /* like gw_json_ms: rounded to µs, 0 if negative */

/* gw_utf8_seq: length (1-4) of the valid UTF-8 sequence at s, or 0 when it is invalid
 * (overlong, surrogate, above U+10FFFF, truncated). s must be NUL-terminated. */
size_t gw_utf8_seq(const unsigned char *s);

/* gw_jw_json: dumps a jansson value (compact) into the writer; takes the reference. */
void gw_jw_json(gw_jw *w, json_t *j);

#endif
