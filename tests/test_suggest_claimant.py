"""Issue 14: claimant and restatement suggested from the quote and the article's attribution."""

from pathlib import Path

import pytest

from annotations.matching import suggest_claimant_and_restatement

ARTICLES = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "articles").glob("0*.txt"))


def article(n: int) -> str:
    return ARTICLES[n].read_text()


@pytest.mark.parametrize(("n", "quote", "claimant"), [
    # "..., said the Russian official": the name is in the sentence before
    (0, "I would like to stress we have a written request from Bashar Assad", "Antonov"),
    # title words dropped; "said Moscow" after the verb is the claim, not the speaker
    (0, "Moscow has not yet received a request for military assistance", "Anatoly Antonov"),
    # the quote opens in an earlier sentence: "… ,” said Hakim al-Zamili"
    (0, "Iraq will be forced to ask Russia to launch airstrikes", "Hakim al-Zamili"),
    (1, "It is a possibility", "Abadi"),
    (1, "we have difficulty understanding the principles on which the coalition is acting", "Rogachyov"),
    # "… ,” Al-Zamili told reporters."
    (2, "We might be obliged to request Russia to carry out air strikes in Iraq", "Al-Zamili"),
    (2, "Baghdad could ask for Russian airstrikes against Daesh in Iraq", "Al-Zamili"),
    # attribution in the sentence before the quote
    (4, "In actual fact, I would welcome it.", "Abadi"),
    # "… ,” Abadi told France 24 television: the outlet is not the speaker
    (4, "It’s a possibility, if we get the offer we’ll consider it", "Abadi"),
    # "…,” he said: the pronoun points back to the last named speaker
    (4, "that will be a good day for Iraq, Syria, for the region", "Abadi"),
])
def test_claimant_from_the_attribution_in_the_article(n, quote, claimant):
    assert suggest_claimant_and_restatement(quote, article(n))[0] == claimant


def test_restatement_resolves_first_person_and_drops_quotes():
    _, restatement = suggest_claimant_and_restatement("In actual fact, I would welcome it.", article(4))
    assert restatement == "In actual fact, Abadi would welcome it."
    _, restatement = suggest_claimant_and_restatement(
        "we have difficulty understanding the principles on which the coalition is acting", article(1))
    assert restatement.startswith("Rogachyov has difficulty")
    _, restatement = suggest_claimant_and_restatement("It’s a possibility, if we get the offer we’ll consider it",
                                                      article(4))
    assert "It’s" in restatement and "Abadi will consider it" in restatement


def test_long_quote_is_cut_at_a_clause_and_attribution_is_stripped():
    quote = ("I think there’s a lot of political bickering at the moment, which may make things worse, "
             "but if we can direct our resources toward fighting them, that will be a good day for Iraq")
    _, restatement = suggest_claimant_and_restatement(quote, article(4))
    assert len(restatement) <= 76 and restatement.endswith(".")
    assert not restatement.startswith("I think")
    assert suggest_claimant_and_restatement("“Not yet,” said Lavrov.", "") == ("Lavrov", "Not yet.")
    assert suggest_claimant_and_restatement(
        "Strikes will go on", "Strikes will go on, according to the Kremlin.") == ("Kremlin", "Strikes will go on.")


def test_no_attribution_gives_empty_claimant_and_quote_text():
    assert suggest_claimant_and_restatement("Prices rose", "Prices rose. Nobody knows why.") == ("", "Prices rose.")
    assert suggest_claimant_and_restatement("", "") == ("", "")


# --- The editor offers them -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("panel", [False, True])
def test_the_editor_offers_claimant_and_restatement_only_for_empty_fields(client, article, alice, panel):
    import re

    from django.urls import reverse

    from annotations.services.claims import claim_create, claim_update

    quote = "It is a possibility."
    version = article.versions.get()
    start = version.text.index(quote)
    claim = claim_create(actor=alice, article=article, version=version, exact=quote, start=start,
                         end=start + len(quote))
    url = reverse("claim_edit", args=[article.workspace.slug, claim.pk]) + ("?panel=1" if panel else "")
    client.force_login(alice)

    def offers() -> dict[str, str]:
        html = client.get(url).content.decode()
        return dict(re.findall(
            r'<button type="button" class="use-suggestion" data-target="id_(\w+)" data-value="([^"]*)"', html))

    assert offers() == {"claimant": "Abadi", "claim_reviewed": "It is a possibility."}
    claim_update(claim=claim, actor=alice, revision=claim.revision, fields={"claimant": "Haider al-Abadi"})
    assert offers() == {"claim_reviewed": "It is a possibility."}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_using_a_suggestion_fills_the_field_and_keeps_it_editable(page, live_server, article, alice):
    from annotations.services.claims import claim_create

    quote = "he had been receiving “massive information”"
    version = article.versions.get()
    start = version.text.index(quote)
    claim = claim_create(actor=alice, article=article, version=version, exact=quote, start=start,
                         end=start + len(quote))
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/w/{article.workspace.slug}/claims/{claim.pk}/")
    assert page.input_value("#id_claimant") == ""  # nothing is filled in without asking
    page.get_by_test_id("suggest-claimant").click()
    assert page.input_value("#id_claimant") == "Haider al-Abadi"
    assert page.get_by_test_id("suggest-claimant").count() == 0
    page.fill("#id_claimant", "Haider al-Abadi, Iraq's prime minister")
    page.get_by_role("button", name="Save claim").click()
    page.wait_for_load_state("load")
    claim.refresh_from_db()
    assert claim.claimant == "Haider al-Abadi, Iraq's prime minister"
