-- SLO corrections (opsledger.slo.corrections): the audit events `opsledger slo correct` wrote.
--
-- Only successful events of $action from opsledger's own $source count, so an application's audit
-- feed cannot exclude time from an SLO. $slo null lists every SLO's corrections.
select
    resource as slo,
    cast(details ->> 'from' as timestamptz) as "start",
    cast(details ->> 'to' as timestamptz) as "end",
    details ->> 'reason' as reason,
    actor as author,
    ts as recorded_at,
    details ->> 'correction_id' as correction_id
from audit_events
where action = $action
  and source = $source
  and outcome = 'success'
  and ($slo::varchar is null or resource = $slo::varchar)
order by resource, "start", "end", ts
