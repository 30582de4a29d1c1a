/* ids: see ids.h. */
#include "ids.h"

#include <stdio.h>
#include <stdlib.h>

void
tr_ids_init(tr_ids *ids)
{
	rs_strmap_init(&ids->i_map);
}

void
tr_ids_fini(tr_ids *ids)
{
	if (ids != NULL)
		rs_strmap_fini(&ids->i_map);
}

int32_t
tr_ids_find(const tr_ids *ids, const char *s, size_t len)
{
	return (int32_t) rs_strmap_find(&ids->i_map, s, len);
}

int32_t
tr_ids_intern(tr_ids *ids, const char *s, size_t len)
{
	int64_t c = rs_strmap_intern(&ids->i_map, s, len, NULL);

	if (c < 0 || c > INT32_MAX) {
		fprintf(stderr, "rs-train: out of memory interning id %zu of %zu bytes\n",
		        (size_t) rs_strmap_count(&ids->i_map), len);
		abort();
	}
	return (int32_t) c;
}
