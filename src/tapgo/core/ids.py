"""Opaque public ids: what a URL or an API shows instead of a sequential primary key."""

import secrets
from typing import TypeGuard

from django.db import models

# Crockford-style alphabet without look-alikes (no 0/O, 1/I/L, U).
ALPHABET = "23456789abcdefghjkmnpqrstvwxyz"


def new_public_id(length: int = 12) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def is_public_id(value: object, length: int = 12) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) == length and all(c in ALPHABET for c in value)


class PublicIdField(models.CharField):
    """A unique, random, URL-safe id generated when the row is created."""

    def __init__(self, *args, length: int = 12, **kwargs):
        self.id_length = length
        kwargs.setdefault("max_length", length)
        kwargs.setdefault("unique", True)
        kwargs.setdefault("editable", False)
        kwargs["default"] = _generator(length)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("default", None)
        kwargs["length"] = self.id_length
        for key in ("max_length", "unique", "editable"):
            kwargs.pop(key, None)
        return name, path, args, kwargs


_generators: dict[int, object] = {}


def _generator(length: int):
    if length == 12:
        return new_public_id
    if length not in _generators:

        def generate() -> str:
            return new_public_id(length)

        generate.__qualname__ = generate.__name__ = f"new_public_id_{length}"
        _generators[length] = generate
    return _generators[length]
