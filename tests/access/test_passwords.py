"""Passwords are stored as argon2id hashes, verified in constant work, and rehashed when weak."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type

from seamline.access import add_user, hash_password, verify_password
from seamline.access._passwords import check_password_policy
from seamline.errors import ConfigError
from seamline.store.tables import users


def test_a_hash_is_argon2id_salted_and_verifies_only_the_right_password():
    first, second = hash_password("a long passphrase"), hash_password("a long passphrase")
    assert first.startswith("$argon2id$") and first != second  # salted
    assert verify_password(first, "a long passphrase") == (True, None)
    assert verify_password(first, "a long passphrase!") == (False, None)
    assert verify_password("not a hash", "whatever") == (False, None)


def test_an_unknown_user_still_costs_a_verification_and_never_passes():
    assert verify_password(None, "seamline-no-such-user-dummy-password") == (False, None)


def test_a_hash_made_with_weaker_parameters_is_rehashed_at_the_next_successful_check():
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)
    old = hash_password("a long passphrase", weak)
    ok, new = verify_password(old, "a long passphrase")
    assert ok and new is not None and new != old and new.startswith("$argon2id$")
    assert verify_password(new, "a long passphrase") == (True, None)
    assert verify_password(old, "wrong passphrase") == (False, None)  # no rehash on failure


def test_the_store_holds_the_hash_never_the_password(store):
    add_user(store, "ana", "a long passphrase", "reviewer", actor="test")
    with store.read() as conn:
        stored = conn.execute(users.select()).one()
    assert stored.password_hash.startswith("$argon2id$")
    assert "a long passphrase" not in stored.password_hash


@pytest.mark.parametrize("password", ["short", "x" * 1025])
def test_too_short_or_absurdly_long_passwords_are_refused_in_a_sentence(password):
    with pytest.raises(ConfigError, match="password must have"):
        check_password_policy(password)
