"""Demo data for `tapgo demo`: a café with a menu and tables, and a second business, each
with its menu in English and Simplified Chinese, a picture of every product (menus.py,
pictures.py) and thirty days of visits, orders and payments (history.py).

Seeding is idempotent: running it again finds what exists and adds nothing twice (a demo
database seeded before the menus were bilingual gets the translations and pictures it lacks).
"""

from decimal import Decimal

import segno
from django.db import transaction
from django.urls import reverse

from tapgo.catalog import services as catalog
from tapgo.catalog.models import Category, Product
from tapgo.core.scenes import Scene
from tapgo.coupons import services as coupons
from tapgo.coupons.models import CouponKind
from tapgo.demo import loyalty, menus, pictures
from tapgo.demo.history import DAYS, history
from tapgo.discovery import search
from tapgo.flows import listings
from tapgo.identity.models import User
from tapgo.identity.services import customer_create_guest
from tapgo.merchants import services as merchants
from tapgo.merchants.models import DineInPayment, Membership, Role
from tapgo.miniapps import services as miniapps
from tapgo.miniapps.models import EntryCode, MiniApp, ShareLink
from tapgo.official.models import Article
from tapgo.ordering import services as ordering
from tapgo.payments import stored_value

PASSWORD = "tapgo-demo"
CAFE_OWNER = "owner@cafe.demo"
CAFE_STAFF = "staff@cafe.demo"
BAKERY_OWNER = "owner@bakery.demo"
OPERATOR = "ops@tapgo.demo"  # the platform operator: /ops/ (templates, dead letters)

# The café's official account: (title, summary, body, published).
CAFE_ARTICLES = [
    (
        "Our oat latte, and why we made it",
        "Barista oat milk, a double shot and no syrup: the latte for everyone at the table.",
        "<p>Half of our regulars asked for a latte without dairy, so we tried six oat milks "
        "until one steamed as silky as whole milk.</p><h2>How we make it</h2><ul>"
        "<li>A double shot of our house espresso</li><li>Barista oat milk, steamed to 60°C</li>"
        "<li>No syrup: the oats are sweet enough</li></ul><p>Try it this week with a "
        "croissant.</p>",
        True,
    ),
    (
        "燕麦拿铁上新：不加糖也香甜",
        "双份浓缩配燕麦奶，口感顺滑，乳糖不耐受的朋友也能放心喝。",
        "<p>很多老顾客问我们有没有不含牛奶的拿铁。我们试了六款燕麦奶，终于找到一款打出来和全脂牛奶一样"
        "细腻的。</p><h2>怎么做</h2><ul><li>双份招牌浓缩咖啡</li><li>咖啡师燕麦奶，加热到60°C</li>"
        "<li>不加糖浆：燕麦本身就有甜味</li></ul><p>本周到店点燕麦拿铁，配一个可颂刚刚好。</p>",
        True,
    ),
    (
        "Autumn opening hours",
        "From October we open half an hour later on weekends.",
        "<p>From October, Saturday and Sunday we open at 08:00.</p>",
        False,
    ),
]


def _articles(app: MiniApp) -> None:
    if Article.objects.for_merchant(app.merchant).exists():
        return
    for title, summary, body, published in CAFE_ARTICLES:
        article = listings.article_create(
            merchant=app.merchant, app=app, title=title, summary=summary, body=body
        )
        if published:
            listings.article_set_published(article=article, published=True)


def _codes(app: MiniApp) -> None:
    """A campaign code for the spring flyer and a product code for the oat latte's display."""
    codes = EntryCode.objects.filter(app=app)
    if not codes.filter(kind=EntryCode.Kind.CAMPAIGN, scene_param="spring-flyer").exists():
        miniapps.code_create(
            app=app, kind=EntryCode.Kind.CAMPAIGN, scene_param="spring-flyer", name="Spring flyer"
        )
    oat_latte = catalog.products_of(app.merchant).filter(name="Oat Latte").first()
    if oat_latte is not None and not codes.filter(kind=EntryCode.Kind.PRODUCT).exists():
        miniapps.code_create(
            app=app,
            kind=EntryCode.Kind.PRODUCT,
            product_public_id=oat_latte.public_id,
            name="Counter display",
        )


