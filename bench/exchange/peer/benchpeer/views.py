"""
POST /token: the Django team's version of the exchange. The session cookie authenticates the
user (Django's own session + get_user checks, through DRF's SessionAuthentication) and the
response is a simplejwt refresh/access pair for that user, signed with ES256.
"""
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework_simplejwt.tokens import RefreshToken


class CsrfExemptSessionAuthentication(SessionAuthentication):
    """
    Session auth without DRF's CSRF check. Bench-only: it treats the endpoint as an internal one
    called by a trusted backend (like the bridge's token exchange, which has no Django CSRF
    token to send). A browser-facing endpoint must keep the CSRF check.
    """

    def enforce_csrf(self, request):
        return None


@api_view(["POST"])
@authentication_classes([CsrfExemptSessionAuthentication])
@permission_classes([IsAuthenticated])
def token(request):
    refresh = RefreshToken.for_user(request.user)
    return Response({"refresh": str(refresh), "access": str(refresh.access_token)})
