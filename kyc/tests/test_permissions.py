"""'The compliance policy allows this' for the API and for pages."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from accounts.tests.factories import UserFactory
from kyc.models import LevelLimit
from kyc.permissions import policy_permission, policy_required
from kyc.policy import Activity

pytestmark = pytest.mark.django_db


class TradeLikeApi(APIView):
    permission_classes = [policy_permission(Activity.TRADE)]

    def get(self, request):
        return Response({"ok": True})


def test_the_api_refuses_a_level_that_may_not_trade_with_kyc_required():
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


def test_the_api_follows_the_switch_in_the_admin():
    # Given a verified user, and compliance switching trading off for level 1
    user = UserFactory(kyc_level=1)
    LevelLimit.objects.filter(level=1).update(can_trade=False)
    request = APIRequestFactory().get("/x")
    force_authenticate(request, user=user)

    # When they call the API
    response = TradeLikeApi.as_view()(request)

    # Then it is refused, with the next level that may trade
    assert response.status_code == 403
    assert response.data["error"]["details"] == {"required_level": 2, "kyc_level": 1}


@policy_required(Activity.WITHDRAW)
def withdrawals_page(request):
    return HttpResponse("welcome")


def test_a_page_explains_what_to_do_next():
    request = RequestFactory().get("/big")
    request.user = UserFactory(kyc_level=0)
    response = withdrawals_page(request)
    assert response.status_code == 403
    content = response.content.decode()
    assert "needs verification level <strong>1</strong>" in content
    assert 'href="/kyc"' in content


def test_a_page_says_so_when_no_level_above_allows_it():
    # Given withdrawals switched off for levels 1 and 2
    LevelLimit.objects.filter(level__gte=1).update(can_withdraw=False)
    request = RequestFactory().get("/big")
    request.user = UserFactory(kyc_level=1)

    # When a verified user opens the page
    response = withdrawals_page(request)

    # Then it is refused without sending them to verify for nothing
    assert response.status_code == 403
    content = response.content.decode()
    assert "not open to accounts at level <strong>1</strong>" in content
    assert "Verify my account" not in content


def test_a_page_lets_the_level_through_and_sends_anonymous_users_to_log_in():
    request = RequestFactory().get("/big")
    request.user = UserFactory(kyc_level=1)
    assert withdrawals_page(request).content == b"welcome"
    request.user = AnonymousUser()
    response = withdrawals_page(request)
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")
