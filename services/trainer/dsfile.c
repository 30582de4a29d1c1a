/* dsfile: see dsfile.h. */
#include "dsfile.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"

/* dsfile_ids_write: the names of ids in code order, each NUL-terminated */
static int
dsfile_ids_write(const tr_ids *ids, const char *dir, const char *name, tr_error *err)
{
	/* names are stored back to back in code order (rs_strmap_pool), so the pool is the file */
	size_t len;
	const char *pool = rs_strmap_pool(&ids->i_map, &len);
	return tr_blob_write(dir, name, pool, len, err);
}

static int
dsfile_ids_read(const char *dir, const char *name, int32_t n, tr_ids **out, tr_error *err)
{
	char path[4096], *buf = NULL;
	size_t len = 0, at = 0;
	tr_ids *ids;
	int32_t code = 0;
	int rv;

	tr_path_join(path, sizeof(path), dir, name);
	if ((rv = tr_read_file(path, &buf, &len, err)) != 0)
		return rv;
	ids = tr_xmalloc(sizeof(*ids));
	tr_ids_init(ids);
	while (at < len && code < n) {
		size_t l = strnlen(buf + at, len - at);
		if (at + l == len) /* no terminating NUL: cut short */
			break;
		if (tr_ids_intern(ids, buf + at, l) != code)
			break; /* a repeated name */
		code++;
		at += l + 1;
	}
	free(buf);
	if (code != n || at != len) {
		tr_ids_fini(ids);
		free(ids);
		return tr_error_set(err, RS_ECORRUPT, "%s: expected %d distinct NUL-terminated ids",
		                    path, (int) n);
	}
	*out = ids;
	return 0;
}

