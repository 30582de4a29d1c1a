/* model: see model.h. */
#include "model.h"

#include <inttypes.h>

#include "manifest.h"
#include "rs_err.h"
#include "stage1.h"
#include "twostage.h"

int
tr_model_fit(tr_kind kind, const tr_params *p, const tr_dataset *ds, tr_model *m, tr_error *err)
{
	double t0 = tr_now();
	int rv;

	if (kind != TR_TWOSTAGE)
		return tr_stage1_fit(kind, p, ds, m, err);
	if ((rv = tr_model_begin(kind, p, ds, m, err)) != 0)
		return rv;
	if ((rv = tr_twostage_fit(p, ds, &m->ts, err)) != 0) {
		tr_model_fini(m);
		return rv;
	}
	tr_twostage_sources_str(m->ts, m->params.sources, sizeof(m->params.sources));
	m->params.fallback = tr_twostage_fallback(m->ts);
	m->fit_seconds = tr_now() - t0;
	return 0;
}

int
tr_model_save(const tr_model *m, const tr_dataset *ds, const char *dir, tr_error *err)
{
	int rv;

	if (m->kind != TR_TWOSTAGE)
		return tr_stage1_save(m, ds, dir, err);
	if ((rv = tr_model_save_base(m, ds, dir, err)) != 0 ||
	    (rv = tr_twostage_save(m->ts, ds, dir, err)) != 0)
		return rv;
	return tr_manifest_write(m, dir, err); /* last: a folder without it is incomplete */
}

int
tr_model_load(const char *dir, tr_model *m, tr_error *err)
{
	int rv, dual;

	if ((rv = tr_model_load_base(dir, m, &dual, err)) == 0)
		rv = m->kind == TR_TWOSTAGE ? tr_twostage_load(&m->params, m->n_users, m->n_items,
		                                               dir, &m->ts, err)
		                            : tr_stage1_load_arrays(m, dual, dir, err);
	if (rv != 0)
		tr_model_fini(m);
	return rv;
}

int
tr_model_check_data(const tr_model *m, const tr_dataset *ds, tr_error *err)
{
	if (m->fingerprint != ds->fingerprint || m->n_users != ds->n_users ||
	    m->n_items != ds->n_items)
		return tr_error_set(
		        err, RS_EINVAL,
		        "the training data (%d users, %d items, fingerprint %016" PRIx64
		        ") is not the data the model was fitted on (%d users, %d items, "
		        "fingerprint %016" PRIx64 "); pass the same --train file",
		        ds->n_users, ds->n_items, ds->fingerprint, m->n_users, m->n_items,
		        m->fingerprint);
	return 0;
}

void
tr_model_fini(tr_model *m)
{
	if (m == NULL)
		return;
	tr_twostage_destroy(m->ts);
	m->ts = NULL;
	tr_stage1_fini(m);
}
