/* rs_envelope: see rs_envelope.h. */
#include "rs_envelope.h"

#include <string.h>

#include "rs_pbwire.h"

int
rs_env_parse(const uint8_t *data, size_t len, rs_env *e)
{
	const uint8_t *p = data, *end = data + len;
	rs_pbw_field f;
	int rv;

	memset(e, 0, sizeof(*e));
	e->e_body = (const uint8_t *) "";
	e->e_error = "";
	while ((rv = rs_pbw_next(&p, end, &f)) == 1) {
		if (f.f_num == 1 && f.f_type == RS_PBW_VARINT)
			e->e_schema_version = (uint32_t) f.f_varint;
		else if (f.f_num == 2 && f.f_type == RS_PBW_VARINT)
			e->e_method = (int32_t) f.f_varint;
		else if (f.f_num == 3 && f.f_type == RS_PBW_LEN) {
			e->e_body = f.f_data;
			e->e_body_len = f.f_len;
		} else if (f.f_num == 4 && f.f_type == RS_PBW_VARINT)
			e->e_status = (int32_t) f.f_varint;
		else if (f.f_num == 5 && f.f_type == RS_PBW_LEN) {
			e->e_error = (const char *) f.f_data;
			e->e_error_len = f.f_len;
		} else if (f.f_num <= 5)
			return -1; /* a known field with the wrong wire type */
	}
	return rv;
}

size_t
rs_env_prefix(uint8_t *out, Rs__Method method, size_t body_len)
{
	size_t n = 0;
	out[n++] = (1 << 3) | RS_PBW_VARINT;
	n += rs_pbw_put_varint(out + n, RS_SCHEMA_VERSION);
	if (method != 0) {
		out[n++] = (2 << 3) | RS_PBW_VARINT;
		n += rs_pbw_put_varint(out + n, (uint64_t) (int64_t) method);
	}
	if (body_len > 0) {
		out[n++] = (3 << 3) | RS_PBW_LEN;
		n += rs_pbw_put_varint(out + n, body_len);
	}
	return n;
}
