-- 0006_experiments: A/B experiments across published model versions, and their KPIs in SQL
-- (services/gateway/experiments.c serves and assigns them, services/gateway/expreport.c reports).
--
-- experiments: one row per experiment. status draft -> running -> stopped (never back). At most
--   one is running (experiments_one_running): every customer is in at most one experiment, so
--   experiments never overlap. salt: the key of the assignment hash (16-64 bytes, see
--   experiments.h); a new salt reshuffles every customer.
-- experiment_variants: its 2-4 variants in order (position 0 is the control every other
--   variant is compared with). strategy 'model' serves model_version (a published
--   model_versions row: the foreign key makes an unknown version fail), 'popular' serves the
--   popular list. Shares are in (0, 1] and sum to 1 (checked by the gateway before the insert).
-- impressions.experiment_id: the experiment whose assignment produced the list (NULL outside
--   experiments); impressions.variant then names the variant.

create table experiments (
    experiment_id  bigint generated always as identity primary key,
    name           text not null check (length(name) between 1 and 100),
    hypothesis     text not null default '',
    primary_metric text not null
        check (primary_metric in ('ctr', 'add_to_cart_rate', 'conversion', 'gmv_per_customer')),
    salt           text not null check (length(salt) between 16 and 64),
    status         text not null default 'draft' check (status in ('draft', 'running', 'stopped')),
    created_at     timestamptz not null default now(),
    started_at     timestamptz,
    stopped_at     timestamptz,
    check ((status = 'draft') = (started_at is null)),
    check ((status = 'stopped') = (stopped_at is not null))
);
create unique index experiments_one_running on experiments ((true)) where status = 'running';

create table experiment_variants (
    experiment_id bigint not null references experiments on delete cascade,
    position      int not null check (position between 0 and 3),
    name          text not null check (name ~ '^[a-z0-9_-]{1,32}$'),
    strategy      text not null check (strategy in ('model', 'popular')),
    model_version text references model_versions (version),
    share         double precision not null check (share > 0 and share <= 1),
    primary key (experiment_id, position),
    unique (experiment_id, name),
    check ((strategy = 'model') = (model_version is not null))
);

alter table impressions add column experiment_id bigint;
-- the report's scans and the window rule of attribution (latest impression of an item for a
-- customer); partial, so lists outside experiments cost nothing more to write
create index impressions_experiment_idx on impressions (experiment_id, user_id, item_id, ts)
    where experiment_id is not null;

-- rs_experiment_attributed(id, window): every click (2), add-to-cart (3) and purchase (4) that
-- belongs to experiment id, with the impression it is attributed to:
--   1. an event whose rec_id names a stored list (any impression row with that rec_id) belongs
--      to that list: to its variant when the list was the experiment's and the same customer's,
--      else to no variant of this experiment;
--   2. any other event (no rec_id, or one no impression names) belongs to the latest impression
--      of the same item for the same customer in the experiment with
--      event.ts - window <= impression.ts <= event.ts (both edges included).
-- imp_ts is the attributed impression's time: the report counts the event on that day.
create function rs_experiment_attributed(p_id bigint, p_window interval)
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
          and i.item_id = ev.item_id and i.ts <= ev.ts and i.ts >= ev.ts - p_window
        order by i.ts desc limit 1) w on true
    where coalesce(r.variant, w.variant) is not null
$$;

-- rs_experiment_kpis(id, window, pre): the sums the report's KPIs and intervals are made of, per
-- variant and UTC day (day NULL: the whole experiment). The unit is the customer-day for a day
-- row and the customer for a whole-experiment row; sum_* are sums over units of products of a
-- unit's counts (for the delta method and the variances). A customer's variant is the variant
-- of their impressions (assignment is deterministic; min() if a client sent two). Columns:
--   exposed       units with at least one impression of the variant (customers for the whole)
--   impressions, clicks, add_to_carts, orders (purchase events), gmv: attributed (above), counted
--                 on the day of the impression they are attributed to
--   buyers        units with an order
--   new_customers customers first exposed that day; cohort_d1 / cohort_d7: those of them whose
--                 day 1 / day 7 after is over (UTC) when the report runs, retained_d1 /
--                 retained_d7: of those, the ones who sent any event on that UTC day (a cohort
--                 counts only once its day is over; whole rows: sums over the days)
--   items_shown   distinct items in the variant's impressions
--   novelty       mean over impressions of -log2((n_i + 1) / (N + 1)), n_i = customers with an
--                 event on the item in the pre-period [start - pre, start), N = customers with
--                 any event then
--   pre_*         (whole rows) x = a customer's events in the pre-period: CUPED's covariate
--   days_exposed  (whole rows) sum over customers of (last day with data - first exposure + 1)
create function rs_experiment_kpis(p_id bigint, p_window interval, p_pre interval)
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
        select i.user_id, i.item_id, i.variant, (i.ts at time zone 'UTC')::date as day
        from impressions i where i.experiment_id = p_id),
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
