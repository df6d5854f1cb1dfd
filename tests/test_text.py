"""Tests for smsco.text: the gateway's character rule, transliteration, parts and cost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsco import text
from smsco.errors import ValidationError
from smsco.text import (
    ALLOWED_CHARACTERS,
    allowed_characters,
    check_message,
    cost,
    invalid_characters,
    segments,
    set_extra_characters,
    transliterate,
    transliteration_needed,
)

# The table of GEORGIAN.md: letter, SMS national, informal (first choice).
GEORGIAN = [
    ("ა", "a", "a"), ("ბ", "b", "b"), ("გ", "g", "g"), ("დ", "d", "d"), ("ე", "e", "e"),
    ("ვ", "v", "v"), ("ზ", "z", "z"), ("თ", "t", "t"), ("ი", "i", "i"), ("კ", "k", "k"),
    ("ლ", "l", "l"), ("მ", "m", "m"), ("ნ", "n", "n"), ("ო", "o", "o"), ("პ", "p", "p"),
    ("ჟ", "zh", "j"), ("რ", "r", "r"), ("ს", "s", "s"), ("ტ", "t", "t"), ("უ", "u", "u"),
    ("ფ", "p", "f"), ("ქ", "k", "q"), ("ღ", "gh", "g"), ("ყ", "q", "y"), ("შ", "sh", "sh"),
    ("ჩ", "ch", "ch"), ("ც", "ts", "c"), ("ძ", "dz", "dz"), ("წ", "ts", "w"), ("ჭ", "ch", "ch"),
    ("ხ", "kh", "x"), ("ჯ", "j", "j"), ("ჰ", "h", "h"),
]  # fmt: skip

RUSSIAN = [
    ("а", "a"), ("б", "b"), ("в", "v"), ("г", "g"), ("д", "d"), ("е", "e"), ("ё", "e"),
    ("ж", "zh"), ("з", "z"), ("и", "i"), ("й", "y"), ("к", "k"), ("л", "l"), ("м", "m"),
    ("н", "n"), ("о", "o"), ("п", "p"), ("р", "r"), ("с", "s"), ("т", "t"), ("у", "u"),
    ("ф", "f"), ("х", "kh"), ("ц", "ts"), ("ч", "ch"), ("ш", "sh"), ("щ", "shch"), ("ъ", ""),
    ("ы", "y"), ("ь", ""), ("э", "e"), ("ю", "yu"), ("я", "ya"),
]  # fmt: skip

# Ukrainian letter, inside a word, at the start of a word.
UKRAINIAN = [
    ("а", "a", "a"), ("б", "b", "b"), ("в", "v", "v"), ("г", "h", "h"), ("ґ", "g", "g"),
    ("д", "d", "d"), ("е", "e", "e"), ("є", "ie", "ye"), ("ж", "zh", "zh"), ("з", "z", "z"),
    ("и", "y", "y"), ("і", "i", "i"), ("ї", "i", "yi"), ("й", "i", "y"), ("к", "k", "k"),
    ("л", "l", "l"), ("м", "m", "m"), ("н", "n", "n"), ("о", "o", "o"), ("п", "p", "p"),
    ("р", "r", "r"), ("с", "s", "s"), ("т", "t", "t"), ("у", "u", "u"), ("ф", "f", "f"),
    ("х", "kh", "kh"), ("ц", "ts", "ts"), ("ч", "ch", "ch"), ("ш", "sh", "sh"),
    ("щ", "shch", "shch"), ("ь", "", ""), ("ю", "iu", "yu"), ("я", "ia", "ya"),
]  # fmt: skip


def mtavruli(letter: str) -> str:
    """The Mtavruli capital of a modern Mkhedruli letter."""
    return chr(ord(letter) - 0x10D0 + 0x1C90)


@pytest.fixture
def extra_characters():
    """Lets a test widen the rule, and restores the rule afterwards."""
    before = "".join(allowed_characters() - ALLOWED_CHARACTERS)
    yield set_extra_characters
    set_extra_characters(before)


# -- the gateway's rule -----------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Hello world 123", []),
        ('ok . _ - "', []),
        ("", []),
        ("Hi, there!", [(2, ","), (9, "!")]),
        ("a\nb\tc", [(1, "\n"), (3, "\t")]),
        ("გამარჯობა", [(i, ch) for i, ch in enumerate("გამარჯობა")]),
        ("it's", [(2, "'")]),
    ],
)
def test_invalid_characters_lists_each_refused_character_with_its_position(message, expected):
    assert invalid_characters(message) == expected
    assert transliteration_needed(message) is bool(expected)


@pytest.mark.parametrize("message", ["", "   ", "\n\t"])
def test_check_message_refuses_an_empty_message(message):
    with pytest.raises(ValidationError, match="empty") as caught:
        check_message(message)
    assert caught.value.field == "message"


def test_check_message_returns_an_acceptable_message():
    assert check_message('Gamarjoba - "test" 1.5_x') == 'Gamarjoba - "test" 1.5_x'


def test_check_message_names_each_bad_character_with_its_1_based_position():
    with pytest.raises(ValidationError) as caught:
        check_message("Hi, you!\nok")
    assert caught.value.problems == [
        "',' at position 3",
        "'!' at position 8",
        "line break at position 9",
    ]
    assert caught.value.field == "message"
    assert '. _ - "' in str(caught.value)


def test_check_message_shortens_a_long_list_of_problems():
    with pytest.raises(ValidationError) as caught:
        check_message("ა" * 25)
    assert len(caught.value.problems) == 25
    assert str(caught.value).endswith("and 5 more")


# -- widening the rule with SMSCO_EXTRA_CHARS -------------------------------------


def test_extra_characters_widen_every_check(extra_characters):
    assert extra_characters(",!?") == frozenset(",!?")
    assert allowed_characters() == ALLOWED_CHARACTERS | set(",!?")
    assert invalid_characters("Hi, you!?") == []
    assert check_message("Hi, you!") == "Hi, you!"
    assert transliterate("Привет, как дела?") == "Privet, kak dela?"
    assert transliterate("Hi, you!") == "Hi, you!"
    with pytest.raises(ValidationError) as caught:
        check_message("a;b")
    assert '. _ - " ! , ?' in str(caught.value)


def test_extra_characters_never_allow_control_format_or_whitespace(extra_characters):
    assert extra_characters("\n\t\x00\u200b\u00a0\u2028,") == frozenset(",")
    assert invalid_characters("a\nb\u200b") == [(1, "\n"), (3, "\u200b")]


def test_extra_characters_replace_earlier_ones_and_can_be_removed(extra_characters):
    extra_characters("!")
    extra_characters(",")
    assert invalid_characters("a,b!") == [(3, "!")]
    extra_characters("")
    assert allowed_characters() == ALLOWED_CHARACTERS
    assert invalid_characters("a,b") == [(1, ",")]


def test_extra_characters_are_kept_before_any_replacement(extra_characters):
    extra_characters(":–")
    assert transliterate("10:30 – −5 ж") == "10:30 – -5 zh"


def test_extra_characters_are_read_from_the_environment_at_import():
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "SMSCO_EXTRA_CHARS": ",!\n"}
    script = (
        "from smsco import text as t; print(sorted(t.allowed_characters() - t.ALLOWED_CHARACTERS))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "['!', ',']"


# -- Georgian ---------------------------------------------------------------------


def test_the_tables_cover_the_33_modern_letters():
    modern = {chr(code) for code in range(0x10D0, 0x10F1)}
    assert set(text.GEORGIAN_NATIONAL) == modern == set(text.GEORGIAN_INFORMAL)
    assert {letter for letter, _, _ in GEORGIAN} == modern


@pytest.mark.parametrize(("letter", "national", "informal"), GEORGIAN)
def test_every_georgian_letter_in_both_styles(letter, national, informal):
    assert transliterate(letter) == national
    assert transliterate(letter, style="national") == national
    assert transliterate(letter, style="informal") == informal


@pytest.mark.parametrize(("letter", "national", "informal"), GEORGIAN)
def test_mtavruli_capitals_are_capitalized(letter, national, informal):
    capital = mtavruli(letter)
    assert transliterate(capital) == national.capitalize()
    assert transliterate(capital + "ა") == national.capitalize() + "a"
    assert transliterate(capital * 2, style="informal") == informal.upper() * 2


@pytest.mark.parametrize(
    ("georgian", "style", "latin"),
    [
        ("გამარჯობა", "national", "gamarjoba"),
        ("თბილისი", "national", "tbilisi"),
        ("შოთა რუსთაველი", "national", "shota rustaveli"),
        ("წყალი", "national", "tsqali"),
        ("ხაჭაპური", "national", "khachapuri"),
        ("ხაჭაპური", "informal", "xachapuri"),
        ("წყალი", "informal", "wyali"),
        ("ჟურნალი ფული ქალაქი ღვინო ცა", "informal", "jurnali fuli qalaqi gvino ca"),
        ("გამარჯობა, როგორ ხარ?", "national", "gamarjoba. rogor khar."),
        ("გამარჯობა, როგორ ხარ?", "informal", "gamarjoba. rogor xar."),
        ("ᲨᲝᲗᲐ ᲠᲣᲡᲗᲐᲕᲔᲚᲘ", "national", "SHOTA RUSTAVELI"),
        ("Შოთა", "national", "Shota"),
        ("ᲮᲐᲭᲐᲞᲣᲠᲘ", "informal", "XACHAPURI"),
        ("ႸႭႧႠ", "national", "SHOTA"),  # Asomtavruli
        ("Ⴘⴍⴇⴀ", "national", "Shota"),  # Asomtavruli capital, then Nuskhuri
        ("ⴘⴍⴇⴀ", "national", "shota"),  # Nuskhuri
        ("ჱ ჲ ჳ ჴ ჵ ჶ", "national", "e y w q o f"),
        ("ა჻ბ", "national", "a. b"),
    ],
)
def test_georgian_words(georgian, style, latin):
    assert transliterate(georgian, style=style) == latin


@pytest.mark.parametrize(
    "letter",
    [chr(code) for code in range(0x10D0, 0x1100)]
    + [chr(code) for code in range(0x1C90, 0x1CC0)]
    + [chr(code) for code in range(0x10A0, 0x10D0)]
    + [chr(code) for code in range(0x2D00, 0x2D30)],
)
def test_every_georgian_code_point_gives_latin_letters_or_nothing(letter):
    for style in text.STYLES:
        assert transliterate(letter, style).isalpha() or transliterate(letter, style) in ("", ".")


def test_asomtavruli_and_nuskhuri_read_as_mkhedruli():
    for offset, (letter, national, _) in enumerate(GEORGIAN):
        mkhedruli = ord(letter) - 0x10D0
        assert offset == mkhedruli
        assert transliterate(chr(0x10A0 + mkhedruli)) == national.capitalize()
        assert transliterate(chr(0x2D00 + mkhedruli)) == national


# -- Cyrillic ---------------------------------------------------------------------


@pytest.mark.parametrize(("letter", "latin"), RUSSIAN)
def test_every_russian_letter(letter, latin):
    assert transliterate(letter) == latin
    assert transliterate(letter.upper()) == latin.capitalize()
    assert transliterate(letter.upper() + "А") == latin.upper() + "A"
    assert transliterate(letter.upper() + "а") == latin.capitalize() + "a"


def test_the_russian_alphabet_upper_and_lower():
    lower = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
    latin = "abvgdeezhziyklmnoprstufkhtschshshchyeyuya"
    assert transliterate(lower) == latin
    assert transliterate(lower.upper()) == latin.upper()


@pytest.mark.parametrize(("letter", "inside", "initial"), UKRAINIAN)
def test_every_ukrainian_letter(letter, inside, initial):
    # The і marks the text as Ukrainian.
    assert transliterate("і" + letter) == "i" + inside
    assert transliterate(letter + " і") == (initial + " i").strip()
    assert transliterate(letter.upper() + "і") == initial.capitalize() + "i"


def test_the_ukrainian_alphabet_upper_and_lower():
    lower = "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя"
    assert transliterate(lower) == "abvhgdeiezhzyiiiklmnoprstufkhtschshshchiuia"
    assert transliterate(lower.upper()) == "ABVHGDEIEZHZYIIIKLMNOPRSTUFKHTSCHSHSHCHIUIA"


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        ("Привет, как дела?", "Privet. kak dela."),
        ("Москва", "Moskva"),
        ("ЖУК Жук жук", "ZHUK Zhuk zhuk"),
        ("Щи, ЩИ", "Shchi. SHCHI"),
        ("Объявление: съезд", "Obyavlenie - sezd"),
        ("Хорошо, Юля", "Khorosho. Yulya"),
        ("Привіт, як справи?", "Pryvit. yak spravy."),
        ("Київ Україна Юрій Їжак Андрій", "Kyiv Ukraina Yurii Yizhak Andrii"),
        ("Беларусь, Мінск", "Belarus. Minsk"),
    ],
)
def test_cyrillic_words(cyrillic, latin):
    assert transliterate(cyrillic) == latin


# -- other scripts, mixed text, capitals ------------------------------------------


@pytest.mark.parametrize(
    ("source", "latin"),
    [
        ("Café Łódź Straße Ærø", "Cafe Lodz Strasse Aero"),
        ("ÉCOLE", "ECOLE"),
        ("Αθήνα", "Athina"),
        ("你好，世界", "NiHao. ShiJie"),
        ("e\u0301te\u0301", "ete"),  # decomposed accents
        ("٣ ① Ⅻ", "3 1 XII"),
        (
            "Tbilisi, Тбилиси, თბილისი!",
            "Tbilisi. Tbilisi. tbilisi.",
        ),
        (
            "გამარჯობა Маша! Meeting at 10:30 in Tbilisi (ხვალ).",
            "gamarjoba Masha. Meeting at 10.30 in Tbilisi - khval.",
        ),
    ],
)
def test_other_scripts_and_mixed_text(source, latin):
    assert transliterate(source) == latin


# -- typography and punctuation ---------------------------------------------------


@pytest.mark.parametrize(
    ("source", "latin"),
    [
        ("“quoted” «quoted» „quoted“", '"quoted" "quoted" "quoted"'),
        ("don’t it's ‘single’", "dont its single"),
        ("1990–2000, a — b, −5", "1990-2000. a - b. -5"),
        ("−5 degrees", "-5 degrees"),
        ("Wait… what?", "Wait... what."),
        ("Wait...?!", "Wait..."),
        ("What?!? No!!!", "What. No."),
        ("Hi, there", "Hi. there"),
        ("Hi,there", "Hi. there"),
        ("1,5 lari", "1.5 lari"),
        ("a; b", "a. b"),
        ("Note: bring it", "Note - bring it"),
        ("at 10:30", "at 10.30"),
        ("call (today) now", "call - today - now"),
        ("call (today).", "call - today."),
        ("(1) Call", "1 - Call"),
        ("f(x)", "f - x"),
        ("and/or", "and-or"),
        ("Tom & Jerry, R&D", "Tom and Jerry. R and D"),
        ("50% off", "50 percent off"),
        ("2+2=4", "2 plus 2 equals 4"),
        ("info@smsco.ge", "info at smsco.ge"),
        ("#5 №7", "N5 N7"),
        ("10₾, 5€ $3 £2 ₽1 ₴9", "10 GEL. 5 EUR USD 3 GBP 2 RUB 1 UAH 9"),
        ("Price: 10 ₾.", "Price - 10 GEL."),
        ("¿Qué? ¡Sí!", "Que. Si."),
        ("line\nbreak\r\nand\ttab", "line break and tab"),
        ("  spaces \u00a0 everywhere\u2003 ", "spaces everywhere"),
        ("! leading and trailing ,", "leading and trailing."),
        ("emoji 😀 and © gone", "emoji and gone"),
        ("zero\u200bwidth", "zerowidth"),
    ],
)
def test_typography_and_punctuation(source, latin):
    assert transliterate(source) == latin


def test_valid_text_is_returned_unchanged_even_with_double_spaces():
    assert transliterate("a  b ") == "a  b "
    assert transliterate('Hello "world" - 1.5_x ...') == 'Hello "world" - 1.5_x ...'


def test_an_unknown_style_is_refused():
    with pytest.raises(ValueError, match="style"):
        transliterate("ა", style="fancy")


# -- properties -------------------------------------------------------------------

INTERESTING = "აბგჟღყშჩცძწჭხჯჰᲨᲐႠⴀЖжЩщЁёЪьЇїЄєҐґIİıßÆé\u0301,.!?…—–-“”«»'’ ()/:;&%+@#₾€$№\n\t\u200b"
ANY_TEXT = st.text(st.characters() | st.sampled_from(INTERESTING), max_size=60)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(ANY_TEXT, st.sampled_from(text.STYLES))
def test_transliterate_always_gives_text_the_gateway_accepts(source, style):
    result = transliterate(source, style)
    assert invalid_characters(result) == []
    if transliteration_needed(source):
        assert result == result.strip()
        assert "  " not in result


@FAST
@given(ANY_TEXT, st.sampled_from(text.STYLES))
def test_transliterate_is_idempotent(source, style):
    once = transliterate(source, style)
    assert transliterate(once, style) == once


@FAST
@given(st.text(st.sampled_from(sorted(ALLOWED_CHARACTERS))))
def test_text_the_gateway_accepts_comes_back_unchanged(source):
    assert transliterate(source) == source
    assert transliterate(source, "informal") == source


@settings(max_examples=100, deadline=None)
@given(ANY_TEXT)
def test_transliterate_honours_extra_characters(source):
    before = "".join(allowed_characters() - ALLOWED_CHARACTERS)
    set_extra_characters(",!?")
    try:
        result = transliterate(source)
        assert invalid_characters(result) == []
        assert set(result) <= ALLOWED_CHARACTERS | set(",!?")
    finally:
        set_extra_characters(before)


# -- parts and cost ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "parts"),
    [(0, 1), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_segments_at_the_boundaries(length, parts):
    assert segments("a" * length) == parts


@pytest.mark.parametrize(
    ("length", "recipients", "price", "tetri"),
    [(0, 1, 5, 5), (160, 1, 5, 5), (161, 1, 5, 10), (160, 3, 5, 15), (307, 2, 5, 30),
     (307, 2, 7, 42), (10, 0, 5, 0)],
)  # fmt: skip
def test_cost(length, recipients, price, tetri):
    assert cost("a" * length, recipients, price_per_part=price) == tetri


def test_cost_defaults_to_one_recipient_at_5_tetri():
    assert cost("hello") == 5


@pytest.mark.parametrize(("georgian", "mode", "latin"), [
    ("გამარჯობა, თქვენი შეკვეთა მზადაა! გთხოვთ მოხვიდეთ.", "sentences",
     "Gamarjoba. Tkveni shekveta mzadaa. Gtkhovt mokhvidet."),
    ("ნინო ბერიძე-ქავთარაძე", "words", "Nino Beridze-Kavtaradze"),
    ("თბილისი", "words", "Tbilisi"),
    ("привет, мир! ნინო", "sentences", "privet. mir. Nino"),  # written case is kept
    ("გამარჯობა, ნინო", None, "gamarjoba. nino"),  # the raw form stays exact
])
def test_transliteration_capitalizes_georgian_sentences_and_names_on_request(georgian, mode, latin):
    assert text.transliterate(georgian, capitalize=mode) == latin


def test_capitalizing_follows_the_commas_the_gateway_keeps():
    text.set_extra_characters(",")
    try:
        assert text.transliterate("გამარჯობა, ნინო. კარგად", capitalize="sentences") == (
            "Gamarjoba, nino. Kargad")
    finally:
        text.set_extra_characters("")


def test_cost_takes_a_count_or_an_iterable_of_numbers():
    assert text.cost("hi", 3) == 15
    assert text.cost("hi", ["599445448", "555123456"]) == 10
    assert text.cost("hi", (n for n in ["599445448"])) == 5
    for wrong in (2.5, "599445448", None, True):
        with pytest.raises(TypeError):
            text.cost("hi", wrong)
