-- Per step (overall, and per breakdown value): units that reached at least that step, conversion
-- from step 1 and from the previous step, and the average and median seconds from the previous
-- step. is_total marks the overall rows (present with zeros even when nobody entered).
with per_step as (
    select
        grouping(b.breakdown) = 1 as is_total,
        b.breakdown,
        k.step,
        count(*) filter (where b.reached >= k.step) as count,
        avg((b.levels[k.step] - b.levels[k.step - 1]) / 1e6)
            filter (where b.reached >= k.step and k.step > 1) as average_conversion_time_s,
        median((b.levels[k.step] - b.levels[k.step - 1]) / 1e6)
            filter (where b.reached >= k.step and k.step > 1) as median_conversion_time_s
    from range(1, $n + 1) as k (step)
    left join funnel_best as b on true
    group by grouping sets ((k.step), (b.breakdown, k.step))
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
