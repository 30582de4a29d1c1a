#include "twostage.h"
#include "rs_err.h"
int
tr_twostage_fit(const tr_params *p, const tr_dataset *ds, tr_twostage **out, tr_error *err)
{
	(void) p;
	(void) ds;
	(void) out;
	return tr_error_set(err, RS_EINVAL, "todo");
}
int
tr_twostage_save(const tr_twostage *ts, const tr_dataset *ds, const char *dir, tr_error *err)
{
	(void) ts;
	(void) ds;
	(void) dir;
	(void) err;
	return RS_EINVAL;
}
int
tr_twostage_load(const tr_params *p, int32_t n_users, int32_t n_items, const char *dir,
                 tr_twostage **out, tr_error *err)
{
	(void) p;
	(void) n_users;
	(void) n_items;
	(void) dir;
	(void) out;
	return tr_error_set(err, RS_EINVAL, "todo");
}
int
tr_twostage_recommend_batch(const tr_twostage *ts, const tr_model *m, const tr_dataset *ds,
                            const int32_t *users, size_t n, int k, int32_t *out, int *counts,
                            tr_error *err)
{
	(void) ts;
	(void) m;
	(void) ds;
	(void) users;
	(void) n;
	(void) k;
	(void) out;
	(void) counts;
	return tr_error_set(err, RS_EINVAL, "todo");
}
void
tr_twostage_destroy(tr_twostage *ts)
{
	(void) ts;
}
