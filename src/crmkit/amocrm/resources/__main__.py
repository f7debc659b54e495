"""``python -m crmkit.amocrm.resources``: print the README's amoCRM coverage table."""

from ._table import coverage_table

print(coverage_table(), end="")
