"""Search benchmark: p50 and p99 of `discovery.search.search()` on 10,000 mini apps and
200,000 products, SQLite (FTS5) and PostgreSQL (tsvector + GIN). Figures go to
bench/results.json under "search".

    uv run python bench/search.py                    # both databases (about 5 minutes)
    uv run python bench/search.py --db sqlite        # or postgres
    uv run python bench/search.py --apps 1000 --products 20000 --queries 500   # a quick look

For each database, a fresh one (a temporary TAPGO_VAR_DIR; for PostgreSQL a database
`tapgo_bench_search`, dropped afterwards), migrated, then in a child process:

  1. the generator: merchants with a store each (most located around Shanghai, some not), one
     mini app each (a café, bakery, tea shop, restaurant, noodle bar, salon or florist, named
     in Chinese, English or both), and products from each kind's menu (Chinese and English
     names with the modifiers real menus use: 燕麦/生椰/冰 拿铁, "Iced Oat Latte", 大杯 …).
     They are loaded in bulk: merchants, stores and apps with bulk_create, and the index
     (SearchDoc rows with their terms made by discovery.search.index_terms, the dictionary
     learning every name first as indexing does) with bulk_create; SQLite's triggers fill
     the FTS5 table, PostgreSQL computes the tsvector. 5% of the apps are not live; each
     app's popularity is drawn from a long-tailed distribution (what popularity_refresh
     writes). Then ANALYZE (and FTS5 'optimize').
  2. a new process (cold) runs its first search: jieba loading plus the dictionary read from
     the index (200,000 names), timed apart.
  3. the query mix, after a warm-up: common Chinese words (拿铁, 奶茶, 面包 …), specific
     names (燕麦拿铁, 珍珠奶茶), English words and prefixes (latte, croiss), two-word and
     mixed queries, shop names, and misses (which try the any-word fallback); half of them
     with the customer's location. Each is timed around search(), the whole call: text,
     SQL, rows. p50, p99 and max overall and per group.

Targets: p50 under 20 ms, p99 under 100 ms. A benchmark, not a test: it fails only when
something did not work (a query that raised, or found nothing where it must).
"""

import argparse
import datetime
import importlib
import json
import random
import statistics
import sys
import time
from pathlib import Path

import common

POSTGRES_DB = "tapgo_bench_search"
TARGETS = {"p50_ms": 20.0, "p99_ms": 100.0}

# --- the generator's vocabulary -------------------------------------------------------------

DISTRICTS = ["静安", "徐汇", "黄浦", "长宁", "浦东", "虹口", "杨浦", "普陀", "闵行", "宝山"]
STREETS = ["南京西路", "淮海中路", "武康路", "愚园路", "衡山路", "陕西南路", "延安西路",
           "长乐路", "巨鹿路", "复兴中路", "安福路", "岳阳路"]  # fmt: skip
EN_STREETS = ["Harbour Road", "Market Street", "Park Lane", "River Walk", "Station Road",
              "Garden Avenue", "Bund Lane", "Old Town Street"]  # fmt: skip
SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "老", "小"]
EN_WORDS = ["Harbour", "Corner", "Sunny", "Little", "Golden", "Green", "Blue Door", "Maple",
            "Lantern", "Riverside", "Old Town", "Bamboo", "Cloud", "Jade", "Lucky"]  # fmt: skip

