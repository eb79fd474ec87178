from __future__ import annotations

import re

import pytest

from shoal.text.normalize import normalize
from shoal.text.split import sentences


def en(text: str) -> str:
    return normalize(text, "en")


def zh(text: str) -> str:
    return normalize(text, "zh")


# --------------------------------------------------------------------------- English


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", "zero"),
        ("7", "seven"),
        ("42", "forty-two"),
        ("105", "one hundred five"),
        ("1,234.5", "one thousand two hundred thirty-four point five"),
        ("1,000,000", "one million"),
        ("12,345.67", "twelve thousand three hundred forty-five point six seven"),
        ("3.14159", "three point one four one five nine"),
        ("0.5 and .5", "zero point five and point five"),
        ("-5 degrees", "minus five degrees"),
        ("a -3.5 change", "a minus three point five change"),
        ("I have 2 cats.", "I have two cats."),
        ("Version 1.2.3 is out.", "Version one point two point three is out."),
        ("1,2,3", "one,two,three"),
    ],
)
def test_en_cardinals(text: str, expected: str) -> None:
    assert en(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1st", "first"),
        ("2nd", "second"),
        ("3rd", "third"),
        ("11th", "eleventh"),
        ("12th", "twelfth"),
        ("22nd", "twenty-second"),
        ("40th", "fortieth"),
        ("103rd", "one hundred third"),
        ("1,000th", "one thousandth"),
        ("the 3rd-party tool", "the third-party tool"),
    ],
)
def test_en_ordinals(text: str, expected: str) -> None:
    assert en(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$3.50", "three dollars and fifty cents"),
        ("$1", "one dollar"),
        ("$1.01", "one dollar and one cent"),
        ("$0.99", "ninety-nine cents"),
        ("$3.00", "three dollars"),
        ("$1,234.56", "one thousand two hundred thirty-four dollars and fifty-six cents"),
        ("$3.5", "three point five dollars"),
        ("€2.5 million", "two point five million euros"),
        ("$1 million", "one million dollars"),
        ("$5bn", "five billion dollars"),
        ("$5B", "five billion dollars"),
        ("$1.5M", "one point five million dollars"),
        ("$3k", "three thousand dollars"),
        ("€1", "one euro"),
        ("£2.50", "two pounds and fifty pence"),
        ("£1.01", "one pound and one penny"),
        ("¥100", "one hundred yen"),
        ("50¢", "fifty cents"),
        ("5€", "five euros"),
        ("100 USD", "one hundred dollars"),
        ("-$5", "minus five dollars"),
        ("$10-$20", "ten dollars to twenty dollars"),
    ],
)
def test_en_money(text: str, expected: str) -> None:
    assert en(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.5%", "twelve point five percent"),
        ("100%", "one hundred percent"),
        ("-3%", "minus three percent"),
        ("10-15%", "ten to fifteen percent"),
    ],
)
def test_en_percent(text: str, expected: str) -> None:
    assert en(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 1999", "in nineteen ninety-nine"),
        ("2024", "twenty twenty-four"),
        ("2005", "two thousand five"),
        ("2000", "two thousand"),
        ("2010", "twenty ten"),
        ("1900", "nineteen hundred"),
        ("1905", "nineteen oh five"),
        ("in 1066", "in ten sixty-six"),
        ("since 2100", "since twenty-one hundred"),
        ("2600 people", "two thousand six hundred people"),
        ("the 1990s", "the nineteen nineties"),
        ("the '80s", "the eighties"),
        ("1999–2000", "nineteen ninety-nine to two thousand"),
        ("In 2019, 2,000 people came.", "In twenty nineteen, two thousand people came."),
    ],
)
def test_en_years(text: str, expected: str) -> None:
    assert en(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-15", "March fifteenth, twenty twenty-four"),
        ("March 15, 2024", "March fifteenth, twenty twenty-four"),
        ("March 15th, 2024", "March fifteenth, twenty twenty-four"),
        ("Mar. 3rd, 2021", "March third, twenty twenty-one"),
        ("Dec 25", "December twenty-fifth"),
        ("15 March 2024", "the fifteenth of March twenty twenty-four"),
        ("On the 4 July 1990 we", "On the fourth of July nineteen ninety we"),
        ("3/15/2024", "March fifteenth, twenty twenty-four"),
        ("15/3/2024", "March fifteenth, twenty twenty-four"),
        ("15.03.2024", "March fifteenth, twenty twenty-four"),
        ("In May 2024 we", "In May twenty twenty-four we"),
        ("You may 5", "You may five"),
    ],
)
def test_en_dates(text: str, expected: str) -> None:
    assert en(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3:30 pm", "three thirty PM"),
        ("3:30 p.m., then", "three thirty PM, then"),
        ("10:30am", "ten thirty AM"),
        ("14:05", "fourteen oh five"),
        ("7:00", "seven o'clock"),
        ("17:00", "seventeen hundred"),
        ("7:00 pm", "seven PM"),
        ("10:30:15", "ten thirty and fifteen seconds"),
        ("at 3pm and 11 AM", "at three PM and eleven AM"),
        ("I left at 7 a.m. Then I slept.", "I left at seven AM. Then I slept."),
        ("Meet me at 9:00.", "Meet me at nine o'clock."),
        ("ratio 16:9", "ratio sixteen:nine"),
    ],
)
def test_en_times(text: str, expected: str) -> None:
    assert en(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr. Smith and Mrs. Jones met Dr. Who.", "Mister Smith and Missus Jones met Doctor Who."),
        ("Ms. Lee, Prof. Kim", "Miz Lee, Professor Kim"),
        ("Dr Smith", "Doctor Smith"),
        ("Dr.Smith", "Doctor Smith"),
        ("St. Louis is on Main St. near here.", "Saint Louis is on Main Street near here."),
        ("I live on Main St.", "I live on Main Street."),
        ("I live on Main St. The house is red.", "I live on Main Street. The house is red."),
        ("John Smith Jr. was there.", "John Smith Junior was there."),
        ("apples, pears, etc. Then more.", "apples, pears, et cetera. Then more."),
        ("apples, pears, etc.", "apples, pears, et cetera."),
        ("fruit, e.g., apples", "fruit, for example, apples"),
        ("fruit (e.g. apples)", "fruit (for example apples)"),
        ("i.e. good", "that is good"),
        ("Ali vs. Frazier", "Ali versus Frazier"),
        ("approx. 5 km", "approximately five kilometers"),
        ("No. 5 and #1", "number five and number one"),
        ("No. I won't.", "No. I won't."),
        ("R&D", "R and D"),
        ("Mt. Everest", "Mount Everest"),
    ],
)
def test_en_abbreviations(text: str, expected: str) -> None:
    assert en(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5 km", "five kilometers"),
        ("1 km", "one kilometer"),
        ("2.5 kg", "two point five kilograms"),
        ("10cm", "ten centimeters"),
        ("3 mm", "three millimeters"),
        ("150 lbs", "one hundred fifty pounds"),
        ("1 lb", "one pound"),
        ("60 mph", "sixty miles per hour"),
        ("100 km/h", "one hundred kilometers per hour"),
        ("30°C", "thirty degrees Celsius"),
        ("-5°C", "minus five degrees Celsius"),
        ("3.2 GHz", "three point two gigahertz"),
        ("It's 5 m long.", "It's five meters long."),
    ],
)
def test_en_units(text: str, expected: str) -> None:
    assert en(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("555-123-4567", "five five five, one two three, four five six seven"),
        ("(555) 123-4567", "five five five, one two three, four five six seven"),
        ("555-1234", "five five five, one two three four"),
        ("1-800-555-1234", "one, eight zero zero, five five five, one two three four"),
        ("+44 20 7946 0958", "plus four four, two zero, seven nine four six, zero nine five eight"),
        ("Zip 90210", "Zip nine zero two one zero"),
        ("code 007", "code zero zero seven"),
        ("population 50000", "population fifty thousand"),
    ],
)
def test_en_digit_strings(text: str, expected: str) -> None:
    assert en(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pages 10-20", "pages ten to twenty"),
        ("It was 3-2.", "It was three to two."),
        ("1/2 cup", "one half cup"),
        ("3/4", "three quarters"),
        ("2/3", "two thirds"),
        ("24/7", "twenty-four seven"),
        ("COVID-19", "COVID-nineteen"),
        ("MP3 and 3D", "MP three and three D"),
        ("a 3-year-old", "a three-year-old"),
    ],
)
def test_en_misc(text: str, expected: str) -> None:
    assert en(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It costs $5.", "It costs five dollars."),
        ("It costs $5.50.", "It costs five dollars and fifty cents."),
        ("The year was 1999.", "The year was nineteen ninety-nine."),
        ("Pi is 3.14.", "Pi is three point one four."),
        ("We won 100%!", "We won one hundred percent!"),
        ("Is it 5 km?", "Is it five kilometers?"),
        ("He came 2nd; she came 1st.", "He came second; she came first."),
    ],
)
def test_en_sentence_final_punctuation_survives(text: str, expected: str) -> None:
    assert en(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Hello world. No numbers here!",
        "A plain sentence, with commas; and semicolons: done.",
        'Quotes "stay" and (parentheses) too...',
        "",
        "   ",
        "U.S. policy is stable.",
    ],
)
def test_en_text_without_numbers_is_unchanged(text: str) -> None:
    assert en(text) == text