int
tr_dsfile_write(const tr_dataset *ds, const char *dir, const char *tag, tr_error *err)
{
	const size_t nu = (size_t) ds->n_users, ni = (size_t) ds->n_items;
	const size_t nnz = (size_t) ds->nnz, nneg = (size_t) ds->n_neg;
	const int ids = ds->owns_ids && ds->users != NULL && ds->items != NULL;
	char path[4096], fp[24];
	json_t *root;
	int rv;

	if ((rv = tr_mkdir_p(dir, err)) != 0)
		return rv;
	snprintf(fp, sizeof(fp), "%016" PRIx64, ds->fingerprint);
	root = json_pack(
	        "{s:s, s:i, s:s, s:i, s:i, s:I, s:I, s:b, s:b, s:b, s:i, s:i, s:I, s:I, s:s}",
	        "format", TR_DATASET_FORMAT, "format_version", TR_DATASET_FORMAT_VERSION, "tag",
	        tag, "users", ds->n_users, "items", ds->n_items, "interactions",
	        (json_int_t) ds->nnz, "negatives", (json_int_t) ds->n_neg, "has_ts", ds->has_ts,
	        "weighted", ds->u_w != NULL, "negative_lists", ds->neg_ptr != NULL, "ids",
	        ids ? tr_ids_count(ds->users) : 0, "item_ids", ids ? tr_ids_count(ds->items) : 0,
	        "rows_read", (json_int_t) ds->rows_read, "duplicates", (json_int_t) ds->duplicates,
	        "fingerprint", fp);
	if (root == NULL)
		return tr_error_set(err, RS_EINTERNAL, "%s: cannot build dataset.json", dir);
	tr_path_join(path, sizeof(path), dir, "dataset.json");
	rv = json_dump_file(root, path, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
	if (rv != 0)
		return tr_error_set(err, RS_EIO, "%s: cannot write", path);
	if ((rv = tr_blob_write(dir, "u_ptr.i64", ds->u_ptr, (nu + 1) * 8, err)) != 0 ||
	    (rv = tr_blob_write(dir, "u_items.i32", ds->u_items, nnz * 4, err)) != 0 ||
	    (rv = tr_blob_write(dir, "u_ts.f64", ds->u_ts, nnz * 8, err)) != 0 ||
	    (rv = tr_blob_write(dir, "i_ptr.i64", ds->i_ptr, (ni + 1) * 8, err)) != 0 ||
	    (rv = tr_blob_write(dir, "i_users.i32", ds->i_users, nnz * 4, err)) != 0)
		return rv;
	if (ds->u_w != NULL && ((rv = tr_blob_write(dir, "u_w.f32", ds->u_w, nnz * 4, err)) != 0 ||
	                        (rv = tr_blob_write(dir, "i_w.f32", ds->i_w, nnz * 4, err)) != 0))
		return rv;
	if (ds->neg_ptr != NULL &&
	    ((rv = tr_blob_write(dir, "neg_ptr.i64", ds->neg_ptr, (nu + 1) * 8, err)) != 0 ||
	     (rv = tr_blob_write(dir, "neg_items.i32", ds->neg_items, nneg * 4, err)) != 0 ||
	     (rv = tr_blob_write(dir, "neg_w.f32", ds->neg_w, nneg * 4, err)) != 0 ||
	     (rv = tr_blob_write(dir, "neg_ts.f64", ds->neg_ts, nneg * 8, err)) != 0))
		return rv;
	if (ids && ((rv = dsfile_ids_write(ds->users, dir, "users.ids", err)) != 0 ||
	            (rv = dsfile_ids_write(ds->items, dir, "items.ids", err)) != 0))
		return rv;
	return 0;
}

/* dsfile_arrays: the arrays of a dataset whose sizes and flags are set */
static int
dsfile_arrays(const char *dir, int weighted, int neglists, tr_dataset *ds, tr_error *err)
{
	const size_t nu = (size_t) ds->n_users, ni = (size_t) ds->n_items;
	const size_t nnz = (size_t) ds->nnz, nneg = (size_t) ds->n_neg;
	int rv;

	if ((rv = tr_blob_read(dir, "u_ptr.i64", (nu + 1) * 8, (void **) &ds->u_ptr, err)) != 0 ||
	    (rv = tr_blob_read(dir, "u_items.i32", nnz * 4, (void **) &ds->u_items, err)) != 0 ||
	    (rv = tr_blob_read(dir, "u_ts.f64", nnz * 8, (void **) &ds->u_ts, err)) != 0 ||
	    (rv = tr_blob_read(dir, "i_ptr.i64", (ni + 1) * 8, (void **) &ds->i_ptr, err)) != 0 ||
	    (rv = tr_blob_read(dir, "i_users.i32", nnz * 4, (void **) &ds->i_users, err)) != 0)
		return rv;
	if (weighted &&
	    ((rv = tr_blob_read(dir, "u_w.f32", nnz * 4, (void **) &ds->u_w, err)) != 0 ||
	     (rv = tr_blob_read(dir, "i_w.f32", nnz * 4, (void **) &ds->i_w, err)) != 0))
		return rv;
	if (neglists &&
	    ((rv = tr_blob_read(dir, "neg_ptr.i64", (nu + 1) * 8, (void **) &ds->neg_ptr, err)) !=
	             0 ||
	     (rv = tr_blob_read(dir, "neg_items.i32", nneg * 4, (void **) &ds->neg_items, err)) !=
	             0 ||
	     (rv = tr_blob_read(dir, "neg_w.f32", nneg * 4, (void **) &ds->neg_w, err)) != 0 ||
	     (rv = tr_blob_read(dir, "neg_ts.f64", nneg * 8, (void **) &ds->neg_ts, err)) != 0))
		return rv;
	/* the CSR offsets must stay inside the arrays (a damaged file must not be read past) */
	if (ds->u_ptr[0] != 0 || ds->u_ptr[nu] != ds->nnz || ds->i_ptr[0] != 0 ||
	    ds->i_ptr[ni] != ds->nnz ||
	    (neglists && (ds->neg_ptr[0] != 0 || ds->neg_ptr[nu] != ds->n_neg)))
		return tr_error_set(err, RS_ECORRUPT, "%s: offsets do not match the sizes", dir);
	return 0;
}

int
tr_dsfile_read(const char *dir, const tr_dataset *parent, const char *tag, tr_dataset *ds,
               tr_error *err)
{
	char path[4096];
	json_error_t jerr;
	json_t *root;
	const char *format = "", *ftag = "", *fp = "";
	int version = -1, has_ts = 0, weighted = 0, neglists = 0, ids = 0, item_ids = 0, rv;
	json_int_t nnz = -1, nneg = -1, rows = 0, dups = 0;

	memset(ds, 0, sizeof(*ds));
	tr_path_join(path, sizeof(path), dir, "dataset.json");
	if ((root = json_load_file(path, 0, &jerr)) == NULL)
		return tr_error_set(err, RS_EIO, "%s: %s", path, jerr.text);
	if (json_unpack_ex(
	            root, &jerr, 0,
	            "{s:s, s:i, s:s, s:i, s:i, s:I, s:I, s:b, s:b, s:b, s:i, s:i, s:I, s:I, s:s}",
	            "format", &format, "format_version", &version, "tag", &ftag, "users",
	            &ds->n_users, "items", &ds->n_items, "interactions", &nnz, "negatives", &nneg,
	            "has_ts", &has_ts, "weighted", &weighted, "negative_lists", &neglists, "ids",
	            &ids, "item_ids", &item_ids, "rows_read", &rows, "duplicates", &dups,
	            "fingerprint", &fp) != 0 ||
	    strcmp(format, TR_DATASET_FORMAT) != 0 || version != TR_DATASET_FORMAT_VERSION ||
	    ds->n_users < 0 || ds->n_items < 0 || nnz < 0 || nneg < 0) {
		rv = tr_error_set(err, RS_ECORRUPT,
		                  "%s: not an rs-train dataset of format version %d", path,
		                  TR_DATASET_FORMAT_VERSION);
		json_decref(root);
		memset(ds, 0, sizeof(*ds));
		return rv;
	}
	if (tag != NULL && strcmp(tag, ftag) != 0) {
		rv = tr_error_set(err, RS_EINVAL, "%s: written for run '%s', not run '%s'", path,
		                  ftag, tag);
		json_decref(root);
		memset(ds, 0, sizeof(*ds));
		return rv;
	}
	ds->nnz = nnz;
	ds->n_neg = nneg;
	ds->has_ts = has_ts;
	ds->rows_read = (long) rows;
	ds->duplicates = (long) dups;
	ds->fingerprint = strtoull(fp, NULL, 16);
	json_decref(root);
	if (ids > 0 || item_ids > 0) { /* the id tables (they may name more than the sizes) */
		ds->owns_ids = 1;
		if ((rv = dsfile_ids_read(dir, "users.ids", ids, &ds->users, err)) != 0 ||
		    (rv = dsfile_ids_read(dir, "items.ids", item_ids, &ds->items, err)) != 0) {
			tr_dataset_fini(ds);
			return rv;
		}
	} else {
		if (parent == NULL || parent->n_users != ds->n_users ||
		    parent->n_items != ds->n_items) {
			memset(ds, 0, sizeof(*ds));
			return tr_error_set(
			        err, RS_EINVAL,
			        "%s: a dataset without ids needs the dataset it was carved "
			        "from (same users and items)",
			        dir);
		}
		ds->users = parent->users;
		ds->items = parent->items;
	}
	if ((rv = dsfile_arrays(dir, weighted, neglists, ds, err)) != 0)
		tr_dataset_fini(ds);
	return rv;
}
