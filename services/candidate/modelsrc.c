#include "modelsrc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"
#include "rs_log.h"

static int
cmp_u32_by_id_desc(const void *a, const void *b, void *arg)
{
	const cand_snap *s = arg;
	int64_t x = s->items[*(const uint32_t *) a].id, y = s->items[*(const uint32_t *) b].id;
	return (x < y) - (x > y);
}

int
cand_join_build(cand_snap *snap, rs_model *model, cand_join **out)
{
	cand_join *j = calloc(1, sizeof(*j));
	uint32_t n = rs_model_n_items(model);
	const int64_t *ids = rs_model_item_ids(model);

	if (j == NULL)
		return RS_ENOMEM;
	atomic_init(&j->refs, 1);
	j->code2idx = malloc((n ? n : 1) * sizeof(*j->code2idx));
	j->idx2code = malloc((snap->n_items ? snap->n_items : 1) * sizeof(*j->idx2code));
	j->new_items = malloc((snap->n_items ? snap->n_items : 1) * sizeof(*j->new_items));
	if (j->code2idx == NULL || j->idx2code == NULL || j->new_items == NULL) {
		free(j->code2idx);
		free(j->idx2code);
		free(j->new_items);
		free(j);
		return RS_ENOMEM;
	}
	for (uint32_t c = 0; c < n; c++) {
		int64_t idx = ids[c] > 0 ? cand_snap_find(snap, ids[c]) : -1;
		j->code2idx[c] = idx >= 0 ? (uint32_t) idx : CAND_NO_ITEM;
	}
	for (size_t i = 0; i < snap->n_items; i++) {
		uint32_t code;
		if (rs_model_code(model, snap->items[i].id, &code) != 0) {
			j->idx2code[i] = CAND_NO_ITEM;
			j->new_items[j->n_new++] = (uint32_t) i;
		} else {
			j->idx2code[i] = code;
		}
	}
	/* newest first (ids grow with time in this catalog), bounded */
	qsort_r(j->new_items, j->n_new, sizeof(*j->new_items), cmp_u32_by_id_desc, snap);
	if (j->n_new > CAND_NEW_ITEMS)
		j->n_new = CAND_NEW_ITEMS;
	j->snap = cand_snap_ref(snap);
	j->model = rs_model_ref(model);
	*out = j;
	return 0;
}

cand_join *
cand_join_ref(cand_join *j)
{
	if (j != NULL)
		atomic_fetch_add(&j->refs, 1);
	return j;
}

void
cand_join_unref(cand_join *j)
{
	if (j == NULL || atomic_fetch_sub(&j->refs, 1) != 1)
		return;
	cand_snap_unref(j->snap);
	rs_model_unref(j->model);
	free(j->code2idx);
	free(j->idx2code);
	free(j->new_items);
	free(j);
}

static void
cand_vaux_free(void *p)
{
	cand_vaux *v = p;
	rs_ranksrc_destroy(v->rin);
	cand_als_index_destroy(v->als);
	free(v);
}

int
cand_vaux_prepare(void *ud, rs_model *m)
{
	cand_vaux *v = calloc(1, sizeof(*v));
	char err[300] = "";
	int rv;

	(void) ud;
	if (v == NULL) {
		rs_log_warn("candidate.version_aux_failed", "version=%s err=\"%s\"",
		            rs_model_version(m), rs_strerror(RS_ENOMEM));
		return 0;
	}
	if (rs_model_has_ranker(m)) {
		rv = rs_ranksrc_open(m, &v->rin, err, sizeof(err));
		if (rv != 0 && rv != RS_ENOTFOUND)
			rs_log_warn("candidate.ranker_sources_failed", "version=%s err=\"%s\"",
			            rs_model_version(m), err[0] ? err : rs_strerror(rv));
	}
	if (rs_model_factors(m) > 0 && rs_model_item_factors(m) != NULL &&
	    (rv = cand_als_index_build(rs_model_item_factors(m), rs_model_n_items(m),
	                               rs_model_factors(m), &v->als)) != 0)
		rs_log_warn(
		        "candidate.als_index_unused", "version=%s err=\"%s\"", rs_model_version(m),
		        rv == RS_EINVAL ? "block scores differ from the whole's" : rs_strerror(rv));
	if (v->rin == NULL && v->als == NULL) {
		free(v);
		return 0;
	}
	rs_model_set_aux(m, v, cand_vaux_free);
	rs_model_set_aux_bytes(m, sizeof(*v) + cand_als_index_bytes(v->als));
	return 0;
}

const cand_vaux *
cand_vaux_of(const rs_model *m)
{
	return m != NULL ? rs_model_aux(m) : NULL;
}

/* Number of leading '/'-separated segments a and b share, and each one's segment count. */
static void
cat_common(const char *a, const char *b, int *common, int *na, int *nb)
{
	*common = 0;
	*na = a[0] != '\0';
	*nb = b[0] != '\0';
	for (const char *p = a; *p; p++)
		*na += *p == '/';
	for (const char *p = b; *p; p++)
		*nb += *p == '/';
	while (*a != '\0' && *b != '\0') {
		size_t la = strcspn(a, "/"), lb = strcspn(b, "/");
		if (la != lb || strncmp(a, b, la) != 0)
			break;
		(*common)++;
		a += la;
		b += lb;
		if (*a == '/')
			a++;
		if (*b == '/')
			b++;
	}
}

float
cand_meta_sim(const cand_item *a, const cand_item *b)
{
	int common, na, nb;
	float sim = 0;
	int brand = a->brand[0] != '\0' && strcmp(a->brand, b->brand) == 0;

	cat_common(a->category, b->category, &common, &na, &nb);
	if (common == 0 && !brand)
		return 0;
	if (common > 0)
		sim += 0.6f * (float) common / (float) (na > nb ? na : nb);
	if (brand)
		sim += 0.25f;
	if (a->has_price && b->has_price && a->price > 0 && b->price > 0) {
		float d = fabsf(logf((float) (a->price / b->price))) / logf(4.0f);
		sim += 0.15f * (d < 1 ? 1 - d : 0);
	}
	return sim;
}
