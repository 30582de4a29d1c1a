/* rs_reason: see rs_reason.h. */
#include "rs_reason.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_err.h"

/* The strongest event on an item, weakest first (rs.EventType numbers mapped below). */
enum { VERB_NONE, VERB_VIEWED, VERB_RATED, VERB_CART, VERB_BOUGHT };

static int
verb_of(int type)
{
	switch (type) {
	case RS__EVENT_TYPE__EVENT_VIEW:
	case RS__EVENT_TYPE__EVENT_CLICK:
		return VERB_VIEWED;
	case RS__EVENT_TYPE__EVENT_RATING:
		return VERB_RATED;
	case RS__EVENT_TYPE__EVENT_ADD_TO_CART:
		return VERB_CART;
	case RS__EVENT_TYPE__EVENT_PURCHASE:
		return VERB_BOUGHT;
	default:
		return VERB_NONE;
	}
}

static int
cmp_hist(const void *a, const void *b)
{
	const rs_reason_hist_item *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

int
rs_reason_hist_build(rs_arena *a, Rs__HistoryEvent *const *recent, size_t n, rs_reason_hist *out)
{
	rs_reason_hist_item *it = rs_arena_alloc(a, (n ? n : 1) * sizeof(*it));
	size_t m = 0;

	out->items = it;
	out->n = 0;
	if (it == NULL)
		return RS_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		it[i].id = recent[i]->item_id;
		it[i].verb = verb_of(recent[i]->type);
		it[i].rejected = recent[i]->type == RS__EVENT_TYPE__EVENT_NOT_INTERESTED;
	}
	qsort(it, n, sizeof(*it), cmp_hist);
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && it[m - 1].id == it[i].id) {
			if (it[i].verb > it[m - 1].verb)
				it[m - 1].verb = it[i].verb;
			it[m - 1].rejected |= it[i].rejected;
		} else {
			it[m++] = it[i];
		}
	}
	out->n = m;
	return 0;
}

/* The verb a reason may use for history item id, VERB_NONE when it may not name it. */
static int
hist_verb(const rs_reason_hist *h, int64_t id)
{
	size_t lo = 0, hi = h->n;
	if (id == 0)
		return VERB_NONE;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->items[mid].id < id)
			lo = mid + 1;
		else if (h->items[mid].id > id)
			hi = mid;
		else
			return h->items[mid].rejected ? VERB_NONE : h->items[mid].verb;
	}
	return VERB_NONE;
}

static int
src_is(const Rs__SourceScore *s, const char *name)
{
	return s->source != NULL && strcmp(s->source, name) == 0;
}

/* What makes each kind true for one item: the source behind it (best rank) and the item to name. */
typedef struct reason_fact {
	const Rs__SourceScore *src; /* NULL: the kind is not true */
	int64_t item;               /* BECAUSE / BOUGHT_TOGETHER: the history item to name */
} reason_fact;

static int
better(const Rs__SourceScore *s, const reason_fact *f)
{
	return f->src == NULL || s->rank < f->src->rank;
}

/* Whether source s may name history item id in a personal reason. */
static int
gives_history_item(const rs_reason_in *in, const Rs__SourceScore *s)
{
	return s->because_item != 0 && hist_verb(in->hist, s->because_item) != VERB_NONE;
}

static void
reason_facts(const rs_reason_in *in, reason_fact f[RS_REASON_NKINDS])
{
	int hint_ok = 0;

	memset(f, 0, RS_REASON_NKINDS * sizeof(*f));
	/* the scorer's own choice is named when a source gives it */
	for (size_t i = 0; in->hist != NULL && in->hint != 0 && i < in->n_sources; i++)
		if (in->sources[i] != NULL && in->sources[i]->rank >= 1 &&
		    in->sources[i]->because_item == in->hint &&
		    gives_history_item(in, in->sources[i]))
			hint_ok = 1;
	for (size_t i = 0; i < in->n_sources; i++) {
		const Rs__SourceScore *s = in->sources[i];
		reason_fact *t = NULL;
		if (s == NULL || s->rank < 1) /* scored for the ranker, not retrieved */
			continue;
		if (src_is(s, "popular")) {
			t = &f[RS_REASON_TRENDING];
		} else if (src_is(s, "category")) {
			if (in->category != NULL && in->category[0] != '\0')
				t = &f[RS_REASON_CATEGORY];
		} else if (in->hist == NULL) { /* a list for everyone: the anchor led it here */
			if (s->because_item != 0)
				t = src_is(s, "bought_together") ? &f[RS_REASON_BOUGHT_TOGETHER]
				                                 : &f[RS_REASON_BECAUSE];
		} else if (gives_history_item(in, s)) {
			if (src_is(s, "bought_together") &&
			    better(s, &f[RS_REASON_BOUGHT_TOGETHER]))
				f[RS_REASON_BOUGHT_TOGETHER] = (reason_fact){s, s->because_item};
			if (!hint_ok || s->because_item == in->hint)
				t = &f[RS_REASON_BECAUSE];
		}
		if (t != NULL && better(s, t))
			*t = (reason_fact){s, s->because_item};
	}
}

