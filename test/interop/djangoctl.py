#!/usr/bin/python3
"""
JSON-in/JSON-out driver for real Django, used by test/helpers/django.ts.

One invocation runs one command, given as a JSON object in argv[1] (or on stdin):
    {"cmd": "login", "username": "alice", "password": "pw"}
and prints exactly one JSON object on stdout. Failures print {"error": ..., "type": ...} and exit 2.
{"cmd": "batch", "commands": [...]} runs several in one process (Django's start-up is most of
the cost of a call). The settings come from the environment (test/interop/django/settings.py).
"""
import json
import os
import sys
import traceback
from importlib import import_module

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "django"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib import auth  # noqa: E402
from django.contrib.auth.hashers import check_password, make_password  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.http import HttpRequest  # noqa: E402
from django.test import Client  # noqa: E402


def _user(args):
    return User.objects.get(username=args["username"])


def _client(cookie=None):
    client = Client()
    if cookie is not None:
        client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    return client


def _cookie_after(client, response):
    """The session cookie the browser would hold after `response` (None when deleted)."""
    morsel = response.cookies.get(settings.SESSION_COOKIE_NAME)
    if morsel is None:
        current = client.cookies.get(settings.SESSION_COOKIE_NAME)
        return current.value if current is not None else None
    if morsel["max-age"] == 0 or morsel.value == "":
        return None
    return morsel.value


def cmd_version(_args):
    return {"version": list(django.VERSION), "hashers": settings.PASSWORD_HASHERS}


def cmd_migrate(_args):
    call_command("migrate", verbosity=0, interactive=False)
    return {"ok": True}


def cmd_create_user(args):
    # One INSERT with every field set, as UserManager.create_user does: a second save() would be
    # an UPDATE of the password, which the change triggers rightly report as a password change.
    password = args.get("password")
    hasher = args.get("hasher") or "default"
    user = User(
        username=User.normalize_username(args["username"]),
        email=User.objects.normalize_email(args.get("email") or ""),
        password=make_password(password, hasher=hasher) if password is not None else make_password(None),
        is_active=args.get("is_active", True),
        is_staff=args.get("is_staff", False),
        is_superuser=args.get("is_superuser", False),
        first_name=args.get("first_name", ""),
        last_name=args.get("last_name", ""),
    )
    user.save()
    for name in args.get("groups", []):
        group, _ = Group.objects.get_or_create(name=name)
        user.groups.add(group)
    return {"id": str(user.pk), "password": user.password}


def cmd_login(args):
    """Through the test client and the login view: authenticate() + login(), as a browser would."""
    client = _client(args.get("cookie"))
    response = client.post(
        "/login/", {"username": args["username"], "password": args["password"]}
    )
    body = json.loads(response.content)
    return {
        "ok": response.status_code == 200,
        "id": body.get("id"),
        "cookie": _cookie_after(client, response),
    }


def cmd_logout(args):
    client = _client(args["cookie"])
    response = client.post("/logout/")
    return {"ok": response.status_code == 200, "cookie": _cookie_after(client, response)}


def cmd_flush(args):
    """SessionStore.flush() on the session with this key (what logout() calls)."""
    engine = import_module(settings.SESSION_ENGINE)
    store = engine.SessionStore(session_key=args["session_key"])
    store.load()
    store.flush()
    return {"ok": True}


def cmd_cycle_key(args):
    """SessionStore.cycle_key(): the data moves to a new key, the old row is deleted."""
    engine = import_module(settings.SESSION_ENGINE)
    store = engine.SessionStore(session_key=args["session_key"])
    store.load()
    store.cycle_key()
    store.save()
    return {"session_key": store.session_key}


def cmd_password_change_view(args):
    """Django's PasswordChangeView through the test client; returns the cookie afterwards."""
    client = _client(args["cookie"])
    response = client.post(
        "/password_change/",
        {
            "old_password": args["old_password"],
            "new_password1": args["new_password"],
            "new_password2": args["new_password"],
        },
    )
    return {"status": response.status_code, "cookie": _cookie_after(client, response)}


