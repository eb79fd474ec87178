"""Chinese: numbers, dates, times, money and units in Chinese words ("10:30" → "十点三十分")."""

from __future__ import annotations

import re
from typing import Final

from shoal.text.normalize.common import DIGIT, DIGIT_RUN, NUM, NUM_REST, NUM_START, Match, Pass, alternation

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
_ZH_PERCENT_RANGE_RE: Final = re.compile(rf"(?P<a>{NUM_START})\s*%?\s*[-–—~～至到]\s*(?P<b>{NUM})\s*%")
_ZH_PERCENT_RE: Final = re.compile(rf"(?P<num>{NUM_START})\s*%")
_ZH_MONEY_RE: Final = re.compile(
    rf"(?P<sym>[¥￥$€£])\s?(?P<num>{NUM})(?P<scale>万亿|千万|百万|万|亿)?(?P<yuan>元)?"
)
_ZH_UNIT_RE: Final = re.compile(
    rf"(?P<num>{NUM_START})\s?(?P<unit>" + alternation(_ZH_UNITS) + r")(?![A-Za-z/²])"
)
_ZH_RANGE_RE: Final = re.compile(r"\d\s*[-–—~～]\s*(?=\d)")
_ZH_MINUS_RE: Final = re.compile(r"[-−](?<![A-Za-z0-9.,][-−])(?=[¥￥$€£]?\d)")
_ZH_NUMBER_RE: Final = re.compile(rf"(?P<num>\d(?<!\d\d){NUM_REST})")


def _zh_date(match: Match) -> str:
    month, day = int(match.group("m")), int(match.group("d"))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)
    return f"{_zh_digits(match.group('y'))}年{_zh_int(month)}月{_zh_int(day)}日"


def _zh_hour(hour: int) -> str:
    return "两" if hour == 2 else _zh_int(hour)


def _zh_time(match: Match) -> str:
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


def _zh_phone(match: Match) -> str:
    return "，".join(_zh_digits(group) for group in DIGIT_RUN.findall(match.group(0)))


def _zh_international_phone(match: Match) -> str:
    return "加" + _zh_phone(match)


def _zh_year(match: Match) -> str:
    return _zh_digits(match.group("y"))


def _zh_percent_range(match: Match) -> str:
    return f"百分之{_zh_number(match.group('a'))}到百分之{_zh_number(match.group('b'))}"


def _zh_percent(match: Match) -> str:
    return "百分之" + _zh_number(match.group("num"))


def _zh_money(match: Match) -> str:
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


def _zh_unit(match: Match) -> str:
    return _zh_number(match.group("num")) + _ZH_UNITS[match.group("unit")]


def _zh_range(match: Match) -> str:
    return match.group(0)[0] + "到"


def _zh_minus(match: Match) -> str:
    return "负"


def _zh_generic(match: Match) -> str:
    number = match.group("num")
    if number == "2":
        text, start, end = match.string, match.start(), match.end()
        if end < len(text) and text[end] in _ZH_LIANG_NEXT and (start == 0 or text[start - 1] not in "第负."):
            return "两"
    return _zh_number(number)


# Order matters, as for English: hyphenated dates and phone numbers, then ranges,
# then minus signs, then the specific patterns before the general ones.
_ZH_PASSES: Final[tuple[Pass, ...]] = (
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


def normalize_zh(text: str) -> str:
    text = text.translate(_ZH_FULLWIDTH)
    if not DIGIT.search(text):
        return text
    for pattern, callback in _ZH_PASSES:
        text = pattern.sub(callback, text)
    return text