KINDS = {
    "cafe": {
        "zh": ["咖啡", "咖啡馆", "咖啡店", "咖啡工作室"],
        "en": ["Coffee", "Café", "Coffee Bar", "Espresso"],
        "categories": ["咖啡 Coffee", "茶饮", "甜点", "轻食"],
        "bases": [
            ("拿铁", "Latte"),
            ("美式", "Americano"),
            ("卡布奇诺", "Cappuccino"),
            ("摩卡", "Mocha"),
            ("澳白", "Flat White"),
            ("冷萃", "Cold Brew"),
            ("浓缩咖啡", "Espresso"),
            ("焦糖玛奇朵", "Caramel Macchiato"),
        ],
        "mods": [
            ("燕麦", "Oat"),
            ("生椰", "Coconut"),
            ("冰", "Iced"),
            ("热", "Hot"),
            ("香草", "Vanilla"),
            ("榛果", "Hazelnut"),
            ("桂花", "Osmanthus"),
            ("", ""),
        ],
        "extras": [
            ("牛角包", "Croissant"),
            ("芝士蛋糕", "Cheesecake"),
            ("提拉米苏", "Tiramisu"),
            ("鸡蛋三明治", "Egg Sandwich"),
            ("香蕉面包", "Banana Bread"),
            ("司康", "Scone"),
        ],
    },
    "bakery": {
        "zh": ["面包房", "烘焙", "面包店", "西饼屋"],
        "en": ["Bakery", "Bread House", "Patisserie"],
        "categories": ["面包 Bread", "蛋糕", "点心", "饮品"],
        "bases": [
            ("菠萝包", "Pineapple Bun"),
            ("蛋挞", "Egg Tart"),
            ("法棍", "Baguette"),
            ("吐司", "Toast"),
            ("酸面包", "Sourdough"),
            ("肉松小贝", "Pork Floss Bun"),
            ("可颂", "Croissant"),
            ("瑞士卷", "Swiss Roll"),
            ("贝果", "Bagel"),
        ],
        "mods": [
            ("全麦", "Wholewheat"),
            ("芝士", "Cheese"),
            ("巧克力", "Chocolate"),
            ("抹茶", "Matcha"),
            ("红豆", "Red Bean"),
            ("", ""),
        ],
        "extras": [("牛奶", "Milk"), ("美式咖啡", "Americano")],
    },
    "tea": {
        "zh": ["茶饮", "茶铺", "奶茶", "茶语"],
        "en": ["Tea House", "Tea Bar", "Bubble Tea"],
        "categories": ["奶茶", "纯茶", "果茶", "甜品"],
        "bases": [
            ("奶茶", "Milk Tea"),
            ("拿铁", "Tea Latte"),
            ("果茶", "Fruit Tea"),
            ("柠檬茶", "Lemon Tea"),
            ("花茶", "Flower Tea"),
        ],
        "mods": [
            ("珍珠", "Bubble"),
            ("乌龙", "Oolong"),
            ("抹茶", "Matcha"),
            ("茉莉", "Jasmine"),
            ("黑糖", "Brown Sugar"),
            ("芋泥", "Taro"),
            ("芒果", "Mango"),
            ("", ""),
        ],
        "extras": [("杨枝甘露", "Mango Pomelo Sago"), ("双皮奶", "Milk Pudding")],
    },
    "restaurant": {
        "zh": ["小馆", "餐厅", "川菜馆", "家常菜", "食堂"],
        "en": ["Kitchen", "Bistro", "Dining"],
        "categories": ["热菜", "凉菜", "主食", "汤"],
        "bases": [
            ("麻婆豆腐", "Mapo Tofu"),
            ("宫保鸡丁", "Kung Pao Chicken"),
            ("水煮鱼", "Boiled Fish"),
            ("回锅肉", "Twice-cooked Pork"),
            ("鱼香肉丝", "Yuxiang Pork"),
            ("红烧肉", "Braised Pork"),
            ("番茄炒蛋", "Tomato Egg"),
            ("酸辣汤", "Hot and Sour Soup"),
        ],
        "mods": [("招牌", "Signature"), ("小份", "Small"), ("", "")],
        "extras": [("米饭", "Rice"), ("可乐", "Cola")],
    },
    "noodles": {
        "zh": ["面馆", "拉面", "粉面"],
        "en": ["Noodle Bar", "Ramen"],
        "categories": ["面", "小吃"],
        "bases": [
            ("牛肉面", "Beef Noodles"),
            ("担担面", "Dan Dan Noodles"),
            ("葱油拌面", "Scallion Oil Noodles"),
            ("馄饨", "Wonton"),
            ("小笼包", "Xiaolongbao"),
            ("生煎", "Pan-fried Bun"),
            ("拉面", "Ramen"),
        ],
        "mods": [("大碗", "Large"), ("红烧", "Braised"), ("鲜肉", "Pork"), ("", "")],
        "extras": [("卤蛋", "Marinated Egg")],
    },
    "salon": {
        "zh": ["美发", "造型", "发廊"],
        "en": ["Salon", "Hair Studio", "Barber"],
        "categories": ["剪发", "染烫", "护理"],
        "bases": [
            ("洗剪吹", "Wash Cut Blow-dry"),
            ("剪发", "Haircut"),
            ("染发", "Hair Colouring"),
            ("烫发", "Perm"),
            ("护理", "Hair Treatment"),
        ],
        "mods": [("男士", "Men's"), ("女士", "Women's"), ("总监", "Director"), ("", "")],
        "extras": [("头皮按摩", "Scalp Massage")],
    },
    "florist": {
        "zh": ["花店", "花艺"],
        "en": ["Flowers", "Florist"],
        "categories": ["花束", "绿植"],
        "bases": [
            ("玫瑰花束", "Rose Bouquet"),
            ("向日葵", "Sunflowers"),
            ("郁金香", "Tulips"),
            ("多肉", "Succulent"),
            ("百合", "Lilies"),
        ],
        "mods": [("红", "Red"), ("粉", "Pink"), ("白", "White"), ("", "")],
        "extras": [("贺卡", "Greeting Card")],
    },
}
KIND_WEIGHTS = {"cafe": 30, "bakery": 15, "tea": 20, "restaurant": 15, "noodles": 10,
                "salon": 5, "florist": 5}  # fmt: skip

