"""Text normalization before speech synthesis (the Fish Audio API's ``normalize: true``).

Numbers and symbols are spelled out as words so that an engine reads them the way a
person would: "$3.50" → "three dollars and fifty cents", "2024-03-15" → "March
fifteenth, twenty twenty-four", "10:30" → "十点三十分".

English ("en") and Chinese ("zh") are supported; any other language is returned
unchanged. Each language is a fixed sequence of regular-expression passes, compiled
once at import, from the most specific pattern (phone numbers, dates, times, money)
to the most general (any run of digits). Every pass replaces digits with words, so
a later pass never sees what an earlier one produced.

Only the expanded text changes: other words and punctuation are kept, so sentence
splitting, which runs afterwards, still finds the sentence ends. A period that
belongs to a number or an abbreviation ("$3.50", "Dr.", "e.g.") disappears with it;
a period that ends a sentence after a number or an abbreviation ("It costs $5.",
"apples, pears, etc.") stays.

Number words are built here rather than with ``num2words`` and ``cn2an``: the
former's English is British ("one thousand, two hundred and five") and costs about
35 µs a number; the latter's ``transform`` reads "10:30" as "十:三十". Both would
eat most of the budget (under 1 ms for a 500-character paragraph; this module takes
about 0.3 ms).

Patterns start with a concrete character (a digit, a symbol, the first letters of a
word) and check what comes before it *after* that character, so the regex engine
can skip ahead quickly instead of trying every position.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

__all__ = ["normalize"]

_Match = re.Match[str]
_Callback = Callable[[_Match], str]

# Sentence end after a consumed trailing period: end of text, end of line, or a
# capitalised word next.
_SENTENCE_END: Final = re.compile(r"\s*\Z|[ \t]*\r?\n|\s+[\"'“‘(\[]?[A-Z]")
_DIGIT: Final = re.compile(r"\d")
_DIGIT_RUN: Final = re.compile(r"\d+")
_PHONE_SEPARATOR: Final = re.compile(r"[.\-]")


def _period_if_sentence_end(match: _Match, consumed: str) -> str:
    """A period when ``consumed`` ended with one that also ended its sentence, else nothing."""
    if consumed.endswith(".") and _SENTENCE_END.match(match.string, match.end()):
        return "."
    return ""


def _padded(callback: _Callback) -> _Callback:
    """Wrap a replacement so that words never run into adjacent letters or digits."""

    def replace(match: _Match) -> str:
        words = callback(match)
        if words == match.group(0) or not words:
            return words
        text = match.string
        start, end = match.start(), match.end()
        if start > 0 and text[start - 1].isalnum() and words[0].isalnum():
            words = " " + words
        if end < len(text) and text[end].isalnum() and words[-1].isalnum():
            words += " "
        return words

    return replace


# ---------------------------------------------------------------------------
# English number words
# ---------------------------------------------------------------------------

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
_EN_MONTHS: Final = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_EN_MONTH_INDEX: Final = {name[:3].lower(): index for index, name in enumerate(_EN_MONTHS, start=1)}


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


def _en_digits(digits: str) -> str:
    """Digit by digit: "0451" → "zero four five one"."""
    return " ".join(_EN_ONES[int(c)] for c in digits if c.isdigit())


def _en_int(n: int) -> str:
    """American cardinal: 1234 → "one thousand two hundred thirty-four"."""
    if n < 0:
        return "minus " + _en_int(-n)
    if n < 1000:
        return _en_below_1000(n)
    if n >= _EN_MAX:
        return _en_digits(str(n))
    parts: list[str] = []
    for value, name in _EN_SCALES:
        if n >= value:
            count, n = divmod(n, value)
            parts.append(f"{_en_below_1000(count)} {name}")
    if n:
        parts.append(_en_below_1000(n))
    return " ".join(parts)


def _en_number(text: str) -> str:
    """A written number ("-1,234.50", ".5", "1.2.3") in words."""
    negative = text[:1] in "-−"
    if negative:
        text = text[1:]
    text = text.replace(",", "")
    whole, _, fraction = text.partition(".")
    if "." in fraction:  # a version number or an address: 1.2.3
        words = " point ".join(_en_number(part) for part in text.split(".") if part)
    else:
        words = _en_digits(whole) if len(whole) > 21 else _en_int(int(whole)) if whole else ""
        if fraction:
            words = f"{words} point {_en_digits(fraction)}" if words else f"point {_en_digits(fraction)}"
    return "minus " + words if negative else words


def _en_ordinal_word(word: str) -> str:
    if word in _EN_ORDINAL_IRREGULAR:
        return _EN_ORDINAL_IRREGULAR[word]
    if word.endswith("y"):
        return word[:-1] + "ieth"
    return word + "th"


def _en_ordinal(n: int) -> str:
    """22 → "twenty-second", 103 → "one hundred third"."""
    words = _en_int(n)
    cut = max(words.rfind(" "), words.rfind("-")) + 1
    return words[:cut] + _en_ordinal_word(words[cut:])


def _en_plural(words: str) -> str:
    """Pluralise the last word: "nineteen ninety" → "nineteen nineties"."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    if words.endswith(("x", "s")):
        return words + "es"
    return words + "s"


