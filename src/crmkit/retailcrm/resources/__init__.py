"""RetailCRM API groups, one module each; the client holds one instance of each."""

from ._entities import By, EntityResource
from ._modules import IntegrationModules
from ._references import REFERENCE_BOOKS, ReferenceBook, References

__all__ = [
    "REFERENCE_BOOKS",
    "By",
    "EntityResource",
    "IntegrationModules",
    "ReferenceBook",
    "References",
]
