"""
`python manage.py seed_demo`: the demo's three users (idempotent: run it again to reset them).

- alice: a plain user; no permission, so no scope: orders refuses its listing.
- carol: holds orders.view_order directly, so her tokens carry orders:read but not orders:write.
- bob:   staff (may use the admin), in the group order-managers, which holds both permissions.
"""
from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand

PASSWORD = "demo-password"


class Command(BaseCommand):
    help = "Create the demo users alice (plain), carol (orders:read) and bob (staff, orders:*)."

    def handle(self, *args, **options):
        view = Permission.objects.get(content_type__app_label="orders", codename="view_order")
        add = Permission.objects.get(content_type__app_label="orders", codename="add_order")
        managers, _ = Group.objects.get_or_create(name="order-managers")
        managers.permissions.set([view, add])

        def user(username, email, staff=False):
            u, _ = User.objects.get_or_create(username=username)
            u.email = email
            u.first_name = username.capitalize()
            u.is_staff = staff
            u.is_active = True
            u.set_password(PASSWORD)
            u.save()
            return u

        user("alice", "alice@example.com")
        carol = user("carol", "carol@example.com")
        carol.user_permissions.set([view])
        bob = user("bob", "bob@example.com", staff=True)
        bob.groups.set([managers])
        # The admin pages bob may use: the users, to grant permissions.
        bob.user_permissions.set(
            Permission.objects.filter(
                content_type__app_label="auth", codename__in=["view_user", "change_user"]
            )
        )
        self.stdout.write("seeded alice, carol, bob (password: %s)" % PASSWORD)