def test_en_abbreviation_periods_do_not_split_sentences() -> None:
    text = "Dr. Smith paid $3.50, e.g. for coffee, at 3:30 p.m. on Main St. near St. Louis."
    spoken = en(text)
    assert spoken == (
        "Doctor Smith paid three dollars and fifty cents, for example for coffee, "
        "at three thirty PM on Main Street near Saint Louis."
    )
    assert len(sentences(spoken)) == 1


def test_en_mixed_paragraph() -> None:
    text = (
        "On March 15, 2024, Dr. Smith paid $3.50 for 2 coffees at 3:30 pm near St. Louis. "
        "Sales grew 12.5% to €2.5 million, e.g. in the 1990s. Call 555-123-4567 or visit No. 5 Main St. "
        "The 22nd runner ran 5 km in 1999, approx. 20 min. It costs $5."
    )
    expected = (
        "On March fifteenth, twenty twenty-four, Doctor Smith paid three dollars and fifty cents for two "
        "coffees at three thirty PM near Saint Louis. Sales grew twelve point five percent to two point five "
        "million euros, for example in the nineteen nineties. Call five five five, one two three, four five "
        "six seven or visit number five Main Street. The twenty-second runner ran five kilometers in "
        "nineteen ninety-nine, approximately twenty minutes. It costs five dollars."
    )
    spoken = en(text)
    assert spoken == expected
    assert not re.search(r"\d", spoken)
    assert len(sentences(spoken)) == 5


