/* datareport: GET /v1/admin/data/report, see datareport.h. */
#include "datareport.h"
#include "db.h"
#include "gateway.h"
#include "render.h"

#include "rs_err.h"
#include "rs_log.h"
#include "rs_pg.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gw_datareport {
	pthread_mutex_t mu; /* held while a report is computed: one computation at a time */
	char *json;         /* the last report (JSON text), NULL = none */
	double at_mono;     /* when it was computed (CLOCK_MONOTONIC s) */
	char at_iso[32];    /* the same, UTC */
	int ttl_s;
};

/* The report over the event store in one statement, the same figures and definitions as
 * `rs-train describe --dsn` (services/trainer/describe.h); tests/integration/datareport_test.c
 * checks that the two agree. */
static const char REPORT_SQL[] =
        "with recursive\n"
        "prm as (select extract(epoch from now())::float8 as now_s, 1800::float8 as gap, 7::float8 "
        "as period_d,\n"
        "               60 as bot_rate, 631152000::float8 as epoch0),\n"
        "ev as (select e.user_id as u, e.item_id as i, e.type as t, e.value as v,\n"
        "              extract(epoch from e.ts)::float8 as s,\n"
        "              extract(epoch from e.ts)::float8 between prm.epoch0 and prm.now_s + 300 as "
        "timed\n"
        "       from events e, prm),\n"
        "cat as (select item_id as i, nullif(category, '') as c, price::float8 as p,\n"
        "               coalesce(attributes->>'placeholder', '') = 'true' as ph from items),\n"
        "tot as (select count(*) as n, count(distinct u) as users, count(distinct i) as items,\n"
        "               count(*) filter (where t = 1) as t1, count(*) filter (where t = 2) as t2,\n"
        "               count(*) filter (where t = 3) as t3, count(*) filter (where t = 4) as t4,\n"
        "               count(*) filter (where t = 5) as t5, count(*) filter (where t = 6) as t6,\n"
        "               count(*) filter (where timed) as timed_n,\n"
        "               min(s) filter (where timed) as tmin, max(s) filter (where timed) as tmax,\n"
        "               count(*) filter (where not timed and s > (select now_s + 300 from prm)) as "
        "future,\n"
        "               count(*) filter (where not timed and s < (select epoch0 from prm)) as "
        "past\n"
        "        from ev),\n"
        "pairs as (select u, i, count(*) as n, bool_or(t = 1) as hv, bool_or(t = 3) as hc,\n"
        "                 bool_or(t = 4) as hp, count(*) filter (where t = 4) as np\n"
        "          from ev group by u, i),\n"
        "-- distributions: x per unit, with rank for Gini and log2 bin\n"
        "ucnt as (select u, count(*)::float8 as x from ev group by u),\n"
        "icnt as (select i, count(*)::float8 as x from ev group by i),\n"
        "days as (select d, count(ev.s)::float8 as x\n"
        "         from tot, generate_series(floor(tot.tmin / 86400)::bigint, floor(tot.tmax / "
        "86400)::bigint) d\n"
        "         left join ev on ev.timed and floor(ev.s / 86400)::bigint = d group by d),\n"
        "sess0 as (select u, s, case when lag(s) over w is null or s - lag(s) over w > (select gap "
        "from prm)\n"
        "                           then 1 else 0 end as brk\n"
        "          from ev where timed window w as (partition by u order by s)),\n"
        "sess1 as (select u, s, sum(brk) over (partition by u order by s rows unbounded preceding) "
        "as sid from sess0),\n"
        "sess as (select count(*)::float8 as x, max(s) - min(s) as dur from sess1 group by u, "
        "sid),\n"
        "dists as (\n"
        "  select 'user_activity' as k, x from ucnt union all\n"
        "  select 'item_popularity', x from icnt union all\n"
        "  select 'events_per_day', x from days union all\n"
        "  select 'session_events', x from sess union all\n"
        "  select 'session_duration', dur from sess),\n"
        "ranked as (select k, x, row_number() over (partition by k order by x) as r, count(*) over "
        "(partition by k) as n\n"
        "           from dists),\n"
        "dstat as (select k, count(*) as n, avg(x) as mean, sum(x) as total,\n"
        "                 percentile_disc(array[0, 0.25, 0.5, 0.75, 0.9, 0.99, 1]) within group "
        "(order by x) as q\n"
        "          from dists group by k),\n"
        "gini as (select k, case when sum(x) > 0 then sum((2 * r - n - 1) * x) / (max(n) * sum(x)) "
        "end as g\n"
        "         from ranked group by k),\n"
        "bins as (select k, case when x <= 1 then 0 else length(ltrim(((x - "
        "1)::bigint)::bit(64)::text, '0')) end as b\n"
        "         from dists where k in ('user_activity', 'item_popularity', 'session_events')),\n"
        "hist as (select k, json_agg(json_build_object('from', case when b = 0 then 1 else "
        "(2::bigint ^ (b - 1))::bigint + 1 end,\n"
        "                                              'to', (2::bigint ^ b)::bigint, 'count', "
        "cnt) order by b) as h\n"
        "         from (select m.k, b, (select count(*) from bins x where x.k = m.k and x.b = "
        "gs.b) as cnt\n"
        "               from (select k, max(b) as mb from bins group by k) m, generate_series(0, "
        "m.mb) as gs(b)) z\n"
        "         group by k),\n"
        "dj as (select d.k, json_build_object('n', d.n, 'min', d.q[1], 'p25', d.q[2], 'median', "
        "d.q[3], 'p75', d.q[4],\n"
        "                                      'p90', d.q[5], 'p99', d.q[6], 'max', d.q[7], "
        "'mean', d.mean) ::jsonb\n"
        "                   || case when d.k in ('user_activity', 'item_popularity', "
        "'session_events')\n"
        "                           then jsonb_build_object('gini', g.g, 'histogram', h.h) else "
        "'{}'::jsonb end as j\n"
        "       from dstat d join gini g using (k) left join hist h using (k)),\n"
        "-- popularity: items by count, most popular first\n"
        "ipop as (select x, row_number() over (order by x desc, i) as r, count(*) over () as m,\n"
        "                sum(x) over (order by x desc, i rows unbounded preceding) as cum, sum(x) "
        "over () as total\n"
        "         from icnt),\n"
        "tail as (select json_agg(json_build_array(p / 100.0, cum / total) order by p) as curve "
        "from (\n"
        "           select 0 as p, 0::float8 as cum, 1::float8 as total\n"
        "           union all\n"
        "           select p, cum, total from generate_series(1, 100) p join ipop on ipop.r = (p * "
        "ipop.m + 99) / 100) c),\n"
        "top as (select max(cum) filter (where r = (m + 99) / 100) / max(total) as share, max((m + "
        "99) / 100) as items,\n"
        "               min(r) filter (where cum >= 0.5 * total) as for50, min(r) filter (where "
        "cum >= 0.8 * total) as for80\n"
        "        from ipop),\n"
        "fun as (select coalesce(cat.c, '(none)') as c, sum(pairs.n) as events, count(*) filter "
        "(where hv) as view,\n"
        "               count(*) filter (where hc) as cart, count(*) filter (where hp) as "
        "purchase,\n"
        "               count(*) filter (where hv and hc) as vc, count(*) filter (where hc and hp) "
        "as cp,\n"
        "               count(*) filter (where hv and hp) as vp\n"
        "        from pairs left join cat on cat.i = pairs.i and not cat.ph\n"
        "        group by grouping sets ((coalesce(cat.c, '(none)')), ())),\n"
        "funj as (select c, events, json_build_object('category', c, 'events', events, 'view', "
        "view, 'add_to_cart', cart,\n"
        "                     'purchase', purchase, 'view_and_cart', vc, 'cart_and_purchase', cp, "
        "'view_and_purchase', vp,\n"
        "                     'view_to_cart', case when view > 0 then vc::float8 / view end,\n"
        "                     'cart_to_purchase', case when cart > 0 then cp::float8 / cart end,\n"
        "                     'view_to_purchase', case when view > 0 then vp::float8 / view end) "
        "as j\n"
        "         from fun),\n"
        "buy as (select count(*) filter (where np > 0) as bp, count(*) filter (where np > 1) as rp "
        "from pairs),\n"
        "buyers as (select count(*) filter (where np > 0) as b, count(*) filter (where np > 1) as "
        "rb\n"
        "           from (select u, sum(np) as np from pairs group by u) z),\n"
        "cold as (select tot.tmax - prm.period_d * 86400 as pstart from tot, prm),\n"
        "coldu as (select count(*) filter (where mx > pstart) as active, count(*) filter (where mx "
        "> pstart and mn > pstart) as cold\n"
        "          from (select u, min(s) as mn, max(s) as mx from ev where timed group by u) z, "
        "cold),\n"
        "coldi as (select count(*) filter (where mx > pstart) as active, count(*) filter (where mx "
        "> pstart and mn > pstart) as cold\n"
        "          from (select i, min(s) as mn, max(s) as mx from ev where timed group by i) z, "
        "cold),\n"
        "win as (select u, count(*) over (partition by u order by s range between 59.999999 "
        "preceding and current row) as w\n"
        "        from ev where timed),\n"
        "bots as (select count(*) as users, coalesce(sum(uc.x), 0) as events,\n"
        "                coalesce(json_agg(b.u::text order by b.u) filter (where b.u is not null), "
        "'[]') as ids\n"
        "         from (select u from win group by u having max(w) > (select bot_rate from prm)) b "
        "join ucnt uc using (u)),\n"
        "price as (select c, x, count(*) over (partition by c) as cn from (\n"
        "            select coalesce(c, '(none)') as c, p as x from cat where p is not null) z),\n"
        "pstat as (select c, count(*) as n, avg(x) as mean,\n"
        "                 percentile_disc(array[0, 0.25, 0.5, 0.75, 0.9, 0.99, 1]) within group "
        "(order by x) as q\n"
        "          from (select c, x from price union all select null, x from price) z group by "
        "c),\n"
        "qual as (select (select n from tot) - (select count(*) from (select distinct u, i, t, v, "
        "s from ev) z) as dups,\n"
        "                (select count(*) from ev left join cat on cat.i = ev.i where cat.i is "
        "null or cat.ph) as unknown),\n"
        "series as (select d, x, (select (count(*) + 399) / 400 from days) as bucket, (select "
        "min(d) from days) as d0 from days)\n"
        "select json_build_object(\n"
        "  'source', 'event store', 'format', 'sql',\n"
        "  'definitions', json_build_object('session_gap_s', prm.gap, 'cold_period_days', "
        "prm.period_d,\n"
        "     'bot_events_per_minute', prm.bot_rate, 'sane_epoch', "
        "to_char(to_timestamp(prm.epoch0) at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),\n"
        "     'now', to_char(to_timestamp(prm.now_s) at time zone 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),\n"
        "     'quantiles', 'nearest rank: x[ceil(p n) - 1] of the ascending values',\n"
        "     'funnel', '(user, item) pairs: view->cart = pairs with view and add_to_cart / pairs "
        "with view'),\n"
        "  'counts', json_build_object('events', tot.n, 'users', tot.users, 'items', tot.items,\n"
        "     'catalog_items', (select count(*) from cat where not ph), 'pairs', (select count(*) "
        "from pairs),\n"
        "     'density', case when tot.users * tot.items > 0 then (select count(*) from "
        "pairs)::float8 / (tot.users * tot.items) end,\n"
        "     'by_type', json_build_object('view', tot.t1, 'click', tot.t2, 'add_to_cart', tot.t3, "
        "'purchase', tot.t4,\n"
        "                                  'rating', tot.t5, 'not_interested', tot.t6)),\n"
        "  'time', case when tot.timed_n > 0 then json_build_object(\n"
        "     'first', to_char(to_timestamp(tot.tmin) at time zone 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),\n"
        "     'last', to_char(to_timestamp(tot.tmax) at time zone 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),\n"
        "     'span_days', (tot.tmax - tot.tmin) / 86400, 'days', (select count(*) from days),\n"
        "     'events_per_day', (select j from dj where k = 'events_per_day'),\n"
        "     'series_start', (select to_char(to_timestamp(min(d) * 86400) at time zone 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') from days),\n"
        "     'series_bucket_days', (select (count(*) + 399) / 400 from days),\n"
        "     'series', (select json_agg(c order by b) from (select (d - d0) / bucket as b, "
        "sum(x)::bigint as c from series group by 1) z)) end,\n"
        "  'user_activity', (select j from dj where k = 'user_activity'),\n"
        "  'item_popularity', (select j from dj where k = 'item_popularity') || "
        "jsonb_build_object(\n"
        "     'top1pct_items', top.items, 'top1pct_share', top.share, 'items_for_50pct', "
        "top.for50,\n"
        "     'items_for_80pct', top.for80, 'long_tail', (select curve from tail)),\n"
        "  'funnel', json_build_object('overall', (select j::jsonb - 'category' from funj where c "
        "is null),\n"
        "     'by_category', coalesce((select json_agg(j order by events desc, c) from funj\n"
        "                              where c is not null and ((select count(*) from funj where c "
        "is not null) > 1\n"
        "                                 or c <> '(none)')), '[]')),\n"
        "  'repeat_purchase', json_build_object('bought_pairs', buy.bp, 'repeat_pairs', buy.rp,\n"
        "     'repeat_pair_rate', case when buy.bp > 0 then buy.rp::float8 / buy.bp end,\n"
        "     'buyers', buyers.b, 'repeat_buyers', buyers.rb,\n"
        "     'repeat_buyer_rate', case when buyers.b > 0 then buyers.rb::float8 / buyers.b end),\n"
        "  'sessions', case when tot.timed_n > 0 then json_build_object('gap_s', prm.gap,\n"
        "     'count', (select count(*) from sess), 'events', (select j from dj where k = "
        "'session_events'),\n"
        "     'duration_s', (select j from dj where k = 'session_duration')) end,\n"
        "  'cold', case when tot.timed_n > 0 then json_build_object('period_days', prm.period_d,\n"
        "     'period_start', (select to_char(to_timestamp(pstart) at time zone 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') from cold),\n"
        "     'active_users', coldu.active, 'cold_users', coldu.cold,\n"
        "     'cold_user_share', case when coldu.active > 0 then coldu.cold::float8 / coldu.active "
        "end,\n"
        "     'active_items', coldi.active, 'cold_items', coldi.cold,\n"
        "     'cold_item_share', case when coldi.active > 0 then coldi.cold::float8 / coldi.active "
        "end) end,\n"
        "  'prices', case when exists (select 1 from price) then json_build_object(\n"
        "     'priced_items', (select count(*) from price),\n"
        "     'by_category', (select json_agg(json_build_object('category', coalesce(c, '(all)'), "
        "'n', n, 'min', q[1], 'p25', q[2],\n"
        "                       'median', q[3], 'p75', q[4], 'p90', q[5], 'p99', q[6], 'max', "
        "q[7], 'mean', mean)\n"
        "                     order by c is not null, n desc, c)\n"
        "                     from pstat where c is null or (select count(distinct c) from price) "
        "> 1)) end,\n"
        "  'quality', json_build_object('duplicates', qual.dups,\n"
        "     'duplicate_share', case when tot.n > 0 then qual.dups::float8 / tot.n end,\n"
        "     'unknown_item_events', qual.unknown, 'future_events', tot.future, "
        "'before_epoch_events', tot.past,\n"
        "     'bots', json_build_object('rule', 'more than ' || prm.bot_rate || ' events within 60 "
        "s', 'users', bots.users,\n"
        "        'events', bots.events, 'event_share', case when tot.n > 0 then "
        "bots.events::float8 / tot.n end,\n"
        "        'user_ids', bots.ids)))\n"
        "from prm, tot, top, buy, buyers, coldu, coldi, bots, qual\n";