QUERY_MIX = {
    "zh_common": ["拿铁", "奶茶", "面包", "咖啡", "蛋挞", "牛肉面", "花束", "蛋糕", "美式", "果茶"],
    "zh_specific": ["燕麦拿铁", "生椰拿铁", "珍珠奶茶", "麻婆豆腐", "菠萝包", "小笼包", "洗剪吹",
                    "杨枝甘露", "芒果果茶", "全麦吐司", "静安咖啡", "黑糖珍珠奶茶"],
    "zh_one_char": ["茶", "面", "花"],
    "en_word": ["latte", "coffee", "croissant", "tea", "bread", "noodles", "haircut", "tulips"],
    "en_prefix": ["lat", "croiss", "capp", "sourd", "ram", "bub"],
    "two_words": ["oat latte", "iced americano", "egg tart", "beef noodles", "燕麦 拿铁",
                  "milk tea", "harbour coffee", "芝士 蛋糕"],
    "mixed": ["oat 拿铁", "静安 latte", "bubble 奶茶", "matcha 蛋糕"],
    "miss": ["zzqqxx", "量子计算机", "xylophone repair", "燕麦拿铁 xylophone"],
}  # fmt: skip
GROUP_WEIGHTS = {"zh_common": 25, "zh_specific": 20, "zh_one_char": 3, "en_word": 15,
                 "en_prefix": 10, "two_words": 12, "mixed": 7, "miss": 8}  # fmt: skip
SHANGHAI = (31.2304, 121.4737)


def product_names(kind: str, rng: random.Random, n: int) -> list[tuple[str, str]]:
    """n (name, description) pairs for a shop of this kind: Chinese, English or both."""
    spec = KINDS[kind]
    out = []
    while len(out) < n:
        if rng.random() < 0.8:
            (zb, eb), (zm, em) = rng.choice(spec["bases"]), rng.choice(spec["mods"])
        else:
            (zb, eb), (zm, em) = rng.choice(spec["extras"]), ("", "")
        zh, en = zm + zb, f"{em} {eb}".strip()
        style = rng.random()
        name = zh if style < 0.5 else (en if style < 0.7 else f"{zh} {en}")
        if rng.random() < 0.15:
            name = ("大杯 " if kind in ("cafe", "tea") else "特价 ") + name
        description = rng.choice(["", "", "店长推荐", "Best seller", f"{zh}，每日新鲜", en])
        out.append((name[:80], description))
    return out


