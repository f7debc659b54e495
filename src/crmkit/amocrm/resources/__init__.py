"""amoCRM's API groups as resources: the entity class, notes, the generic group class,
and the few groups with calls of their own; :mod:`._table` lists them all."""

from ._entities import EntityResource
from ._groups import (
    GroupResource,
    LinksResource,
    UnsortedResource,
    WebhooksResource,
    add_complex,
)
from ._notes import NotesResource
from ._table import API_GROUPS, NOT_COVERED, ApiGroup, coverage_table, group

__all__ = [
    "API_GROUPS",
    "NOT_COVERED",
    "ApiGroup",
    "EntityResource",
    "GroupResource",
    "LinksResource",
    "NotesResource",
    "UnsortedResource",
    "WebhooksResource",
    "add_complex",
    "coverage_table",
    "group",
]