def _en_year(year: int) -> str:
    """1999 → "nineteen ninety-nine", 2005 → "two thousand five", 1905 → "nineteen oh five"."""
    if year < 1000 or year >= 10000:
        return _en_int(year)
    high, low = divmod(year, 100)
    if high % 10 == 0 and low < 10:  # 2000, 2005, 1000, 1009
        return _en_int(year)
    if low == 0:
        return f"{_en_below_100(high)} hundred"
    if low < 10:
        return f"{_en_below_100(high)} oh {_EN_ONES[low]}"
    return f"{_en_below_100(high)} {_en_below_100(low)}"


def _en_two_digit(text: str) -> str:
    """A two-digit year or minute: "05" → "oh five", "24" → "twenty-four"."""
    n = int(text)
    if len(text) == 2 and n < 10:
        return f"oh {_EN_ONES[n]}"
    return _en_int(n)


def _en_date(month: int, day: int, year: str | None) -> str:
    words = f"{_EN_MONTHS[month - 1]} {_en_ordinal(day)}"
    if year:
        words += ", " + (_en_year(int(year)) if len(year) == 4 else _en_two_digit(year))
    return words


# ---------------------------------------------------------------------------
# English patterns
#
# Speed: the regex engine scans quickly for a pattern's first character when that
# character is a literal, a class or \d; a leading lookbehind or optional group
# makes it try every position. So patterns start with a concrete character, and
# "not preceded by" checks sit after it (``\d(?<![\d.,]\d)`` is a digit that does
# not continue a number) or, for words, in the callback (``_starts_word``).
# ---------------------------------------------------------------------------

# The rest of a written number after its first digit: 1,234,567.89 / 1234 / 3.5 (and 1.2.3).
_NUM_REST: Final = r"(?:\d{0,2}(?:,\d{3})+|\d*)(?:\.\d+)*"
# A written number that does not continue another one.
_NUM_START: Final = r"\d(?<![\d.,]\d)" + _NUM_REST
_NUM: Final = r"\d" + _NUM_REST
_MONTH: Final = (
    r"(?P<mon>January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?(?![A-Za-z])"
)


def _starts_word(match: _Match) -> bool:
    """The match does not begin in the middle of a word (what a leading \\b would check)."""
    start = match.start()
    if start == 0:
        return True
    before = match.string[start - 1]
    return not (before.isalnum() or before == "_")


# -- abbreviations (no digits needed) --
_EN_TITLES: Final = {
    "Mr": "Mister",
    "Mrs": "Missus",
    "Ms": "Miz",
    "Mx": "Mix",
    "Dr": "Doctor",
    "Prof": "Professor",
    "Capt": "Captain",
    "Sgt": "Sergeant",
    "Lt": "Lieutenant",
    "Gov": "Governor",
    "Mt": "Mount",
}
_EN_TITLES_WITHOUT_PERIOD: Final = frozenset({"Mr", "Mrs", "Ms", "Dr", "Mt"})
_EN_TITLE_RE: Final = re.compile(
    r"(?P<abbr>Mrs|Mr|Ms|Mx|Dr|Prof|Capt|Sgt|Lt|Gov|Mt)(?:(?P<dot>\.)|(?=[ \t]+[A-Z]))"
)
_EN_SAINT_RE: Final = re.compile(r"St(?:\.|(?=[ \t]+[A-Z]))(?=[ \t]+(?P<next>[A-Z][a-z]*))?")
# Capitalised words that start a sentence but never follow "St." as a name.
_EN_SENTENCE_STARTERS: Final = frozenset({
    "The", "A", "An", "I", "It", "He", "She", "We", "They", "This", "That", "These", "Those", "There",
    "Then", "But", "And", "So", "Or", "If", "In", "On", "At", "To", "My", "Our", "His", "Her", "Its",
    "Their", "You", "Your", "What", "When", "Where", "Why", "How", "Who", "After", "Before", "Turn", "Go",
})  # fmt: skip
_EN_SUFFIXES: Final = {
    "Jr": "Junior",
    "Sr": "Senior",
    "Ave": "Avenue",
    "Blvd": "Boulevard",
    "etc": "et cetera",
    "Etc": "Et cetera",
    "approx": "approximately",
    "Approx": "Approximately",
}
_EN_SUFFIX_RE: Final = re.compile(r"(?P<abbr>Jr|Sr|Ave|Blvd|etc|Etc|approx|Approx)(?:(?P<dot>\.)|(?!\w))")
_EN_LATIN_RE: Final = re.compile(r"[EeIi]\.[ \t]?[GgEe]\.(?!\w)|[Vv]s(?:\.|(?!\w))")
_EN_NUMBER_SIGN_RE: Final = re.compile(r"(?:(?P<abbr>No|no|Nos|Fig|Vol|Ch)\.|#)[ \t]?(?=\d)")
_EN_NUMBER_SIGN: Final = {
    "No": "number",
    "no": "number",
    "Nos": "numbers",
    "Fig": "figure",
    "Vol": "volume",
    "Ch": "chapter",
}
_EN_AMPERSAND_RE: Final = re.compile(r"[ \t]*&[ \t]*")

