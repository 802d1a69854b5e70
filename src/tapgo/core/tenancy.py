"""Every row a merchant owns carries `merchant`; interfaces reach it only through for_merchant()."""

from django.db import models


class MerchantQuerySet(models.QuerySet):
    def for_merchant(self, merchant):
        return self.filter(merchant=merchant)


class MerchantOwned(models.Model):
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="+")

    objects = MerchantQuerySet.as_manager()

    class Meta:
        abstract = True