def _shares(app: MiniApp) -> None:
    """Two customers who shared the café, and the friends their links brought (visits only:
    the console's Sharing page is not empty on a fresh demo)."""
    if ShareLink.objects.for_merchant(app.merchant).exists():
        return
    for friends in (3, 1):
        link = miniapps.share_link_for(app=app, customer=customer_create_guest())
        for _ in range(friends):
            miniapps.visit_record(
                app=app, customer=customer_create_guest(), scene=Scene.SHARE, share=link
            )


def _coupons(app: MiniApp) -> None:
    """The café's first offer: a coupon anyone can claim in the app (or by its campaign
    code), ¥5 off a spend of ¥30, good for 30 days, one each, 500 in all."""
    coupons.batch_create(
        merchant=app.merchant,
        terms=coupons.BatchTerms(
            name="¥5 off ¥30",
            kind=CouponKind.THRESHOLD,
            value=500,
            min_spend=3000,
            valid_days=30,
            total_cap=500,
            per_customer_cap=1,
        ),
    )


def _user(email: str, *, operator: bool = False) -> User:
    user = User.objects.filter(email=email).first()
    return user or User.objects.create_user(email=email, password=PASSWORD, is_staff=operator)


def _business(owner: User, slug: str, spec: dict, menu: list[menus.Category], **store) -> MiniApp:
    app = MiniApp.objects.filter(slug=slug).select_related("merchant").first()
    if app is None:
        merchant = merchants.merchant_create(owner=owner, name=spec["name"], language="en", **store)
        app = listings.app_create(merchant=merchant, slug=slug, **spec)
        listings.app_set_published(app=app, published=True)
    elif not app.translations:
        listings.app_update(
            app=app,
            name=app.name,
            slug=app.slug,
            description=app.description,
            brand_color=app.brand_color,
            translations=spec["translations"],
        )
    _menu(app.merchant, menu)
    return app


def _menu(merchant, menu: list[menus.Category]) -> None:
    """Each category and product of the menu, with its Chinese texts and its picture: made
    when missing, given what it lacks when found."""
    categories = {c.name: c for c in catalog.categories_of(merchant)}
    products = {p.name: p for p in catalog.products_of(merchant)}
    folder = f"products/{merchant.public_id}"
    for spec in menu:
        names = {"zh-hans": {"name": spec.zh}}
        category: Category | None = categories.get(spec.name)
        if category is None:
            category = catalog.category_create(
                merchant=merchant, name=spec.name, translations=names
            )
        elif not category.translations:
            listings.category_rename(category=category, name=category.name, translations=names)
        for item in spec.items:
            product: Product | None = products.get(item.name)
            texts = {"zh-hans": {"name": item.zh, "description": item.zh_description}}
            variants = [
                catalog.VariantInput(name=n, price=p, translations={"zh-hans": {"name": zh}})
                for n, zh, p in item.variants
            ]
            if product is None:
                listings.product_create(
                    merchant=merchant,
                    category=category,
                    name=item.name,
                    price=item.price,
                    description=item.description,
                    image=pictures.store(item.picture, item.colour, seed=item.name, folder=folder),
                    variants=variants or None,
                    translations=texts,
                )
            elif not product.translations or not product.image:
                listings.product_update(
                    product=product,
                    category=product.category,
                    name=product.name,
                    price=product.price,
                    description=product.description or item.description,
                    stock=product.stock,
                    image=product.image
                    or pictures.store(item.picture, item.colour, seed=item.name, folder=folder),
                    variants=variants,
                    translations=texts,
                )


