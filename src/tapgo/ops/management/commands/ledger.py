"""`tapgo ledger verify`: check every invariant of the books; exit 1 on a breach."""

import sys
import time

from django.core.management.base import BaseCommand

from tapgo.flows.checks import verify_books
from tapgo.payments import ledger


class Command(BaseCommand):
    help = "Check the ledger's invariants (verify)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="check every invariant; exit 1 on a breach")
        verify.add_argument("--limit", type=int, default=50, help="breaches shown per rule")

    def handle(self, *args, action, limit=50, **options):
        started = time.perf_counter()
        breaches = verify_books(limit=limit)
        seconds = time.perf_counter() - started
        for breach in breaches:
            self.stderr.write(f"BREACH {breach}")
        if breaches:
            self.stderr.write(f"ledger verify: {len(breaches)} breaches ({seconds:.2f} s)")
            sys.exit(1)
        counts = ledger.counts()
        self.stdout.write(
            f"ledger verify: ok, {counts['transactions']} transactions, "
            f"{counts['entries']} entries, {counts['accounts']} accounts ({seconds:.2f} s)"
        )
