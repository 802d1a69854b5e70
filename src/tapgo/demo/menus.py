"""The demo businesses' menus, in English (their default language) and Simplified Chinese.

Each product names the picture `pictures.py` draws for it.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Item:
    name: str
    zh: str
    price: int  # minor units
    description: str = ""
    zh_description: str = ""
    picture: str = "cup"  # pictures.DRAWINGS
    colour: tuple[int, int, int] = (120, 72, 40)
    # (name, Chinese name, price)
    variants: tuple[tuple[str, str, int], ...] = ()


@dataclass(frozen=True)
class Category:
    name: str
    zh: str
    items: list[Item] = field(default_factory=list)


def sizes(regular: int, large: int) -> tuple[tuple[str, str, int], ...]:
    return (("Regular", "中杯", regular), ("Large", "大杯", large))


ESPRESSO = (92, 55, 30)
MILK_COFFEE = (176, 128, 84)
TEA = (170, 120, 40)
GREEN = (120, 160, 70)

CAFE_APP = {
    "name": "Harbour Café",
    "description": "Coffee, tea and breakfast by the water.",
    "translations": {
        "zh-hans": {"name": "港湾咖啡", "description": "海边的咖啡、茶饮和早餐。"},
    },
}

BAKERY_APP = {
    "name": "Corner Bakery",
    "description": "Bread from the oven every morning.",
    "translations": {
        "zh-hans": {"name": "街角面包房", "description": "每天清晨新鲜出炉的面包。"},
    },
}

CAFE_MENU = [
    Category(
        "Coffee",
        "咖啡",
        [
            Item(
                "Americano",
                "美式咖啡",
                1800,
                "A double shot topped with hot water.",
                "双份浓缩加热水，清爽醇厚。",
                "cup",
                ESPRESSO,
                sizes(1800, 2200),
            ),
            Item(
                "Latte",
                "拿铁",
                2600,
                "Espresso with steamed milk and a thin layer of foam.",
                "浓缩咖啡配蒸汽牛奶和薄薄的奶泡。",
                "cup",
                MILK_COFFEE,
                sizes(2600, 3000),
            ),
            Item(
                "Oat Latte",
                "燕麦拿铁",
                2800,
                "Oat milk, double shot, no syrup.",
                "燕麦奶配双份浓缩，不加糖浆。",
                "cup",
                (196, 160, 110),
            ),
            Item(
                "Flat White",
                "澳白",
                2800,
                "Two ristretto shots, velvety milk.",
                "两份浓缩精华，丝滑牛奶。",
                "cup",
                (160, 110, 70),
            ),
            Item(
                "Cappuccino",
                "卡布奇诺",
                2600,
                "Equal parts espresso, milk and foam.",
                "浓缩、牛奶与奶泡各占三分之一。",
                "cup",
                (186, 140, 96),
            ),
            Item(
                "Mocha",
                "摩卡",
                2800,
                "Espresso, dark chocolate and steamed milk.",
                "浓缩咖啡、黑巧克力和蒸汽牛奶。",
                "cup",
                (110, 66, 44),
                sizes(2800, 3200),
            ),
        ],
    ),  # fmt: skip
    Category(
        "Tea",
        "茶饮",
        [
            Item(
                "Jasmine Tea",
                "茉莉花茶",
                1600,
                "Fragrant green tea from Fujian.",
                "福建茉莉绿茶，清香扑鼻。",
                "teapot",
                (200, 190, 110),
            ),
            Item(
                "Oolong Milk Tea",
                "乌龙奶茶",
                2200,
                "Roasted oolong with fresh milk.",
                "炭焙乌龙配鲜牛奶。",
                "glass",
                TEA,
                sizes(2200, 2600),
            ),
            Item(
                "Matcha Latte",
                "抹茶拿铁",
                2800,
                "Uji matcha whisked with milk.",
                "宇治抹茶与牛奶。",
                "cup",
                GREEN,
            ),
        ],
    ),  # fmt: skip
    Category(
        "Food",
        "轻食",
        [
            Item(
                "Croissant",
                "牛角面包",
                1500,
                "Butter, baked every morning.",
                "黄油酥皮，每天早上现烤。",
                "croissant",
                (214, 150, 60),
            ),
            Item(
                "Egg Sandwich",
                "鸡蛋三明治",
                2400,
                "Soft scrambled egg on milk bread.",
                "滑嫩炒蛋配牛奶吐司。",
                "sandwich",
                (238, 200, 90),
            ),
            Item(
                "Banana Bread",
                "香蕉面包",
                1800,
                "Moist, with walnuts.",
                "湿润松软，加了核桃。",
                "loaf",
                (150, 96, 50),
            ),
            Item(
                "Cheesecake",
                "芝士蛋糕",
                3200,
                "New York style, baked slowly.",
                "纽约风味，低温慢烤。",
                "cake",
                (240, 214, 150),
            ),
        ],
    ),  # fmt: skip
]

BAKERY_MENU = [
    Category(
        "Bread",
        "面包",
        [
            Item(
                "Sourdough",
                "酸种面包",
                3800,
                "Wild yeast, a crackling crust.",
                "天然酵母，外皮酥脆。",
                "loaf",
                (170, 110, 60),
            ),
            Item(
                "Baguette",
                "法棍面包",
                1600,
                "Baked three times a day.",
                "每天烤三次。",
                "baguette",
                (210, 150, 70),
            ),
        ],
    ),  # fmt: skip
    Category(
        "Pastry",
        "点心",
        [
            Item(
                "Egg Tart",
                "蛋挞",
                900,
                "Flaky pastry, silky custard.",
                "酥皮蛋挞，蛋液嫩滑。",
                "tart",
                (245, 200, 70),
            ),
            Item(
                "Pineapple Bun",
                "菠萝包",
                800,
                "Hong Kong style, with a crackly sugar top.",
                "港式经典，酥皮香甜。",
                "bun",
                (230, 170, 60),
            ),
        ],
    ),  # fmt: skip
]
