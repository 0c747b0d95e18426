"""Domain rules that need no database."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from app.adapters.crypto import SystemPlatform
from app.config import Settings
from app.domain.common.errors import DomainError
from app.domain.common.organisation import Authenticator, OrganisationSettings
from app.domain.common.policy import POLICY, Action, can_view_user, is_allowed, reveals_identity
from app.domain.common.principal import Principal, Role
from app.domain.common.validation import parse_moment


def principal(*roles: Role, user: uuid.UUID | None = None) -> Principal:
    return Principal(user or uuid.uuid4(), "12345674", frozenset(roles))


def test_every_action_has_a_policy_entry() -> None:
    assert set(POLICY) == set(Action)


def test_user_administrator_may_create_users_but_organisation_administrator_may_not() -> None:
    assert is_allowed(frozenset({Role.USER_ADMINISTRATOR}), Action.CREATE_USER)
    assert not is_allowed(frozenset({Role.ORGANISATION_ADMINISTRATOR}), Action.CREATE_USER)
    assert not is_allowed(frozenset({Role.USER}), Action.CREATE_USER)


def test_a_plain_user_sees_only_themself() -> None:
    me = uuid.uuid4()
    assert can_view_user(principal(Role.USER, user=me), me)
    assert not can_view_user(principal(Role.USER, user=me), uuid.uuid4())
    assert can_view_user(principal(Role.RIGHTS_ADMINISTRATOR), uuid.uuid4())


def test_anonymous_identity_is_revealed_to_administrators_and_the_user_only() -> None:
    me = uuid.uuid4()
    assert reveals_identity(principal(Role.USER_ADMINISTRATOR), me)
    assert reveals_identity(principal(Role.USER, user=me), me)
    assert not reveals_identity(principal(Role.USER), me)


def test_a_date_until_means_through_the_end_of_that_danish_day() -> None:
    end = parse_moment("2026-07-31", "until", end_of_day=True)
    assert end == dt.datetime(2026, 7, 31, 22, 0, tzinfo=dt.UTC)  # midnight CEST, in UTC
    start = parse_moment("2026-01-15", "from", end_of_day=False)
    assert start == dt.datetime(2026, 1, 14, 23, 0, tzinfo=dt.UTC)


def test_a_date_time_with_offset_is_kept_exactly() -> None:
    assert parse_moment("2026-03-01T12:00:00+00:00", "from", end_of_day=False) == dt.datetime(
        2026, 3, 1, 12, tzinfo=dt.UTC
    )


@pytest.mark.parametrize("bad", ["2026-13-01", "tomorrow", "01-02-2026", "2026-02-30"])
def test_malformed_moments_are_invalid_dates(bad: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_moment(bad, "until", end_of_day=True)
    assert caught.value.code == "INVALID_DATE"
    assert caught.value.field == ["until"]


def test_settings_limit_authenticators() -> None:
    s = OrganisationSettings(private_mitid_allowed=False, allowed_authenticators=["MITID_APP"])
    assert s.allows_authenticator(Authenticator.MITID_APP)
    assert not s.allows_authenticator(Authenticator.PRIVATE_MITID)
    assert not s.allows_authenticator(Authenticator.CHIP)


def test_activation_codes_are_stored_only_as_salted_hashes() -> None:
    p = SystemPlatform(Settings.from_env({}))
    code = p.new_activation_code()
    hashed = p.hash_code(code)
    assert code not in hashed
    assert p.verify_code(code, hashed)
    assert not p.verify_code(p.new_activation_code(), hashed)
    assert p.hash_code(code) != hashed  # salted


def test_cpr_is_hashed_for_lookup_and_encrypted_for_recovery() -> None:
    p = SystemPlatform(Settings.from_env({}))
    blob = p.encrypt_cpr("0101901234")
    assert b"0101901234" not in blob
    assert p.decrypt_cpr(blob) == "0101901234"
    assert p.hash_cpr("0101901234") == p.hash_cpr("0101901234")
    other = SystemPlatform(Settings.from_env({"DATA_KEY": "another key"}))
    assert other.hash_cpr("0101901234") != p.hash_cpr("0101901234")
