/* The snapshot file: write (atomic, fsync'ed) and read (checked before anything is kept). */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rs_err.h"
#include "rs_hash.h"
#include "snapfile.h"

#define SNAPFILE_MAGIC  "RSCSNAP"
#define SNAPFILE_ENDIAN 0x01020304u
#define SNAPFILE_MAX_N  ((uint64_t) 1 << 32) /* every index is a uint32_t */

typedef struct snapfile_header {
	char magic[8];
	uint32_t format;
	uint32_t endian;
	uint64_t payload_bytes;
	uint64_t payload_fnv;
	uint32_t covisit_n, category_top, window_days, max_events;
	double half_life_h;
	uint64_t fingerprint, n_events;
	int64_t built_unix_ms;
	uint64_t cat_count;
	int64_t cat_sum;
	uint64_t n_items, n_popular, n_nbs, n_cats, n_cat_items, n_excl_users, n_excl_items;
	uint64_t n_str_bytes;
	char version[48];
	char model_version[128];
	uint64_t header_fnv; /* of every byte above */
} snapfile_header;
_Static_assert(sizeof(snapfile_header) == 344, "snapfile_header has no padding");

typedef struct snapfile_item {
	int64_t id;
	double price;
	float pop;
	int32_t row_hash;
	uint32_t cat, nb_off, nb_len, title_len, brand_len;
	uint8_t has_price, in_stock, withdrawn, in_catalog;
} snapfile_item;
_Static_assert(sizeof(snapfile_item) == 48, "snapfile_item has no padding");
_Static_assert(sizeof(cand_nb) == 12, "cand_nb is written as it is");

static void
set_err(char *err, size_t errn, const char *what, const char *path)
{
	if (err != NULL && errn > 0)
		snprintf(err, errn, "%s: %s", path, what);
}

/* ---- writing ---- */

typedef struct snapfile_out {
	FILE *f;
	uint64_t fnv, bytes;
	int failed;
} snapfile_out;

static void
out_put(snapfile_out *o, const void *p, size_t n)
{
	if (n == 0 || o->failed)
		return;
	if (fwrite(p, 1, n, o->f) != n)
		o->failed = 1;
	o->fnv = rs_fnv1a64(o->fnv, p, n);
	o->bytes += n;
}

/* The payload in file order (the reader takes it apart in the same order). */
static void
snapfile_put_payload(snapfile_out *o, const cand_snap *s, uint64_t n_cat_items)
{
	for (size_t i = 0; i < s->n_items; i++) {
		const cand_item *it = &s->items[i];
		snapfile_item r = {
		        .id = it->id,
		        .price = it->price,
		        .pop = it->pop,
		        .row_hash = it->row_hash,
		        .cat = it->cat,
		        .nb_off = it->nb_off,
		        .nb_len = it->nb_len,
		        .title_len = (uint32_t) strlen(it->title),
		        .brand_len = (uint32_t) strlen(it->brand),
		        .has_price = (uint8_t) (it->has_price != 0),
		        .in_stock = (uint8_t) (it->in_stock != 0),
		        .withdrawn = it->withdrawn,
		        .in_catalog = it->in_catalog,
		};
		out_put(o, &r, sizeof(r));
	}
	for (size_t i = 0; i < s->n_cats; i++) {
		uint32_t len = (uint32_t) strlen(s->cats[i]);
		out_put(o, &len, sizeof(len));
	}
	out_put(o, s->cat_off, s->n_cats * sizeof(*s->cat_off));
	out_put(o, s->cat_len, s->n_cats * sizeof(*s->cat_len));
	out_put(o, s->popular, s->n_popular * sizeof(*s->popular));
	out_put(o, s->popular_pop, s->n_popular * sizeof(*s->popular_pop));
	out_put(o, s->nbs, s->n_nbs * sizeof(*s->nbs));
	out_put(o, s->cat_items, n_cat_items * sizeof(*s->cat_items));
	out_put(o, s->cat_pop, n_cat_items * sizeof(*s->cat_pop));
	out_put(o, s->excl_users, s->n_excl_users * sizeof(*s->excl_users));
	for (size_t i = 0; s->n_excl_users > 0 && i <= s->n_excl_users; i++) {
		uint64_t off = s->excl_off[i];
		out_put(o, &off, sizeof(off));
	}
	size_t n_excl = s->n_excl_users > 0 ? s->excl_off[s->n_excl_users] : 0;
	out_put(o, s->excl_items, n_excl * sizeof(*s->excl_items));
	out_put(o, s->excl_why, n_excl * sizeof(*s->excl_why));
	for (size_t i = 0; i < s->n_items; i++) {
		out_put(o, s->items[i].title, strlen(s->items[i].title));
		out_put(o, s->items[i].brand, strlen(s->items[i].brand));
	}
	for (size_t i = 0; i < s->n_cats; i++)
		out_put(o, s->cats[i], strlen(s->cats[i]));
}

