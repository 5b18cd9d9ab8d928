"""'Requires KYC level N' for the API and for pages."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from accounts.tests.factories import UserFactory
from kyc.permissions import kyc_level_required, requires_kyc_level

pytestmark = pytest.mark.django_db


class TradeLikeApi(APIView):
    permission_classes = [requires_kyc_level(1)]

    def get(self, request):
        return Response({"ok": True})


def test_the_api_refuses_a_lower_level_with_kyc_required():
    request = APIRequestFactory().get("/x")
    force_authenticate(request, user=UserFactory(kyc_level=0))
    response = TradeLikeApi.as_view()(request)
    assert response.status_code == 403
    assert response.data["error"]["code"] == "kyc_required"
    assert response.data["error"]["details"] == {"required_level": 1, "kyc_level": 0}


def test_the_api_lets_a_verified_user_through():
    request = APIRequestFactory().get("/x")
    force_authenticate(request, user=UserFactory(kyc_level=1))
    assert TradeLikeApi.as_view()(request).status_code == 200


def test_the_api_answers_401_to_anonymous_callers():
    assert TradeLikeApi.as_view()(APIRequestFactory().get("/x")).status_code == 401


@kyc_level_required(2)
def big_withdrawals_page(request):
    return HttpResponse("welcome")


def test_a_page_explains_what_to_do_next():
    request = RequestFactory().get("/big")
    request.user = UserFactory(kyc_level=1)
    response = big_withdrawals_page(request)
    assert response.status_code == 403
    content = response.content.decode()
    assert "needs verification level <strong>2</strong>" in content
    assert 'href="/kyc"' in content


def test_a_page_lets_the_level_through_and_sends_anonymous_users_to_log_in():
    request = RequestFactory().get("/big")
    request.user = UserFactory(kyc_level=2)
    assert big_withdrawals_page(request).content == b"welcome"
    request.user = AnonymousUser()
    response = big_withdrawals_page(request)
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")
