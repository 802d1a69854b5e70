"""Flows: business actions that cross domains (see docs/architecture.md).

A flow takes the locks it needs in the one documented order, calls each domain's services,
and schedules what happens after commit. Domains never import flows or each other upwards;
the interfaces (shell, console, ops, api) call flows and domain services alike.
"""
