from django.urls import path

from tapgo.shell import views

app_name = "shell"
urlpatterns = [
    path("", views.home, name="home"),
    path("s/<str:code>", views.scan, name="scan"),
    path("m/<slug:slug>/", views.app, name="app"),
    path("m/<slug:slug>/cart/", views.cart, name="cart"),
    path("m/<slug:slug>/cart/add", views.cart_add, name="cart_add"),
    path("m/<slug:slug>/cart/update", views.cart_update, name="cart_update"),
    path("m/<slug:slug>/checkout", views.checkout, name="checkout"),
    path("m/<slug:slug>/card/", views.card, name="card"),
    path("m/<slug:slug>/orders/<str:order_id>/", views.order, name="order"),
    path("m/<slug:slug>/orders/<str:order_id>/pay", views.order_pay, name="order_pay"),
    path("m/<slug:slug>/orders/<str:order_id>/cancel", views.order_cancel, name="order_cancel"),
    path("m/<slug:slug>/orders/<str:order_id>/events", views.order_events, name="order_events"),
    path("me/orders/", views.my_orders, name="my_orders"),
    path("me/cards/", views.my_cards, name="my_cards"),
    path("me/signin/", views.signin, name="signin"),
    path("me/signout", views.signout, name="signout"),
]