# -- numbers --
# 555-1234, 555-123-4567, 555.123.4567, 1-800-555-1234 (group sizes checked in the callback).
_EN_PHONE_RE: Final = re.compile(r"\d(?<![\w+\-.]\d)\d*(?:[.\-]\d+){1,3}(?![\w\-]|[.,]\d)")
_EN_PAREN_PHONE_RE: Final = re.compile(r"\((?<![\w(]\()\d{3}\)[ \t]?\d{3}[.\-]\d{4}(?![\w\-]|[.,]\d)")
_EN_INTERNATIONAL_PHONE_RE: Final = re.compile(
    r"\+(?<![\w+]\+)\d{1,3}(?:[ .\-]\d{1,4}){2,5}(?![\w\-]|[.,]\d)"
)
_EN_ISO_DATE_RE: Final = re.compile(
    r"(?P<y>\d(?<![\d\-/.]\d)\d{3})(?P<sep>[-/])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?![\d\-/]|[.,]\d)"
)
_EN_SLASH_DATE_RE: Final = re.compile(
    r"(?P<a>\d(?<![\d/.]\d)\d?)(?P<sep>[/.])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})(?![\d/]|[.,]\d)"
)
_EN_MONTH_DAY_RE: Final = re.compile(
    rf"{_MONTH}[ \t]+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?![\w:]|[.,]\d)"
    r"(?:,?[ \t]+(?P<y>\d{4})(?![\w:]|[.,]\d))?"
)
_EN_DAY_MONTH_RE: Final = re.compile(
    rf"(?P<d>\d(?<![\w.,]\d)\d?)(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?{_MONTH}"
    r"(?:,?[ \t]+(?P<y>\d{4})(?![\w:]|[.,]\d))?"
)
_EN_THE_BEFORE_RE: Final = re.compile(r"\bthe\s+\Z", re.IGNORECASE)
_AMPM: Final = r"(?P<ampm>[AaPp]\.?[ \t]?[Mm]\.?)(?!\w)"
_EN_TIME_RE: Final = re.compile(
    r"(?P<h>\d(?<![\d:.,]\d)\d?):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d))?(?![\d:]|[.,]\d)"
    rf"(?:[ \t]?{_AMPM})?"
)
_EN_HOUR_RE: Final = re.compile(rf"(?P<h>\d(?<![\w:.,]\d)\d?)[ \t]?{_AMPM}")
_EN_RANGE_RE: Final = re.compile(r"\d(?:-|[ \t]?[–—][ \t]?)(?=[$€£¥]?\d)")
_EN_MINUS_RE: Final = re.compile(r"[-−](?<![\w.,][-−])(?=[$€£¥]?\.?\d)")

_EN_CURRENCY: Final = {
    # symbol or code: singular, plural, sub-unit singular, sub-unit plural
    "$": ("dollar", "dollars", "cent", "cents"),
    "USD": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "EUR": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "GBP": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", "", ""),
    "JPY": ("yen", "yen", "", ""),
    "CNY": ("yuan", "yuan", "", ""),
    "RMB": ("yuan", "yuan", "", ""),
    "¢": ("cent", "cents", "", ""),
}
_SCALE_WORD: Final = r"[Tt]housand|[Mm]illion|[Bb]illion|[Tt]rillion"
_EN_SCALE_ABBR: Final = {"k": "thousand", "m": "million", "b": "billion", "t": "trillion"}
_EN_MONEY_PREFIX_RE: Final = re.compile(
    rf"(?P<sym>[$€£¥])[ \t]?(?P<num>{_NUM})"
    rf"(?:(?P<abbr>[kKmMbBtT])(?:n|r)?\b|[ \t]?(?P<scale>{_SCALE_WORD})\b)?"
)
_EN_MONEY_SUFFIX_RE: Final = re.compile(
    rf"(?P<num>{_NUM_START})"
    rf"(?:[ \t]?(?P<scale>{_SCALE_WORD}))?"
    r"(?:[ \t]?(?P<sym>[€£¥¢])|[ \t](?P<code>USD|EUR|GBP|JPY|CNY|RMB)\b)"
)
_EN_PERCENT_RE: Final = re.compile(rf"(?P<num>{_NUM_START})[ \t]?%")
_EN_ORDINAL_RE: Final = re.compile(
    r"(?P<num>\d(?<![\d.,]\d)(?:\d{0,2}(?:,\d{3})+|\d*))(?:st|nd|rd|th|ST|ND|RD|TH)\b"
)

