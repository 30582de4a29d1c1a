#include "catalog.h"

#include <stdlib.h>
#include <string.h>

#include "rs_err.h"

typedef struct cat_row {
	int64_t id;
	size_t i;
} cat_row;

static int
cmp_row(const void *a, const void *b)
{
	const cat_row *x = a, *y = b;
	if (x->id != y->id)
		return (x->id > y->id) - (x->id < y->id);
	return (x->i > y->i) - (x->i < y->i);
}

int
rank_catalog_create(const int64_t *ids, const char *const *titles, const char *const *categories,
                    size_t n, rank_catalog **out)
{
	rank_catalog *c = calloc(1, sizeof(*c));
	cat_row *rows = malloc((n ? n : 1) * sizeof(*rows));

	if (c == NULL || rows == NULL)
		goto fail;
	atomic_init(&c->refs, 1);
	for (size_t i = 0; i < n; i++)
		rows[i] = (cat_row){ids[i], i};
	qsort(rows, n, sizeof(*rows), cmp_row);
	c->ids = malloc((n ? n : 1) * sizeof(*c->ids));
	c->titles = calloc(n ? n : 1, sizeof(*c->titles));
	c->categories = calloc(n ? n : 1, sizeof(*c->categories));
	if (c->ids == NULL || c->titles == NULL || c->categories == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (c->n > 0 && c->ids[c->n - 1] == rows[i].id)
			continue; /* duplicate id: the first row wins */
		size_t k = c->n++;
		c->ids[k] = rows[i].id;
		c->titles[k] = strdup(titles[rows[i].i] != NULL ? titles[rows[i].i] : "");
		c->categories[k] =
		        strdup(categories[rows[i].i] != NULL ? categories[rows[i].i] : "");
		if (c->titles[k] == NULL || c->categories[k] == NULL)
			goto fail;
	}
	free(rows);
	*out = c;
	return 0;
fail:
	free(rows);
	rank_catalog_unref(c);
	return RS_ENOMEM;
}

rank_catalog *
rank_catalog_ref(rank_catalog *c)
{
	if (c != NULL)
		atomic_fetch_add(&c->refs, 1);
	return c;
}

void
rank_catalog_unref(rank_catalog *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->titles[i]);
		free(c->categories[i]);
	}
	free(c->ids);
	free(c->titles);
	free(c->categories);
	free(c);
}

int64_t
rank_catalog_find(const rank_catalog *c, int64_t id)
{
	size_t lo = 0, hi;
	if (c == NULL)
		return -1;
	hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n && c->ids[lo] == id ? (int64_t) lo : -1;
}
