-- Per step (overall, and per breakdown value when $by_breakdown): units that reached at least that
-- step, conversion from step 1 and from the previous step, and the average and median seconds from
-- the previous step. is_total marks the overall rows (present with zeros even when nobody entered).
-- Two grouped selects rather than grouping sets, so a funnel without a breakdown computes its
-- medians once.
with reached as (
    select
        b.breakdown,
        k.step,
        b.reached >= k.step as hit,
        case when b.reached >= k.step and k.step > 1 then (b.levels[k.step] - b.levels[k.step - 1]) / 1e6 end
            as seconds
    from range(1, $n + 1) as k (step)
    left join funnel_best as b on true
),

per_step as (
    select
        true as is_total,
        null::varchar as breakdown,
        step,
        count(*) filter (where hit) as count,
        avg(seconds) as average_conversion_time_s,
        median(seconds) as median_conversion_time_s
    from reached
    group by step
    union all
    select
        false as is_total,
        breakdown,
        step,
        count(*) filter (where hit) as count,
        avg(seconds) as average_conversion_time_s,
        median(seconds) as median_conversion_time_s
    from reached
    where $by_breakdown
    group by breakdown, step
)

select
    is_total,
    breakdown,
    step::integer as step,
    $events[step] as event,
    count,
    coalesce(count / nullif(first_value(count) over w, 0), 0.0) as conversion_from_start,
    coalesce(count / nullif(coalesce(lag(count) over w, count), 0), 0.0) as conversion_from_previous,
    average_conversion_time_s,
    median_conversion_time_s
from per_step
window w as (partition by is_total, breakdown order by step)
order by is_total desc, breakdown nulls first, step