static void
snapfile_fill_header(snapfile_header *h, const cand_snap *s, const cand_snapfile_key *key,
                     const char *model_version, uint64_t n_cat_items)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, SNAPFILE_MAGIC, sizeof(SNAPFILE_MAGIC));
	h->format = CAND_SNAPFILE_FORMAT;
	h->endian = SNAPFILE_ENDIAN;
	h->covisit_n = key->covisit_n;
	h->category_top = key->category_top;
	h->window_days = key->window_days;
	h->max_events = key->max_events;
	h->half_life_h = key->half_life_h;
	h->fingerprint = s->fingerprint;
	h->n_events = s->n_events;
	h->built_unix_ms = s->built_unix_ms;
	h->cat_count = s->cat_count;
	h->cat_sum = s->cat_sum;
	h->n_items = s->n_items;
	h->n_popular = s->n_popular;
	h->n_nbs = s->n_nbs;
	h->n_cats = s->n_cats;
	h->n_cat_items = n_cat_items;
	h->n_excl_users = s->n_excl_users;
	h->n_excl_items = s->n_excl_users > 0 ? s->excl_off[s->n_excl_users] : 0;
	for (size_t i = 0; i < s->n_items; i++)
		h->n_str_bytes += strlen(s->items[i].title) + strlen(s->items[i].brand);
	for (size_t i = 0; i < s->n_cats; i++)
		h->n_str_bytes += strlen(s->cats[i]);
	snprintf(h->version, sizeof(h->version), "%s", s->version);
	snprintf(h->model_version, sizeof(h->model_version), "%s", model_version);
}

/* fsync of the folder holding path, so the rename itself is durable. */
static int
sync_parent(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	int rv = fsync(fd);
	close(fd);
	return rv;
}

int
cand_snapfile_write(const char *path, const cand_snap *s, const cand_snapfile_key *key,
                    const char *model_version, char *err, size_t errn)
{
	char tmp[4096];
	snapfile_header h;
	uint64_t n_cat_items = 0;

	if (path == NULL || s == NULL || key == NULL || model_version == NULL ||
	    strlen(model_version) >= sizeof(h.model_version)) {
		set_err(err, errn, "invalid arguments", path != NULL ? path : "(null)");
		return RS_EINVAL;
	}
	if ((size_t) snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		set_err(err, errn, "path too long", path);
		return RS_EINVAL;
	}
	for (size_t i = 0; i < s->n_cats; i++)
		if ((uint64_t) s->cat_off[i] + s->cat_len[i] > n_cat_items)
			n_cat_items = (uint64_t) s->cat_off[i] + s->cat_len[i];
	snapfile_fill_header(&h, s, key, model_version, n_cat_items);

	snapfile_out o = {.fnv = RS_FNV1A64_INIT};
	if ((o.f = fopen(tmp, "wb")) == NULL) {
		set_err(err, errn, strerror(errno), tmp);
		return RS_EIO;
	}
	/* The header first with the checksums zero, then the payload, then the header again. */
	out_put(&o, &h, sizeof(h));
	o.fnv = RS_FNV1A64_INIT;
	o.bytes = 0;
	snapfile_put_payload(&o, s, n_cat_items);
	h.payload_bytes = o.bytes;
	h.payload_fnv = o.fnv;
	h.header_fnv = rs_fnv1a64(RS_FNV1A64_INIT, &h, offsetof(snapfile_header, header_fnv));
	int bad = o.failed || fseek(o.f, 0, SEEK_SET) != 0 || fwrite(&h, sizeof(h), 1, o.f) != 1 ||
	          fflush(o.f) != 0 || fsync(fileno(o.f)) != 0;
	int e = errno;
	if (fclose(o.f) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad || rename(tmp, path) != 0) {
		set_err(err, errn, strerror(bad ? e : errno), tmp);
		unlink(tmp);
		return RS_EIO;
	}
	if (sync_parent(path) != 0) {
		set_err(err, errn, "fsync of the folder failed", path);
		return RS_EIO;
	}
	return 0;
}

