"""A deterministic demo company (Northwind Shop) written in the real source formats.

``generate(out_dir, seed=7, ...)`` writes a month of metrics, logs, audit events, directory
snapshots, test results and product events that all tell one story (an outage, a latency
regression and its fix, an unapproved deploy, an admin grant, a brute-force burst, a disabled
account still in use) and returns that story as a ``Story``.
"""

from opsledger.demo.generator import generate
from opsledger.demo.story import Story

__all__ = ["Story", "generate"]
