"""Demo data for `tapgo demo`: a café with a menu and tables, and a second business.

Seeding is idempotent: running it again finds what exists and adds nothing twice.
"""

from decimal import Decimal

import segno
from django.db import transaction
from django.urls import reverse

from tapgo.catalog import services as catalog
from tapgo.identity.models import User
from tapgo.merchants import services as merchants
from tapgo.merchants.models import Membership, Role
from tapgo.miniapps import services as miniapps
from tapgo.miniapps.models import EntryCode, MiniApp
from tapgo.payments import stored_value

PASSWORD = "tapgo-demo"
CAFE_OWNER = "owner@cafe.demo"
CAFE_STAFF = "staff@cafe.demo"
BAKERY_OWNER = "owner@bakery.demo"

CAFE_MENU = {
    "Coffee": [
        ("Americano", 1800, [("Regular", 1800), ("Large", 2200)]),
        ("Latte", 2600, [("Regular", 2600), ("Large", 3000)]),
        ("Oat Latte", 2800, []),
        ("Flat White", 2800, []),
        ("Cappuccino", 2600, []),
    ],
    "Tea": [
        ("Jasmine Tea", 1600, []),
        ("Oolong Milk Tea", 2200, [("Regular", 2200), ("Large", 2600)]),
        ("Matcha Latte", 2800, []),
    ],
    "Food": [
        ("Croissant", 1500, []),
        ("Egg Sandwich", 2400, []),
        ("Banana Bread", 1800, []),
        ("Cheesecake", 3200, []),
    ],
}

BAKERY_MENU = {
    "Bread": [("Sourdough", 3800, []), ("Baguette", 1600, [])],
    "Pastry": [("Egg Tart", 900, []), ("Pineapple Bun", 800, [])],
}


def _user(email: str) -> User:
    user = User.objects.filter(email=email).first()
    return user or User.objects.create_user(email=email, password=PASSWORD)


def _business(owner: User, name: str, slug: str, description: str, menu: dict, **store) -> MiniApp:
    app = MiniApp.objects.filter(slug=slug).select_related("merchant").first()
    if app is not None:
        return app
    merchant = merchants.merchant_create(owner=owner, name=name, **store)
    app = miniapps.app_create(merchant=merchant, name=name, slug=slug, description=description)
    for category_name, products in menu.items():
        category = catalog.category_create(merchant=merchant, name=category_name)
        for product_name, price, variants in products:
            catalog.product_create(
                merchant=merchant,
                category=category,
                name=product_name,
                price=price,
                variants=[catalog.VariantInput(name=n, price=p) for n, p in variants] or None,
            )
    miniapps.app_set_published(app=app, published=True)
    return app


@transaction.atomic
def seed() -> dict:
    owner, staff, baker = _user(CAFE_OWNER), _user(CAFE_STAFF), _user(BAKERY_OWNER)
    cafe = _business(
        owner,
        "Harbour Café",
        "harbour-cafe",
        "Coffee, tea and breakfast by the water.",
        CAFE_MENU,
        address="88 Harbour Road",
        latitude=Decimal("31.230416"),
        longitude=Decimal("121.473701"),
        opening_hours="Mon–Sun 07:30–20:00",
        time_zone="Asia/Shanghai",
        currency="CNY",
    )
    Membership.objects.get_or_create(
        merchant=cafe.merchant, user=staff, defaults={"role": Role.STAFF}
    )
    miniapps.table_codes_create(app=cafe, labels=[str(n) for n in range(1, 13)])
    # The café sells a prepaid card: pay 100, get 105; pay 500, get 550.
    for pay, bonus in ((10000, 500), (50000, 5000)):
        stored_value.tier_set(merchant=cafe.merchant, pay=pay, bonus=bonus)
    bakery = _business(
        baker,
        "Corner Bakery",
        "corner-bakery",
        "Bread from the oven every morning.",
        BAKERY_MENU,
        address="5 Market Street",
        latitude=Decimal("31.228000"),
        longitude=Decimal("121.470000"),
        opening_hours="Tue–Sun 06:30–18:00",
        time_zone="Asia/Shanghai",
        currency="CNY",
    )
    miniapps.table_codes_create(app=bakery, labels=["1", "2"])
    table1 = EntryCode.objects.get(app=cafe, kind=EntryCode.Kind.TABLE, table_label="1")
    return {"cafe": cafe, "bakery": bakery, "table1": table1}


def print_welcome(info: dict, public_url: str) -> None:
    cafe, bakery, table1 = info["cafe"], info["bakery"], info["table1"]
    scan_url = public_url + reverse("shell:scan", args=[table1.code])
    lines = [
        "",
        "Tapgo is running.",
        "",
        f"  Customer, table 1 of {cafe.name}:  {scan_url}",
        f"  Customer home:                      {public_url}/",
        f"  {bakery.name}:{' ' * 22}{public_url}{reverse('shell:app', args=[bakery.slug])}",
        f"  Merchant console:                   {public_url}{reverse('console:login')}",
        f"    {CAFE_OWNER} / {PASSWORD}   (owner of {cafe.name})",
        f"    {CAFE_STAFF} / {PASSWORD}   (staff of {cafe.name})",
        f"    {BAKERY_OWNER} / {PASSWORD}   (owner of {bakery.name})",
        "",
        "  Scan this code for table 1 (use --public-url with your LAN address for a phone):",
    ]
    print("\n".join(lines))
    segno.make(scan_url, error="m").terminal(compact=True)
    print("\n  Press Ctrl-C to stop.\n", flush=True)