/* ---- reading ---- */

typedef struct snapfile_in {
	const unsigned char *p, *end;
} snapfile_in;

/* A pointer to the next n * size bytes (NULL when the payload is shorter: never, once the
 * sizes were checked against the header). */
static const void *
in_take(snapfile_in *in, uint64_t n, size_t size)
{
	const void *p = in->p;
	if (n > (uint64_t) (in->end - in->p) / (size ? size : 1))
		return NULL;
	in->p += n * size;
	return p;
}

/* The payload's size from the header's counts; 0 (never a valid size: a header has items or
 * categories) when a count is out of range. */
static uint64_t
payload_size(const snapfile_header *h)
{
	if (h->n_items >= SNAPFILE_MAX_N || h->n_popular > h->n_items ||
	    h->n_nbs >= SNAPFILE_MAX_N || h->n_cats == 0 || h->n_cats > h->n_items + 1 ||
	    h->n_cat_items > h->n_items || h->n_excl_users >= SNAPFILE_MAX_N ||
	    h->n_excl_items >= SNAPFILE_MAX_N || h->n_str_bytes >= ((uint64_t) 1 << 40))
		return 0;
	return h->n_items * sizeof(snapfile_item) + h->n_cats * 3 * sizeof(uint32_t) +
	       h->n_popular * (sizeof(uint32_t) + sizeof(float)) + h->n_nbs * sizeof(cand_nb) +
	       h->n_cat_items * (sizeof(uint32_t) + sizeof(float)) +
	       h->n_excl_users * sizeof(int64_t) +
	       (h->n_excl_users > 0 ? (h->n_excl_users + 1) * sizeof(uint64_t) : 0) +
	       h->n_excl_items * (sizeof(int64_t) + 1) + h->n_str_bytes;
}

static void *
dup_array(const void *src, uint64_t n, size_t size)
{
	void *p = malloc(n > 0 ? n * size : 1);
	if (p != NULL && n > 0)
		memcpy(p, src, n * size);
	return p;
}

/* The next len bytes of the string blob as a string. Returns 0, RS_ECORRUPT (past its end),
 * RS_ENOMEM. */
static int
dup_str(const char **blob, const char *end, uint32_t len, char **out)
{
	if ((uint64_t) len > (uint64_t) (end - *blob))
		return RS_ECORRUPT;
	if ((*out = malloc((size_t) len + 1)) == NULL)
		return RS_ENOMEM;
	memcpy(*out, *blob, len);
	(*out)[len] = '\0';
	*blob += len;
	return 0;
}

/* Every index in range and every order the readers rely on; the message names the first
 * violation. */
