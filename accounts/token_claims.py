"""What a JWT says about the second factor of the login that issued it.

A token issued by a login that passed a code says `"otp"` in its `amr` claim (RFC 8176) and names,
in its `otp_device` claim, the device that took the code. The services write these claims when they
issue and rotate tokens; accounts.permissions reads them to decide whether a request passed a second
factor. Both sides share this vocabulary here, so neither imports the other for it.
"""

from __future__ import annotations

from typing import Any

from django_otp.models import Device
from rest_framework_simplejwt.tokens import Token

AMR_CLAIM = "amr"
OTP_METHOD = "otp"
DEVICE_CLAIM = "otp_device"


def second_factor_claims(device: Device) -> dict[str, Any]:
    """Return the claims of a token issued by a login that this device's code passed."""
    return {AMR_CLAIM: ["pwd", OTP_METHOD], DEVICE_CLAIM: device.persistent_id}


def token_verified(user: Any, token: Token) -> bool:
    """Return whether the token's login passed a code of a device that is still a confirmed device of `user`.

    Like django-otp for sessions: turning 2FA off (the device deleted) ends what the token proved.
    """
    if OTP_METHOD not in (token.get(AMR_CLAIM) or []):
        return False
    persistent_id = token.get(DEVICE_CLAIM)
    if not isinstance(persistent_id, str):
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk and device.confirmed
