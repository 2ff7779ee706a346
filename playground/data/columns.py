"""A table's columns as the person knows them, and how each became the model's inputs.

An uploaded CSV column turns into one or more model inputs: a number stays one input, a
two-valued category becomes one 0/1 input, a category with a few values one 0/1 input per
value (one-hot), one with many values a single code, a column of free text the token ids of
its words (kind "text": always the first inputs, as many as the tokenizer's length, which
is fitted per run's training split, so its `features` are filled in when the data is
loaded). `Column` records that, so everything a
person sees (Explain's rows, the what-if editor, counterfactuals, previews) can speak in the
CSV's own values ("annual_income 42,000", "gender = F") and turn edits back into the inputs
the run's model takes (`playground.data.units.RowCodec`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

ColumnKind = Literal["number", "binary", "one_hot", "codes", "text"]


@dataclass(frozen=True)
class Column:
    """One column of the person's table. `features`: the positions of its model inputs;
    `categories`: its values in the order the inputs use (binary: (off, on); codes: code i is
    categories[i]); `decimals`: how many decimals its numbers were written with."""

    name: str
    kind: ColumnKind
    features: tuple[int, ...]
    categories: tuple[str, ...] = ()
    decimals: int = 2
    integer: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "features": list(self.features),
                "categories": list(self.categories), "decimals": self.decimals,
                "integer": self.integer}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Column":
        return cls(str(data["name"]), data["kind"], tuple(int(i) for i in data["features"]),
                   tuple(str(c) for c in data.get("categories", ())),
                   int(data.get("decimals", 2)), bool(data.get("integer", False)))


@dataclass(frozen=True)
class Schema:
    """Every column of a table, in input order."""

    columns: tuple[Column, ...] = field(default_factory=tuple)

    def __iter__(self):
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def get(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def to_json(self) -> list[dict[str, Any]]:
        return [c.to_json() for c in self.columns]

    @classmethod
    def from_json(cls, data: Sequence[dict[str, Any]] | None) -> "Schema":
        return cls(tuple(Column.from_json(d) for d in data or ()))


def schema_from_feature_names(feature_names: Sequence[str]) -> Schema:
    """A best guess for data saved before columns were recorded (and for built-in sets):
    inputs named "col = value" that share a column become that column's categories (one
    such input alone: a yes/no column, "not value" / "value"); every other input a number."""
    columns: list[Column] = []
    groups: dict[str, list[tuple[int, str]]] = {}
    order: list[str] = []
    for i, name in enumerate(feature_names):
        col, sep, value = str(name).partition(" = ")
        if sep:
            if col not in groups:
                groups[col] = []
                order.append(col)
            groups[col].append((i, value))
        else:
            order.append(str(name))
            groups[str(name)] = [(i, "")]
    for col in order:
        members = groups[col]
        if len(members) == 1 and not members[0][1]:
            columns.append(Column(col, "number", (members[0][0],)))
        elif len(members) == 1:
            i, value = members[0]
            columns.append(Column(col, "binary", (i,), (f"not {value}", value)))
        else:
            columns.append(Column(col, "one_hot", tuple(i for i, _ in members),
                                  tuple(v for _, v in members)))
    return Schema(tuple(columns))