def _ways_to_order(app: MiniApp, *, bakery: bool) -> None:
    """The café takes tips and delivers within 3 km; the bakery's tables pay after eating
    (one bill for the table, split as they like). The seed calls it for a new business only,
    so a merchant's later choices stay."""
    merchant, store = app.merchant, merchants.merchant_store(app.merchant)
    if bakery:
        if store.dine_in_payment != DineInPayment.PAY_AFTER:
            merchants.ordering_settings_update(
                merchant=merchant,
                store=store,
                dine_in_payment=DineInPayment.PAY_AFTER,
                tips_on=merchant.tips_on,
                tip_percentages=merchant.tip_percentages,
            )
        return
    if not merchant.tips_on:
        merchants.ordering_settings_update(
            merchant=merchant,
            store=store,
            dine_in_payment=store.dine_in_payment,
            tips_on=True,
            tip_percentages=[10, 15, 20],
        )
    if not ordering.zones_of_store(store):
        ordering.zone_add(
            merchant=merchant,
            store=store,
            kind="radius",
            name="Within 3 km",
            radius_m=3000,
            fee=600,
            minimum=3000,
            eta_minutes=40,
        )


@transaction.atomic
def seed(*, history_days: int = DAYS) -> dict:
    """Seed (or complete) the demo, with `history_days` days of visits and orders (0: none,
    for tests that need only the businesses)."""
    owner, staff, baker = _user(CAFE_OWNER), _user(CAFE_STAFF), _user(BAKERY_OWNER)
    new = {
        slug
        for slug in ("harbour-cafe", "corner-bakery")
        if not MiniApp.objects.filter(slug=slug).exists()
    }
    _user(OPERATOR, operator=True)
    cafe = _business(
        owner,
        "harbour-cafe",
        menus.CAFE_APP,
        menus.CAFE_MENU,
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
    _codes(cafe)
    _articles(cafe)
    _shares(cafe)
    # The café sells a prepaid card: pay 100, get 105; pay 500, get 550.
    for pay, bonus in ((10000, 500), (50000, 5000)):
        stored_value.tier_set(merchant=cafe.merchant, pay=pay, bonus=bonus)
    bakery = _business(
        baker,
        "corner-bakery",
        menus.BAKERY_APP,
        menus.BAKERY_MENU,
        address="5 Market Street",
        latitude=Decimal("31.228000"),
        longitude=Decimal("121.470000"),
        opening_hours="Tue–Sun 06:30–18:00",
        time_zone="Asia/Shanghai",
        currency="CNY",
    )
    miniapps.table_codes_create(app=bakery, labels=["1", "2"])
    table1 = EntryCode.objects.get(app=cafe, kind=EntryCode.Kind.TABLE, table_label="1")
    # The café's card programme, and a member who joined before the history (their paid
    # orders earn points).
    demo_member = loyalty.programme(cafe) if "harbour-cafe" in new else None
    if history_days:
        history(cafe, staff=staff, per_day=(2, 5), days=history_days)
        history(bakery, staff=baker, per_day=(0, 2), days=history_days)
    # After the history (its orders were paid as they were placed).
    if demo_member is not None:
        loyalty.member_history(demo_member, staff=staff)
    if "harbour-cafe" in new:
        _ways_to_order(cafe, bakery=False)
        _coupons(cafe)
    if "corner-bakery" in new:
        _ways_to_order(bakery, bakery=True)
    search.reindex()  # searchable, also a database seeded before search existed
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
        f"  Operator console:                   {public_url}{reverse('ops:home')}",
        f"    {OPERATOR} / {PASSWORD}",
        "",
        "  Scan this code for table 1 (use --public-url with your LAN address for a phone):",
    ]
    print("\n".join(lines))
    segno.make(scan_url, error="m").terminal(compact=True)
    print("\n  Press Ctrl-C to stop.\n", flush=True)
