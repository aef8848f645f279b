"""opsledger: governance-as-code for IT operations.

Records live in git as schema-validated YAML and Markdown; the package loads them
strictly into one :class:`~opsledger.model.ledger.Ledger` that audit rules, KPIs,
reports and the site read from.
"""

__version__ = "0.1.0"
