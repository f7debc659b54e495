"""The vtiger sandbox's VTQL: a tokenizer, a parser and an evaluator for the subset vtiger serves.

``SELECT <*|fields|count(*)> FROM <Module> [WHERE <cond>] [ORDER BY <field> [ASC|DESC]]
[LIMIT [<offset>,] <n>];`` where a condition is ``field <op> value`` with ``=``
``!=`` ``<>`` ``<`` ``>`` ``<=`` ``>=`` ``LIKE`` (``%`` wildcards) or
``field IN (v, ...)``, joined by AND (binding tighter) and OR. Strings are in
single quotes, a quote inside doubled (vtiger's lexer); the literal reaches
MySQL as written, so a backslash escapes the next character. ``id`` compares and
sorts by the record's number, as vtiger's parser rewrites it to ``crmid``. The
``;`` is required.
This is the server's reading, kept apart from the client's query builder.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = ["Query", "QuerySyntaxError", "parse", "record_number"]

_KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "ORDER",
    "BY",
    "LIMIT",
    "AND",
    "OR",
    "IN",
    "LIKE",
    "ASC",
    "DESC",
}
_OPERATORS = ("<=", ">=", "!=", "<>", "=", "<", ">")


class QuerySyntaxError(Exception):
    pass


#: vtiger's string literal (``include/Webservices/VTQL_Lexer.php``): a quote inside
#: is doubled; the literal then goes into MySQL's SQL as it is, where a backslash
#: escapes the next character.
_STRING = re.compile(r"'(?:[^']|'')+'")
_MYSQL_ESCAPES = {"0": "\0", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "b": "\b"}


def _unescape(body: str) -> str:
    """The value of a literal's body as MySQL reads it: ``''`` and backslash escapes."""
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(_MYSQL_ESCAPES.get(nxt, nxt))
            i += 2
        elif ch == "'" and body.startswith("''", i):
            out.append("'")
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "'":
            match = _STRING.match(text, i)
            if match is None:
                raise QuerySyntaxError(f"unexpected input at {i}: {text[i : i + 5]!r}")
            out.append(("str", _unescape(match.group()[1:-1])))
            i = match.end()
        elif ch.isdigit() or (ch == "-" and i + 1 < len(text) and text[i + 1].isdigit()):
            match = re.match(r"-?\d+(\.\d+)?", text[i:])
            assert match
            out.append(("num", match.group()))
            i += len(match.group())
        elif ch.isalpha() or ch == "_":
            match = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[i:])
            assert match
            word = match.group()
            out.append(("kw", word.upper()) if word.upper() in _KEYWORDS else ("name", word))
            i += len(word)
        elif ch in "(),;*":
            out.append((ch, ch))
            i += 1
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                raise QuerySyntaxError(f"unexpected character {ch!r} at {i}")
            out.append(("op", op))
            i += len(op)
    return out


Condition = Callable[[Mapping[str, Any]], bool]


@attrs.frozen
class Query:
    module: str
    fields: tuple[str, ...] | None  # None: *
    count: bool
    condition: Condition | None
    order_by: str | None
    descending: bool
    offset: int
    limit: int | None


_NUMERIC: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<>": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _compare(op: str, left: Any, right: str) -> bool:
    left_text = "" if left is None else str(left)
    if op == "LIKE":
        pattern = "^" + ".*".join(re.escape(part) for part in right.split("%")) + "$"
        return re.match(pattern, left_text, re.IGNORECASE) is not None
    a: Any
    b: Any
    if _NUMBER.fullmatch(left_text) and _NUMBER.fullmatch(right):
        a, b = float(left_text), float(right)
    else:  # MySQL's default collation: case-insensitive
        a, b = left_text.lower(), right.lower()
    return bool(
        {
            "=": a == b,
            "!=": a != b,
            "<>": a != b,
            "<": a < b,
            ">": a > b,
            "<=": a <= b,
            ">=": a >= b,
        }[op]
    )