_EN_UNITS: Final = {
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "mph": ("mile per hour", "miles per hour"),
    "m/s": ("meter per second", "meters per second"),
    "km²": ("square kilometer", "square kilometers"),
    "m²": ("square meter", "square meters"),
    "km": ("kilometer", "kilometers"),
    "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"),
    "m": ("meter", "meters"),
    "mi": ("mile", "miles"),
    "ft": ("foot", "feet"),
    "yd": ("yard", "yards"),
    "kg": ("kilogram", "kilograms"),
    "mg": ("milligram", "milligrams"),
    "g": ("gram", "grams"),
    "lbs": ("pound", "pounds"),
    "lb": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "ml": ("milliliter", "milliliters"),
    "mL": ("milliliter", "milliliters"),
    "L": ("liter", "liters"),
    "°C": ("degree Celsius", "degrees Celsius"),
    "℃": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "℉": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("degree", "degrees"),
    "kWh": ("kilowatt hour", "kilowatt hours"),
    "kW": ("kilowatt", "kilowatts"),
    "MW": ("megawatt", "megawatts"),
    "Hz": ("hertz", "hertz"),
    "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"),
    "GHz": ("gigahertz", "gigahertz"),
    "KB": ("kilobyte", "kilobytes"),
    "kB": ("kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"),
    "Mbps": ("megabit per second", "megabits per second"),
    "Gbps": ("gigabit per second", "gigabits per second"),
    "ms": ("millisecond", "milliseconds"),
    "sec": ("second", "seconds"),
    "secs": ("second", "seconds"),
    "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "h": ("hour", "hours"),
    "yr": ("year", "years"),
    "yrs": ("year", "years"),
    "bn": ("billion", "billion"),
}
_EN_UNIT_RE: Final = re.compile(
    rf"(?P<num>{_NUM_START})[ \t]?(?P<unit>"
    + "|".join(re.escape(unit) for unit in sorted(_EN_UNITS, key=len, reverse=True))
    + r")(?![\w/²])"
)
_EN_DECADE_RE: Final = re.compile(r"(?P<y>\d(?<![\w'’.,]\d)\d{2}0)['’]?s\b")
_EN_SHORT_DECADE_RE: Final = re.compile(r"['’](?<!\w['’])(?P<d>\d0)s\b")
_EN_YEAR_RE: Final = re.compile(r"(?P<y>[12](?<![\w.,\-−][12])\d{3})(?!\w|[.,]\d)")
_EN_YEAR_CONTEXT_BEFORE: Final = re.compile(
    r"\b(?:in|since|by|from|until|till|through|during|before|after|circa|around|year|early|late|mid|"
    r"of|spring|summer|autumn|fall|winter|january|february|march|april|may|june|july|august|"
    r"september|october|november|december)\.?[ \t\-]+\Z",
    re.IGNORECASE,
)
_EN_YEAR_CONTEXT_AFTER: Final = re.compile(r"[ \t]?(?:AD|BC|BCE|CE|A\.D\.|B\.C\.)(?!\w)")
_EN_FRACTION_RE: Final = re.compile(r"(?P<n>\d(?<![\w/.,]\d)\d?)/(?P<d>\d{1,2})(?![\w/]|[.,]\d)")
# A number with a leading zero (007) or five digits or more without separators (90210).
_EN_LONG_DIGITS_RE: Final = re.compile(r"(?P<d>\d(?<![\d.,]\d)(?:(?<=0)\d+|\d{4,}))(?!\d|[.,]\d)")
_EN_POINT_RE: Final = re.compile(r"\.(?<![\w.]\.)(?P<d>\d+)")
_EN_NUMBER_RE: Final = re.compile(rf"(?P<num>\d(?<!\d\d){_NUM_REST})")


# ---------------------------------------------------------------------------
# English callbacks
# ---------------------------------------------------------------------------


def _en_title(match: _Match) -> str:
    abbr = match.group("abbr")
    if not _starts_word(match) or (not match.group("dot") and abbr not in _EN_TITLES_WITHOUT_PERIOD):
        return match.group(0)
    return _EN_TITLES[abbr]


def _en_saint(match: _Match) -> str:
    """Saint before a capitalised name ("St. Louis"), else Street ("Main St.")."""
    if not _starts_word(match):
        return match.group(0)
    following = match.group("next")
    if following and following not in _EN_SENTENCE_STARTERS:
        return "Saint"
    return "Street" + _period_if_sentence_end(match, match.group(0))


def _en_suffix(match: _Match) -> str:
    abbr = match.group("abbr")
    if not _starts_word(match):
        return match.group(0)
    if match.group("dot"):
        return _EN_SUFFIXES[abbr] + _period_if_sentence_end(match, match.group(0))
    return _EN_SUFFIXES[abbr] if abbr in ("Jr", "Sr") else match.group(0)


def _en_latin(match: _Match) -> str:
    text = match.group(0)
    if not _starts_word(match):
        return text
    letters = text.lower().replace(".", "").replace(" ", "").replace("\t", "")
    if letters == "eg":
        return "for example"
    if letters == "ie":
        return "that is"
    if letters == "vs":
        return "versus"
    return text


