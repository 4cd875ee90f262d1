-- Directory groups as of each snapshot.
create or replace view directory_groups as
select snapshot_at, dn, name, cast(attributes as json) as attributes, source
from {relation}
