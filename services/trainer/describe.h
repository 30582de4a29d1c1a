/* describe: `rs-train describe`, an exploratory report of an event log.
 *
 * Input: the event store (--dsn, read like the pipeline's snapshot plus the catalog), or a file
 * read by an existing reader: the CSV `fit --train` reads (csv.c via dataset.c), rs-train's own
 * events.csv (+ items.csv) written by `generate`/`import --out`, or any importer format
 * (movielens-100k, movielens, retailrocket, sequence, csv) through trainer_dataio's importer with
 * a callback sink. The report is one JSON object (jansson); the terminal summary and the HTML
 * report (describe_html.c) are drawn from it.
 *
 * Definitions (also written into the report's "definitions"):
 * - users, items: distinct ids in the events; density = distinct (user, item) pairs /
 *   (users x items).
 * - quantiles: nearest rank on the ascending values, q(p) = x[ceil(p n) - 1] (q(0) = min).
 * - Gini of counts x_1 <= .. <= x_n: sum_i (2i - n - 1) x_i / (n sum_i x_i).
 * - top 1% of items: the ceil(1% x items) most frequent items (ties: lower code first).
 * - funnel: over (user, item) pairs: view->cart = pairs with a view and an add-to-cart / pairs
 *   with a view; cart->purchase = pairs with add-to-cart and purchase / pairs with add-to-cart;
 *   view->purchase likewise. Per category uses the item's catalog category.
 * - repeat purchase: pairs bought >= 2 times / pairs bought; buyers with >= 2 purchase events /
 *   buyers.
 * - sessions: a user's events in time order; a gap above session_gap_s (default 30 min) starts a
 *   new session.
 * - cold in the latest period: the last period_days (default 7) before the last event; a user
 *   (item) active in it is cold when its first event falls inside the period.
 * - clock skew: events after now + 5 min or before sane_epoch (1990-01-01); they are left out of
 *   every time-based figure (span, per day, sessions, cold, bots).
 * - bots: users with more than bot_per_min (default 60) events inside some 60-second window.
 * - exact duplicates: events equal to an earlier one in user, item, type, value and time.
 * - unknown items: events whose item has no catalog row (only when a catalog was read; in the
 *   event store, the placeholder rows ingest creates for unseen items). */
#ifndef TR_DESCRIBE_H
#define TR_DESCRIBE_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "events.h"
#include "ids.h"
#include "util.h"

typedef struct tr_desc_input {
	tr_event_log log; /* type 0 = an untyped interaction; ts in epoch seconds */
	double *price;    /* per event, NAN when unknown (parallel to log) */
	int64_t price_cap;
	int has_ts;          /* the events carry real times (else time figures are null) */
	int has_catalog;     /* a catalog was read: unknown items are meaningful */
	int32_t *item_cat;   /* per item code: category code or -1 */
	double *item_price;  /* per item code: catalog price or NAN */
	uint8_t *item_known; /* per item code: has a (non-placeholder) catalog row */
	int32_t item_cap;
	tr_ids cats; /* category names */
	char source[512], format[64];
} tr_desc_input;

typedef struct tr_desc_opts {
	double now;           /* epoch seconds (default: the clock) */
	double session_gap_s; /* 1800 */
	double period_days;   /* 7 */
	double bot_per_min;   /* 60 */
	double sane_epoch;    /* 631152000 = 1990-01-01 */
	int progress;         /* draw a progress line on a terminal (tr_progress) */
} tr_desc_opts;

void tr_desc_opts_defaults(tr_desc_opts *o);

void tr_desc_input_init(tr_desc_input *in);
void tr_desc_input_fini(tr_desc_input *in);
/* tr_desc_input_event: one event (value, price NAN when absent). */
void tr_desc_input_event(tr_desc_input *in, const char *user, const char *item, int type,
                         double value, double price, double ts);
/* tr_desc_input_item: one catalog row (category "" = none, price NAN = unknown; known 0 for a
 * placeholder row). */
void tr_desc_input_item(tr_desc_input *in, const char *item, const char *category, double price,
                        int known);

/* tr_desc_load_file: path in format "train" (the CSV fit --train reads), "events" (events.csv
 * of generate/import --out; items.csv next to it or `catalog` is the catalog) or an importer
 * format (imp_argc/imp_argv: extra importer flags such as --catalog, --map, --ids). format NULL
 * = "events" when the header has event_id and ts_ms, else "train". 0 or RS_E* with err set. */
int tr_desc_load_file(tr_desc_input *in, const char *path, const char *format, const char *catalog,
                      int imp_argc, char **imp_argv, tr_error *err);
/* tr_desc_load_dsn: the event store (events + items). 0 or RS_EUNAVAIL/RS_EDB with err set. */
int tr_desc_load_dsn(tr_desc_input *in, const char *dsn, tr_error *err);

/* tr_describe: the report (a new reference; never NULL). */
json_t *tr_describe(const tr_desc_input *in, const tr_desc_opts *o);

/* tr_describe_text: the terminal summary of a report. */
void tr_describe_text(FILE *f, const json_t *r);

/* tr_describe_html: a self-contained HTML page (inline CSS and SVG, no scripts, no network)
 * of a report into path. 0 or RS_EIO with err set. */
int tr_describe_html(const json_t *r, const char *path, tr_error *err);

/* `rs-train describe` */
int tr_cmd_describe(int argc, char **argv);

#endif