def _en_number_sign(match: _Match) -> str:
    abbr = match.group("abbr")
    if not abbr:
        return "number "
    if not _starts_word(match):
        return match.group(0)
    return _EN_NUMBER_SIGN[abbr] + " "


def _en_phone_groups(text: str) -> str:
    return ", ".join(_en_digits(group) for group in _DIGIT_RUN.findall(text))


def _en_phone(match: _Match) -> str:
    text = match.group(0)
    sizes = [len(group) for group in _PHONE_SEPARATOR.split(text)]
    local = sizes == [3, 4] and "-" in text  # 555-1234, but not 555.1234
    national = sizes == [3, 3, 4]  # 555-123-4567
    with_code = len(sizes) == 4 and sizes[0] <= 3 and sizes[1:] == [3, 3, 4]  # 1-800-555-1234
    return _en_phone_groups(text) if local or national or with_code else text


def _en_paren_phone(match: _Match) -> str:
    return _en_phone_groups(match.group(0))


def _en_international_phone(match: _Match) -> str:
    return "plus " + _en_phone_groups(match.group(0))


def _en_iso_date(match: _Match) -> str:
    month, day = int(match.group("m")), int(match.group("d"))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)
    return _en_date(month, day, match.group("y"))


def _en_slash_date(match: _Match) -> str:
    first, second = int(match.group("a")), int(match.group("b"))
    if match.group("sep") == ".":  # 15.03.2024: day first
        first, second = second, first
    month, day = (first, second) if first <= 12 else (second, first)
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)
    if match.group("sep") == "." and len(match.group("y")) != 4:
        return match.group(0)
    return _en_date(month, day, match.group("y"))


def _en_month_day(match: _Match) -> str:
    day = int(match.group("d"))
    if not 1 <= day <= 31:
        return match.group(0)
    return _en_date(_EN_MONTH_INDEX[match.group("mon")[:3].lower()], day, match.group("y"))


def _en_day_month(match: _Match) -> str:
    day = int(match.group("d"))
    if not 1 <= day <= 31:
        return match.group(0)
    month = _EN_MONTHS[_EN_MONTH_INDEX[match.group("mon")[:3].lower()] - 1]
    the = "" if _EN_THE_BEFORE_RE.search(match.string, max(0, match.start() - 8), match.start()) else "the "
    words = f"{the}{_en_ordinal(day)} of {month}"
    year = match.group("y")
    return f"{words} {_en_year(int(year))}" if year else words


def _en_ampm(match: _Match) -> str:
    """The AM/PM after a time ("p.m." → " PM"), keeping a sentence-final period."""
    ampm = match.group("ampm")
    if not ampm:
        return ""
    letters = "AM" if ampm[0] in "Aa" else "PM"
    return f" {letters}{_period_if_sentence_end(match, ampm)}"


def _en_time(match: _Match) -> str:
    hour, minute = int(match.group("h")), int(match.group("m"))
    ampm = match.group("ampm")
    if hour > 24 or (ampm and not 1 <= hour <= 12):
        return match.group(0)
    words = _en_int(hour)
    if minute:
        words += " " + _en_two_digit(match.group("m"))
    elif not ampm:
        words += " o'clock" if 1 <= hour <= 12 else " hundred"
    seconds = match.group("s")
    if seconds and int(seconds):
        words += f" and {_en_int(int(seconds))} second{'s' if int(seconds) != 1 else ''}"
    return words + _en_ampm(match)


def _en_hour(match: _Match) -> str:
    hour = int(match.group("h"))
    if not 1 <= hour <= 12:
        return match.group(0)
    return _en_int(hour) + _en_ampm(match)


def _en_money(match: _Match) -> str:
    key = match.group("sym") or match.group("code")
    one, many, sub_one, sub_many = _EN_CURRENCY[key]
    number = match.group("num").replace(",", "")
    abbr = match.groupdict().get("abbr")
    scale = _EN_SCALE_ABBR[abbr.lower()] if abbr else (match.group("scale") or "").lower()
    whole, _, fraction = number.partition(".")
    if scale:
        return f"{_en_number(number)} {scale} {many}"
    if "." in fraction:
        return match.group(0)
    if fraction and len(fraction) == 2 and sub_one:
        units, cents = int(whole or "0"), int(fraction)
        parts: list[str] = []
        if units or not cents:
            parts.append(f"{_en_int(units)} {one if units == 1 else many}")
        if cents:
            parts.append(f"{_en_int(cents)} {sub_one if cents == 1 else sub_many}")
        return " and ".join(parts)
    if fraction:
        return f"{_en_number(number)} {many}"
    return f"{_en_number(number)} {one if number == '1' else many}"


def _en_percent(match: _Match) -> str:
    return _en_number(match.group("num")) + " percent"


def _en_ordinal_match(match: _Match) -> str:
    return _en_ordinal(int(match.group("num").replace(",", "")))


def _en_unit(match: _Match) -> str:
    one, many = _EN_UNITS[match.group("unit")]
    number = match.group("num")
    return f"{_en_number(number)} {one if number == '1' else many}"


