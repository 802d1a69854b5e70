"""Tapgo's settings, with the one-view URLconf of stack.py."""

from tapgo.settings import *  # noqa: F403

ROOT_URLCONF = "stack"