@pytest.mark.parametrize(
    "text",
    [
        "x1 y22 z333 4444 55555 666666 7777777 1.2.3.4 1e10 10^6 2x 3.5x 0x1F",
        "a-1 -2 --3 4- 5-- 6-7-8 9:99 99:99 1:2:3 12/34/56 1/0 0/1",
        "$$5 5$ €€ 1,23,456 1,,2 1..2 .3. #4# No.5. 6th7 8th.",
    ],
)
def test_no_digits_survive(text: str) -> None:
    assert not re.search(r"[0-9]", en(text))
    assert not re.search(r"[0-9]", zh(text))


# --------------------------------------------------------------------------- Chinese


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", "零"),
        ("10", "十"),
        ("15", "十五"),
        ("110", "一百一十"),
        ("1001", "一千零一"),
        ("10001", "一万零一"),
        ("100010", "十万零一十"),
        ("100000000", "一亿"),
        ("1,234", "一千二百三十四"),
        ("3.14", "三点一四"),
        ("0.5", "零点五"),
        ("今天-5度", "今天负五度"),
        ("明天3-5度", "明天三到五度"),
        ("50%", "百分之五十"),
        ("增长了3.5%。", "增长了百分之三点五。"),
        ("10-20%", "百分之十到百分之二十"),
        ("2024年", "二零二四年"),
        ("1998-2000年", "一九九八到二零零零年"),
        ("2024年3月15日", "二零二四年三月十五日"),
        ("2024-03-15", "二零二四年三月十五日"),
        ("10:30", "十点三十分"),
        ("2:05", "两点零五分"),
        ("10:00", "十点"),
        ("12:00:30", "十二点零分三十秒"),
        ("¥100", "一百元"),
        ("100元", "一百元"),
        ("¥100元", "一百元"),
        ("¥3.50", "三元五角"),
        ("¥3.05", "三元零五分"),
        ("$20", "二十美元"),
        ("¥1,000万", "一千万元"),
        ("第2名", "第二名"),
        ("2个人", "两个人"),
        ("2月", "二月"),
        ("温度30℃，距离5km。", "温度三十摄氏度，距离五公里。"),
        ("电话13800138000。", "电话一三八零零一三八零零零。"),
        ("座机010-12345678", "座机零一零，一二三四五六七八"),
        ("２０２４年", "二零二四年"),
        ("2024年05月06日", "二零二四年五月六日"),
        ("编号007", "编号零零七"),
        ("价格￥3.50元", "价格三元五角"),
        ("09:05", "九点零五分"),
    ],
)
def test_zh(text: str, expected: str) -> None:
    assert zh(text) == expected


