"""Demonstration data: the real forums, with INVENTED people.

The forums, municipalities and organisations are the real bodies described in the context
texts (East Brabant and its Taskforce Spitsregio Leuven, the Toekomstforum Halle-Vilvoorde and
its thematic working groups, Charleroi Métropole, the Eurometropolis local consultation of
border municipalities). Every person is made up: names are invented and every address is a
plain @example.org mailbox, so no real mayor or official is named or mailed.

seed_demo is idempotent: forums are found by name, organisations by name and people by e-mail,
so a second run adds nothing but fresh API tokens (a clear token is only ever shown once).
It only flushes; the caller commits.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session as DBSession
from sqlmodel import col, select

from workflow import rules, spine
from workflow.auth import create_token
from workflow.models import Forum, ForumKind, Membership, Organisation, Person, Role

MUNICIPALITY = "municipality"
UNION = "union"
EMPLOYER = "employer_organisation"
PROVINCE = "province"
EXPERT = "expert_agency"
SUPPORT = "support_agency"
OTHER = "other"

# --- Organisations: (name, kind, country) ------------------------------------------------------

PROVINCIE = "Provincie Vlaams-Brabant"  # for the Taskforce: its dienst Economie
ERSV = "ERSV Vlaams-Brabant"
METROPOLE = "Charleroi Métropole"
UWE = "Union wallonne des entreprises"
AGENCY = "Agence de l'Eurométropole"
MOUSCRON = "Mouscron / Moeskroen"
COMINES_WARNETON = "Comines-Warneton / Komen-Waasten"

MUNICIPALITIES_BE: tuple[str, ...] = (
    # Oost-Brabant: the 30 municipalities of the Burgemeestersoverleg.
    "Leuven",
    "Tienen",
    "Aarschot",
    "Diest",
    "Landen",
    "Haacht",
    "Tervuren",
    "Bertem",
    "Kortenberg",
    "Herent",
    "Holsbeek",
    "Rotselaar",
    "Oud-Heverlee",
    "Bierbeek",
    "Boutersem",
    "Lubbeek",
    "Zoutleeuw",
    "Geetbets",
    "Glabbeek",
    "Kortenaken",
    "Linter",
    "Hoegaarden",
    "Begijnendijk",
    "Tremelo",
    "Keerbergen",
    "Boortmeerbeek",
    "Huldenberg",
    "Scherpenheuvel-Zichem",
    "Tielt-Winge",
    "Bekkevoort",
    # Halle-Vilvoorde.
    "Halle",
    "Vilvoorde",
    "Zaventem",
    "Grimbergen",
    "Asse",
    "Dilbeek",
    "Machelen",
    "Overijse",
    "Sint-Pieters-Leeuw",
    # Charleroi Métropole.
    "Charleroi",
    "Châtelet",
    "Fleurus",
    "Courcelles",
    "Montigny-le-Tilleul",
    "Chimay",
    "Thuin",
    # Eurometropolis, Belgian side.
    "Kortrijk",
    "Menen",
    "Wervik",
    MOUSCRON,
    COMINES_WARNETON,
    "Tournai",
)

MUNICIPALITIES_FR: tuple[str, ...] = (
    # Eurometropolis, French side.
    "Halluin",
    "Tourcoing",
    "Wattrelos",
    "Armentières",
    "Comines (France)",
    "Lille",
)

OTHER_ORGANISATIONS: tuple[tuple[str, str, str], ...] = (
    ("ACV", UNION, "BE"),
    ("ABVV", UNION, "BE"),
    ("ACLVB", UNION, "BE"),
    ("CSC", UNION, "BE"),
    ("FGTB", UNION, "BE"),
    ("VOKA", EMPLOYER, "BE"),
    ("UNIZO", EMPLOYER, "BE"),
    ("Boerenbond", EMPLOYER, "BE"),
    (UWE, EMPLOYER, "BE"),
    (PROVINCIE, PROVINCE, "BE"),
    ("Province de Hainaut", PROVINCE, "BE"),
    ("Wallonie", OTHER, "BE"),
    ("De Lijn", OTHER, "BE"),
    ("VDAB", EXPERT, "BE"),
    ("Le Forem", EXPERT, "BE"),
    ("Interleuven", SUPPORT, "BE"),
    (ERSV, SUPPORT, "BE"),
    (METROPOLE, SUPPORT, "BE"),
    (AGENCY, SUPPORT, "BE"),
)

# --- Forums: parents come before their children ------------------------------------------------

EUROMETROPOLE_AGENCY = "Agence de l'Eurométropole / Agentschap van de Eurometropool"

FORUMS: tuple[dict[str, Any], ...] = (
    {
        "key": "oost_brabant",
        "parent": None,
        "name": "Burgemeestersoverleg Oost-Brabant",
        "short_name": "BO Oost-Brabant",
        "kind": ForumKind.mayors_forum,
        "languages": ["nl"],
        "co_chairs_min": 1,
        "co_chairs_max": 2,
        "secretariat_name": "Interleuven",
        "secretariat_email": "burgemeestersoverleg@interleuven.example.org",
    },
    {
        "key": "taskforce_leuven",
        "parent": "oost_brabant",
        "name": "Taskforce Spitsregio Leuven",
        "short_name": "Spitsregio Leuven",
        "kind": ForumKind.taskforce,
        "languages": ["nl", "en"],
        "secretariat_name": ERSV,
        "secretariat_email": "taskforce.spitsregio@ersv.example.org",
        "report_lead_days": 5,
    },
    {
        "key": "halle_vilvoorde",
        "parent": None,
        "name": "Toekomstforum Halle-Vilvoorde",
        "short_name": "Toekomstforum",
        "kind": ForumKind.mayors_forum,
        "languages": ["nl", "fr"],
        "secretariat_name": ERSV,
        "secretariat_email": "toekomstforum@ersv.example.org",
    },
    {
        "key": "twg_werk",
        "parent": "halle_vilvoorde",
        "name": "Themawerkgroep Werk en Economie",
        "short_name": "TWG Werk en Economie",
        "kind": ForumKind.working_group,
        "languages": ["nl"],
        "secretariat_name": ERSV,
        "secretariat_email": "twg.werk@ersv.example.org",
    },
    {
        "key": "twg_mobiliteit",
        "parent": "halle_vilvoorde",
        "name": "Themawerkgroep Mobiliteit",
        "short_name": "TWG Mobiliteit",
        "kind": ForumKind.working_group,
        "languages": ["nl"],
        "secretariat_name": ERSV,
        "secretariat_email": "twg.mobiliteit@ersv.example.org",
    },
    {
        "key": "twg_onderwijs",
        "parent": "halle_vilvoorde",
        "name": "Themawerkgroep Onderwijs en Ontnederlandsing",
        "short_name": "TWG Onderwijs",
        "kind": ForumKind.working_group,
        "languages": ["nl"],
        "secretariat_name": ERSV,
        "secretariat_email": "twg.onderwijs@ersv.example.org",
    },
    {
        "key": "charleroi",
        "parent": None,
        "name": "Conférence des bourgmestres de Charleroi Métropole",
        "short_name": "Conférence des bourgmestres",
        "kind": ForumKind.mayors_forum,
        "languages": ["fr"],
        "secretariat_name": METROPOLE,
        "secretariat_email": "conference.bourgmestres@charleroi-metropole.example.org",
    },
    {
        "key": "charleroi_cds",
        "parent": "charleroi",
        "name": "Comité de développement stratégique de Charleroi Métropole",
        "short_name": "CDS Charleroi Métropole",
        "kind": ForumKind.committee,
        "languages": ["fr"],
        "secretariat_name": METROPOLE,
        "secretariat_email": "cds@charleroi-metropole.example.org",
    },
    {
        "key": "eurometropool",
        "parent": None,
        "name": (
            "Eurometropool \N{EN DASH} Lokaal overleg grensgemeenten / "
            "Concertation locale des communes frontalières"
        ),
        "short_name": "Lokaal overleg grensgemeenten",
        "kind": ForumKind.local_consultation,
        "languages": ["fr", "nl"],
        "co_chairs_min": 2,
        "co_chairs_max": 2,
        "co_chairs_distinct_countries": True,
        "secretariat_name": EUROMETROPOLE_AGENCY,
        "secretariat_email": "concertation.locale@eurometropole.example.org",
    },
)

# --- People (all invented): key -> (name, e-mail, language, organisation) ----------------------
# A person's country is their organisation's country.

# fmt: off
PEOPLE: dict[str, tuple[str, str, str, str]] = {
    # Oost-Brabant and the Taskforce Spitsregio Leuven.
    "oost_brabant_co_chair":
        ("Koen Vandersmissen", "koen.vandersmissen.tienen@example.org", "nl", "Tienen"),
    "oost_brabant_co_chair_2":
        ("Els Moens", "els.moens.aarschot@example.org", "nl", "Aarschot"),
    "oost_brabant_secretariat":
        ("Sofie Claes", "sofie.claes.interleuven@example.org", "nl", "Interleuven"),
    "taskforce_co_chair":
        ("Hanne Vanderlinden", "hanne.vanderlinden.leuven@example.org", "nl", "Leuven"),
    "taskforce_co_chair_2":
        ("Bart Claessens", "bart.claessens.diest@example.org", "nl", "Diest"),
    "taskforce_secretariat":
        ("Joris Maes", "joris.maes.ersv@example.org", "nl", ERSV),
    "taskforce_member":
        ("Wim Hermans", "wim.hermans.acv@example.org", "nl", "ACV"),
    "abvv_leuven":
        ("Sarah Jacobs", "sarah.jacobs.abvv@example.org", "nl", "ABVV"),
    "aclvb_leuven":
        ("Kristof Dewit", "kristof.dewit.aclvb@example.org", "nl", "ACLVB"),
    "voka_leuven":
        ("Ellen Vermeulen", "ellen.vermeulen.voka@example.org", "nl", "VOKA"),
    "unizo":
        ("Bram De Smedt", "bram.desmedt.unizo@example.org", "nl", "UNIZO"),
    "boerenbond":
        ("Jef Vanhoof", "jef.vanhoof.boerenbond@example.org", "nl", "Boerenbond"),
    # Provincie Vlaams-Brabant: dienst Economie, an observer, dienst Onderwijs.
    "provincie_economie":
        ("Tom Verhaegen", "tom.verhaegen.provincie@example.org", "nl", PROVINCIE),
    "provincie_observer":
        ("Liesbeth Wouters", "liesbeth.wouters.provincie@example.org", "nl", PROVINCIE),
    "provincie_onderwijs":
        ("Hilde Aerts", "hilde.aerts.provincie@example.org", "nl", PROVINCIE),
    # An English-speaking labour-market analyst.
    "vdab_leuven":
        ("Daniel Okafor", "daniel.okafor.vdab@example.org", "en", "VDAB"),
    "mayor_landen":
        ("Jan Vranckx", "jan.vranckx.landen@example.org", "nl", "Landen"),
    "mayor_haacht":
        ("Inge Mertens", "inge.mertens.haacht@example.org", "nl", "Haacht"),
    "mayor_tervuren":
        ("Stijn Willems", "stijn.willems.tervuren@example.org", "nl", "Tervuren"),
    "mayor_kortenberg":
        ("An Peeters", "an.peeters.kortenberg@example.org", "nl", "Kortenberg"),
    "mayor_herent":
        ("Dirk Lemmens", "dirk.lemmens.herent@example.org", "nl", "Herent"),
    "mayor_scherpenheuvel":
        ("Mia Goris", "mia.goris.scherpenheuvel@example.org", "nl", "Scherpenheuvel-Zichem"),
    # Toekomstforum Halle-Vilvoorde and its working groups.
    "halle_vilvoorde_co_chair":
        ("Lieve Vanderhaeghen", "lieve.vanderhaeghen.halle@example.org", "nl", "Halle"),
    "halle_vilvoorde_co_chair_2":
        ("Jeroen De Clercq", "jeroen.declercq.vilvoorde@example.org", "nl", "Vilvoorde"),
    "halle_vilvoorde_secretariat":
        ("Ann Goossens", "ann.goossens.ersv@example.org", "nl", ERSV),
    "mayor_zaventem":
        ("Karel Baert", "karel.baert.zaventem@example.org", "nl", "Zaventem"),
    "mayor_grimbergen":
        ("Veerle Lauwers", "veerle.lauwers.grimbergen@example.org", "nl", "Grimbergen"),
    "mayor_asse":
        ("Filip Cools", "filip.cools.asse@example.org", "nl", "Asse"),
    "mayor_dilbeek":
        ("Katrien Van Damme", "katrien.vandamme.dilbeek@example.org", "nl", "Dilbeek"),
    "mayor_machelen":
        ("Raf Huysmans", "raf.huysmans.machelen@example.org", "nl", "Machelen"),
    "mayor_overijse":
        ("Greet Verstraeten", "greet.verstraeten.overijse@example.org", "nl", "Overijse"),
    "mayor_sint_pieters_leeuw":
        ("Luc Schepens", "luc.schepens.sintpietersleeuw@example.org", "nl", "Sint-Pieters-Leeuw"),
    "acv_halle_vilvoorde":
        ("Yasmina El Amrani", "yasmina.elamrani.acv@example.org", "nl", "ACV"),
    "abvv_halle_vilvoorde":
        ("Michiel Coppens", "michiel.coppens.abvv@example.org", "nl", "ABVV"),
    "voka_halle_vilvoorde":
        ("Charlotte De Backer", "charlotte.debacker.voka@example.org", "nl", "VOKA"),
    "vdab_halle_vilvoorde":
        ("Nele Geerts", "nele.geerts.vdab@example.org", "nl", "VDAB"),
    "de_lijn":
        ("Pascal Vermeersch", "pascal.vermeersch.delijn@example.org", "nl", "De Lijn"),
    # Charleroi Métropole.
    "charleroi_co_chair":
        ("Geneviève Dubois", "genevieve.dubois.charleroi@example.org", "fr", "Charleroi"),
    "charleroi_co_chair_2":
        ("Benoît Lejeune", "benoit.lejeune.chimay@example.org", "fr", "Chimay"),
    "charleroi_secretariat":
        ("Céline Renard", "celine.renard.charleroi.metropole@example.org", "fr", METROPOLE),
    "mayor_thuin":
        ("Philippe Wauthier", "philippe.wauthier.thuin@example.org", "fr", "Thuin"),
    "mayor_chatelet":
        ("Jérôme Mathy", "jerome.mathy.chatelet@example.org", "fr", "Châtelet"),
    "mayor_fleurus":
        ("Isabelle Lambot", "isabelle.lambot.fleurus@example.org", "fr", "Fleurus"),
    "mayor_courcelles":
        ("Grégory Dumont", "gregory.dumont.courcelles@example.org", "fr", "Courcelles"),
    "mayor_montigny":
        ("Anaïs Lecomte", "anais.lecomte.montigny@example.org", "fr", "Montigny-le-Tilleul"),
    "hainaut":
        ("Hélène Piérard", "helene.pierard.hainaut@example.org", "fr", "Province de Hainaut"),
    "csc_charleroi":
        ("Thérèse Jacquet", "therese.jacquet.csc@example.org", "fr", "CSC"),
    "fgtb_charleroi":
        ("Frédéric Gilson", "frederic.gilson.fgtb@example.org", "fr", "FGTB"),
    "uwe_charleroi":
        ("Aurélie Henrard", "aurelie.henrard.uwe@example.org", "fr", UWE),
    "forem_charleroi":
        ("Marc Delvaux", "marc.delvaux.forem@example.org", "fr", "Le Forem"),
    "wallonie":
        ("Vincent Collard", "vincent.collard.wallonie@example.org", "fr", "Wallonie"),
    # Eurometropolis: one French and one Belgian co-chair.
    "eurometropool_co_chair_fr":
        ("Jean-Marc Dujardin", "jean-marc.dujardin.halluin@example.org", "fr", "Halluin"),
    "eurometropool_co_chair_be":
        ("Wouter Vanneste", "wouter.vanneste.menen@example.org", "nl", "Menen"),
    "eurometropool_secretariat":
        ("Camille Vanhoutte", "camille.vanhoutte.eurometropole@example.org", "fr", AGENCY),
    "mayor_wervik":
        ("Griet Deconinck", "griet.deconinck.wervik@example.org", "nl", "Wervik"),
    "mayor_mouscron":
        ("Anne-Sophie Decroix", "anne-sophie.decroix.mouscron@example.org", "fr", MOUSCRON),
    "mayor_comines_warneton":
        ("Rémi Vandeputte", "remi.vandeputte.comines-warneton@example.org", "fr", COMINES_WARNETON),
    "mayor_tournai":
        ("Marie-Christine Leroy", "marie-christine.leroy.tournai@example.org", "fr", "Tournai"),
    "mayor_tourcoing":
        ("Bénédicte Lemaire", "benedicte.lemaire.tourcoing@example.org", "fr", "Tourcoing"),
    "mayor_wattrelos":
        ("Olivier Descamps", "olivier.descamps.wattrelos@example.org", "fr", "Wattrelos"),
    "mayor_armentieres":
        ("Stéphanie Caron", "stephanie.caron.armentieres@example.org", "fr", "Armentières"),
    "mayor_comines_fr":
        ("Hervé Lefebvre", "herve.lefebvre.comines@example.org", "fr", "Comines (France)"),
    "lille_observer":
        ("Sophie Vasseur", "sophie.vasseur.lille@example.org", "fr", "Lille"),
}
# fmt: on

# --- Memberships: forum key -> ((person key, role), ...) ---------------------------------------

CO_CHAIR = Role.co_chair
SECRETARIAT = Role.secretariat
MEMBER = Role.member
OBSERVER = Role.observer

MEMBERSHIPS: dict[str, tuple[tuple[str, Role], ...]] = {
    "oost_brabant": (
        ("oost_brabant_co_chair", CO_CHAIR),
        ("oost_brabant_co_chair_2", CO_CHAIR),
        ("oost_brabant_secretariat", SECRETARIAT),
        ("taskforce_co_chair", MEMBER),
        ("taskforce_co_chair_2", MEMBER),
        ("mayor_landen", MEMBER),
        ("mayor_haacht", MEMBER),
        ("mayor_tervuren", MEMBER),
        ("mayor_kortenberg", MEMBER),
        ("mayor_herent", MEMBER),
        ("mayor_scherpenheuvel", MEMBER),
        ("provincie_observer", OBSERVER),
    ),
    "taskforce_leuven": (
        ("taskforce_co_chair", CO_CHAIR),
        ("taskforce_co_chair_2", CO_CHAIR),
        ("taskforce_secretariat", SECRETARIAT),
        ("taskforce_member", MEMBER),
        ("abvv_leuven", MEMBER),
        ("aclvb_leuven", MEMBER),
        ("voka_leuven", MEMBER),
        ("unizo", MEMBER),
        ("boerenbond", MEMBER),
        ("provincie_economie", MEMBER),
        ("vdab_leuven", MEMBER),
        # Interleuven staff follow the Taskforce for the Burgemeestersoverleg.
        ("oost_brabant_secretariat", OBSERVER),
    ),
    "halle_vilvoorde": (
        ("halle_vilvoorde_co_chair", CO_CHAIR),
        ("halle_vilvoorde_co_chair_2", CO_CHAIR),
        ("halle_vilvoorde_secretariat", SECRETARIAT),
        ("mayor_zaventem", MEMBER),
        ("mayor_grimbergen", MEMBER),
        ("mayor_asse", MEMBER),
        ("mayor_dilbeek", MEMBER),
        ("mayor_machelen", MEMBER),
        ("mayor_overijse", MEMBER),
        ("mayor_sint_pieters_leeuw", MEMBER),
        ("provincie_observer", OBSERVER),
    ),
    "twg_werk": (
        ("mayor_zaventem", CO_CHAIR),
        ("mayor_machelen", CO_CHAIR),
        ("halle_vilvoorde_secretariat", SECRETARIAT),
        ("acv_halle_vilvoorde", MEMBER),
        ("abvv_halle_vilvoorde", MEMBER),
        ("voka_halle_vilvoorde", MEMBER),
        ("unizo", MEMBER),
        ("vdab_halle_vilvoorde", MEMBER),
        ("provincie_economie", MEMBER),
        ("provincie_observer", OBSERVER),
    ),
    "twg_mobiliteit": (
        ("mayor_grimbergen", CO_CHAIR),
        ("mayor_overijse", CO_CHAIR),
        ("halle_vilvoorde_secretariat", SECRETARIAT),
        ("halle_vilvoorde_co_chair_2", MEMBER),
        ("mayor_dilbeek", MEMBER),
        ("mayor_asse", MEMBER),
        ("de_lijn", MEMBER),
        ("voka_halle_vilvoorde", MEMBER),
        ("provincie_observer", OBSERVER),
    ),
    "twg_onderwijs": (
        ("halle_vilvoorde_co_chair", CO_CHAIR),
        ("mayor_sint_pieters_leeuw", CO_CHAIR),
        ("halle_vilvoorde_secretariat", SECRETARIAT),
        ("mayor_dilbeek", MEMBER),
        ("mayor_asse", MEMBER),
        ("vdab_halle_vilvoorde", MEMBER),
        ("acv_halle_vilvoorde", MEMBER),
        ("provincie_onderwijs", MEMBER),
        ("provincie_observer", OBSERVER),
    ),
    "charleroi": (
        ("charleroi_co_chair", CO_CHAIR),
        ("charleroi_co_chair_2", CO_CHAIR),
        ("charleroi_secretariat", SECRETARIAT),
        ("mayor_thuin", MEMBER),
        ("mayor_chatelet", MEMBER),
        ("mayor_fleurus", MEMBER),
        ("mayor_courcelles", MEMBER),
        ("mayor_montigny", MEMBER),
        ("hainaut", OBSERVER),
    ),
    "charleroi_cds": (
        ("charleroi_co_chair", CO_CHAIR),
        ("mayor_thuin", CO_CHAIR),
        ("charleroi_secretariat", SECRETARIAT),
        ("csc_charleroi", MEMBER),
        ("fgtb_charleroi", MEMBER),
        ("uwe_charleroi", MEMBER),
        ("forem_charleroi", MEMBER),
        ("hainaut", MEMBER),
        ("mayor_chatelet", MEMBER),
        ("mayor_courcelles", MEMBER),
        ("wallonie", OBSERVER),
    ),
    "eurometropool": (
        ("eurometropool_co_chair_fr", CO_CHAIR),
        ("eurometropool_co_chair_be", CO_CHAIR),
        ("eurometropool_secretariat", SECRETARIAT),
        ("mayor_wervik", MEMBER),
        ("mayor_mouscron", MEMBER),
        ("mayor_comines_warneton", MEMBER),
        ("mayor_tournai", MEMBER),
        ("mayor_tourcoing", MEMBER),
        ("mayor_wattrelos", MEMBER),
        ("mayor_armentieres", MEMBER),
        ("mayor_comines_fr", MEMBER),
        ("lille_observer", OBSERVER),
    ),
}

# Only these people get an API token: (person key, forum key their role is taken from).
TOKENS: tuple[tuple[str, str], ...] = (
    ("taskforce_co_chair", "taskforce_leuven"),
    ("taskforce_co_chair_2", "taskforce_leuven"),
    ("taskforce_secretariat", "taskforce_leuven"),
    ("eurometropool_co_chair_fr", "eurometropool"),
    ("eurometropool_co_chair_be", "eurometropool"),
    ("eurometropool_secretariat", "eurometropool"),
)


@dataclass
class DemoSeed:
    forums: dict[str, int] = field(default_factory=dict)  # short key -> forum id
    people: dict[str, int] = field(default_factory=dict)  # short key -> person id
    # (person name, role description, clear API token): shown once, never stored.
    tokens: list[tuple[str, str, str]] = field(default_factory=list)


def _organisation(db: DBSession, name: str, kind: str, country: str) -> Organisation:
    row = db.exec(select(Organisation).where(col(Organisation.name) == name)).first()
    if row is None:
        row = Organisation(name=name, kind=kind, country=country)
        db.add(row)
        db.flush()
    return row


def _forum(db: DBSession, spec: dict[str, Any], parent_id: int | None) -> Forum:
    fields = {k: v for k, v in spec.items() if k not in ("key", "parent")}
    row = db.exec(select(Forum).where(col(Forum.name) == fields["name"])).first()
    if row is None:
        row = Forum(**fields, parent_id=parent_id)
        rules.check_co_chair_policy(
            row.co_chairs_min, row.co_chairs_max, row.co_chairs_distinct_countries
        )
        db.add(row)
        db.flush()
        spine.record(
            db, "seed", "forum.created", forum_id=row.id, name=row.name, parent_id=parent_id
        )
    return row


def _person(db: DBSession, name: str, email: str, language: str, org: Organisation) -> Person:
    email = email.lower()
    row = db.exec(select(Person).where(col(Person.email) == email)).first()
    if row is None:
        row = Person(
            name=name, email=email, language=language, country=org.country, organisation_id=org.id
        )
        db.add(row)
        db.flush()
    return row


def _membership(db: DBSession, forum_id: int, person_id: int, role: Role) -> None:
    existing = db.exec(
        select(Membership).where(
            col(Membership.forum_id) == forum_id, col(Membership.person_id) == person_id
        )
    ).first()
    if existing is None:
        db.add(Membership(forum_id=forum_id, person_id=person_id, role=role))
        db.flush()


def seed_demo(db: DBSession) -> DemoSeed:
    """Create (or find) the demo forums, organisations, people and memberships, and issue fresh
    API tokens for the Taskforce's and the Eurometropolis consultation's managers."""
    result = DemoSeed()

    organisations: dict[str, Organisation] = {}
    for name in MUNICIPALITIES_BE:
        organisations[name] = _organisation(db, name, MUNICIPALITY, "BE")
    for name in MUNICIPALITIES_FR:
        organisations[name] = _organisation(db, name, MUNICIPALITY, "FR")
    for name, kind, country in OTHER_ORGANISATIONS:
        organisations[name] = _organisation(db, name, kind, country)

    forums: dict[str, Forum] = {}
    for spec in FORUMS:
        parent_id = forums[spec["parent"]].id if spec["parent"] else None
        forums[spec["key"]] = _forum(db, spec, parent_id)
    result.forums = {key: forum.id for key, forum in forums.items() if forum.id is not None}

    people: dict[str, Person] = {}
    for key, (name, email, language, org_name) in PEOPLE.items():
        people[key] = _person(db, name, email, language, organisations[org_name])
    result.people = {key: person.id for key, person in people.items() if person.id is not None}

    for forum_key, members in MEMBERSHIPS.items():
        for person_key, role in members:
            _membership(db, result.forums[forum_key], result.people[person_key], role)

    roles = {(f, p): role for f, members in MEMBERSHIPS.items() for p, role in members}
    for person_key, forum_key in TOKENS:
        person = people[person_key]
        role_name = roles[(forum_key, person_key)].replace("_", "-")
        description = f"{role_name}, {forums[forum_key].name}"
        _, token = create_token(db, f"demo: {person.name}", person_id=person.id)
        result.tokens.append((person.name, description, token))
    return result
