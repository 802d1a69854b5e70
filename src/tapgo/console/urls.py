from django.urls import path

from tapgo.console.views import (
    accounts,
    apps,
    articles,
    board,
    catalogue,
    codes,
    coupons,
    delivery,
    history,
    membership,
    merchant,
    money,
    notifications,
    rewards,
    sharing,
    tables,
)

app_name = "console"

m = "<str:m>/"  # the merchant's public id: every merchant page starts with it

urlpatterns = [
    # accounts and businesses (views/accounts.py)
    path("", accounts.home, name="home"),
    path("login/", accounts.login_view, name="login"),
    path("logout/", accounts.logout_view, name="logout"),
    path("signup/", accounts.signup, name="signup"),
    path("new/", accounts.merchant_new, name="merchant_new"),
    path("invitations/<str:public_id>/", accounts.invitation, name="invitation"),
    # the merchant: settings and team (views/merchant.py)
    path(m, merchant.merchant_home, name="merchant"),
    path(m + "settings/", merchant.settings_view, name="settings"),
    path(m + "staff/", merchant.staff, name="staff"),
    path(m + "staff/<str:user_id>/remove", merchant.staff_remove, name="staff_remove"),
    # mini apps (views/apps.py)
    path(m + "apps/", apps.apps, name="apps"),
    path(m + "apps/new/", apps.app_new, name="app_new"),
    path(m + "apps/<str:app_id>/", apps.app_edit, name="app"),
    path(m + "apps/<str:app_id>/publish", apps.app_publish, name="app_publish"),
    # entry codes (views/codes.py)
    path(m + "apps/<str:app_id>/codes/", codes.codes, name="codes"),
    path(m + "apps/<str:app_id>/codes/print/", codes.codes_print, name="codes_print"),
    path(m + "codes/<str:code>/", codes.code_edit, name="code_edit"),
    path(m + "codes/<str:code>/enabled", codes.code_enabled, name="code_enabled"),
    path(m + "codes/<str:code>/qr.svg", codes.code_download, {"fmt": "svg"}, name="code_svg"),
    path(m + "codes/<str:code>/qr.png", codes.code_download, {"fmt": "png"}, name="code_png"),
    path(
        m + "codes/<str:code>/poster.pdf",
        codes.code_poster,
        {"fmt": "pdf"},
        name="code_poster_pdf",
    ),
    path(
        m + "codes/<str:code>/poster.png",
        codes.code_poster,
        {"fmt": "png"},
        name="code_poster_png",
    ),
    # the menu: categories and products (views/catalogue.py)
    path(m + "menu/", catalogue.menu, name="menu"),
    path(m + "menu/categories/new", catalogue.category_new, name="category_new"),
    path(
        m + "menu/categories/<str:category_id>/<str:action>",
        catalogue.category_action,
        name="category_action",
    ),
    path(m + "menu/products/new/", catalogue.product_new, name="product_new"),
    path(m + "menu/products/<str:product_id>/", catalogue.product_edit, name="product"),
    path(
        m + "menu/products/<str:product_id>/<str:action>",
        catalogue.product_action,
        name="product_action",
    ),
    # the live board and its orders (views/board.py)
    path(m + "board/", board.board, name="board"),
    path(m + "board/events", board.board_events, name="board_events"),
    path(m + "board/pause", board.board_pause, name="board_pause"),
    # the order history and its CSV (views/history.py)
    path(m + "orders/", history.orders, name="orders"),
    path(m + "orders/export.csv", history.orders_csv, name="orders_csv"),
    path(m + "orders/<str:order_id>/", board.order_detail, name="order"),
    path(m + "orders/<str:order_id>/<str:action>", board.order_action, name="order_action"),
    # delivery zones (views/delivery.py)
    path(m + "delivery/", delivery.delivery_zones, name="delivery"),
    path(
        m + "delivery/<str:zone_id>/delete",
        delivery.delivery_zone_delete,
        name="delivery_zone_delete",
    ),
    # money (views/money.py)
    path(m + "orders/<str:order_id>/refund/", money.order_refund, name="order_refund"),
    path(m + "orders/<str:order_id>/refund/tip", tables.order_refund_tip, name="order_refund_tip"),
    path(m + "tables/", tables.tables, name="tables"),
    path(m + "tables/<str:group_id>/close", tables.table_close, name="table_close"),
    path(m + "ordering/", tables.ordering_settings, name="ordering_settings"),
    path(m + "card/", money.card_settings, name="card_settings"),
    path(m + "card/tiers/delete", money.tier_delete, name="tier_delete"),
    path(m + "members/", money.members, name="members"),
    path(m + "membership/", membership.programme, name="membership"),
    path(m + "membership/levels/delete", membership.level_delete, name="level_delete"),
    path(m + "membership/rewards/", rewards.rewards, name="membership_rewards"),
    path(
        m + "membership/counter/reward",
        rewards.counter_reward,
        name="membership_counter_reward",
    ),
    path(m + "membership/rewards/<str:reward_id>/", rewards.reward, name="membership_reward"),
    path(
        m + "membership/rewards/<str:reward_id>/active",
        rewards.reward_active,
        name="membership_reward_active",
    ),
    path(m + "membership/members/", membership.members, name="membership_members"),
    path(
        m + "membership/members/<str:member_id>/",
        membership.member,
        name="membership_member",
    ),
    path(m + "membership/counter/", membership.counter, name="membership_counter"),
    path(
        m + "membership/counter/m/<str:token>/",
        membership.counter_member,
        name="membership_counter_member",
    ),
    path(m + "coupons/", coupons.batches, name="coupons"),
    path(m + "coupons/<str:batch_id>/", coupons.batch, name="coupon_batch"),
    path(m + "coupons/<str:batch_id>/stop", coupons.batch_stop, name="coupon_batch_stop"),
    path(m + "coupons/<str:batch_id>/grant", coupons.batch_grant, name="coupon_batch_grant"),
    path(m + "coupons/<str:batch_id>/code.svg", coupons.batch_code, name="coupon_batch_code"),
    path(m + "payments/", money.payment_providers, name="payment_providers"),
    path(m + "reports/", money.report, name="report"),
    path(m + "reports/settlement.csv", money.report_csv, name="report_csv"),
    path(m + "reports/settle", money.settle, name="settle"),
    path(m + "reports/<str:day>/", money.report_day, name="report_day"),
    # what shared links brought (views/sharing.py)
    path(m + "sharing/", sharing.sharing, name="sharing"),
    # which notifications each app sends, and how they do (views/notifications.py)
    path(m + "notifications/", notifications.notifications, name="notifications"),
    path(
        m + "notifications/<str:app_id>/<slug:key>",
        notifications.notification_switch,
        name="notification_switch",
    ),
    # official-account articles (views/articles.py)
    path(m + "articles/", articles.articles, name="articles"),
    path(m + "articles/new/", articles.article_new, name="article_new"),
    path(m + "articles/<str:article_id>/", articles.article_edit, name="article"),
    path(m + "articles/<str:article_id>/publish", articles.article_publish, name="article_publish"),
    path(m + "articles/<str:article_id>/delete", articles.article_delete, name="article_delete"),
]
