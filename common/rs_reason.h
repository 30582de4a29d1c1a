/* rs_reason: the words that say why an item is in a list, shared by rs-ranking (ranked lists)
 * and rs-gateway (fallbacks and the lists for everyone: similar, bought-together, popular).
 *
 * A reason only states what the answer itself backs, checkable by anyone who reads the item's
 * sources and the customer's history next to it:
 *   - "because you bought|rated|viewed <X>", "because you added <X> to your cart": X is the
 *     because_item of one of the item's sources AND in the customer's history; the verb is the
 *     strongest event on X there (purchase > add_to_cart > rating > view/click). An item the
 *     customer marked not_interested is never named. Without X's title: "related to an item
 *     you bought|rated|viewed", "related to an item you added to your cart".
 *   - "often bought together with <X>": the item's bought_together source, X its because_item,
 *     in the history.
 *   - "popular in <last segment of the item's category>": the item came from the category
 *     source.
 *   - "trending now": the item came from the popular source (it is on the popular list).
 *   - "recommended for you" only when none of these is true.
 * A list for everyone never claims personalization (no "you", no history): with an anchor item
 * (similar, bought-together) "often viewed together with this item" (covisit), "often bought
 * together with this item" (bought_together), "similar to this item" (itemknn, metadata),
 * "popular in <leaf>", "trending now", else "related to this item"; without one, the last two
 * or "recommended".
 * A source "gives" an item when its rank is >= 1 (rank 0: scored for the learned ranker, not
 * retrieved). When several reasons are true, the caller's preference (the scorer's
 * contributions) decides; the others follow by the best rank of the sources behind them (each
 * source ranks in its own list, so no raw scores of different scales are ever compared), ties in
 * the order of rs_reason_kind. */
#ifndef RS_REASON_H
#define RS_REASON_H

#include <stddef.h>
#include <stdint.h>

#include "candidate.pb-c.h"
#include "feature.pb-c.h"
#include "rs_arena.h"

typedef enum rs_reason_kind {
	RS_REASON_GENERIC = -1, /* "recommended for you" (a list for everyone: see above) */
	RS_REASON_BECAUSE = 0,  /* a history item that led a source here (anchor: the item) */
	RS_REASON_BOUGHT_TOGETHER,
	RS_REASON_CATEGORY,
	RS_REASON_TRENDING,
	RS_REASON_NKINDS,
} rs_reason_kind;

/* The customer's history as the reasons need it: per item, the strongest event. */
typedef struct rs_reason_hist_item {
	int64_t id;
	int verb;     /* internal: the strongest event (0 = none that a reason may name) */
	int rejected; /* not_interested: never named */
} rs_reason_hist_item;

typedef struct rs_reason_hist {
	rs_reason_hist_item *items; /* sorted by id */
	size_t n;
} rs_reason_hist;

/* rs_reason_hist_build: the summary of recent[0..n) (any order) in arena memory. Returns 0 or
 * RS_ENOMEM. */
int rs_reason_hist_build(rs_arena *a, Rs__HistoryEvent *const *recent, size_t n,
                         rs_reason_hist *out);

/* rs_reason_title_fn: item id's title, or NULL / "" when unknown. */
typedef const char *(*rs_reason_title_fn)(void *ctx, int64_t id);

typedef struct rs_reason_in {
	/* the customer's history; NULL: a list for everyone (never personal words) */
	const rs_reason_hist *hist;
	int64_t anchor; /* a list for everyone about one item (similar, bought-together); else 0 */
	Rs__SourceScore *const *sources; /* the item's sources, as shown with it */
	size_t n_sources;
	const char *category; /* the item's category path (NULL or "": unknown) */
	/* a history item the scorer found closest to the item (the learned ranker's kNN or
	 * transitions); named when it is one of the sources' because_items, else ignored */
	int64_t hint;
	/* kinds the scorer weighs most, strongest first (NULL: none); a kind that is not true for
	 * the item is skipped */
	const rs_reason_kind *prefer;
	size_t n_prefer;
	rs_reason_title_fn title; /* may be NULL */
	void *title_ctx;
	/* a title that is unknown: 1 names the item "item <id>", 0 words the reason without it */
	int name_by_id;
} rs_reason_in;

/* rs_reason_write: the reason for one item into buf (n bytes, NUL-terminated, truncated).
 * Returns the kind written. */
rs_reason_kind rs_reason_write(const rs_reason_in *in, char *buf, size_t n);

#endif
