-- Facts without their corrected minutes: a minute is dropped when any part of it lies in a
-- correction [start, end) — the rule maintenance windows follow (sql/slo/sla_flag_minutes.sql).
select f.*
from slo_uncorrected_facts as f
where not exists (
    select 1
    from slo_correction_ranges as c
    where c."start" < f.minute + interval 1 minute and c."end" > f.minute
)
order by f.grp, f.minute
