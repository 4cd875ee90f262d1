-- One row per scraped or collected sample; counters are raw (consumers handle resets).
create or replace view metric_samples as
select ts, metric, labels, value, source
from {relation}