def cmd_clearsessions(_args):
    call_command("clearsessions", verbosity=0)
    return {"ok": True}


def cmd_whoami(args):
    """The full middleware stack: SessionMiddleware + AuthenticationMiddleware + request.user."""
    client = _client(args["cookie"])
    response = client.get("/whoami/")
    return {"id": json.loads(response.content)["id"], "cookie": _cookie_after(client, response)}


def cmd_private(args):
    """A @login_required page through the full stack: 200, or 302 to the login page."""
    client = _client(args["cookie"])
    response = client.get("/private/")
    return {"status": response.status_code, "location": response.get("Location")}


def cmd_load_session(args):
    """SessionStore.load + auth.get_user, then what SessionMiddleware would save.

    state: "empty" (no such session, or it did not decode: Django starts a new one),
    "unchanged", "cycled" (new key or re-signed cookie, same data) or "flushed" (deleted).
    """
    engine = import_module(settings.SESSION_ENGINE)
    before = args["cookie"]
    store = engine.SessionStore(session_key=before)
    loaded = dict(store.items())
    request = HttpRequest()
    request.session = store
    user = auth.get_user(request)
    data = dict(store.items())
    if store.modified and not store.is_empty():
        store.save()
    after = store.session_key
    if not loaded:
        state = "empty"
    elif after is None:
        state = "flushed"
    elif settings.SESSION_ENGINE.endswith("signed_cookies"):
        state = "cycled" if store.modified else "unchanged"
    else:
        state = "unchanged" if after == before else "cycled"
    return {
        "user_id": str(user.pk) if user.is_authenticated else None,
        "state": state,
        "session_key": after,
        "data": data,
    }


def cmd_session_put(args):
    """request.session[key] = value, saved as a view would (SessionStore.load, set, save).

    {"datetime": true} stores the current time as a datetime object, as code calling
    set_expiry(datetime) on 3.2 or keeping a timestamp in the session does.
    """
    import datetime

    engine = import_module(settings.SESSION_ENGINE)
    store = engine.SessionStore(session_key=args["session_key"])
    store.load()
    value = datetime.datetime.now(datetime.timezone.utc) if args.get("datetime") else args["value"]
    store[args["key"]] = value
    store.save()
    return {"ok": True}


def cmd_new_session(args):
    """An anonymous session with `data`, saved as a view would; returns its key."""
    engine = import_module(settings.SESSION_ENGINE)
    store = engine.SessionStore()
    for key, value in args.get("data", {}).items():
        store[key] = value
    store.save()
    return {"session_key": store.session_key}


def cmd_session_row(args):
    from django.contrib.sessions.models import Session

    try:
        row = Session.objects.get(session_key=args["session_key"])
    except Session.DoesNotExist:
        return {"exists": False}
    return {
        "exists": True,
        "expire_date": row.expire_date.isoformat(),
        "decoded": row.get_decoded(),
    }


def cmd_check_password(args):
    return {"ok": check_password(args["raw"], args["encoded"])}


def cmd_make_password(args):
    return {"encoded": make_password(args["raw"], hasher=args.get("hasher") or "default")}


def cmd_authenticate(args):
    """auth.authenticate(): may re-hash the password on success, as Django does."""
    user = auth.authenticate(None, username=args["username"], password=args["password"])
    return {"id": str(user.pk) if user is not None else None}


def cmd_session_auth_hash(args):
    return {"hash": _user(args).get_session_auth_hash()}


def cmd_user_info(args):
    try:
        user = _user(args)
    except User.DoesNotExist:
        return {"exists": False}
    return {
        "exists": True,
        "id": str(user.pk),
        "password": user.password,
        "is_active": user.is_active,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "date_joined": user.date_joined.isoformat(),
        "last_login": user.last_login.isoformat() if user.last_login else None,
        "groups": sorted(user.groups.values_list("name", flat=True)),
    }


def cmd_change_password(args):
    user = _user(args)
    user.set_password(args["password"])
    user.save()
    return {"password": user.password}


