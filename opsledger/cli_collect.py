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
    """Collect from live sources (Prometheus, Elasticsearch, LDAP) into the lake; refresh the views."""


@collect.command()
@click.option(
    "--url",
    help="ldap://host[:port] or ldaps://host[:port] (default: the live.ldap sources of opsledger.yaml)",
)
@click.option("--base-dn", help="Subtree holding the users and groups (required with --url).")
@click.option("--bind-dn", help="DN to bind as (default: anonymous).")
@click.option(
    "--password-env", metavar="NAME", help="Environment variable holding the bind password (never the value)."
)
@click.option("--start-tls", is_flag=True, help="Upgrade an ldap:// connection with StartTLS.")
@click.option(
    "--name",
    help="With --url: the source name (rows get source ldap:NAME; default: default). Without: "
    "snapshot only this configured source.",
)
@click.option(
    "--flavor",
    type=click.Choice(["auto", "openldap", "active_directory"]),
    default="auto",
    show_default=True,
    help="Attribute names and group nesting; auto asks the server's root DSE.",
)
@click.option("--page-size", default=500, show_default=True, help="Entries per page of the paged search.")
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False),
    help="CA bundle (PEM) to verify the server's certificate with (default: the system's).",
)
@click.option("--no-tls-verify", is_flag=True, help="Accept any server certificate (testing only).")
def ldap(
    url, base_dn, bind_dn, password_env, start_tls, name, flavor, page_size, ca_file, no_tls_verify
) -> None:
    """Snapshot users, groups and memberships of an LDAP directory (OpenLDAP or Active Directory):
    the one given by --url and the other options, else each live.ldap source of opsledger.yaml."""
    from collectors.ldap_live import LdapSettings
    from opsledger import warehouse
    from opsledger.config import load_config

    settings = Settings()
    if url is None:
        explicit = {
            "--base-dn": base_dn,
            "--bind-dn": bind_dn,
            "--password-env": password_env,
            "--ca-file": ca_file,
        }
        given = [option for option, value in explicit.items() if value is not None]
        if given:
            raise OpsledgerError(
                f"collect ldap: {given[0]} needs --url (or configure live.ldap in opsledger.yaml)"
            )
        directories = load_config(settings.config_path).live_sources.pick("ldap", name)
        if not directories:
            raise OpsledgerError(
                f"collect ldap: nothing configured: add live.ldap to {settings.config_path}, or use --url"
            )
    elif base_dn is None:
        raise OpsledgerError("collect ldap: --url needs --base-dn")
    else:
        options = dict(
            name=name or "default",
            url=url,
            base_dn=base_dn,
            bind_dn=bind_dn,
            password_env=password_env,
            start_tls=start_tls,
            flavor=flavor,
            page_size=page_size,
            ca_file=ca_file,
            tls_verify=not no_tls_verify,
        )
        directories = [_explicit_settings(LdapSettings, options)]
    for directory in directories:
        _snapshot(settings, directory)
    warehouse.refresh_views_at(settings.warehouse_path, settings.lake_dir)


def _explicit_settings(model, options: dict):
    try:
        return model(**options)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "options"
        raise OpsledgerError(f"collect ldap: {where}: {first['msg']}") from None


def _snapshot(settings: Settings, ldap_settings) -> None:
    from opsledger.live_directory import collect_directory
    from opsledger.progress import record_progress

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


collect.add_command(prometheus)
collect.add_command(elasticsearch)
