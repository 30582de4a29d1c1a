-- 0007_impression_lists: one impressions row per list shown, not one per item.
--
-- The gateway records every recommendation list it serves (services/gateway/impressions.c:
-- queued on the request path, COPYed in batches by a writer thread); POST /v1/impressions
-- records the other lists a client draws (catalog pages, similar items, ...). A row per item
-- cost PostgreSQL ~0.25-0.3 ms of CPU per 10-item answer (10 rows x 3-4 index entries,
-- docs/BENCHMARKS.md); one row per list costs one row and two index entries.
--
-- impressions.items: the item ids in the order shown; the item at array index i (1-based) was
--   shown at position first_position + i - 1 (first_position is 1 for a whole list and the
--   first card's position for a later page of a catalog list).
-- impressions.degraded: the gateway served the list degraded (a hop failed: popular list,
--   no history or candidate order); false for posted lists.
-- The existing rows become lists: rows with the same rec_id, user, model version, variant,
--   surface, experiment and time are one list, its items ordered by position (gaps between
--   positions close up; first_position is the smallest).
-- Indexes: rec_id (attribution's rec_id rule, and the tests), and (experiment_id, user_id, ts)
--   for experiment lists (the report's scan and attribution's window rule, which now matches
--   the item inside the list). The ts index of 0001 had no reader and is gone.

alter table impressions rename to impressions_by_item;
alter index impressions_rec_idx rename to impressions_by_item_rec_idx;
alter index impressions_ts_idx rename to impressions_by_item_ts_idx;
alter index impressions_experiment_idx rename to impressions_by_item_experiment_idx;

create table impressions (
    rec_id         text not null,
    user_id        bigint not null,
    items          bigint[] not null
        check (cardinality(items) >= 1 and array_ndims(items) = 1 and array_position(items, null) is null),
    first_position int not null default 1 check (first_position >= 1),
    model_version  text,
    variant        text,
    surface        text,
    experiment_id  bigint,
    degraded       boolean not null default false,
    ts             timestamptz not null default now()
);

insert into impressions (rec_id, user_id, items, first_position, model_version, variant, surface,
                         experiment_id, ts)
select rec_id, user_id, array_agg(item_id order by position, item_id), min(position),
       model_version, variant, surface, experiment_id, ts
from impressions_by_item
group by rec_id, user_id, model_version, variant, surface, experiment_id, ts;

drop table impressions_by_item;

create index impressions_rec_idx on impressions (rec_id);
create index impressions_experiment_idx on impressions (experiment_id, user_id, ts)
    where experiment_id is not null;

-- rs_experiment_attributed(id, window): as in 0006 (both rules unchanged), on lists: rule 2
-- takes the latest list of the experiment for the same customer that contains the item.
create or replace function rs_experiment_attributed(p_id bigint, p_window interval)
returns table (event_id text, user_id bigint, item_id bigint, type smallint, gmv numeric,
               ts timestamptz, variant text, imp_ts timestamptz, rule text)
language sql stable as $$
    with x as (
        select started_at, coalesce(stopped_at, 'infinity'::timestamptz) as stop_at
        from experiments where experiment_id = p_id and started_at is not null),
    ev as (
        select e.event_id, e.user_id, e.item_id, e.type, e.ts, e.rec_id,
               case when e.type = 4 then coalesce(e.price, it.price, 0) else 0 end as gmv
        from events e cross join x
        left join items it on it.item_id = e.item_id
        where e.type in (2, 3, 4) and e.ts >= x.started_at and e.ts <= x.stop_at + p_window)
    select ev.event_id, ev.user_id, ev.item_id, ev.type, ev.gmv, ev.ts,
           coalesce(r.variant, w.variant), coalesce(r.ts, w.ts),
           case when r.found then 'rec_id' else 'window' end
    from ev
    left join lateral (
        select true as found,
               case when i.experiment_id = p_id and i.user_id = ev.user_id then i.variant end
                   as variant,
               i.ts
        from impressions i where ev.rec_id is not null and i.rec_id = ev.rec_id
        order by (i.experiment_id = p_id and i.user_id = ev.user_id) desc, i.ts desc
        limit 1) r on true
    left join lateral (
        select i.variant, i.ts from impressions i
        where r.found is null and i.experiment_id = p_id and i.user_id = ev.user_id
          and ev.item_id = any (i.items) and i.ts <= ev.ts and i.ts >= ev.ts - p_window
        order by i.ts desc limit 1) w on true
    where coalesce(r.variant, w.variant) is not null
$$;

-- rs_experiment_kpis(id, window, pre): as in 0006; an impression is still one item of a list
-- shown (the lists are unnested), so every count and KPI keeps its meaning.
create or replace function rs_experiment_kpis(p_id bigint, p_window interval, p_pre interval)
returns table (variant text, day date, exposed bigint, impressions bigint, clicks bigint,
               add_to_carts bigint, orders bigint, buyers bigint, gmv double precision,
               sum_imp2 double precision, sum_clk2 double precision,
               sum_clk_imp double precision, sum_atc2 double precision,
               sum_atc_imp double precision, sum_gmv2 double precision,
               sum_ord2 double precision, sum_gmv_ord double precision,
               new_customers bigint, cohort_d1 bigint, retained_d1 bigint, cohort_d7 bigint,
               retained_d7 bigint, items_shown bigint,
               novelty double precision, pre_sum double precision, pre_sum2 double precision,
               pre_gmv double precision, pre_buy double precision, days_exposed bigint)
language sql stable as $$
    with x as (
        select started_at from experiments where experiment_id = p_id and started_at is not null),
    imp as (
        select i.user_id, s.item_id, i.variant, (i.ts at time zone 'UTC')::date as day
        from impressions i cross join lateral unnest(i.items) s(item_id)
        where i.experiment_id = p_id),
    cust as (
        select user_id, min(variant) as variant, min(day) as first_day from imp group by 1),
    pre_ev as (
        select e.user_id, e.item_id from events e cross join x
        where e.ts >= x.started_at - p_pre and e.ts < x.started_at),
    pop as (select item_id, count(distinct user_id) as n from pre_ev group by 1),
    npre as (select count(distinct user_id) as n from pre_ev),
    pre as (select user_id, count(*)::float8 as n from pre_ev group by 1),
    att as (
        select a.user_id, a.type, a.gmv, (a.imp_ts at time zone 'UTC')::date as day
        from rs_experiment_attributed(p_id, p_window) a
        join cust c on c.user_id = a.user_id and c.variant = a.variant),
    cd as (  -- customer-day units
        select c.user_id, c.variant, i.day, count(*) as imps
        from imp i join cust c on c.user_id = i.user_id and c.variant = i.variant
        group by 1, 2, 3),
    ad as (
        select user_id, day, count(*) filter (where type = 2) as clk,
               count(*) filter (where type = 3) as atc, count(*) filter (where type = 4) as ord,
               coalesce(sum(gmv) filter (where type = 4), 0)::float8 as gmv
        from att group by 1, 2),
    u as (
        select cd.user_id, cd.variant, cd.day, cd.imps::float8 as imps,
               coalesce(ad.clk, 0)::float8 as clk, coalesce(ad.atc, 0)::float8 as atc,
               coalesce(ad.ord, 0)::float8 as ord, coalesce(ad.gmv, 0) as gmv
        from cd left join ad on ad.user_id = cd.user_id and ad.day = cd.day),
    last_day as (select max(day) as d from imp),
    today as (select (now() at time zone 'UTC')::date as d),
    ret as (
        select c.variant, c.first_day as day, count(*) as new_customers,
               count(*) filter (where c.first_day + 2 <= today.d) as n1,
               count(*) filter (where c.first_day + 8 <= today.d) as n7,
               count(*) filter (where c.first_day + 2 <= today.d and exists (
                   select 1 from events e where e.user_id = c.user_id
                     and e.ts >= (c.first_day + 1)::timestamp at time zone 'UTC'
                     and e.ts < (c.first_day + 2)::timestamp at time zone 'UTC')) as d1,
               count(*) filter (where c.first_day + 8 <= today.d and exists (
                   select 1 from events e where e.user_id = c.user_id
                     and e.ts >= (c.first_day + 7)::timestamp at time zone 'UTC'
                     and e.ts < (c.first_day + 8)::timestamp at time zone 'UTC')) as d7
        from cust c cross join today group by 1, 2),
    shown as (
        select i.variant, i.day,
               -ln((coalesce(p.n, 0) + 1)::float8 / ((select n from npre) + 1)) / ln(2) as info,
               i.item_id
        from imp i join cust c on c.user_id = i.user_id and c.variant = i.variant
        left join pop p on p.item_id = i.item_id),
    sh_day as (
        select variant, day, count(distinct item_id) as items, avg(info) as novelty
        from shown group by 1, 2),
    sh_all as (
        select variant, count(distinct item_id) as items, avg(info) as novelty
        from shown group by 1),
    days as (
        select u.variant, u.day, count(*) as exposed, sum(imps)::bigint as impressions,
               sum(clk)::bigint as clicks, sum(atc)::bigint as add_to_carts,
               sum(ord)::bigint as orders, count(*) filter (where ord > 0) as buyers,
               sum(gmv) as gmv, sum(imps * imps) as sum_imp2, sum(clk * clk) as sum_clk2,
               sum(clk * imps) as sum_clk_imp, sum(atc * atc) as sum_atc2,
               sum(atc * imps) as sum_atc_imp, sum(gmv * gmv) as sum_gmv2,
               sum(ord * ord) as sum_ord2, sum(gmv * ord) as sum_gmv_ord
        from u group by 1, 2),
    cu as (  -- customer units over the whole experiment
        select u.user_id, u.variant, sum(imps) as imps, sum(clk) as clk, sum(atc) as atc,
               sum(ord) as ord, sum(gmv) as gmv, coalesce(max(p.n), 0) as pre
        from u left join pre p on p.user_id = u.user_id group by 1, 2),
    whole as (
        select cu.variant, count(*) as exposed, sum(imps)::bigint as impressions,
               sum(clk)::bigint as clicks, sum(atc)::bigint as add_to_carts,
               sum(ord)::bigint as orders, count(*) filter (where ord > 0) as buyers,
               sum(gmv) as gmv, sum(imps * imps) as sum_imp2, sum(clk * clk) as sum_clk2,
               sum(clk * imps) as sum_clk_imp, sum(atc * atc) as sum_atc2,
               sum(atc * imps) as sum_atc_imp, sum(gmv * gmv) as sum_gmv2,
               sum(ord * ord) as sum_ord2, sum(gmv * ord) as sum_gmv_ord,
               sum(pre) as pre_sum, sum(pre * pre) as pre_sum2, sum(pre * gmv) as pre_gmv,
               sum(pre * (ord > 0)::int) as pre_buy
        from cu group by 1)
    select d.variant, d.day, d.exposed, d.impressions, d.clicks, d.add_to_carts, d.orders,
           d.buyers, d.gmv, d.sum_imp2, d.sum_clk2, d.sum_clk_imp, d.sum_atc2, d.sum_atc_imp,
           d.sum_gmv2, d.sum_ord2, d.sum_gmv_ord, coalesce(r.new_customers, 0),
           coalesce(r.n1, 0), coalesce(r.d1, 0), coalesce(r.n7, 0), coalesce(r.d7, 0),
           s.items, s.novelty,
           null::float8, null::float8, null::float8, null::float8, null::bigint
    from days d
    left join ret r on r.variant = d.variant and r.day = d.day
    left join sh_day s on s.variant = d.variant and s.day = d.day
    union all
    select w.variant, null, w.exposed, w.impressions, w.clicks, w.add_to_carts, w.orders,
           w.buyers, w.gmv, w.sum_imp2, w.sum_clk2, w.sum_clk_imp, w.sum_atc2, w.sum_atc_imp,
           w.sum_gmv2, w.sum_ord2, w.sum_gmv_ord,
           (select sum(new_customers) from ret where ret.variant = w.variant)::bigint,
           (select sum(n1) from ret where ret.variant = w.variant)::bigint,
           (select sum(d1) from ret where ret.variant = w.variant)::bigint,
           (select sum(n7) from ret where ret.variant = w.variant)::bigint,
           (select sum(d7) from ret where ret.variant = w.variant)::bigint,
           s.items, s.novelty, w.pre_sum, w.pre_sum2, w.pre_gmv, w.pre_buy,
           (select sum((select d from last_day) - c.first_day + 1) from cust c
             where c.variant = w.variant)::bigint
    from whole w left join sh_all s on s.variant = w.variant
    order by 1, 2 nulls last
$$;
