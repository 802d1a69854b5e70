"""`tapgo search reindex | popularity | query TEXT`: the search index from the command line."""

import time

from django.core.management.base import BaseCommand

from tapgo.discovery import search


class Command(BaseCommand):
    help = "Rebuild the search index, refresh popularity, or try a query."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("reindex", help="rebuild every doc from the catalogue, then popularity")
        sub.add_parser("popularity", help="recount recent visits and orders per app")
        query = sub.add_parser("query", help="search as the shell does and print the hits")
        query.add_argument("text")
        query.add_argument("--lat", type=float)
        query.add_argument("--lng", type=float)
        query.add_argument("--kind", action="append", choices=list(search.Kind.values))
        query.add_argument("--limit", type=int, default=10)

    def handle(self, *args, action, **options):
        started = time.perf_counter()
        if action == "reindex":
            result = search.reindex()
            self.stdout.write(
                f"search reindex: {result['docs']} docs for {result['merchants']} merchants, "
                f"{result['changed']} changed ({time.perf_counter() - started:.2f} s)"
            )
        elif action == "popularity":
            changed = search.popularity_refresh()
            self.stdout.write(
                f"search popularity: {changed} apps changed ({time.perf_counter() - started:.2f} s)"
            )
        else:
            hits = search.search(
                options["text"],
                lat=options["lat"],
                lng=options["lng"],
                kinds=options["kind"],
                limit=options["limit"],
            )
            for hit in hits:
                where = f" {hit.distance_km} km" if hit.distance_km is not None else ""
                self.stdout.write(
                    f"{hit.score:10.4f}  {hit.kind:8} {hit.title}  ({hit.app_name}){where}"
                )
            self.stdout.write(f"{len(hits)} hits ({time.perf_counter() - started:.3f} s)")
