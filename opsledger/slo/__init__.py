"""SLO specs (OpenSLO v1 / v1alpha, Sloth prometheus/v1), their validation, burn-rate windows and
Prometheus rules in Sloth's shape. Plain functions: callable from the CLI, assets or tests."""

from opsledger.slo.loaders import load_specs
from opsledger.slo.rules import RuleOptions, generate, rule_groups
from opsledger.slo.spec import SLO
from opsledger.slo.windows import AlertWindows, WindowCatalog, burn_rate_factor

__all__ = [
    "SLO",
    "AlertWindows",
    "RuleOptions",
    "WindowCatalog",
    "burn_rate_factor",
    "generate",
    "load_specs",
    "rule_groups",
]