def app_name(kind: str, rng: random.Random) -> str:
    spec = KINDS[kind]
    style = rng.random()
    zh = rng.choice(DISTRICTS + SURNAMES) + rng.choice(spec["zh"])
    en = f"{rng.choice(EN_WORDS)} {rng.choice(spec['en'])}"
    return zh if style < 0.5 else (en if style < 0.75 else f"{zh} {en}")


# --- the parent ----------------------------------------------------------------------------


def bench_database(db: str, opts) -> dict:
    print(f"\n== {db}", flush=True)
    with common.fresh_database(db, opts, POSTGRES_DB) as env:
        print(f"  generating {opts.apps:,} apps and {opts.products:,} products …", flush=True)
        generated = common.child(
            __file__, env, "--child", "generate", str(opts.apps), str(opts.products), str(opts.seed)
        )
        print(
            f"  generated in {generated['seconds']} s (terms {generated['terms_seconds']} s, "
            f"insert {generated['insert_seconds']} s); {generated['docs']:,} docs, "
            f"{generated['size_mb']} MB",
            flush=True,
        )
        timed = common.child(__file__, env, "--child", "query", str(opts.queries), str(opts.seed))
        print(
            f"  first search in a new process {timed['cold_first_ms']} ms "
            f"(jieba {timed['jieba_ms']} ms, dictionary {timed['dictionary_ms']} ms for "
            f"{timed['dictionary_words']:,} words)",
            flush=True,
        )
        overall = timed["overall"]
        print(
            f"  {overall['count']} queries: p50 {overall['p50_ms']} ms, p99 {overall['p99_ms']} ms,"
            f" max {overall['max_ms']} ms",
            flush=True,
        )
        for group, figure in timed["groups"].items():
            print(
                f"    {group:12} p50 {figure['p50_ms']:7} ms  p99 {figure['p99_ms']:7} ms  "
                f"hits {figure['mean_hits']}",
                flush=True,
            )
        timed["targets"] = {
            "p50_ms": overall["p50_ms"] < TARGETS["p50_ms"],
            "p99_ms": overall["p99_ms"] < TARGETS["p99_ms"],
        }
        return {"generated": generated, **timed}


def main(argv=None) -> int:
    parser = common.arguments(__doc__)
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=2_000, help="queries timed (2000)")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.child:
        return run_child(opts.child)
    figures = common.start_figures("search.py", argv)
    figures["settings"] = {
        "apps": opts.apps,
        "products": opts.products,
        "queries": opts.queries,
        "query_mix": GROUP_WEIGHTS,
        "located_share": 0.5,
    }
    figures["targets"], figures["databases"] = TARGETS, {}
    for db in common.databases(opts):
        figures["databases"][db] = bench_database(db, opts)
    common.end_figures(figures, seconds=True)
    common.save(opts.out, "search", figures)
    broken = [db for db, f in figures["databases"].items() if f["errors"] or f["missing"]]
    if broken:
        print("Something did not work on: " + ", ".join(broken))
    return 1 if broken else 0


# --- the children: inside Django, against the bench database -------------------------------


def run_child(args: list[str]) -> int:
    mode, rest = args[0], args[1:]
    common.setup_django(migrate=mode == "generate")
    result = generate(*map(int, rest)) if mode == "generate" else time_queries(*map(int, rest))
    print(json.dumps(result))
    return 0


