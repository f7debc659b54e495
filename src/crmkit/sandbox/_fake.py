"""Seeded fake data for sandboxes: names, e-mails, phones, companies, amounts, instants.

Small hand-kept word lists and one ``random.Random`` per generator, so the same
seed gives the same records on every machine, and a million records cost
seconds, not minutes. Nothing here looks like a real person on purpose.
"""

from __future__ import annotations

import random

__all__ = ["FakeData"]

_FIRST = tuple(
    [
        "Anna",
        "Boris",
        "Chloe",
        "Dmitri",
        "Elena",
        "Farid",
        "Galina",
        "Hugo",
        "Irina",
        "Jonas",
        "Kira",
        "Leon",
        "Maria",
        "Nikolai",
        "Olga",
        "Pavel",
        "Rosa",
        "Sergei",
        "Tamara",
        "Ulrich",
        "Vera",
        "Wanda",
        "Xenia",
        "Yuri",
        "Zoe",
    ]
)
_LAST = tuple(
    [
        "Abramova",
        "Becker",
        "Costa",
        "Demir",
        "Egorov",
        "Fischer",
        "Garcia",
        "Horvat",
        "Ivanova",
        "Jansen",
        "Kowalski",
        "Lebedev",
        "Moreau",
        "Novak",
        "Orlov",
        "Petrov",
        "Quinn",
        "Romanova",
        "Smirnov",
        "Tkachenko",
        "Usova",
        "Volkov",
        "Weber",
        "Yilmaz",
        "Zaitsev",
    ]
)
_COMPANY = tuple(
    [
        "Alpha",
        "Borealis",
        "Cedar",
        "Delta",
        "Ember",
        "Fjord",
        "Granite",
        "Harbor",
        "Iris",
        "Juniper",
        "Kestrel",
        "Lumen",
    ]
)
_SUFFIX = ("LLC", "Ltd", "GmbH", "Group", "Trading", "Systems")
_CITY = tuple(
    [
        "Almaty",
        "Berlin",
        "Kyiv",
        "Lisbon",
        "Madrid",
        "Minsk",
        "Moscow",
        "Prague",
        "Riga",
        "Tbilisi",
        "Vilnius",
        "Warsaw",
    ]
)


class FakeData:
    """A deterministic source of plausible record fields."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def first_name(self) -> str:
        return self.rng.choice(_FIRST)

    def last_name(self) -> str:
        return self.rng.choice(_LAST)

    def full_name(self) -> str:
        return f"{self.first_name()} {self.last_name()}"

    def email(self, name: str | None = None) -> str:
        local = (name or self.full_name()).lower().replace(" ", ".")
        return f"{local}{self.rng.randrange(1000)}@example.test"

    def phone(self) -> str:
        return "+7" + "".join(str(self.rng.randrange(10)) for _ in range(10))

    def company(self) -> str:
        return f"{self.rng.choice(_COMPANY)} {self.rng.choice(_SUFFIX)}"

    def city(self) -> str:
        return self.rng.choice(_CITY)

    def amount(self, low: int = 100, high: int = 100_000) -> int:
        return self.rng.randrange(low, high)

    def instant(self, start: float, end: float) -> int:
        """Unix seconds uniformly in ``[start, end)``."""
        return int(self.rng.uniform(start, end))

    def choice(self, options: list[str] | tuple[str, ...]) -> str:
        return self.rng.choice(options)
