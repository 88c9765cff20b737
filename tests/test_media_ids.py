"""Media ids: only ids this secret minted are ever accepted, whatever the request sends."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from flask_gallery.media.ids import ID_RE, KEY_LENGTH, key_from_id, mint_id

SECRET = b"app secret"
keys = st.text("0123456789abcdef", min_size=KEY_LENGTH, max_size=KEY_LENGTH)


@given(keys)
def test_minted_ids_verify_and_give_back_their_key(key: str) -> None:
    media_id = mint_id(SECRET, key)
    assert ID_RE.fullmatch(media_id)
    assert key_from_id(SECRET, media_id) == key
    assert key_from_id(b"another secret", media_id) is None


@given(keys, st.text(min_size=1, max_size=30))
def test_anything_added_to_an_id_is_refused(key: str, junk: str) -> None:
    media_id = mint_id(SECRET, key)
    assert key_from_id(SECRET, media_id + junk) is None
    assert key_from_id(SECRET, junk + media_id) is None


@given(st.text(max_size=80))
def test_arbitrary_text_is_refused(text: str) -> None:
    assert key_from_id(SECRET, text) is None


@given(keys, st.integers(min_value=0, max_value=51), st.sampled_from("0123456789abcdef"))
def test_changing_one_character_is_refused(key: str, position: int, char: str) -> None:
    media_id = mint_id(SECRET, key)
    if media_id[position] in (char, "-"):
        return
    tampered = media_id[:position] + char + media_id[position + 1 :]
    assert key_from_id(SECRET, tampered) is None


def test_non_strings_are_refused() -> None:
    assert key_from_id(SECRET, None) is None
    assert key_from_id(SECRET, mint_id(SECRET, "0" * KEY_LENGTH).encode()) is None
