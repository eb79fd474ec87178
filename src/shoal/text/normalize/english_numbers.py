"""English number words: cardinals, ordinals, years, dates (American usage).

Chinese number words live in ``chinese``; the two languages share no number-word
building.
"""

from __future__ import annotations

from typing import Final

_EN_ONES: Final = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_EN_TENS: Final = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_SCALES: Final = (
    (10**18, "quintillion"),
    (10**15, "quadrillion"),
    (10**12, "trillion"),
    (10**9, "billion"),
    (10**6, "million"),
    (10**3, "thousand"),
)
_EN_MAX: Final = 10**21
_EN_ORDINAL_IRREGULAR: Final = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
EN_MONTHS: Final = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
EN_MONTH_INDEX: Final = {name[:3].lower(): index for index, name in enumerate(EN_MONTHS, start=1)}


def _en_below_100(n: int) -> str:
    if n < 20:
        return _EN_ONES[n]
    tens, ones = divmod(n, 10)
    return _EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else "")


def _en_below_1000(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return _en_below_100(rest)
    head = f"{_EN_ONES[hundreds]} hundred"
    return f"{head} {_en_below_100(rest)}" if rest else head


def en_digits(digits: str) -> str:
    """Digit by digit: "0451" → "zero four five one"."""
    return " ".join(_EN_ONES[int(c)] for c in digits if c.isdigit())


def en_int(n: int) -> str:
    """American cardinal: 1234 → "one thousand two hundred thirty-four"."""
    if n < 0:
        return "minus " + en_int(-n)
    if n < 1000:
        return _en_below_1000(n)
    if n >= _EN_MAX:
        return en_digits(str(n))
    parts: list[str] = []
    for value, name in _EN_SCALES:
        if n >= value:
            count, n = divmod(n, value)
            parts.append(f"{_en_below_1000(count)} {name}")
    if n:
        parts.append(_en_below_1000(n))
    return " ".join(parts)


def en_number(text: str) -> str:
    """A written number ("-1,234.50", ".5", "1.2.3") in words."""
    negative = text[:1] in "-−"
    if negative:
        text = text[1:]
    text = text.replace(",", "")
    whole, _, fraction = text.partition(".")
    if "." in fraction:  # a version number or an address: 1.2.3
        words = " point ".join(en_number(part) for part in text.split(".") if part)
    else:
        words = en_digits(whole) if len(whole) > 21 else en_int(int(whole)) if whole else ""
        if fraction:
            words = f"{words} point {en_digits(fraction)}" if words else f"point {en_digits(fraction)}"
    return "minus " + words if negative else words


def _en_ordinal_word(word: str) -> str:
    if word in _EN_ORDINAL_IRREGULAR:
        return _EN_ORDINAL_IRREGULAR[word]
    if word.endswith("y"):
        return word[:-1] + "ieth"
    return word + "th"


def en_ordinal(n: int) -> str:
    """22 → "twenty-second", 103 → "one hundred third"."""
    words = en_int(n)
    cut = max(words.rfind(" "), words.rfind("-")) + 1
    return words[:cut] + _en_ordinal_word(words[cut:])


def en_plural(words: str) -> str:
    """Pluralise the last word: "nineteen ninety" → "nineteen nineties"."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    if words.endswith(("x", "s")):
        return words + "es"
    return words + "s"


def en_year(year: int) -> str:
    """1999 → "nineteen ninety-nine", 2005 → "two thousand five", 1905 → "nineteen oh five"."""
    if year < 1000 or year >= 10000:
        return en_int(year)
    high, low = divmod(year, 100)
    if high % 10 == 0 and low < 10:  # 2000, 2005, 1000, 1009
        return en_int(year)
    if low == 0:
        return f"{_en_below_100(high)} hundred"
    if low < 10:
        return f"{_en_below_100(high)} oh {_EN_ONES[low]}"
    return f"{_en_below_100(high)} {_en_below_100(low)}"


def en_two_digit(text: str) -> str:
    """A two-digit year or minute: "05" → "oh five", "24" → "twenty-four"."""
    n = int(text)
    if len(text) == 2 and n < 10:
        return f"oh {_EN_ONES[n]}"
    return en_int(n)


def en_date(month: int, day: int, year: str | None) -> str:
    words = f"{EN_MONTHS[month - 1]} {en_ordinal(day)}"
    if year:
        words += ", " + (en_year(int(year)) if len(year) == 4 else en_two_digit(year))
    return words