def _en_decade(match: _Match) -> str:
    return _en_plural(_en_year(int(match.group("y"))))


def _en_short_decade(match: _Match) -> str:
    return _en_plural(_en_int(int(match.group("d"))))


def _en_year_match(match: _Match) -> str:
    year = int(match.group("y"))
    if 1100 <= year <= 2099:
        return _en_year(year)
    if _EN_YEAR_CONTEXT_BEFORE.search(match.string, max(0, match.start() - 16), match.start()):
        return _en_year(year)
    if _EN_YEAR_CONTEXT_AFTER.match(match.string, match.end()):
        return _en_year(year)
    return _en_int(year)


def _en_fraction(match: _Match) -> str:
    numerator, denominator = int(match.group("n")), int(match.group("d"))
    if numerator == 24 and denominator == 7:
        return "twenty-four seven"
    if not 0 < numerator < denominator <= 16:
        return match.group(0)
    if denominator == 2:
        name = "half" if numerator == 1 else "halves"
    elif denominator == 4:
        name = "quarter" if numerator == 1 else "quarters"
    else:
        name = _en_ordinal(denominator)
        if numerator != 1:
            name += "s"
    return f"{_en_int(numerator)} {name}"


def _en_long_digits(match: _Match) -> str:
    digits = match.group("d")
    if digits[0] != "0" and digits.endswith("00") and len(digits) <= 21:
        return _en_int(int(digits))  # a round amount: 50000 → fifty thousand
    return _en_digits(digits)


def _en_point(match: _Match) -> str:
    return "point " + _en_digits(match.group("d"))


def _en_generic(match: _Match) -> str:
    return _en_number(match.group("num"))


def _en_range(match: _Match) -> str:
    return match.group(0)[0] + " to "


def _en_minus(match: _Match) -> str:
    return "minus "


_Pass = tuple[re.Pattern[str], _Callback]

_EN_WORD_PASSES: Final[tuple[_Pass, ...]] = (
    (_EN_TITLE_RE, _padded(_en_title)),
    (_EN_SAINT_RE, _padded(_en_saint)),
    (_EN_SUFFIX_RE, _padded(_en_suffix)),
    (_EN_LATIN_RE, _padded(_en_latin)),
)
# Order matters. Phone numbers and ISO dates keep their hyphens; the hyphen of a
# range ("10-20", "1999–2000") becomes "to"; only then is a hyphen before a number
# a minus sign. Specific patterns (dates, times, money, units) go before the
# general ones (years, any number).
_EN_NUMBER_PASSES: Final[tuple[_Pass, ...]] = (
    (_EN_NUMBER_SIGN_RE, _en_number_sign),
    (_EN_INTERNATIONAL_PHONE_RE, _padded(_en_international_phone)),
    (_EN_PAREN_PHONE_RE, _padded(_en_paren_phone)),
    (_EN_PHONE_RE, _padded(_en_phone)),
    (_EN_ISO_DATE_RE, _padded(_en_iso_date)),
    (_EN_RANGE_RE, _en_range),
    (_EN_MINUS_RE, _en_minus),
    (_EN_SLASH_DATE_RE, _padded(_en_slash_date)),
    (_EN_MONTH_DAY_RE, _padded(_en_month_day)),
    (_EN_DAY_MONTH_RE, _padded(_en_day_month)),
    (_EN_TIME_RE, _padded(_en_time)),
    (_EN_HOUR_RE, _padded(_en_hour)),
    (_EN_MONEY_PREFIX_RE, _padded(_en_money)),
    (_EN_MONEY_SUFFIX_RE, _padded(_en_money)),
    (_EN_PERCENT_RE, _padded(_en_percent)),
    (_EN_ORDINAL_RE, _padded(_en_ordinal_match)),
    (_EN_UNIT_RE, _padded(_en_unit)),
    (_EN_DECADE_RE, _padded(_en_decade)),
    (_EN_SHORT_DECADE_RE, _padded(_en_short_decade)),
    (_EN_YEAR_RE, _padded(_en_year_match)),
    (_EN_FRACTION_RE, _padded(_en_fraction)),
    (_EN_LONG_DIGITS_RE, _padded(_en_long_digits)),
    (_EN_POINT_RE, _padded(_en_point)),
    (_EN_NUMBER_RE, _padded(_en_generic)),
)


def _normalize_en(text: str) -> str:
    for pattern, callback in _EN_WORD_PASSES:
        text = pattern.sub(callback, text)
    if "&" in text:
        text = _EN_AMPERSAND_RE.sub(" and ", text)
    if not _DIGIT.search(text):
        return text
    for pattern, callback in _EN_NUMBER_PASSES:
        text = pattern.sub(callback, text)
    return text


# ---------------------------------------------------------------------------
# Chinese
# ---------------------------------------------------------------------------