static double
mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int
gw_datareport_open(gw_datareport **out, int ttl_s)
{
	gw_datareport *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return RS_ENOMEM;
	pthread_mutex_init(&d->mu, NULL);
	d->ttl_s = ttl_s;
	*out = d;
	return 0;
}

void
gw_datareport_close(gw_datareport *d)
{
	if (d == NULL)
		return;
	pthread_mutex_destroy(&d->mu);
	free(d->json);
	free(d);
}

/* compute: the report's JSON text (malloc'd), or NULL (database down, statement failed). */
static char *
compute(gw_db *db)
{
	PGconn *c;
	char *text = NULL;
	if (gw_db_acquire(db, &c) != 0)
		return NULL;
	/* a full scan: no JIT (compiling this statement costs seconds), sorts in memory, and a
	 * longer statement timeout than the pool's for this statement only */
	PGresult *res = PQexec(c, "begin read only; set local jit = off; "
	                          "set local work_mem = '64MB'; "
	                          "set local statement_timeout = '" GW_DATAREPORT_TIMEOUT "'");
	int ok = rs_pg_check(NULL, res, PGRES_COMMAND_OK, "admin.data_report") == 0;
	PQclear(res);
	if (ok) {
		res = PQexec(c, REPORT_SQL);
		if (rs_pg_check(NULL, res, PGRES_TUPLES_OK, "admin.data_report") == 0 &&
		    PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
			text = strdup(PQgetvalue(res, 0, 0));
		}
		PQclear(res);
	}
	res = PQexec(c, ok && text != NULL ? "commit" : "rollback");
	int broken = PQstatus(c) != CONNECTION_OK;
	PQclear(res);
	gw_db_release(db, c, broken);
	return text;
}