class _Parser:
    def __init__(self, text: str) -> None:
        stripped = text.strip()
        if not stripped.endswith(";"):
            raise QuerySyntaxError("a query must end with ';'")
        self.tokens = _tokens(stripped)
        self.at = 0

    def peek(self, kind: str, value: str | None = None) -> bool:
        if self.at >= len(self.tokens):
            return False
        k, v = self.tokens[self.at]
        return k == kind and (value is None or v == value)

    def take(self, kind: str, value: str | None = None) -> str:
        if not self.peek(kind, value):
            found = self.tokens[self.at][1] if self.at < len(self.tokens) else "the end"
            raise QuerySyntaxError(f"expected {value or kind} but found {found!r}")
        self.at += 1
        return self.tokens[self.at - 1][1]

    def parse(self) -> Query:
        self.take("kw", "SELECT")
        fields: tuple[str, ...] | None = None
        count = False
        if self.peek("*"):
            self.take("*")
        elif self.peek("name") and self.tokens[self.at][1].lower() == "count":
            self.take("name")
            self.take("(")
            self.take("*")
            self.take(")")
            count = True
        else:
            names = [self.take("name")]
            while self.peek(","):
                self.take(",")
                names.append(self.take("name"))
            fields = tuple(names)
        self.take("kw", "FROM")
        module = self.take("name")
        condition = None
        if self.peek("kw", "WHERE"):
            self.take("kw", "WHERE")
            condition = self.disjunction()
        order_by, descending = None, False
        if self.peek("kw", "ORDER"):
            self.take("kw", "ORDER")
            self.take("kw", "BY")
            order_by = self.take("name")
            if self.peek("kw", "DESC"):
                self.take("kw")
                descending = True
            elif self.peek("kw", "ASC"):
                self.take("kw")
        offset, limit = 0, None
        if self.peek("kw", "LIMIT"):
            self.take("kw", "LIMIT")
            first = int(self.take("num"))
            if self.peek(","):
                self.take(",")
                offset, limit = first, int(self.take("num"))
            else:
                limit = first
        self.take(";")
        if self.at != len(self.tokens):
            raise QuerySyntaxError("unexpected text after ';'")
        return Query(module, fields, count, condition, order_by, descending, offset, limit)

    def disjunction(self) -> Condition:
        parts = [self.conjunction()]
        while self.peek("kw", "OR"):
            self.take("kw", "OR")
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def conjunction(self) -> Condition:
        parts = [self.comparison()]
        while self.peek("kw", "AND"):
            self.take("kw", "AND")
            parts.append(self.comparison())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def value(self) -> str:
        if self.peek("str"):
            return self.take("str")
        return self.take("num")

    def comparison(self) -> Condition:
        if self.peek("("):
            self.take("(")
            inner = self.disjunction()
            self.take(")")
            return inner
        field = self.take("name")
        if self.peek("kw", "IN"):
            self.take("kw", "IN")
            self.take("(")
            values = [self.value()]
            while self.peek(","):
                self.take(",")
                values.append(self.value())
            self.take(")")
            if field == "id":
                numbers = {record_number(v) for v in values}
                return lambda row: record_number(row.get("id")) in numbers
            wanted = {v.lower() for v in values}
            return lambda row: str(row.get(field, "")).lower() in wanted
        if self.peek("kw", "LIKE"):
            self.take("kw", "LIKE")
            pattern = self.value()
            return lambda row: _compare("LIKE", row.get(field), pattern)
        op = self.take("op")
        right = self.value()
        if field == "id":
            number, test = record_number(right), _NUMERIC[op]
            return lambda row: test(record_number(row["id"]), number)
        return lambda row: _compare(op, row.get(field), right)


def record_number(value: Any) -> int:
    """The record number of ``12x34`` (vtiger compares ids by ``crmid`` alone)."""
    tail = str(value or "").rpartition("x")[2]
    if not tail.isdigit():
        raise QuerySyntaxError(f"Id specified is incorrect: {value!r}")
    return int(tail)


def parse(text: str) -> Query:
    """Parse one VTQL query; raises :class:`QuerySyntaxError` with the reason."""
    return _Parser(text).parse()