static const char *
snapfile_check(const cand_snap *s, const snapfile_header *h)
{
	for (size_t i = 0; i < s->n_items; i++) {
		const cand_item *it = &s->items[i];
		if (i > 0 && s->items[i - 1].id >= it->id)
			return "item ids out of order";
		if (it->cat >= s->n_cats || (uint64_t) it->nb_off + it->nb_len > s->n_nbs)
			return "item index out of range";
	}
	for (size_t i = 1; i < s->n_cats; i++)
		if (strcmp(s->cats[i - 1], s->cats[i]) >= 0)
			return "categories out of order";
	for (size_t i = 0; i < s->n_cats; i++)
		if ((uint64_t) s->cat_off[i] + s->cat_len[i] > h->n_cat_items)
			return "category list out of range";
	for (size_t i = 0; i < h->n_cat_items; i++)
		if (s->cat_items[i] >= s->n_items)
			return "category item out of range";
	for (size_t i = 0; i < s->n_popular; i++)
		if (s->popular[i] >= s->n_items)
			return "popular item out of range";
	for (size_t i = 0; i < s->n_nbs; i++)
		if (s->nbs[i].item >= s->n_items)
			return "neighbour out of range";
	if (s->n_excl_users > 0) {
		if (s->excl_off[0] != 0 || s->excl_off[s->n_excl_users] != h->n_excl_items)
			return "exclusion offsets out of range";
		for (size_t u = 0; u < s->n_excl_users; u++)
			if (s->excl_off[u] > s->excl_off[u + 1] ||
			    (u > 0 && s->excl_users[u - 1] >= s->excl_users[u]))
				return "exclusions out of order";
	} else if (h->n_excl_items != 0) {
		return "exclusions without users";
	}
	return NULL;
}

/* The snapshot of a whole, checksummed payload. Returns 0 and *out, RS_ENOMEM, RS_ECORRUPT
 * (*why says what). */