_ZH_DIGITS: Final = "零一二三四五六七八九"
_ZH_SECTION_UNITS: Final = ("", "十", "百", "千")
_ZH_GROUP_UNITS: Final = ("", "万", "亿", "万亿")
_ZH_MAX: Final = 10**16
_ZH_FULLWIDTH: Final = str.maketrans("０１２３４５６７８９％：．", "0123456789%:.")
_ZH_CURRENCY: Final = {"¥": "元", "￥": "元", "$": "美元", "€": "欧元", "£": "英镑"}
# Classifiers after which 2 is read 两 (两个, 两年), not 二.
_ZH_LIANG_NEXT: Final = frozenset("个位只本次天件条张种岁年项名台辆家口头匹支把块杯部双对周层点倍首场份")
_ZH_UNITS: Final = {
    "km/h": "公里每小时",
    "km": "公里",
    "kg": "公斤",
    "cm": "厘米",
    "mm": "毫米",
    "m": "米",
    "mg": "毫克",
    "g": "克",
    "ml": "毫升",
    "mL": "毫升",
    "L": "升",
    "°C": "摄氏度",
    "℃": "摄氏度",
    "°F": "华氏度",
    "℉": "华氏度",
    "°": "度",
    "kWh": "千瓦时",
    "kW": "千瓦",
}


def _zh_digits(digits: str) -> str:
    """Digit by digit: "2024" → "二零二四"."""
    return "".join(_ZH_DIGITS[int(c)] for c in digits if c.isdigit())


def _zh_section(n: int) -> str:
    """1 ≤ n ≤ 9999: 1001 → 一千零一, 1010 → 一千零一十."""
    out: list[str] = []
    zero = False
    for power in (3, 2, 1, 0):
        digit = n // 10**power % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(_ZH_DIGITS[digit] + _ZH_SECTION_UNITS[power])
    return "".join(out)


def _zh_int(n: int) -> str:
    """Chinese cardinal: 10 → 十, 100010 → 十万零一十, 2024 → 二千零二十四."""
    if n < 0:
        return "负" + _zh_int(-n)
    if n == 0:
        return "零"
    if n >= _ZH_MAX:
        return _zh_digits(str(n))
    groups: list[int] = []
    while n:
        n, group = divmod(n, 10000)
        groups.append(group)
    out = ""
    need_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            need_zero = bool(out)
            continue
        if out and (need_zero or group < 1000):
            out += "零"
        out += _zh_section(group) + _ZH_GROUP_UNITS[index]
        need_zero = False
    return out[1:] if out.startswith("一十") else out


def _zh_number(text: str) -> str:
    """A written number ("-1,234.5") in Chinese: 负一千二百三十四点五."""
    negative = text[:1] in "-−"
    if negative:
        text = text[1:]
    whole, _, fraction = text.replace(",", "").partition(".")
    if "." in fraction:
        words = "点".join(_zh_digits(part) for part in text.split("."))
    else:
        words = _zh_digits(whole) if len(whole) > 16 else _zh_int(int(whole)) if whole else "零"
        if fraction:
            words += "点" + _zh_digits(fraction)
    return "负" + words if negative else words


_ZH_ISO_DATE_RE: Final = re.compile(
    r"(?P<y>\d(?<![\d\-/.]\d)\d{3})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?![\d\-/]|\.\d)"
)
_ZH_TIME_RE: Final = re.compile(r"(?P<h>\d(?<![\d:.]\d)\d?):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d))?(?![\d:]|\.\d)")
# Numbers read digit by digit: landlines (010-12345678), mobiles (13800138000,
# 138-0013-8000), anything else of three digits or more with a leading zero (007;
# not 05 as in 05月).
_ZH_PHONE_RE: Final = re.compile(
    r"\d(?<![\d\-.,+]\d)(?:(?<=0)(?:\d{2,3}-\d{7,8}|\d{2,})|(?<=1)(?:\d{2}-\d{4}-\d{4}|\d{10}))"
    r"(?![\d\-]|[.,]\d)"
)
_ZH_INTERNATIONAL_PHONE_RE: Final = re.compile(
    r"\+(?<![\w+]\+)\d{1,3}(?:[ \-]?\d{2,8}){1,4}(?![\d\-]|[.,]\d)"
)
_ZH_YEAR_RE: Final = re.compile(r"(?P<y>\d(?<![\d.]\d)\d{3})(?=\s*(?:[-–—~～至到]\s*\d{4}\s*)?年)")
_ZH_PERCENT_RANGE_RE: Final = re.compile(rf"(?P<a>{_NUM_START})\s*%?\s*[-–—~～至到]\s*(?P<b>{_NUM})\s*%")
_ZH_PERCENT_RE: Final = re.compile(rf"(?P<num>{_NUM_START})\s*%")
_ZH_MONEY_RE: Final = re.compile(
    rf"(?P<sym>[¥￥$€£])\s?(?P<num>{_NUM})(?P<scale>万亿|千万|百万|万|亿)?(?P<yuan>元)?"
)
_ZH_UNIT_RE: Final = re.compile(
    rf"(?P<num>{_NUM_START})\s?(?P<unit>"
    + "|".join(re.escape(unit) for unit in sorted(_ZH_UNITS, key=len, reverse=True))
    + r")(?![A-Za-z/²])"
)
_ZH_RANGE_RE: Final = re.compile(r"\d\s*[-–—~～]\s*(?=\d)")
_ZH_MINUS_RE: Final = re.compile(r"[-−](?<![A-Za-z0-9.,][-−])(?=[¥￥$€£]?\d)")
_ZH_NUMBER_RE: Final = re.compile(rf"(?P<num>\d(?<!\d\d){_NUM_REST})")