void
gw_handle_admin_data_report(gw_server *srv, gw_req *req)
{
	gw_datareport *d = srv->s_datareport;
	json_error_t jerr;
	json_t *report = NULL;

	pthread_mutex_lock(&d->mu);
	double now = mono_now();
	if (d->json == NULL || now - d->at_mono >= d->ttl_s) {
		double t0 = now;
		char *text = compute(srv->s_db);
		if (text != NULL) {
			free(d->json);
			d->json = text;
			d->at_mono = mono_now();
			time_t wall = time(NULL);
			struct tm tm;
			gmtime_r(&wall, &tm);
			strftime(d->at_iso, sizeof(d->at_iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
			rs_log_info("gw.data_report", "req=%s ms=%.0f bytes=%zu", req->r_request_id,
			            (d->at_mono - t0) * 1000.0, strlen(text));
		}
	}
	if (d->json != NULL) /* a failed refresh serves the last report, with its age */
		report = json_loads(d->json, 0, &jerr);
	double age = d->json != NULL ? mono_now() - d->at_mono : 0;
	char at[32];
	snprintf(at, sizeof(at), "%s", d->at_iso);
	pthread_mutex_unlock(&d->mu);
	if (report == NULL) {
		gw_reply_error(
		        req, 503, "unavailable",
		        "the event store (PostgreSQL) is unavailable or the report timed out");
		return;
	}
	gw_reply_json(req, 200,
	              json_pack("{s:o,s:s,s:i,s:i,s:s}", "report", report, "computed_at", at,
	                        "age_s", (int) age, "max_age_s", d->ttl_s, "request_id",
	                        req->r_request_id));
}