def cmd_deactivate(args):
    user = _user(args)
    user.is_active = False
    user.save(update_fields=["is_active"])
    return {"ok": True}


def cmd_delete_user(args):
    _user(args).delete()
    return {"ok": True}


def _permission(name):
    from django.contrib.auth.models import Permission

    app_label, codename = name.split(".", 1)
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def cmd_create_permission(args):
    """A permission of a model Django does not have here (e.g. "orders.view_order"), as a
    project's migration would create it."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    app_label, codename = args["permission"].split(".", 1)
    ct, _ = ContentType.objects.get_or_create(app_label=app_label, model=args.get("model", "x"))
    Permission.objects.get_or_create(content_type=ct, codename=codename, defaults={"name": codename})
    return {"ok": True}


def cmd_permissions(args):
    """ModelBackend's answer, through a freshly loaded user (no _perm_cache)."""
    return {"permissions": sorted(_user(args).get_all_permissions())}


def cmd_grant_permission(args):
    """`permission` ("app_label.codename") to the user `username`, or to the group `group`."""
    perm = _permission(args["permission"])
    if "group" in args:
        Group.objects.get_or_create(name=args["group"])[0].permissions.add(perm)
    else:
        _user(args).user_permissions.add(perm)
    return {"ok": True}


def cmd_revoke_permission(args):
    perm = _permission(args["permission"])
    if "group" in args:
        Group.objects.get(name=args["group"]).permissions.remove(perm)
    else:
        _user(args).user_permissions.remove(perm)
    return {"ok": True}


def cmd_set_groups(args):
    user = _user(args)
    user.groups.set([Group.objects.get_or_create(name=n)[0] for n in args["groups"]])
    return {"ok": True}


def cmd_set_flags(args):
    """`is_superuser` and/or `is_active`, saved as the admin would."""
    user = _user(args)
    fields = [f for f in ("is_superuser", "is_active") if f in args]
    for field in fields:
        setattr(user, field, args[field])
    user.save(update_fields=fields)
    return {"ok": True}


def cmd_validate_passwords(args):
    """validate_password(password, user) for each case, with `validators` as an
    AUTH_PASSWORD_VALIDATORS list. The user is an unsaved User with the case's attributes (as
    UserCreationForm validates its instance), or None. Each case gives its (code, message) list."""
    from django.contrib.auth.password_validation import get_password_validators, validate_password
    from django.core.exceptions import ValidationError

    validators = get_password_validators(args["validators"])
    results = []
    for case in args["cases"]:
        attrs = case.get("user")
        user = User(**attrs) if attrs is not None else None
        try:
            validate_password(case["password"], user, validators)
            results.append([])
        except ValidationError as err:
            results.append([{"code": e.code, "message": e.message % (e.params or {})} for e in err.error_list])
    return {"results": results}


def cmd_check_username(args):
    """What UserCreationForm says about each username: the cleaned (stripped, NFKC) value and the
    errors of its username field, unique check included."""
    from django.contrib.auth.forms import UserCreationForm

    results = []
    for username in args["usernames"]:
        form = UserCreationForm(data={"username": username, "password1": "", "password2": ""})
        form.is_valid()
        errors = form.errors.get_json_data().get("username", [])
        results.append({"cleaned": form.cleaned_data.get("username"), "errors": errors})
    return {"results": results}


COMMANDS = {name[4:]: fn for name, fn in globals().items() if name.startswith("cmd_")}


def run(command):
    name = command.get("cmd")
    fn = COMMANDS.get(name)
    if fn is None:
        raise ValueError(f"unknown command {name!r}; known: {sorted(COMMANDS)}")
    return fn(command)


def main():
    raw = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read()
    command = json.loads(raw)
    try:
        if command.get("cmd") == "batch":
            result = {"results": [run(c) for c in command["commands"]]}
        else:
            result = run(command)
    except Exception as exc:  # reported to the TS side as JSON
        print(json.dumps({"error": str(exc), "type": type(exc).__name__, "trace": traceback.format_exc()}))
        sys.exit(2)
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