def _zh_date(match: _Match) -> str:
    month, day = int(match.group("m")), int(match.group("d"))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)
    return f"{_zh_digits(match.group('y'))}年{_zh_int(month)}月{_zh_int(day)}日"


def _zh_hour(hour: int) -> str:
    return "两" if hour == 2 else _zh_int(hour)


def _zh_time(match: _Match) -> str:
    hour, minute = int(match.group("h")), int(match.group("m"))
    if hour > 24:
        return match.group(0)
    words = _zh_hour(hour) + "点"
    seconds = int(match.group("s") or "0")
    if minute or seconds:
        words += ("零" if 0 < minute < 10 else "") + _zh_int(minute) + "分"
    if seconds:
        words += ("零" if seconds < 10 else "") + _zh_int(seconds) + "秒"
    return words


def _zh_phone(match: _Match) -> str:
    return "，".join(_zh_digits(group) for group in _DIGIT_RUN.findall(match.group(0)))


def _zh_international_phone(match: _Match) -> str:
    return "加" + _zh_phone(match)


def _zh_year(match: _Match) -> str:
    return _zh_digits(match.group("y"))


def _zh_percent_range(match: _Match) -> str:
    return f"百分之{_zh_number(match.group('a'))}到百分之{_zh_number(match.group('b'))}"


def _zh_percent(match: _Match) -> str:
    return "百分之" + _zh_number(match.group("num"))


def _zh_money(match: _Match) -> str:
    unit = _ZH_CURRENCY[match.group("sym")]
    number = match.group("num").replace(",", "")
    scale = match.group("scale") or ""
    # "¥100元" writes the unit twice; say it once. "$100元" is left as written.
    written = match.group("yuan") if unit != "元" else None
    whole, _, fraction = number.partition(".")
    if unit == "元" and not scale and len(fraction) == 2:
        yuan, jiao, fen = int(whole or "0"), int(fraction[0]), int(fraction[1])
        words = f"{_zh_int(yuan)}元" if yuan or not (jiao or fen) else ""
        if jiao:
            words += f"{_zh_int(jiao)}角"
        elif fen and words:
            words += "零"
        if fen:
            words += f"{_zh_int(fen)}分"
        return words
    return _zh_number(number) + scale + unit + (written or "")


def _zh_unit(match: _Match) -> str:
    return _zh_number(match.group("num")) + _ZH_UNITS[match.group("unit")]


def _zh_range(match: _Match) -> str:
    return match.group(0)[0] + "到"


def _zh_minus(match: _Match) -> str:
    return "负"


def _zh_generic(match: _Match) -> str:
    number = match.group("num")
    if number == "2":
        text, start, end = match.string, match.start(), match.end()
        if end < len(text) and text[end] in _ZH_LIANG_NEXT and (start == 0 or text[start - 1] not in "第负."):
            return "两"
    return _zh_number(number)


# Order matters, as for English: hyphenated dates and phone numbers, then ranges,
# then minus signs, then the specific patterns before the general ones.
_ZH_PASSES: Final[tuple[_Pass, ...]] = (
    (_ZH_ISO_DATE_RE, _zh_date),
    (_ZH_TIME_RE, _zh_time),
    (_ZH_INTERNATIONAL_PHONE_RE, _zh_international_phone),
    (_ZH_PHONE_RE, _zh_phone),
    (_ZH_PERCENT_RANGE_RE, _zh_percent_range),
    (_ZH_RANGE_RE, _zh_range),
    (_ZH_MINUS_RE, _zh_minus),
    (_ZH_YEAR_RE, _zh_year),
    (_ZH_PERCENT_RE, _zh_percent),
    (_ZH_MONEY_RE, _zh_money),
    (_ZH_UNIT_RE, _zh_unit),
    (_ZH_NUMBER_RE, _zh_generic),
)


def _normalize_zh(text: str) -> str:
    text = text.translate(_ZH_FULLWIDTH)
    if not _DIGIT.search(text):
        return text
    for pattern, callback in _ZH_PASSES:
        text = pattern.sub(callback, text)
    return text


# ---------------------------------------------------------------------------


def normalize(text: str, language: str) -> str:
    """``text`` with numbers, dates, times, money and abbreviations spelled out.

    ``language`` is an ISO 639-1 code ("en", "zh"; a region such as "en-US" is
    ignored). Text in any other language is returned unchanged.
    """
    code = language.strip().lower().replace("_", "-").partition("-")[0]
    if code == "en":
        return _normalize_en(text)
    if code == "zh":
        return _normalize_zh(text)
    return text
