from django.urls import path

from tapgo.shell import articles, home, notifications, product, search, sharing, views

app_name = "shell"
urlpatterns = [
    path("", home.home, name="home"),
    path("nearby/", home.nearby, name="nearby"),
    path("search", search.search, name="search"),
    path("s/<str:code>", views.scan, name="scan"),
    path("m/<slug:slug>/", views.app, name="app"),
    path("m/<slug:slug>/cart/", views.cart, name="cart"),
    path("m/<slug:slug>/cart/add", views.cart_add, name="cart_add"),
    path("m/<slug:slug>/cart/update", views.cart_update, name="cart_update"),
    path("m/<slug:slug>/checkout", views.checkout, name="checkout"),
    path("m/<slug:slug>/card/", views.card, name="card"),
    path("m/<slug:slug>/pin", home.pin, name="pin"),
    path("m/<slug:slug>/p/<str:product_id>/", product.product, name="product"),
    path("m/<slug:slug>/share", sharing.share, name="share"),
    path("share/<str:color>.png", sharing.share_image, name="share_image"),
    path("m/<slug:slug>/a/", articles.articles, name="articles"),
    path("m/<slug:slug>/a/<str:article_id>/", articles.article, name="article"),
    path("m/<slug:slug>/orders/<str:order_id>/", views.order, name="order"),
    path("m/<slug:slug>/orders/<str:order_id>/pay", views.order_pay, name="order_pay"),
    path("m/<slug:slug>/orders/<str:order_id>/cancel", views.order_cancel, name="order_cancel"),
    path("m/<slug:slug>/orders/<str:order_id>/events", views.order_events, name="order_events"),
    path("me/recent/remove", home.recent_remove, name="recent_remove"),
    path("me/orders/", views.my_orders, name="my_orders"),
    path("me/cards/", views.my_cards, name="my_cards"),
    path("me/signin/", views.signin, name="signin"),
    path("me/signout", views.signout, name="signout"),
    path("me/n/<str:public_id>", notifications.message_open, name="message_open"),
    path("me/unsubscribe/<str:token>", notifications.unsubscribe, name="unsubscribe"),
]