def test_zh_text_without_numbers_is_unchanged() -> None:
    text = "你好，世界！这是一个没有数字的句子。"
    assert zh(text) == text


def test_zh_mixed_paragraph() -> None:
    text = "2024年3月15日10:30，公司营收增长了50%，达到¥1,234.56万。第2名获得了2个奖杯，用时3.5小时。"
    expected = (
        "二零二四年三月十五日十点三十分，公司营收增长了百分之五十，达到一千二百三十四点五六万元。"
        "第二名获得了两个奖杯，用时三点五小时。"
    )
    assert zh(text) == expected


# --------------------------------------------------------------------------- other languages


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Il a 5 ans et 3,50 €.", "fr"),
        ("Es kostet 5 $.", "de"),
        ("2024年3月15日", "ja"),
        ("Мне 25 лет.", "ru"),
        ("Dr. Smith paid $5.", "es"),
        ("123", ""),
    ],
)
def test_other_languages_unchanged(text: str, language: str) -> None:
    assert normalize(text, language) == text


@pytest.mark.parametrize("language", ["en", "EN", "en-US", "en_GB", " en "])
def test_language_code_variants(language: str) -> None:
    assert normalize("I have 2 cats.", language) == "I have two cats."


def test_zh_region_code() -> None:
    assert normalize("50%", "zh-CN") == "百分之五十"


def test_long_mixed_paragraph_leaves_no_digits() -> None:
    paragraph = (
        "On March 15, 2024, Dr. Smith paid $3.50 for 2 coffees at 3:30 pm near St. Louis. Sales grew 12.5% "
        "to €2.5 million, e.g. in the 1990s. Call 555-123-4567 or visit No. 5 Main St. The 22nd runner ran "
        "5 km in 1999, approx. 20 min. It costs $5. Meanwhile, prices rose 3-5% and 1,234.5 units shipped "
        "by 14:05 today, the 3rd time since 2005. Temperatures hit -5°C on 2024-03-15; Mrs. Jones won 1/2 "
        "of the vote vs. Mr. Lee, i.e. 12,345 ballots. The 2 winners left at 7:00 with 1.5 kg of cake. "
        "Dr. Lee sold 3 of them for $12 each."
    )
    spoken = en(paragraph)
    assert not any(character.isdigit() for character in spoken)
    assert spoken.endswith("twelve dollars each.")
