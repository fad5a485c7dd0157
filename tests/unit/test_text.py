"""lmviz.text: numbers and words as the pages write them."""

from __future__ import annotations

import math

from lmviz.text import agreeing, message, readable


def test_readable_numbers_read_as_a_sentence_says_them() -> None:
    """A gradient norm of 4.06e+06 beside a loss of 18 and one of 21.9, in one lesson."""
    assert [readable(x) for x in (0.421, 4.2, 18.0, 21.93, 3230.4, 4_060_000.0, 2.5e9)] == [
        "0.42", "4.20", "18.0", "21.9", "3,230", "4.1 million", "2.5 billion"]
    assert [readable(x) for x in (math.nan, math.inf, -math.inf, -0.5)] == ["NaN", "infinity", "minus infinity", "−0.50"]


def test_a_word_agrees_with_its_count() -> None:
    assert [agreeing(n, "is", "are") for n in (0, 1, 2)] == ["are", "is", "are"]


def test_a_message_is_a_sentence_with_its_full_stop() -> None:
    assert message("the file is not UTF-8 text (bad byte at position 3)") == (
        "The file is not UTF-8 text (bad byte at position 3).")
    assert message("Ignored seed=`x` from the link (allowed: 0 to 9,999); using 0").endswith("using 0.")
    assert message("Done.") == "Done."
