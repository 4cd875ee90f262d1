-- Unordered: the earliest step-$k event in [anchor, anchor + window]; the anchor is its own step.
create or replace temp table funnel_chain as
select
    c.unit,
    c.attempt,
    c.anchor_t,
    c.anchor_step,
    c.anchor_bd,
    list_append(
        c.found,
        case
            when c.anchor_step = $k then {'t': c.anchor_t, 'o': 0, 'bd': c.anchor_bd}
            when s.t - c.anchor_t <= $window_us then {'t': s.t, 'o': 1, 'bd': s.bd}
        end
    ) as found
from funnel_chain as c
asof left join (select unit, t, bd from funnel_events where steps[$k]) as s
    on c.unit = s.unit and c.anchor_t <= s.t
