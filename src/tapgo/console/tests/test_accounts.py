from django.urls import reverse

from tapgo.identity.models import User
from tapgo.merchants import services as merchants


def test_signup_creates_a_hashed_account_and_signs_in(client, db):
    response = client.post(
        reverse("console:signup"),
        {"email": "New@Shop.test", "password1": "plum tart 4 two", "password2": "plum tart 4 two"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("console:merchant_new")
    user = User.objects.get(email="new@shop.test")
    # hashed (Argon2 in settings; the test suite swaps in a fast hasher)
    assert "plum" not in user.password and user.check_password("plum tart 4 two")
    assert client.get(reverse("console:home")).status_code == 200


def test_signup_refuses_weak_or_mismatched_passwords_and_taken_emails(client, owner):
    weak = client.post(
        reverse("console:signup"),
        {"email": "a@shop.test", "password1": "12345678", "password2": "12345678"},
    )
    assert weak.status_code == 200
    assert b"errorlist" in weak.content
    mismatch = client.post(
        reverse("console:signup"),
        {"email": "a@shop.test", "password1": "plum tart 4 two", "password2": "plum tart 4 too"},
    )
    assert "not the same" in mismatch.content.decode()
    taken = client.post(
        reverse("console:signup"),
        {
            "email": owner.email.upper(),
            "password1": "plum tart 4 two",
            "password2": "plum tart 4 two",
        },
    )
    assert "already exists" in taken.content.decode()
    assert not User.objects.filter(email="a@shop.test").exists()
    assert User.objects.count() == 1


def test_login_page_and_login_with_any_case_email(client, owner):
    page = client.get("/console/login/")
    assert page.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in page.content
    bad = client.post(reverse("console:login"), {"username": owner.email, "password": "wrong"})
    assert bad.status_code == 200
    response = client.post(
        reverse("console:login"),
        {"username": "OWNER@cafe.test", "password": "correct horse battery"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("console:home")


def test_console_needs_login(client, merchant):
    response = client.get(reverse("console:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))
    board = client.get(reverse("console:board", args=[merchant.public_id]))
    assert board.status_code == 302


def test_logout_is_a_post(owner_client):
    assert owner_client.get(reverse("console:logout")).status_code == 405
    response = owner_client.post(reverse("console:logout"))
    assert response.status_code == 302
    assert owner_client.get(reverse("console:home")).status_code == 302


def test_home_lists_my_merchants_only(owner_client, merchant, other_merchant):
    page = owner_client.get(reverse("console:home")).content.decode()
    assert merchant.name in page
    assert other_merchant.name not in page
    assert reverse("console:merchant_new") in page


def test_language_switch_is_in_the_top_bar(owner_client, merchant):
    page = owner_client.get(reverse("console:board", args=[merchant.public_id])).content.decode()
    assert reverse("set_language") in page
    assert "简体中文" in page
    owner_client.post(reverse("set_language"), {"language": "zh-hans", "next": "/console/"})
    page = owner_client.get(reverse("console:home")).content.decode()
    assert '<html lang="zh-hans">' in page
    assert "我的商户" in page and "退出登录" in page
    board = owner_client.get(reverse("console:board", args=[merchant.public_id]))
    assert "实时订单" in board.content.decode()


def _invite(merchant, owner, email, role="staff"):
    return merchants.invitation_create(merchant=merchant, invited_by=owner, email=email, role=role)


def test_invitation_signed_in_user_accepts(client, merchant, owner):
    invite = _invite(merchant, owner, "barista@cafe.test")
    user = User.objects.create_user(email="barista@cafe.test", password="correct horse battery")
    client.force_login(user)
    url = reverse("console:invitation", args=[invite.public_id])
    assert url == f"/console/invitations/{invite.public_id}/"
    page = client.get(url)
    assert "Accept the invitation" in page.content.decode()
    response = client.post(url)
    assert response["Location"] == reverse("console:board", args=[merchant.public_id])
    assert merchant in merchants.merchants_of(user)
    # used once: the link is gone
    assert client.get(url).status_code == 404


def test_invitation_new_person_signs_up_with_the_email_prefilled(client, merchant, owner):
    invite = _invite(merchant, owner, "cook@cafe.test")
    url = reverse("console:invitation", args=[invite.public_id])
    page = client.get(url).content.decode()
    assert 'value="cook@cafe.test"' in page
    # the email cannot be swapped for another one
    response = client.post(
        url,
        {
            "email": "thief@evil.test",
            "password1": "plum tart 4 two",
            "password2": "plum tart 4 two",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="cook@cafe.test")
    assert not User.objects.filter(email="thief@evil.test").exists()
    _merchant, role = merchants.access_merchant(user=user, merchant_public_id=merchant.public_id)
    assert role == "staff"


def test_invitation_for_another_email_is_refused(client, merchant, owner, other_merchant):
    invite = _invite(merchant, owner, "someone@cafe.test")
    stranger = User.objects.get(email="owner@bakery.test")
    client.force_login(stranger)
    url = reverse("console:invitation", args=[invite.public_id])
    assert "Log out" in client.get(url).content.decode()
    client.post(url)
    assert merchant not in merchants.merchants_of(stranger)


def test_unknown_invitation_is_404(client, db):
    assert client.get("/console/invitations/nope/").status_code == 404
