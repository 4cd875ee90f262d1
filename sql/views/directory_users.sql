-- Directory users as of each snapshot; enabled is false for locked or disabled accounts.
create or replace view directory_users as
select snapshot_at, dn, uid, email, display_name, enabled, cast(attributes as json) as attributes, source
from {relation}