static const char *
reason_title(const rs_reason_in *in, int64_t id, char *tmp, size_t n)
{
	const char *t = in->title != NULL ? in->title(in->title_ctx, id) : NULL;
	if (t != NULL && t[0] != '\0')
		return t;
	if (!in->name_by_id)
		return NULL;
	snprintf(tmp, n, "item %lld", (long long) id);
	return tmp;
}

static void
write_personal(const rs_reason_in *in, rs_reason_kind k, const reason_fact *f, char *buf, size_t n)
{
	static const char *const verb_words[] = {"", "viewed", "rated", "added", "bought"};
	char tmp[32];

	switch (k) {
	case RS_REASON_BECAUSE: {
		int v = hist_verb(in->hist, f->item);
		const char *t = reason_title(in, f->item, tmp, sizeof(tmp));
		if (t == NULL)
			snprintf(buf, n, "related to an item you %s%s", verb_words[v],
			         v == VERB_CART ? " to your cart" : "");
		else if (v == VERB_CART)
			snprintf(buf, n, "because you added %s to your cart", t);
		else
			snprintf(buf, n, "because you %s %s", verb_words[v], t);
		break;
	}
	case RS_REASON_BOUGHT_TOGETHER: {
		const char *t = reason_title(in, f->item, tmp, sizeof(tmp));
		if (t != NULL)
			snprintf(buf, n, "often bought together with %s", t);
		else {
			int v = hist_verb(in->hist, f->item);
			snprintf(buf, n, "often bought together with an item you %s%s",
			         verb_words[v], v == VERB_CART ? " to your cart" : "");
		}
		break;
	}
	default:
		break;
	}
}

static void
write_reason(const rs_reason_in *in, rs_reason_kind k, const reason_fact *f, char *buf, size_t n)
{
	switch (k) {
	case RS_REASON_BECAUSE:
		if (in->hist != NULL)
			write_personal(in, k, f, buf, n);
		else if (src_is(f->src, "covisit"))
			snprintf(buf, n, "often viewed together with this item");
		else
			snprintf(buf, n, "similar to this item");
		break;
	case RS_REASON_BOUGHT_TOGETHER:
		if (in->hist != NULL)
			write_personal(in, k, f, buf, n);
		else
			snprintf(buf, n, "often bought together with this item");
		break;
	case RS_REASON_CATEGORY: {
		const char *leaf = strrchr(in->category, '/');
		snprintf(buf, n, "popular in %s",
		         leaf != NULL && leaf[1] != '\0' ? leaf + 1 : in->category);
		break;
	}
	case RS_REASON_TRENDING:
		snprintf(buf, n, "trending now");
		break;
	default:
		snprintf(buf, n, "%s",
		         in->hist != NULL  ? "recommended for you"
		         : in->anchor != 0 ? "related to this item"
		                           : "recommended");
		break;
	}
}

rs_reason_kind
rs_reason_write(const rs_reason_in *in, char *buf, size_t n)
{
	reason_fact f[RS_REASON_NKINDS];
	rs_reason_kind k = RS_REASON_GENERIC;

	if (n == 0)
		return RS_REASON_GENERIC;
	reason_facts(in, f);
	if (in->hist == NULL && in->anchor == 0) /* nothing to be "this item" */
		f[RS_REASON_BECAUSE].src = f[RS_REASON_BOUGHT_TOGETHER].src = NULL;
	for (size_t i = 0; i < in->n_prefer && k == RS_REASON_GENERIC; i++)
		if (in->prefer[i] >= 0 && in->prefer[i] < RS_REASON_NKINDS &&
		    f[in->prefer[i]].src != NULL)
			k = in->prefer[i];
	if (k == RS_REASON_GENERIC) { /* the true one whose source ranks the item best */
		for (int i = 0; i < RS_REASON_NKINDS; i++)
			if (f[i].src != NULL &&
			    (k == RS_REASON_GENERIC || f[i].src->rank < f[k].src->rank))
				k = (rs_reason_kind) i;
	}
	write_reason(in, k, k != RS_REASON_GENERIC ? &f[k] : NULL, buf, n);
	return k;
}
