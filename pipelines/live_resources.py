"""Resources for the live sources of ``opsledger.yaml``: one per configured Prometheus,
Elasticsearch and LDAP server.

A resource holds the collector's settings as JSON — server, options and the NAMES of the
environment variables with credentials, never their values — and its secret fields are set with
``dg.EnvVar(<that name>)``. So the Dagster UI shows only variable names, Dagster resolves the
variables when a run starts (an unset one fails the run before any request, naming it), and the
collector, which reads the same variables by name when it connects, gets the same values. The
resolved secrets are also used to scrub any error text before it reaches the event log.
"""

from __future__ import annotations

import dagster as dg

from collectors.elasticsearch_live import ElasticsearchSettings
from collectors.ldap_live import LdapSettings
from collectors.prometheus_live import PrometheusSettings
from opsledger.config_live import LiveSources, identifier


class _LiveResource(dg.ConfigurableResource):
    settings_json: str

    def secrets(self) -> list[str]:
        return []

    def redact(self, text: str) -> str:
        for secret in self.secrets():
            text = text.replace(secret, "***")
        return text


class PrometheusResource(_LiveResource):
    """A Prometheus server and the queries collected from it."""

    username: str | None = None
    password: str | None = None
    bearer_token: str | None = None

    def settings(self) -> PrometheusSettings:
        return PrometheusSettings.model_validate_json(self.settings_json)

    def secrets(self) -> list[str]:
        return [s for s in (self.password, self.bearer_token) if s]


class ElasticsearchResource(_LiveResource):
    """An Elasticsearch cluster and the index patterns collected into each table."""

    api_key: str | None = None
    username: str | None = None
    password: str | None = None

    def settings(self) -> ElasticsearchSettings:
        return ElasticsearchSettings.model_validate_json(self.settings_json)

    def secrets(self) -> list[str]:
        return [s for s in (self.api_key, self.password) if s]


class LdapResource(_LiveResource):
    """An LDAP directory snapshotted into the directory tables."""

    password: str | None = None

    def settings(self) -> LdapSettings:
        return LdapSettings.model_validate_json(self.settings_json)

    def secrets(self) -> list[str]:
        return [self.password] if self.password else []


def resource_key(kind: str, name: str) -> str:
    return f"{kind}_{identifier(name)}"


def _env(name: str | None) -> dg.EnvVar | None:
    return dg.EnvVar(name) if name else None


def live_resources(live: LiveSources) -> dict[str, _LiveResource]:
    """One resource per configured server, keyed ``<kind>_<name>``."""
    resources: dict[str, _LiveResource] = {}
    for prom in live.prometheus:
        resources[resource_key("prometheus", prom.name)] = PrometheusResource(
            settings_json=prom.model_dump_json(),
            username=_env(prom.username_env),
            password=_env(prom.password_env),
            bearer_token=_env(prom.bearer_token_env),
        )
    for es in live.elasticsearch:
        resources[resource_key("elasticsearch", es.name)] = ElasticsearchResource(
            settings_json=es.model_dump_json(),
            api_key=_env(es.api_key_env),
            username=_env(es.username_env),
            password=_env(es.password_env),
        )
    for directory in live.ldap:
        resources[resource_key("ldap", directory.name)] = LdapResource(
            settings_json=directory.model_dump_json(), password=_env(directory.password_env)
        )
    return resources
