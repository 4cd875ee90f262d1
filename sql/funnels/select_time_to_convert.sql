-- Histogram of seconds from $from_step to $to_step: ceil(cbrt(n)) bins capped at 60 unless $bins
-- is given, each ceil((max - min) / bins) seconds wide from the smallest value (PostHog's binning).
with v as (
    select (levels[$to_step] - levels[$from_step]) / 1e6 as s
    from funnel_best
    where reached >= $to_step
),

shape as (
    select
        count(*) as n,
        floor(min(s)) as lo,
        coalesce($bins, least(60, greatest(1, ceil(round(cbrt(count(*)), 9))::integer))) as bins,
        max(s) as hi
    from v
),

sized as (
    -- round() keeps cbrt(27) = 3.0000000000000004 from becoming 4 bins
    select n, lo, bins, greatest(1, ceil((hi - lo) / bins)) as width from shape
),

binned as (
    select least(floor((v.s - shape.lo) / shape.width), shape.bins - 1)::integer as bin, count(*) as count
    from v, sized as shape
    group by all
)

select
    shape.lo + i.bin * shape.width as bin_start_s,
    shape.lo + (i.bin + 1) * shape.width as bin_end_s,
    coalesce(binned.count, 0) as count
from sized as shape
cross join (select unnest(range(0, bins)) as bin from sized) as i
left join binned on binned.bin = i.bin
where shape.n > 0
order by i.bin