static int
snapfile_decode(const snapfile_header *h, const unsigned char *payload, cand_snap **out,
                const char **why)
{
	snapfile_in in = {payload, payload + h->payload_bytes};
	cand_snap *s = calloc(1, sizeof(*s));
	int rv = RS_ENOMEM;

	if (s == NULL)
		return RS_ENOMEM;
	atomic_init(&s->refs, 1);
	const snapfile_item *items = in_take(&in, h->n_items, sizeof(snapfile_item));
	const uint32_t *name_len = in_take(&in, h->n_cats, sizeof(uint32_t));
	const void *cat_off = in_take(&in, h->n_cats, sizeof(uint32_t));
	const void *cat_len = in_take(&in, h->n_cats, sizeof(uint32_t));
	const void *popular = in_take(&in, h->n_popular, sizeof(uint32_t));
	const void *popular_pop = in_take(&in, h->n_popular, sizeof(float));
	const void *nbs = in_take(&in, h->n_nbs, sizeof(cand_nb));
	const void *cat_items = in_take(&in, h->n_cat_items, sizeof(uint32_t));
	const void *cat_pop = in_take(&in, h->n_cat_items, sizeof(float));
	const void *excl_users = in_take(&in, h->n_excl_users, sizeof(int64_t));
	const uint64_t *excl_off =
	        in_take(&in, h->n_excl_users > 0 ? h->n_excl_users + 1 : 0, sizeof(uint64_t));
	const void *excl_items = in_take(&in, h->n_excl_items, sizeof(int64_t));
	const void *excl_why = in_take(&in, h->n_excl_items, 1);
	const char *blob = (const char *) in_take(&in, h->n_str_bytes, 1);
	const char *blob_end = blob != NULL ? blob + h->n_str_bytes : NULL;
	/* payload_size() matched the file: every take above succeeded */
	if (items == NULL || name_len == NULL || blob == NULL || in.p != in.end) {
		*why = "sections do not add up";
		rv = RS_ECORRUPT;
		goto fail;
	}
	if ((s->items = calloc(h->n_items ? h->n_items : 1, sizeof(*s->items))) == NULL ||
	    (s->ids = malloc((h->n_items ? h->n_items : 1) * sizeof(*s->ids))) == NULL ||
	    (s->cats = calloc(h->n_cats, sizeof(*s->cats))) == NULL ||
	    (s->cat_off = dup_array(cat_off, h->n_cats, sizeof(uint32_t))) == NULL ||
	    (s->cat_len = dup_array(cat_len, h->n_cats, sizeof(uint32_t))) == NULL ||
	    (s->popular = dup_array(popular, h->n_popular, sizeof(uint32_t))) == NULL ||
	    (s->popular_pop = dup_array(popular_pop, h->n_popular, sizeof(float))) == NULL ||
	    (s->nbs = dup_array(nbs, h->n_nbs, sizeof(cand_nb))) == NULL ||
	    (s->cat_items = malloc((h->n_items ? h->n_items : 1) * sizeof(uint32_t))) == NULL ||
	    (s->cat_pop = malloc((h->n_items ? h->n_items : 1) * sizeof(float))) == NULL ||
	    (s->excl_users = dup_array(excl_users, h->n_excl_users, sizeof(int64_t))) == NULL ||
	    (s->excl_off = malloc((h->n_excl_users + 1) * sizeof(*s->excl_off))) == NULL ||
	    (s->excl_items = dup_array(excl_items, h->n_excl_items, sizeof(int64_t))) == NULL ||
	    (s->excl_why = dup_array(excl_why, h->n_excl_items, 1)) == NULL)
		goto fail;
	s->n_items = h->n_items; /* from here on cand_snap_unref frees what is filled in */
	s->n_popular = h->n_popular;
	s->n_nbs = h->n_nbs;
	s->n_excl_users = h->n_excl_users;
	/* cat_items/cat_pop hold n_items entries, like a built snapshot's: copy only the used */
	memcpy(s->cat_items, cat_items, h->n_cat_items * sizeof(uint32_t));
	memcpy(s->cat_pop, cat_pop, h->n_cat_items * sizeof(float));
	s->excl_off[0] = 0;
	for (size_t u = 0; h->n_excl_users > 0 && u <= h->n_excl_users; u++)
		s->excl_off[u] = (size_t) excl_off[u];
	for (size_t i = 0; i < h->n_items; i++) {
		snapfile_item r;
		memcpy(&r, &items[i], sizeof(r));
		cand_item *it = &s->items[i];
		it->id = s->ids[i] = r.id;
		it->price = r.price;
		it->pop = r.pop;
		it->row_hash = r.row_hash;
		it->cat = r.cat;
		it->nb_off = r.nb_off;
		it->nb_len = r.nb_len;
		it->has_price = r.has_price != 0;
		it->in_stock = r.in_stock != 0;
		it->withdrawn = r.withdrawn != 0;
		it->in_catalog = r.in_catalog != 0;
		if ((rv = dup_str(&blob, blob_end, r.title_len, &it->title)) != 0 ||
		    (rv = dup_str(&blob, blob_end, r.brand_len, &it->brand)) != 0) {
			*why = rv == RS_ECORRUPT ? "string lengths out of range" : NULL;
			goto fail;
		}
	}
	for (size_t i = 0; i < h->n_cats; i++) {
		uint32_t len;
		memcpy(&len, &name_len[i], sizeof(len));
		if ((rv = dup_str(&blob, blob_end, len, &s->cats[i])) != 0) {
			*why = rv == RS_ECORRUPT ? "string lengths out of range" : NULL;
			goto fail;
		}
		s->n_cats = i + 1;
	}
	if (blob != blob_end || (*why = snapfile_check(s, h)) != NULL) {
		if (*why == NULL)
			*why = "string lengths do not add up";
		rv = RS_ECORRUPT;
		goto fail;
	}
	for (size_t i = 0; i < s->n_items; i++)
		s->items[i].category = s->cats[s->items[i].cat]; /* owned by cats[], as built */
	s->n_events = h->n_events;
	s->fingerprint = h->fingerprint;
	s->built_unix_ms = h->built_unix_ms;
	s->category_top = h->category_top;
	memcpy(s->version, h->version, sizeof(s->version));
	s->version[sizeof(s->version) - 1] = '\0';
	if ((rv = cand_snap_catalog_totals(s)) != 0)
		goto fail;
	if (s->cat_count != h->cat_count || s->cat_sum != h->cat_sum) {
		*why = "catalog totals differ from the items";
		rv = RS_ECORRUPT;
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (rv == RS_ENOMEM && *why == NULL)
		*why = "out of memory";
	cand_snap_unref(s);
	return rv;
}

/* The whole file into memory. Returns 0, *buf (malloc'd) and *len, RS_ENOTFOUND, RS_EIO,
 * RS_ENOMEM. */
static int
read_all(const char *path, unsigned char **buf, size_t *len, char *err, size_t errn)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, errn, strerror(errno), path);
		return errno == ENOENT ? RS_ENOTFOUND : RS_EIO;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		set_err(err, errn, "not a regular file", path);
		close(fd);
		return RS_EIO;
	}
	size_t n = (size_t) sb.st_size, got = 0;
	unsigned char *p = malloc(n ? n : 1);
	if (p == NULL) {
		set_err(err, errn, "out of memory", path);
		close(fd);
		return RS_ENOMEM;
	}
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			set_err(err, errn, r < 0 ? strerror(errno) : "file shrank while read",
			        path);
			free(p);
			close(fd);
			return RS_EIO;
		}
		got += (size_t) r;
	}
	close(fd);
	*buf = p;
	*len = n;
	return 0;
}

