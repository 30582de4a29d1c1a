#include "titles.h"

#include "db.h"
#include "render.h"
#include "rs_err.h"
#include "rs_pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char titles_sql[] =
        "select item_id, coalesce(title, ''), coalesce(category, ''), price from items "
        "where item_id = any($1::bigint[])";

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
	return (x > y) - (x < y);
}

static int
cmp_title(const void *a, const void *b)
{
	return cmp_i64(&((const gw_title *) a)->t_id, &((const gw_title *) b)->t_id);
}

/* ids as a PostgreSQL array literal "{1,2,3}" (sorted, distinct) in the arena. */
static char *
titles_array(rs_arena *a, const int64_t *ids, size_t n)
{
	int64_t *s = rs_arena_alloc(a, (n ? n : 1) * sizeof(*s));
	char *buf = rs_arena_alloc(a, n * 21 + 3);
	size_t len = 0;
	if (s == NULL || buf == NULL)
		return NULL;
	if (n > 0)
		memcpy(s, ids, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_i64);
	buf[len++] = '{';
	for (size_t i = 0; i < n; i++)
		if (i == 0 || s[i] != s[i - 1])
			len += (size_t) sprintf(buf + len, "%s%" PRId64, len > 1 ? "," : "", s[i]);
	buf[len++] = '}';
	buf[len] = '\0';
	return buf;
}

int
gw_titles_lookup(gw_db *db, rs_arena *a, const int64_t *ids, size_t n, gw_titles *out)
{
	int rv;

	memset(out, 0, sizeof(*out));
	if (n > GW_TITLES_MAX)
		return RS_EINVAL;
	if (n == 0)
		return 0;
	const char *arr = titles_array(a, ids, n);
	if (arr == NULL)
		return RS_ENOMEM;
	PGresult *res = gw_db_query(db, titles_sql, 1, &arr, &rv);
	if (res == NULL)
		return rv;
	if ((rv = rs_pg_check(NULL, res, PGRES_TUPLES_OK, "gw.titles")) != 0) {
		PQclear(res);
		return rv;
	}
	size_t rows = (size_t) PQntuples(res);
	gw_title *t = rs_arena_alloc(a, (rows ? rows : 1) * sizeof(*t));
	if (t == NULL) {
		PQclear(res);
		return RS_ENOMEM;
	}
	for (size_t i = 0; i < rows; i++) {
		int r = (int) i;
		t[i].t_id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		t[i].t_title = rs_arena_strdup(a, PQgetvalue(res, r, 1));
		t[i].t_category = rs_arena_strdup(a, PQgetvalue(res, r, 2));
		t[i].t_has_price = !PQgetisnull(res, r, 3);
		t[i].t_price = t[i].t_has_price ? strtod(PQgetvalue(res, r, 3), NULL) : 0;
		if (t[i].t_title == NULL || t[i].t_category == NULL) {
			PQclear(res);
			return RS_ENOMEM;
		}
	}
	PQclear(res);
	qsort(t, rows, sizeof(*t), cmp_title);
	out->t_items = t;
	out->t_n = rows;
	return 0;
}

const gw_title *
gw_titles_find(const gw_titles *t, int64_t id)
{
	gw_title key = {.t_id = id};
	if (t->t_n == 0)
		return NULL;
	return bsearch(&key, t->t_items, t->t_n, sizeof(key), cmp_title);
}

json_t *
gw_titles_json(const gw_titles *t)
{
	json_t *o = json_object();
	char key[24];
	for (size_t i = 0; o != NULL && i < t->t_n; i++) {
		const gw_title *it = &t->t_items[i];
		json_t *e = json_object();
		json_object_set_new(e, "title", gw_json_str(it->t_title));
		json_object_set_new(e, "category", gw_json_str(it->t_category));
		json_object_set_new(e, "price",
		                    it->t_has_price ? gw_json_num(it->t_price) : json_null());
		snprintf(key, sizeof(key), "%" PRId64, it->t_id);
		json_object_set_new(o, key, e);
	}
	return o;
}