def generate(apps: int, products: int, seed: int) -> dict:
    from django.db import connection, transaction

    from tapgo.core.ids import new_public_id
    from tapgo.discovery import search
    from tapgo.discovery.models import SearchDoc
    from tapgo.merchants.models import Merchant, Store
    from tapgo.miniapps.models import MiniApp

    rng = random.Random(seed)
    started = time.perf_counter()
    kinds = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()), k=apps)
    per_app = [products // apps + (1 if i < products % apps else 0) for i in range(apps)]
    with transaction.atomic():
        merchants = Merchant.objects.bulk_create(
            [Merchant(name=f"商户 {i}", is_active=rng.random() > 0.02) for i in range(apps)],
            batch_size=2000,
        )
        stores = []
        for merchant in merchants:
            located = rng.random() > 0.05
            lat = SHANGHAI[0] + rng.gauss(0, 0.12) if located else None
            lng = SHANGHAI[1] + rng.gauss(0, 0.14) if located else None
            address = (
                f"{rng.choice(STREETS)}{rng.randint(1, 999)}号"
                if rng.random() < 0.7
                else f"{rng.randint(1, 999)} {rng.choice(EN_STREETS)}"
            )
            stores.append(
                Store(
                    merchant=merchant,
                    name=merchant.name,
                    address=address,
                    latitude=None if lat is None else round(lat, 6),
                    longitude=None if lng is None else round(lng, 6),
                )
            )
        stores = Store.objects.bulk_create(stores, batch_size=2000)
        app_rows = MiniApp.objects.bulk_create(
            [
                MiniApp(
                    merchant=merchant,
                    store=store,
                    slug=f"shop-{i}",
                    name=app_name(kinds[i], rng),
                    description=rng.choice(["", "欢迎光临", "Open daily", "老店新开"]),
                    status=MiniApp.Status.PUBLISHED if rng.random() > 0.03 else "draft",
                )
                for i, (merchant, store) in enumerate(zip(merchants, stores, strict=True))
            ],
            batch_size=2000,
        )
    generated = time.perf_counter() - started

    # The index, as index_* would write it: the dictionary learns each name first.
    started_terms = time.perf_counter()
    names_per_app = [product_names(kinds[i], rng, per_app[i]) for i in range(apps)]
    search.dictionary.learn(a.name for a in app_rows)
    search.dictionary.learn(n for names in names_per_app for n, _ in names)
    cache: dict[str, str] = {}

    def terms(*parts: str) -> str:
        # index_terms works run by run, so the terms of "a b" are those of a, then of b:
        # each distinct part (a name, a category, an address) is segmented once.
        out = []
        for part in parts:
            if part not in cache:
                cache[part] = search.index_terms(part)
            out.append(cache[part])
        return " ".join(t for t in out if t)

    now = datetime.datetime.now(datetime.UTC)
    docs = []
    ref = 0
    for i, app in enumerate(app_rows):
        merchant, store = merchants[i], stores[i]
        live = app.status == MiniApp.Status.PUBLISHED and merchant.is_active
        popularity = round(rng.paretovariate(1.2) - 1, 4) if rng.random() < 0.6 else 0.0
        popularity = min(popularity, 12.0)
        lat = None if store.latitude is None else float(store.latitude)
        lng = None if store.longitude is None else float(store.longitude)
        spec = KINDS[kinds[i]]
        common = {
            "app_id": app.pk, "merchant_id": merchant.pk, "live": live,
            "popularity": popularity, "latitude": lat, "longitude": lng, "updated_at": now,
        }  # fmt: skip
        docs.append(
            SearchDoc(
                kind="app",
                ref_id=app.pk,
                ref_public_id=app.public_id,
                title=app.name,
                summary=app.description,
                title_terms=terms(app.name),
                body_terms=terms(app.description, store.address, *spec["categories"]),
                **common,
            )
        )
        for name, description in names_per_app[i]:
            ref += 1
            category = rng.choice(spec["categories"])
            docs.append(
                SearchDoc(
                    kind="product",
                    ref_id=ref,
                    ref_public_id=new_public_id(),
                    title=name,
                    summary=description or category,
                    title_terms=terms(name),
                    body_terms=terms(description, category, app.name),
                    **common,
                )
            )
    terms_seconds = time.perf_counter() - started_terms
    # A bulk load builds the full-text index once at the end, with the migration's own
    # statements, instead of row by row (FTS5 trigger; GIN without a pending list).
    shape = importlib.import_module("tapgo.discovery.migrations.0003_search_tags")
    started_insert = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER discovery_searchdoc_ai")
        else:
            cursor.execute("DROP INDEX discovery_searchdoc_tsv")
        SearchDoc.objects.bulk_create(docs, batch_size=5000)
        if connection.vendor == "sqlite":
            for sql in shape.SQLITE:
                if sql.startswith(("INSERT INTO", "CREATE TRIGGER discovery_searchdoc_ai ")):
                    cursor.execute(sql)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # after the commit: FK checks are done by then
            for sql in shape.POSTGRES:
                if sql.startswith("CREATE INDEX discovery_searchdoc_tsv"):
                    cursor.execute(sql)
        if connection.vendor == "sqlite":
            cursor.execute(
                "INSERT INTO discovery_searchfts(discovery_searchfts) VALUES('optimize')"
            )
            cursor.execute("ANALYZE")
        else:
            cursor.execute("VACUUM ANALYZE discovery_searchdoc")
            cursor.execute("ANALYZE miniapps_miniapp")
    insert_seconds = time.perf_counter() - started_insert
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            size = Path(connection.settings_dict["NAME"]).stat().st_size
        else:
            cursor.execute("SELECT pg_total_relation_size('discovery_searchdoc')")
            size = cursor.fetchone()[0]
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "rows_seconds": round(generated, 1),
        "terms_seconds": round(terms_seconds, 1),
        "insert_seconds": round(insert_seconds, 1),
        "apps": apps,
        "products": ref,
        "docs": len(docs),
        "distinct_names": len(cache),
        "size_mb": round(size / 1e6, 1),
    }