/* The header's own checks; NULL when it is whole and of this format, else why not (*rv set). */
static const char *
header_check(const snapfile_header *h, size_t file_len, const cand_snapfile_key *key, int *rv)
{
	*rv = RS_ECORRUPT;
	if (memcmp(h->magic, SNAPFILE_MAGIC, sizeof(SNAPFILE_MAGIC)) != 0)
		return "not a candidate snapshot file (magic)";
	if (h->header_fnv != rs_fnv1a64(RS_FNV1A64_INIT, h, offsetof(snapfile_header, header_fnv)))
		return "header checksum differs";
	*rv = RS_EVERSION;
	if (h->endian != SNAPFILE_ENDIAN)
		return "written with another byte order";
	if (h->format != CAND_SNAPFILE_FORMAT)
		return "another format version";
	if (h->covisit_n != key->covisit_n || h->category_top != key->category_top ||
	    h->window_days != key->window_days || h->max_events != key->max_events ||
	    h->half_life_h != key->half_life_h)
		return "built with other settings";
	*rv = RS_ECORRUPT;
	if (h->payload_bytes != file_len - sizeof(*h))
		return "truncated or extended (size differs from the header)";
	if (payload_size(h) != h->payload_bytes)
		return "section sizes differ from the header";
	return NULL;
}

int
cand_snapfile_read(const char *path, const cand_snapfile_key *key, cand_snap **out,
                   char *model_version, size_t mvn, char *err, size_t errn)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	snapfile_header h;
	const char *why = NULL;
	int rv;

	if (path == NULL || key == NULL || out == NULL) {
		set_err(err, errn, "invalid arguments", path != NULL ? path : "(null)");
		return RS_EINVAL;
	}
	if ((rv = read_all(path, &buf, &len, err, errn)) != 0)
		return rv;
	if (len < sizeof(h)) {
		set_err(err, errn, "truncated (shorter than its header)", path);
		free(buf);
		return RS_ECORRUPT;
	}
	memcpy(&h, buf, sizeof(h));
	if ((why = header_check(&h, len, key, &rv)) != NULL) {
		set_err(err, errn, why, path);
		free(buf);
		return rv;
	}
	if (rs_fnv1a64(RS_FNV1A64_INIT, buf + sizeof(h), h.payload_bytes) != h.payload_fnv) {
		set_err(err, errn, "payload checksum differs", path);
		free(buf);
		return RS_ECORRUPT;
	}
	rv = snapfile_decode(&h, buf + sizeof(h), out, &why);
	free(buf);
	if (rv != 0) {
		set_err(err, errn, why != NULL ? why : rs_strerror(rv), path);
		return rv;
	}
	if (model_version != NULL && mvn > 0) {
		h.model_version[sizeof(h.model_version) - 1] = '\0';
		snprintf(model_version, mvn, "%s", h.model_version);
	}
	return 0;
}
