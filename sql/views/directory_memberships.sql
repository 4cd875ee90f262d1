-- Group memberships (group DN → member DN) as of each snapshot.
create or replace view directory_memberships as
select snapshot_at, group_dn, member_dn, source
from {relation}
