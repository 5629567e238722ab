from django.db import models


class Order(models.Model):
    """
    The orders themselves live in the orders microservice (examples/orders); Django only decides
    who may read or place them. This unmanaged model exists for its permissions, which the admin
    grants like any other, and which the bridge's scopes file maps to the service's scopes:
    orders.view_order -> orders:read, orders.add_order -> orders:write.
    """

    item = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_order", "Can see orders (scope orders:read)"),
            ("add_order", "Can place orders (scope orders:write)"),
        ]
