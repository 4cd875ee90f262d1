"""``opsledger collect <source>``: pull from live servers into the lake (one batch per run)."""

from __future__ import annotations

import click
from pydantic import ValidationError

from opsledger.cli_collect_elasticsearch import elasticsearch
from opsledger.cli_collect_prometheus import prometheus
from opsledger.errors import OpsledgerError
from opsledger.settings import Settings


@click.group()
def collect() -> None:
    """Collect from live sources (LDAP, Prometheus) into the lake, then refresh the warehouse views."""


@collect.command()
@click.option("--url", required=True, help="ldap://host[:port] or ldaps://host[:port]")
@click.option("--base-dn", required=True, help="Subtree holding the users and groups.")
@click.option("--bind-dn", help="DN to bind as (default: anonymous).")
@click.option(
    "--password-env", metavar="NAME", help="Environment variable holding the bind password (never the value)."
)
@click.option("--start-tls", is_flag=True, help="Upgrade an ldap:// connection with StartTLS.")
@click.option("--name", default="default", show_default=True, help="Source name: rows get source ldap:NAME.")
@click.option(
    "--flavor",
    type=click.Choice(["auto", "openldap", "active_directory"]),
    default="auto",
    show_default=True,
    help="Attribute names and group nesting; auto asks the server's root DSE.",
)
@click.option("--page-size", default=500, show_default=True, help="Entries per page of the paged search.")
@click.option("--no-tls-verify", is_flag=True, help="Accept any server certificate (testing only).")
def ldap(url, base_dn, bind_dn, password_env, start_tls, name, flavor, page_size, no_tls_verify) -> None:
    """Snapshot users, groups and memberships of an LDAP directory (OpenLDAP or Active Directory)."""
    from collectors.ldap_live import LdapSettings
    from opsledger import warehouse
    from opsledger.live_directory import collect_directory
    from opsledger.progress import record_progress

    try:
        ldap_settings = LdapSettings(
            name=name,
            url=url,
            base_dn=base_dn,
            bind_dn=bind_dn,
            password_env=password_env,
            start_tls=start_tls,
            flavor=flavor,
            page_size=page_size,
            tls_verify=not no_tls_verify,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "options"
        raise OpsledgerError(f"collect ldap: {where}: {first['msg']}") from None
    settings = Settings()
    with record_progress() as progress:
        task = progress.add_task(ldap_settings.source, total=None)
        result = collect_directory(
            settings.home_dir,
            ldap_settings,
            progress=lambda n: progress.update(task, completed=n),
        )
        progress.update(task, completed=result.rows_read)
    users, groups, memberships = (
        result.rows_per_table.get(f"directory_{kind}", 0) for kind in ("users", "groups", "memberships")
    )
    click.echo(
        f"{result.source}: {users} users, {groups} groups, {memberships} memberships "
        f"({result.rows_read} entries read, {result.rows_quarantined} quarantined)"
    )
    con = warehouse.connect(settings.warehouse_path, read_only=False)
    try:
        warehouse.refresh_views(con, settings.lake_dir)
    finally:
        con.close()


collect.add_command(prometheus)
collect.add_command(elasticsearch)
