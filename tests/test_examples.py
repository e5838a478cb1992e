"""The generic checks of every bilingual example folder (``data/examples/*``), one row per folder.

Each folder's README states its conventions; ``FOLDERS`` below holds the parameters they give the
shared checks of ``tests/example_checks.py`` (files, ids, pairs and splits; both sides sharing
refs, labels and relations; refs and sizes; span edges, layout blocks and repeated names; the
README's counts). What is particular to a folder is in ``tests/test_examples_<folder>.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable

import pytest

from tests.example_checks import (
    EXAMPLES,
    TRAILING_PUNCTUATION,
    check_files_and_pairs,
    check_in_one_block,
    check_no_unmarked_repeats,
    check_readme_counts,
    check_refs_and_relations,
    check_sides_agree,
    check_sizes,
    check_span_edges,
    load_examples,
)

#: at most this many relations per document (the densest press releases have 27; tests/viz renders
#: the densest of data/examples/press)
MAX_RELATIONS = 28
#: a leading article followed by a lower-case word ("le ministre", "the order"); fixed names keep
#: theirs ("La Spezia", "The Hague", "Les Républicains") and dates their number ("un an", "A year ago")
ARTICLES = re.compile(r"^(?i:le|la|les|des|du|the)\s+[a-zà-ÿ]")
#: the same or an elided article ("l'armée", "d'Airbus", "qu'Arquus")
ARTICLES_OR_ELISIONS = re.compile(r"^(?:(?i:le|la|les|des|du|the)\s+[a-zà-ÿ]|(?i:l|d|qu)['’])")
#: the same with the indefinite articles too ("une frégate", "a frigate")
ANY_ARTICLE_OR_ELISION = re.compile(r"^(?i:le|la|les|des|du|un|une|the|a|an)\s+[a-zà-ÿ]|^(?i:l|d|qu)['’]")


@dataclass(frozen=True)
class Folder:
    """What the generic checks expect of one folder; ``None`` (or ``False``) leaves a check out."""

    name: str
    #: ids are ``PREFIX-NNN-fr|en``
    prefix: str
    #: the folder holds exactly these files besides its README
    files: tuple[str, ...] | None = None
    #: exactly the pairs PREFIX-001 ... PREFIX-<n_pairs>
    n_pairs: int | None = None
    #: at least that many pairs
    min_pairs: int | None = None
    #: that many consecutive pairs per file, in the order of ``files``
    pairs_per_file: int | None = None
    #: bounds of the share of ``split: dev`` pairs; ``None``: every pair is ``split: train``
    dev_share: tuple[float, float] | None = None
    #: both sides use the same refs; ``False``: only a ref used on both sides must keep its label
    same_refs: bool = True
    #: both sides have the same relations (among the refs they share, without ``same_refs``)
    same_relations: bool = True
    #: the refs used on both sides number at least that share of each document's entities
    min_aligned_entities: float | None = None
    #: at least that share of a pair's refs are used on both sides
    min_shared_refs: float | None = None
    #: every entity has a ref, no relation twice, 1 to that many relations (the Doc is valid either way)
    max_relations: int | None = None
    #: a relation may go from an entity to itself
    self_relations: bool = True
    #: inclusive bounds of the number of entities and of words of a document
    entities: tuple[int, int] | None = None
    words: tuple[int, int] | None = None
    #: no line of a document is wider
    max_line_width: int | None = None
    #: no span starts with these articles, ends with ``trailing`` (a dotted abbreviation keeps its
    #: dot with ``abbreviation_dot``) or spans a blank line; with ``stripped``, nor has edge spaces;
    #: ``None``: the folder's own span rules, in its test file
    articles: re.Pattern[str] | None = None
    trailing: str = TRAILING_PUNCTUATION
    abbreviation_dot: bool = True
    stripped: bool = False
    #: no entity crosses a layout block
    one_block: bool = False
    #: a marked name is marked wherever it repeats
    repeats_marked: bool = False
    #: the README's relation counts (and, with ``readme_entities``, entity counts) are the files'
    readme: bool = False
    readme_entities: bool = True


#: procurement and security take this row with their own files (and entity bound) ...
ALLIANCES = Folder(
    "alliances", "all", n_pairs=20, pairs_per_file=5, max_relations=MAX_RELATIONS, entities=(10, 30),
    words=(110, 300), articles=ARTICLES_OR_ELISIONS, one_block=True, repeats_marked=True, readme=True,
    files=("01-alliance-structures.md", "02-bilateral-cooperation.md", "03-org-charts-and-appointments.md",
           "04-pdf-and-parliament.md"),
)
#: ... and general, speeches, wikinews and wire this one
PROFILES = Folder(
    "profiles", "profile", n_pairs=20, pairs_per_file=5, max_relations=MAX_RELATIONS, entities=(10, 30),
    words=(120, 350), max_line_width=90, articles=ARTICLES, one_block=True, repeats_marked=True, readme=True,
    files=("01-people.md", "02-companies.md", "03-units-and-institutions.md", "04-equipment-and-places.md"),
)
#: institutions and operations vary this one: at least 80 pairs, some in dev, refs shared only in part,
#: the folder's own span rules
INDUSTRY = Folder(
    "industry", "ind", min_pairs=80, dev_share=(0.10, 0.20), same_refs=False, same_relations=False,
    entities=(4, 18), words=(30, 180),
)

FOLDERS = (
    ALLIANCES,
    INDUSTRY,
    replace(INDUSTRY, name="institutions", prefix="inst", same_relations=True, min_aligned_entities=0.6,
            entities=(4, 15), words=(40, 160)),
    Folder(
        "news", "news", n_pairs=20, max_relations=MAX_RELATIONS, entities=(10, 30), words=(120, 350),
        articles=ARTICLES, one_block=True, readme=True,
        files=("01-world-wire.md", "02-naval-air-platforms.md", "03-titles-and-states.md", "04-pdf-and-web.md"),
    ),
    # up to 16 entities per document (institutions: 15): the generic-class pass marked the NATO
    # fighters of ops-046 and the Gepard ammunition of ops-078 in two documents that had 15
    replace(INDUSTRY, name="operations", prefix="ops", min_shared_refs=0.6, entities=(4, 16), words=(40, 160)),
    replace(ALLIANCES, name="procurement", prefix="acq", entities=(10, 32), files=(
        "01-orders-and-contracts.md", "02-export-deals.md", "03-industry-news-layout.md", "04-budget-and-programmes.md",
    )),
    # up to 33 entities per document (the rows built on PROFILES keep 30): the generic-class pass
    # marked the helicopters of profile-017, the threats of profile-018 and the aircraft types of
    # profile-020 in documents that had 30
    replace(PROFILES, entities=(10, 33)),
    # 25 pairs with one FR and one EN side each: at least 50 documents
    Folder("relations", "rel", min_pairs=25, max_relations=MAX_RELATIONS, articles=ARTICLES, readme=True,
           readme_entities=False),
    # up to 34 named entities per document (33 before): the relative-date pass marked the "last year"
    # of rep-002, a document that had 33
    Folder(
        "reports", "rep", n_pairs=20, max_relations=MAX_RELATIONS, self_relations=False, entities=(10, 34),
        words=(120, 350), articles=ANY_ARTICLE_OR_ELISION, trailing=".,;:!?»\"'’", abbreviation_dot=False,
        stripped=True, readme=True,
        files=("01-speeches-and-hearings.md", "02-industry-and-finance.md", "03-strategy-documents.md",
               "04-pdf-converted-reports.md"),
    ),
    # up to 31 entities per document (profiles' rows: 30): the relative-date pass marked the
    # "aujourd'hui"/"today" (then "now") of art-001, a document that had 30
    replace(PROFILES, name="articles", prefix="art", n_pairs=30, entities=(10, 31), files=(
        "01-encyclopedic-en.md", "02-encyclopedie-defense.md", "03-encyclopedic-en-2.md", "04-encyclopedie-fr-2.md",
        "05-encyclopedic-en-3.md", "06-encyclopedie-fr-3.md",
    )),
    replace(PROFILES, name="official", prefix="off", files=(
        "01-contract-announcements-en.md", "02-journal-officiel-fr.md", "03-questions-parlementaires-fr.md",
        "04-agency-notices-en.md",
    )),
    replace(PROFILES, name="general", prefix="gen", files=(
        "01-results-and-standings.md", "02-encyclopedic-articles.md", "03-world-news.md",
        "04-companies-and-institutions.md",
    )),
    replace(ALLIANCES, name="security", prefix="sec", entities=(10, 31), files=(
        "01-conflict-reporting.md", "02-peacekeeping-and-coalitions.md", "03-intelligence-style-reports.md",
        "04-security-briefs.md",
    )),
    # up to 32 entities per document (profiles' rows: 30): the generic-class pass marked the shells of
    # sp-016, a document that had 30
    replace(PROFILES, name="speeches", prefix="sp", articles=ARTICLES_OR_ELISIONS, entities=(10, 32), files=(
        "01-discours-ministeriels.md", "02-speeches-and-statements.md", "03-interviews-et-conferences.md",
        "04-questions-et-declarations.md",
    )),
    replace(PROFILES, name="wikinews", prefix="wn", articles=ARTICLES_OR_ELISIONS, files=(
        "01-politique-et-justice.md", "02-afrique-et-moyen-orient.md", "03-regions-et-faits-divers.md",
        "04-organisations-internationales.md",
    )),
    # up to 31 entities per document (profiles' rows: 30): the relative-date pass marked the
    # "this year"/"cette année" of wire-011, a document that had 30
    replace(PROFILES, name="wire", prefix="wire", entities=(10, 31), files=(
        "01-sports-results.md", "02-sports-news.md", "03-markets-and-companies.md", "04-politics-and-diplomacy.md",
    )),
    # 10 pairs, five per file (the brief's size for this folder)
    replace(PROFILES, name="communiques", prefix="com", n_pairs=10, files=(
        "01-communiques-ministeriels-fr.md", "02-press-releases-en.md",
    )),
    # 10 pairs (two files of 5), not profiles' 20, and up to 32 entities per document (profiles' rows:
    # 30: the generic-class pass marked the fighters of ref-002, a document that had 30, and the
    # relative-date pass its two "aujourd'hui"/"today" (then "now")); every other parameter is profiles'
    replace(PROFILES, name="reference", prefix="ref", n_pairs=10, entities=(10, 32), files=(
        "01-encyclopedic-en.md", "02-encyclopedie-fr.md",
    )),
    # 10 pairs in two files; a scraped trade-press page carries its site chrome (menu, breadcrumb,
    # byline, banners, related links, tags) around the article, hence the brief's larger sizes:
    # 200-450 words and 12-35 entities per document
    replace(PROFILES, name="trade", prefix="tp", n_pairs=10, entities=(12, 35), words=(200, 450),
            files=("01-presse-specialisee-fr.md", "02-trade-press-en.md")),
    # 10 pairs in two files; an annual-report page packs a flattened table (amounts and headcounts
    # per segment), lists of subsidiaries with country and share, or a board list with one title
    # per line, so a page of 150-230 words carries 30-35 entities: profiles' bound on words, up to
    # 35 entities per document
    replace(PROFILES, name="annual", prefix="ar", n_pairs=10, entities=(10, 35),
            files=("01-rapports-annuels-fr.md", "02-annual-reports-en.md")),
    # 10 pairs in two files; a scraped regional news page carries its site chrome around the article
    # (the site's name, breadcrumb towns, byline, photo credit, "Lire aussi"/"Related" link), five to
    # eight entities more than the article alone, hence up to 35 entities per document (profiles: 30);
    # the words stay within profiles' 120-350
    replace(PROFILES, name="regional", prefix="rg", n_pairs=10, entities=(10, 35),
            files=("01-presse-regionale-fr.md", "02-local-news-en.md")),
    # 10 pairs in two files; a morning digest (press review, newsletter, e-mail alert, agenda,
    # appointments column) packs one short item per story, each naming its source, states,
    # firms, equipment and officials: up to 45 entities per document (one per four to five
    # words), words within profiles' bounds
    replace(PROFILES, name="digests", prefix="dg", n_pairs=10, entities=(10, 45),
            files=("01-revues-de-presse-fr.md", "02-news-digests-en.md")),
    # 10 pairs in two files; a short news dispatch packs a headline, a dateline, a "Sources" list
    # (outlet and date per line), a "Voir aussi"/"Related" link and a tags line around a dense
    # story, hence the brief's sizes: 200-400 words and 30-50 entities per document
    replace(PROFILES, name="dispatches", prefix="dp", n_pairs=10, entities=(30, 50), words=(200, 400),
            files=("01-depeches-fr.md", "02-dispatches-en.md")),
    # 10 pairs in two files; a parliamentary record names a member, their honorific, constituency,
    # party and title, or addresses an office-holder by title, in almost every line (speaker
    # labels, witness lists, address blocks, a committee list): the brief's 250-450 words and
    # 25-45 entities per document; no span starts with an elided article either (as speeches)
    replace(PROFILES, name="hansard", prefix="hs", n_pairs=10, entities=(25, 45), words=(250, 450),
            articles=ARTICLES_OR_ELISIONS, files=("01-debats-fr.md", "02-debates-en.md")),
    # 10 pairs in two files of 6 and 4 pairs (English first, then French first), hence no
    # pairs_per_file; an encyclopedia article carries a lead, a flattened infobox, sections, a
    # "See also" list and numbered references, each dense with names of organisations, places and
    # dates: the brief's 250-450 words and 30-50 entities per document
    replace(PROFILES, name="encyclopedia", prefix="enc", n_pairs=10, pairs_per_file=None, entities=(30, 50),
            words=(250, 450), files=("01-encyclopedia-en.md", "02-encyclopedie-fr.md")),
    # 10 pairs in two files of 5, both French first; a news item of a collaborative or regional news
    # site carries a headline, a "Publié le" line, a dateline, a "Sources" list (outlet, title, date),
    # "Articles liés" and a category line around a story dense in organisations (parties, unions,
    # courts, councils, clubs, media, funds): the brief's 220-400 words and 30-50 entities per
    # document; no span starts with an elided article either (the folder teaches l'/d' outside spans)
    replace(PROFILES, name="chroniques", prefix="chr", n_pairs=10, entities=(30, 50), words=(220, 400),
            articles=ARTICLES_OR_ELISIONS, files=("01-chroniques-fr.md", "02-chroniques-fr.md")),
    # 10 pairs in two files of 5, both French first; short world-news items of a collaborative or
    # agency-fed site (same layout as chroniques) on armed groups, juntas and their councils,
    # militias, rebel coalitions and the crises around them (attacks and claims, a mission's
    # reaction, hostages, sanctions, a coup, a disputed election, displaced people, a trial), each
    # group ORG whatever its name looks like, beside leaders, states, places, tolls and dates: the
    # brief's 220-400 words and 30-50 entities per document; no span starts with an elided article
    replace(PROFILES, name="conflits", prefix="cf", n_pairs=10, entities=(30, 50), words=(220, 400),
            articles=ARTICLES_OR_ELISIONS, files=("01-groupes-armes-fr.md", "02-crises-et-elections-fr.md")),
    # 10 pairs in two files of 5 (French first, then English first); an equipment-dense document (a
    # fact sheet with its characteristics table, an order of battle, a trade-show catalogue page, a
    # test report, a transfer note, a magazine spotlight, a fleet table, a licensing table, museum
    # records) names a weapon or platform with its maker, buyer, count and measures in almost every
    # line: the brief's 220-400 words and 30-50 entities per document (51: the relative-date pass
    # marked the "ALSO THIS WEEK" heading of eq-008, a document that had 50)
    replace(PROFILES, name="equipement", prefix="eq", n_pairs=10, entities=(30, 51), words=(220, 400),
            files=("01-materiels-fr.md", "02-equipment-en.md")),
    # 10 pairs in two files (French first, then English first); a legal, regulatory or doctrinal
    # text cites other texts on nearly every line ("Vu" / "Having regard to" lists, lettered
    # references, recitals, footnotes) beside the bodies, signatories and dates around them: the
    # brief's 220-400 words and 30-50 entities per document; no span starts with an elided article
    # either (`l'[arrêté du 6 juillet 2021]`, `d'[obus de 155 mm]`, as chroniques)
    replace(PROFILES, name="juridique", prefix="jur", n_pairs=10, entities=(30, 50), words=(220, 400),
            articles=ARTICLES_OR_ELISIONS, files=("01-textes-fr.md", "02-texts-en.md")),
    # 10 pairs in two files of 5 (French first, then English first); an interview or a press
    # conference names its speakers in every turn (a title and a name in each speaker label,
    # journalists with their outlet, forms of address such as "Monsieur le ministre" or
    # "General"), around a standfirst, a byline, a broadcast or briefing header and answers dense
    # with orders, plants, programmes and figures: the brief's 200-450 words and 25-50 entities per
    # document; no span starts with an elided article either (as hansard and juridique)
    replace(PROFILES, name="entretiens", prefix="itw", n_pairs=10, entities=(25, 50), words=(200, 450),
            articles=ARTICLES_OR_ELISIONS, files=("01-entretiens-fr.md", "02-interviews-en.md")),
    # 10 pairs in two files of 5 (French first, then English first); a news or press page as a
    # scraper or a browser copy-paste delivers it keeps its site chrome around the article (site
    # name and menu line, breadcrumb, byline and update stamps, photo caption with its credit, an
    # embedded social post, tags, "Lire aussi"/"Related" headlines, newsletter box, contact block,
    # footer), each naming the site, the photographer and their organisation, places, units and
    # equipment again: the brief's 200-450 words and 25-50 entities per document; no span starts
    # with an elided article either (`l'[OCCAR]`, `d'[Estonie]`, as chroniques and juridique)
    replace(PROFILES, name="web", prefix="web", n_pairs=10, entities=(25, 50), words=(200, 450),
            articles=ARTICLES_OR_ELISIONS, files=("01-pages-fr.md", "02-pages-en.md")),
    # 10 pairs in two files of 5 (English first, then French first); a scraped encyclopedia article
    # on a general topic (an athlete, a musician, a club, a politician, a shipping line; a commune,
    # a university, a newspaper, a peninsula, a film studio) carries its flattened infobox, a lead,
    # sections with their edit links, a references list with publishers and dates and a categories
    # line, each dense in people, organisations, places, nationalities and dates: the brief's
    # 200-450 words and 25-50 entities per document; no span starts with an elided article either
    # (`l'[université Bretagne Sud]`, `d'[Orange]`, as chroniques and juridique)
    replace(PROFILES, name="wiki", prefix="wk", n_pairs=10, entities=(25, 50), words=(200, 450),
            articles=ARTICLES_OR_ELISIONS, files=("01-articles-en.md", "02-articles-fr.md")),
    # 10 pairs in two files (French first, then English first); a press kit converted from PDF
    # packs a cover with the issuers' logos as names, a table of contents, an editorial with its
    # signature, key-figure boxes flattened to one line per figure, a schedule by day and hour,
    # lists of nations, units, ships and aircraft, equipment fact boxes, biographies and contact
    # blocks, with page headers and footers left in the text: the brief's 200-450 words and
    # 25-50 entities per document; no span starts with an elided article either (as juridique)
    replace(PROFILES, name="dossiers", prefix="dos", n_pairs=10, entities=(25, 50), words=(200, 450),
            articles=ARTICLES_OR_ELISIONS, files=("01-dossiers-fr.md", "02-press-kits-en.md")),
    # 10 pairs in two files (English first, then French first); culture and events around defence
    # (films, books, games, exhibitions, festivals, prizes, commemorations, storms) where the names
    # of works, events, prizes, peoples and languages stand unmarked beside the organisations,
    # people and places that are marked: 150-400 words and 10-35 entities per document; no span
    # starts with an elided article either
    replace(PROFILES, name="culture", prefix="cul", n_pairs=10, entities=(10, 35), words=(150, 400),
            articles=ARTICLES_OR_ELISIONS, files=("01-culture-en.md", "02-culture-fr.md")),
    # 10 pairs in two files of 5 (English first, then French first); popular culture and sport
    # outside defence as an online encyclopedia or a news site gives them (bands and labels, a
    # series and its broadcaster, a games studio, a comics publisher, a fan convention, a rugby
    # club, a cycling race, a film festival, a radio station, a theatre company), where works,
    # events, prizes and products stand unmarked beside the organisations, people, places,
    # nationalities, dates and figures that are marked: 200-450 words and 25-50 entities per
    # document; no span starts with an elided article either
    replace(PROFILES, name="leisure", prefix="lei", n_pairs=10, entities=(25, 50), words=(200, 450),
            articles=ARTICLES_OR_ELISIONS, files=("01-leisure-en.md", "02-loisirs-fr.md")),
    # 10 pairs in two files (French first, then English first); think-tank and journal analyses as
    # converted from PDF, with author-year citations, footnote markers, footnotes and a
    # bibliography, dense in authors, institutes, publishers and years: 150-450 words and 15-45
    # entities per document; no span starts with an elided article either
    replace(PROFILES, name="analyses", prefix="ana", n_pairs=10, entities=(15, 45), words=(150, 450),
            articles=ARTICLES_OR_ELISIONS, files=("01-analyses-fr.md", "02-analyses-en.md")),
    # 10 pairs in two files (French first, then English first); official and industry posts on social
    # networks and messaging channels (threads, hashtags, @handles, emoji, thread counters, reposts,
    # shortened links, image descriptions): 120-400 words and 10-40 entities per document; no span
    # starts with an elided article either
    replace(PROFILES, name="social", prefix="soc", n_pairs=10, entities=(10, 40), words=(120, 400),
            articles=ARTICLES_OR_ELISIONS, files=("01-reseaux-fr.md", "02-social-en.md")),
    # 10 pairs in two files (English first, then French first); press material as it reaches an
    # inbox: media advisories, e-mailed releases and forwards with their header lines, quoted
    # replies, signatures and disclaimers, mailing-list newsletters with link lines: 150-450 words
    # and 15-45 entities per document; no span starts with an elided article either
    replace(PROFILES, name="courriels", prefix="mail", n_pairs=10, entities=(15, 45), words=(150, 450),
            articles=ARTICLES_OR_ELISIONS, files=("01-emails-en.md", "02-courriels-fr.md")),
    # 10 pairs in two files (French first, then English first); news and commentary about defence
    # texts (white papers, reviews, programming laws, budget bills, parliamentary and audit reports,
    # treaties and their withdrawals, summit declarations, EU regulations, court rulings), where
    # named texts stand beside generic mentions of them: 150-450 words and 15-45 entities per
    # document; no span starts with an elided article either
    replace(PROFILES, name="policy", prefix="pol", n_pairs=10, entities=(15, 45), words=(150, 450),
            articles=ARTICLES_OR_ELISIONS, files=("01-textes-actualite-fr.md", "02-policy-news-en.md")),
    # 10 pairs in two files (French first, then English first); transcripts of press conferences
    # and briefings (speaker labels, interpreters' notes, questions from named outlets, oral
    # style, stage notes): 200-450 words and 15-45 entities per document; no span starts with an
    # elided article either
    replace(PROFILES, name="conferences", prefix="conf", n_pairs=10, entities=(15, 45), words=(200, 450),
            articles=ARTICLES_OR_ELISIONS, files=("01-points-presse-fr.md", "02-briefings-en.md")),
    # 10 pairs in two files (English first, then French first); news and official updates on
    # armament programmes and defence initiatives (milestones, tranches, cooperation programmes,
    # funding instruments and shields, programme offices), where a programme stands beside the
    # platforms and weapons it delivers, the texts that found it and the bodies that run it:
    # 150-450 words and 15-45 entities per document; no span starts with an elided article either
    replace(PROFILES, name="programmes", prefix="prog", n_pairs=10, entities=(15, 45), words=(150, 450),
            articles=ARTICLES_OR_ELISIONS, files=("01-programmes-en.md", "02-programmes-fr.md")),
    # 10 pairs in two files (French first, then English first); appointments and organisation
    # (nomination decrees, appointment announcements, boards and executive committees,
    # organisation charts, hearing lists, handovers of command), dense in titles with and without
    # their holder: 150-450 words and 15-45 entities per document; no span starts with an elided
    # article either
    replace(PROFILES, name="nominations", prefix="nom", n_pairs=10, entities=(15, 45), words=(150, 450),
            articles=ARTICLES_OR_ELISIONS, files=("01-nominations-fr.md", "02-appointments-en.md")),
)


def each_folder(where: Callable[[Folder], object] = lambda f: True) -> pytest.MarkDecorator:
    """Parametrise a test over the folders of ``FOLDERS`` that ``where`` accepts, with their names as ids."""
    chosen = [f for f in FOLDERS if where(f)]
    return pytest.mark.parametrize("folder", chosen, ids=[f.name for f in chosen])


@each_folder()
def test_files_ids_pairs_and_splits(folder: Folder):
    check_files_and_pairs(
        EXAMPLES / folder.name, load_examples(folder.name), folder.prefix, files=folder.files, n_pairs=folder.n_pairs,
        min_pairs=folder.min_pairs, pairs_per_file=folder.pairs_per_file, dev_share=folder.dev_share,
    )


@each_folder()
def test_both_sides_share_refs_labels_and_relations(folder: Folder):
    check_sides_agree(
        load_examples(folder.name), same_refs=folder.same_refs, same_relations=folder.same_relations,
        min_aligned_entities=folder.min_aligned_entities, min_shared_refs=folder.min_shared_refs,
    )


@each_folder()
def test_refs_relations_and_sizes(folder: Folder):
    for d in load_examples(folder.name):
        if folder.max_relations is not None:
            check_refs_and_relations(d, folder.max_relations, folder.self_relations)
        else:
            assert folder.self_relations, "self_relations=False is checked along with max_relations"
            d.validate()
        check_sizes(d, folder.entities, folder.words, folder.max_line_width)


@each_folder(lambda f: f.articles or f.one_block or f.repeats_marked)
def test_span_edges_blocks_and_repeats(folder: Folder):
    for d in load_examples(folder.name):
        if folder.articles is not None:
            check_span_edges(d, folder.articles, folder.trailing, folder.abbreviation_dot, folder.stripped)
        if folder.one_block:
            check_in_one_block(d)
        if folder.repeats_marked:
            check_no_unmarked_repeats(d)


@each_folder(lambda f: f.readme)
def test_readme_counts_are_the_files_counts(folder: Folder):
    check_readme_counts(load_examples(folder.name), EXAMPLES / folder.name / "README.md", folder.readme_entities)
