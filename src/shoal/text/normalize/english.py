"""English: numbers, dates, times, money and units spelled out, after abbreviations."""

from __future__ import annotations

import re
from typing import Final

from shoal.text.normalize.common import (
    DIGIT,
    DIGIT_RUN,
    NUM,
    NUM_REST,
    NUM_START,
    Match,
    Pass,
    alternation,
    padded,
    period_if_sentence_end,
)
from shoal.text.normalize.english_abbreviations import EN_NUMBER_SIGN_RE, en_number_sign, expand_abbreviations
from shoal.text.normalize.english_numbers import (
    EN_MONTH_INDEX,
    EN_MONTHS,
    en_date,
    en_digits,
    en_int,
    en_number,
    en_ordinal,
    en_plural,
    en_two_digit,
    en_year,
)

_PHONE_SEPARATOR: Final = re.compile(r"[.\-]")
_MONTH: Final = (
    r"(?P<mon>January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?(?![A-Za-z])"
)

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
    rf"(?P<sym>[$€£¥])[ \t]?(?P<num>{NUM})"
    rf"(?:(?P<abbr>[kKmMbBtT])(?:n|r)?\b|[ \t]?(?P<scale>{_SCALE_WORD})\b)?"
)
_EN_MONEY_SUFFIX_RE: Final = re.compile(
    rf"(?P<num>{NUM_START})"
    rf"(?:[ \t]?(?P<scale>{_SCALE_WORD}))?"
    r"(?:[ \t]?(?P<sym>[€£¥¢])|[ \t](?P<code>USD|EUR|GBP|JPY|CNY|RMB)\b)"
)
_EN_PERCENT_RE: Final = re.compile(rf"(?P<num>{NUM_START})[ \t]?%")
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
    rf"(?P<num>{NUM_START})[ \t]?(?P<unit>" + alternation(_EN_UNITS) + r")(?![\w/²])"
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
_EN_NUMBER_RE: Final = re.compile(rf"(?P<num>\d(?<!\d\d){NUM_REST})")


def _en_phone_groups(text: str) -> str:
    return ", ".join(en_digits(group) for group in DIGIT_RUN.findall(text))


def _en_phone(match: Match) -> str:
    text = match.group(0)
    sizes = [len(group) for group in _PHONE_SEPARATOR.split(text)]
    local = sizes == [3, 4] and "-" in text  # 555-1234, but not 555.1234
    national = sizes == [3, 3, 4]  # 555-123-4567
    with_code = len(sizes) == 4 and sizes[0] <= 3 and sizes[1:] == [3, 3, 4]  # 1-800-555-1234
    return _en_phone_groups(text) if local or national or with_code else text


def _en_paren_phone(match: Match) -> str:
    return _en_phone_groups(match.group(0))


def _en_international_phone(match: Match) -> str:
    return "plus " + _en_phone_groups(match.group(0))


def _en_iso_date(match: Match) -> str:
    month, day = int(match.group("m")), int(match.group("d"))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)
    return en_date(month, day, match.group("y"))


def _en_slash_date(match: Match) -> str:
    first, second = int(match.group("a")), int(match.group("b"))
    if match.group("sep") == ".":  # 15.03.2024: day first
        first, second = second, first
    month, day = (first, second) if first <= 12 else (second, first)
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)
    if match.group("sep") == "." and len(match.group("y")) != 4:
        return match.group(0)
    return en_date(month, day, match.group("y"))


def _en_month_day(match: Match) -> str:
    day = int(match.group("d"))
    if not 1 <= day <= 31:
        return match.group(0)
    return en_date(EN_MONTH_INDEX[match.group("mon")[:3].lower()], day, match.group("y"))


def _en_day_month(match: Match) -> str:
    day = int(match.group("d"))
    if not 1 <= day <= 31:
        return match.group(0)
    month = EN_MONTHS[EN_MONTH_INDEX[match.group("mon")[:3].lower()] - 1]
    the = "" if _EN_THE_BEFORE_RE.search(match.string, max(0, match.start() - 8), match.start()) else "the "
    words = f"{the}{en_ordinal(day)} of {month}"
    year = match.group("y")
    return f"{words} {en_year(int(year))}" if year else words


def _en_ampm(match: Match) -> str:
    """The AM/PM after a time ("p.m." → " PM"), keeping a sentence-final period."""
    ampm = match.group("ampm")
    if not ampm:
        return ""
    letters = "AM" if ampm[0] in "Aa" else "PM"
    return f" {letters}{period_if_sentence_end(match, ampm)}"


def _en_time(match: Match) -> str:
    hour, minute = int(match.group("h")), int(match.group("m"))
    ampm = match.group("ampm")
    if hour > 24 or (ampm and not 1 <= hour <= 12):
        return match.group(0)
    words = en_int(hour)
    if minute:
        words += " " + en_two_digit(match.group("m"))
    elif not ampm:
        words += " o'clock" if 1 <= hour <= 12 else " hundred"
    seconds = match.group("s")
    if seconds and int(seconds):
        words += f" and {en_int(int(seconds))} second{'s' if int(seconds) != 1 else ''}"
    return words + _en_ampm(match)


