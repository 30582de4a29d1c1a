/* rs_pbwire: a minimal reader of the protobuf wire format, for code that looks at a few
 * top-level fields of a packed message without unpacking (and copying) the rest:
 * rs_rpc reads the Envelope and the RequestHeader this way, and the gateway passes the
 * candidate list from candidate's answer to ranking as bytes.
 *
 * Header-only. Nothing is allocated; every pointer returned points into the input. */
#ifndef RS_PBWIRE_H
#define RS_PBWIRE_H

#include <stddef.h>
#include <stdint.h>

enum { RS_PBW_VARINT = 0, RS_PBW_I64 = 1, RS_PBW_LEN = 2, RS_PBW_I32 = 5 };

typedef struct rs_pbw_field {
	uint32_t f_num;         /* field number */
	int f_type;             /* RS_PBW_* */
	uint64_t f_varint;      /* RS_PBW_VARINT: the value; I64/I32: the raw bits */
	const uint8_t *f_data;  /* RS_PBW_LEN: the payload */
	size_t f_len;           /* RS_PBW_LEN: payload length */
	const uint8_t *f_start; /* the whole field, tag included (for copying it elsewhere) */
	size_t f_total;
} rs_pbw_field;

/* rs_pbw_varint: reads a varint at *p (< end), advancing *p. Returns 0, or -1 if malformed. */
static inline int
rs_pbw_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		v |= (uint64_t) (b & 0x7F) << shift;
		if ((b & 0x80) == 0) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

/* rs_pbw_next: the field at *p, advancing *p past it. Returns 1 (a field), 0 (end of
 * input) or -1 (malformed: truncated, bad tag, groups, field 0). */
static inline int
rs_pbw_next(const uint8_t **p, const uint8_t *end, rs_pbw_field *f)
{
	uint64_t tag, n;
	if (*p >= end)
		return 0;
	f->f_start = *p;
	if (rs_pbw_varint(p, end, &tag) != 0 || (tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF)
		return -1;
	f->f_num = (uint32_t) (tag >> 3);
	f->f_type = (int) (tag & 7);
	f->f_data = NULL;
	f->f_len = 0;
	f->f_varint = 0;
	switch (f->f_type) {
	case RS_PBW_VARINT:
		if (rs_pbw_varint(p, end, &f->f_varint) != 0)
			return -1;
		break;
	case RS_PBW_I64:
	case RS_PBW_I32:
		n = f->f_type == RS_PBW_I64 ? 8 : 4;
		if ((uint64_t) (end - *p) < n)
			return -1;
		for (uint64_t i = 0; i < n; i++)
			f->f_varint |= (uint64_t) (*p)[i] << (8 * i);
		*p += n;
		break;
	case RS_PBW_LEN:
		if (rs_pbw_varint(p, end, &n) != 0 || n > (uint64_t) (end - *p))
			return -1;
		f->f_data = *p;
		f->f_len = (size_t) n;
		*p += n;
		break;
	default:
		return -1;
	}
	f->f_total = (size_t) (*p - f->f_start);
	return 1;
}

/* rs_pbw_put_varint: writes v at out (room for 10 bytes); returns the bytes written. */
static inline size_t
rs_pbw_put_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t) v;
	return n;
}

#endif
