-- Conversion per step-1 period: units entering, and reaching step $to_step, once per period.
select
    period,
    count(*) as entered,
    count(*) filter (where reached >= $to_step) as converted,
    count(*) filter (where reached >= $to_step) / count(*) as conversion_rate
from funnel_best
group by period
order by period
