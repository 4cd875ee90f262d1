-- The days the daily mart covers and the services in it: the sidebar's bounds and choices.
select
    cast(min(bucket) as date) as first_day,
    cast(max(bucket) as date) as last_day,
    list(distinct service order by service) as services
from mart_service_daily