def _en_hour(match: Match) -> str:
    hour = int(match.group("h"))
    if not 1 <= hour <= 12:
        return match.group(0)
    return en_int(hour) + _en_ampm(match)


def _en_money(match: Match) -> str:
    key = match.group("sym") or match.group("code")
    one, many, sub_one, sub_many = _EN_CURRENCY[key]
    number = match.group("num").replace(",", "")
    abbr = match.groupdict().get("abbr")
    scale = _EN_SCALE_ABBR[abbr.lower()] if abbr else (match.group("scale") or "").lower()
    whole, _, fraction = number.partition(".")
    if scale:
        return f"{en_number(number)} {scale} {many}"
    if "." in fraction:
        return match.group(0)
    if fraction and len(fraction) == 2 and sub_one:
        units, cents = int(whole or "0"), int(fraction)
        parts: list[str] = []
        if units or not cents:
            parts.append(f"{en_int(units)} {one if units == 1 else many}")
        if cents:
            parts.append(f"{en_int(cents)} {sub_one if cents == 1 else sub_many}")
        return " and ".join(parts)
    if fraction:
        return f"{en_number(number)} {many}"
    return f"{en_number(number)} {one if number == '1' else many}"


def _en_percent(match: Match) -> str:
    return en_number(match.group("num")) + " percent"


def _en_ordinal_match(match: Match) -> str:
    return en_ordinal(int(match.group("num").replace(",", "")))


def _en_unit(match: Match) -> str:
    one, many = _EN_UNITS[match.group("unit")]
    number = match.group("num")
    return f"{en_number(number)} {one if number == '1' else many}"


def _en_decade(match: Match) -> str:
    return en_plural(en_year(int(match.group("y"))))


def _en_short_decade(match: Match) -> str:
    return en_plural(en_int(int(match.group("d"))))


def _en_year_match(match: Match) -> str:
    year = int(match.group("y"))
    if 1100 <= year <= 2099:
        return en_year(year)
    if _EN_YEAR_CONTEXT_BEFORE.search(match.string, max(0, match.start() - 16), match.start()):
        return en_year(year)
    if _EN_YEAR_CONTEXT_AFTER.match(match.string, match.end()):
        return en_year(year)
    return en_int(year)


def _en_fraction(match: Match) -> str:
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
        name = en_ordinal(denominator)
        if numerator != 1:
            name += "s"
    return f"{en_int(numerator)} {name}"


def _en_long_digits(match: Match) -> str:
    digits = match.group("d")
    if digits[0] != "0" and digits.endswith("00") and len(digits) <= 21:
        return en_int(int(digits))  # a round amount: 50000 → fifty thousand
    return en_digits(digits)


def _en_point(match: Match) -> str:
    return "point " + en_digits(match.group("d"))


def _en_generic(match: Match) -> str:
    return en_number(match.group("num"))


def _en_range(match: Match) -> str:
    return match.group(0)[0] + " to "


def _en_minus(match: Match) -> str:
    return "minus "


# Order matters. Phone numbers and ISO dates keep their hyphens; the hyphen of a
# range ("10-20", "1999–2000") becomes "to"; only then is a hyphen before a number
# a minus sign. Specific patterns (dates, times, money, units) go before the
# general ones (years, any number).
_EN_NUMBER_PASSES: Final[tuple[Pass, ...]] = (
    (EN_NUMBER_SIGN_RE, en_number_sign),
    (_EN_INTERNATIONAL_PHONE_RE, padded(_en_international_phone)),
    (_EN_PAREN_PHONE_RE, padded(_en_paren_phone)),
    (_EN_PHONE_RE, padded(_en_phone)),
    (_EN_ISO_DATE_RE, padded(_en_iso_date)),
    (_EN_RANGE_RE, _en_range),
    (_EN_MINUS_RE, _en_minus),
    (_EN_SLASH_DATE_RE, padded(_en_slash_date)),
    (_EN_MONTH_DAY_RE, padded(_en_month_day)),
    (_EN_DAY_MONTH_RE, padded(_en_day_month)),
    (_EN_TIME_RE, padded(_en_time)),
    (_EN_HOUR_RE, padded(_en_hour)),
    (_EN_MONEY_PREFIX_RE, padded(_en_money)),
    (_EN_MONEY_SUFFIX_RE, padded(_en_money)),
    (_EN_PERCENT_RE, padded(_en_percent)),
    (_EN_ORDINAL_RE, padded(_en_ordinal_match)),
    (_EN_UNIT_RE, padded(_en_unit)),
    (_EN_DECADE_RE, padded(_en_decade)),
    (_EN_SHORT_DECADE_RE, padded(_en_short_decade)),
    (_EN_YEAR_RE, padded(_en_year_match)),
    (_EN_FRACTION_RE, padded(_en_fraction)),
    (_EN_LONG_DIGITS_RE, padded(_en_long_digits)),
    (_EN_POINT_RE, padded(_en_point)),
    (_EN_NUMBER_RE, padded(_en_generic)),
)


def normalize_en(text: str) -> str:
    text = expand_abbreviations(text)
    if not DIGIT.search(text):
        return text
    for pattern, callback in _EN_NUMBER_PASSES:
        text = pattern.sub(callback, text)
    return text
