from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tapgo.core.ids import PublicIdField


class UserManager(BaseUserManager):
    def create_user(self, email, password=None, **extra):
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        return self.create_user(email, password, is_staff=True, is_superuser=True, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Someone who works: merchant staff and platform operators. Signs in with email+password."""

    public_id = PublicIdField()
    email = models.EmailField(_("email"), unique=True)
    name = models.CharField(_("name"), max_length=120, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)  # operator console access
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    def __str__(self):
        return self.email


class Customer(models.Model):
    """Someone who buys. Starts as a guest (a signed cookie); may sign in with an email code."""

    public_id = PublicIdField()
    email = models.EmailField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # A guest merged into a signed-in account points at it, so an old cookie finds the account.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)

    def __str__(self):
        return self.email or f"guest {self.public_id}"

    @property
    def is_guest(self) -> bool:
        return not self.email


class LoginCode(models.Model):
    """A one-time sign-in code sent by email. Only its hash is stored."""

    email = models.EmailField(db_index=True)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
