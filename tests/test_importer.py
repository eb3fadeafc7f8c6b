import io
import shutil
import unicodedata

import pytest
from django.core.management import CommandError, call_command

from annotations.importing import canonical_text, parse_html, text_sha256
from annotations.models import Article, ArticleVersion
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

ARTICLES = ROOT / "fixtures" / "articles"
DATA = ROOT / "tests" / "data"


def run_import(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_articles", *map(str, args), "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_canonical_text_is_nfc_with_plain_line_ends():
    raw = "\ufeffCafe\u0301 line one  \r\nline two\r\n\r\n"
    text = canonical_text(raw)
    assert text == "Café line one\nline two"
    assert unicodedata.is_normalized("NFC", text)


def test_importing_the_demo_articles_twice_changes_nothing(desk):
    out, _ = run_import(ARTICLES, "--workspace", desk.slug)
    assert "5 new article(s)" in out
    rows = sorted(ArticleVersion.objects.values_list("article__title", "number", "sha256"))

    out, _ = run_import(ARTICLES, "--workspace", desk.slug)
    assert "0 new article(s), 0 new version(s), 5 unchanged" in out
    assert sorted(ArticleVersion.objects.values_list("article__title", "number", "sha256")) == rows


def test_a_plain_text_title_is_its_first_non_empty_line(desk, tmp_path):
    path = tmp_path / "story.txt"
    path.write_text("\n\n  Headline here  \nBody of the story.\n")
    run_import(path, "--workspace", desk.slug)
    article = Article.objects.get()
    assert article.title == "Headline here"
    assert article.versions.get().text == "Headline here\nBody of the story."


def test_a_changed_text_for_the_same_title_becomes_a_new_version(desk, tmp_path):
    source = ARTICLES / "002_c9114a08667e44a1.txt"
    first = tmp_path / "memo.txt"
    shutil.copy(source, first)
    run_import(first, "--workspace", desk.slug, "--title", "Baghdad may ask Russia")

    corrected = tmp_path / "memo-corrected.txt"
    corrected.write_text(source.read_text().replace("Daseh", "Daesh"))
    out, _ = run_import(corrected, "--workspace", desk.slug, "--title", "Baghdad may ask Russia")

    assert "1 new version(s)" in out
    article = Article.objects.get()
    versions = list(article.versions.order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert "Daseh" in versions[0].text and "Daseh" not in versions[1].text
    assert versions[1].sha256 == text_sha256(versions[1].text)


def test_a_bad_file_is_named_in_one_line_and_the_rest_still_import(desk, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("A good article\nWith a body.")
    binary = tmp_path / "broken.txt"
    binary.write_bytes(b"\xff\xfe\x00 not utf-8 \x80")
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n\n")
    wrong_type = tmp_path / "scan.pdf"
    wrong_type.write_bytes(b"%PDF-1.4")
    missing = tmp_path / "missing.txt"

    with pytest.raises(CommandError) as excinfo:
        out, err = io.StringIO(), io.StringIO()
        call_command(
            "import_articles", *map(str, [binary, good, empty, wrong_type, missing]),
            "--workspace", desk.slug, "--no-progress", stdout=out, stderr=err,
        )
    errors = err.getvalue().strip().splitlines()
    assert errors == [
        f"error: {binary}: it is not UTF-8 text (byte 0 cannot be decoded)",
        f"error: {empty}: it contains no text",
        f"error: {wrong_type}: its type .pdf is not supported; use .txt or .html",
        f"error: {missing}: it does not exist",
    ]
    assert "1 new article(s)" in str(excinfo.value) and "4 failed" in str(excinfo.value)
    assert list(Article.objects.values_list("title", flat=True)) == ["A good article"]


def test_an_unknown_workspace_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no workspace with the slug 'nope'"):
        run_import(ARTICLES, "--workspace", "nope")


def test_html_is_reduced_to_its_main_text_and_metadata():
    parsed = parse_html((DATA / "article.html").read_text())
    assert parsed.title == "Zamili: Baghdad could ask Moscow for airstrikes"
    assert parsed.publisher == "Example Wire"
    assert parsed.url == "https://wire.example.org/2015/10/zamili-airstrikes"
    assert "in the coming few days or weeks" in parsed.text
    assert "Subscribe to our newsletter" not in parsed.text
    assert "Sport" not in parsed.text


def test_an_html_file_imports_with_its_url_and_a_changed_page_adds_a_version(desk, tmp_path):
    run_import(DATA / "article.html", "--workspace", desk.slug)
    changed = tmp_path / "article.html"
    changed.write_text((DATA / "article.html").read_text().replace("Wednesday", "Tuesday"))
    run_import(changed, "--workspace", desk.slug)
    article = Article.objects.get()
    assert article.url == "https://wire.example.org/2015/10/zamili-airstrikes"
    assert article.versions.count() == 2