def _stats(values: list[float]) -> dict:
    values = sorted(values)
    return {
        "count": len(values),
        "p50_ms": round(statistics.median(values) * 1000, 2),
        "p99_ms": round(common.p99(values) * 1000, 2),
        "max_ms": round(values[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(values) * 1000, 2),
    }


def time_queries(count: int, seed: int) -> dict:
    from tapgo.discovery import search

    rng = random.Random(seed + 1)
    started = time.perf_counter()
    search.dictionary.tokenizer()
    jieba = time.perf_counter() - started
    search.dictionary.refresh(force=True)
    dictionary = time.perf_counter() - started - jieba
    search.search("燕麦拿铁")
    cold = time.perf_counter() - started

    groups = list(GROUP_WEIGHTS)
    plan = []
    for _ in range(count):
        group = rng.choices(groups, weights=list(GROUP_WEIGHTS.values()))[0]
        query = rng.choice(QUERY_MIX[group])
        point = None
        if rng.random() < 0.5:
            point = (SHANGHAI[0] + rng.gauss(0, 0.08), SHANGHAI[1] + rng.gauss(0, 0.08))
        plan.append((group, query, point))
    for _group, query, point in plan[:100]:  # warm-up: caches, prepared plans
        search.search(query, lat=point and point[0], lng=point and point[1])
    times: dict[str, list[float]] = {g: [] for g in groups}
    hits: dict[str, list[int]] = {g: [] for g in groups}
    located: list[float] = []
    errors: list[str] = []
    missing: list[str] = []
    everything: list[float] = []
    for group, query, point in plan:
        lat, lng = point or (None, None)
        t0 = time.perf_counter()
        try:
            found = search.search(query, lat=lat, lng=lng)
        except Exception as exc:  # noqa: BLE001 - reported, the bench fails
            errors.append(f"{query!r}: {exc!r}")
            continue
        elapsed = time.perf_counter() - t0
        everything.append(elapsed)
        times[group].append(elapsed)
        hits[group].append(len(found))
        if point:
            located.append(elapsed)
        if not found and group != "miss" and query not in missing:
            missing.append(query)
    return {
        "jieba_ms": round(jieba * 1000),
        "dictionary_ms": round(dictionary * 1000),
        "dictionary_words": len(search.dictionary._known),
        "cold_first_ms": round(cold * 1000),
        "overall": _stats(everything),
        "located": _stats(located),
        "groups": {
            g: {**_stats(times[g]), "mean_hits": round(statistics.fmean(hits[g]), 1)}
            for g in groups
            if times[g]
        },
        "errors": errors[:20],
        "missing": missing,
    }


if __name__ == "__main__":
    sys.exit(main())
