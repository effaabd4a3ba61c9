"""Layer 1, ingest: where a capitalised run of words names a thing bought, not a person.

"a box of Earl Grey", "3 x Dr Pepper", "out of Dr Pepper", "my Taylor guitar", "Mrs. Meyer's
hand soap", "Earl Grey is sold out", "a subscription to Sky Glass", "Tom Ford Noir (50 ml)":
the words around the run say product — a container or a quantity before it, a product's noun
or a size after it, a stock phrase after it — and so does a short list of products shaped
like people's names that ships with the code ("Earl Grey", "Dr Pepper", "Mrs. Meyer's"). The
person detector reads a run in product context as no person, and never spreads a name found
elsewhere in the text to it ("I'm Taylor Mason … my Taylor guitar").
"""

# A hand-kept list rather than a package: we found no brand lexicon on the package index that
# ships offline and is not a scrape of trademarks; the cues above do most of the work, the
# list catches the famous names that stand without them ("Can I get Dr Pepper?").

from __future__ import annotations

import re

from seamline.ingest._people_words import KNOWN_ORGS


def _words(text: str) -> frozenset[str]:
    return frozenset(w.strip() for w in text.split("|") if w.strip())


# "a box of …", "zwei Dosen …": the word before "of" (or its language's form).
CONTAINERS = _words("""
box|boxes|tin|tins|bottle|bottles|can|cans|pack|packs|packet|packets|tub|tubs|jar|jars|bag
|bags|case|cases|carton|cartons|crate|crates|cup|cups|pint|pints|glass|glasses|bar|bars|tube
|tubes|sachet|sachets|litre|litres|liter|liters|kg|g|ml|oz|lb|lbs|pound|pounds|dozen|pair
|pairs|roll|rolls|refill|refills|sample|samples|jug|jugs|keg|kegs|pot|pots|tray|trays|pouch
|pouches|stick|sticks|slice|slices|scoop|scoops|shot|shots|flask|flasks|six-pack|multipack
|subscription|supply|order|shipment|delivery|batch|sleeve|sleeves|packung|packungen|dose
|dosen|flasche|flaschen|kiste|kisten|tasse|tassen|glas|gläser|tüte|tüten|boîte|boîtes
|bouteille|bouteilles|paquet|paquets|sachet|canette|canettes|caja|cajas|botella|botellas
|lata|latas|paquete|paquetes|bolsa|bolsas|scatola|scatole|bottiglia|bottiglie|lattina
|lattine|confezione|confezioni|pacco|pacchi|doos|dozen|fles|flessen|blik|blikken|pak|pakken
|caixa|caixas|garrafa|garrafas|pacote|pacotes
""")
# "of" in the languages read: "a box of", "eine Packung" (none), "une boîte de", "una caja de".
_OF = frozenset(("of", "de", "d'", "di", "del", "della", "van", "do", "da"))
# Right before the run: "out of", "ran out of", "subscription to", "restock", "2 x".
_BEFORE_PHRASES = _words("""
out of|ran out of|run out of|sold out of|subscription to|subscribed to|subscribe to
|restock|restocked|reorder|reordered|flavour|flavor|brand
""")
# A product's noun after the run: "Earl Grey tea", "Taylor guitar", "Meyer's hand soap".
PRODUCT_NOUNS = _words("""
tea|teas|coffee|coffees|espresso|blend|soap|soaps|hand soap|dish soap|shampoo|lotion|candle
|candles|perfume|fragrance|cologne|lager|ale|beer|beers|whisky|whiskey|bourbon|gin|vodka|rum
|wine|cider|soda|sodas|cola|juice|ice cream|cereal|chocolate|chocolates|sauce|guitar|guitars
|amp|sneakers|trainers|boots|jeans|handbag|gift card|gift cards|giftcard|voucher|vouchers
|plan|plans|subscription|subscriptions|bundle|edition|flavour|flavours|flavor|flavors|scent
|scents|refill|refills|range|collection|pods|capsules|tins|bottles|cans|multipack|tier
|licence|licenses|license|licences|seat|seats|add-on|addon|integration|workbook|template
|spreadsheet|spreadsheets|tee|kaffee|seife|bier|thé|café|savon|bière|té|jabón|cerveza|tè
|sapone|birra|thee|koffie|zeep|chá|sabonete|cerveja
""")
# Of those, the ones that stand for a product after any capitalised run; the rest
# ("plan", "seat", "range") only after "the", "my", "our" or a quantity before the run.
_SAFE_NOUNS = PRODUCT_NOUNS - _words("""
plan|plans|range|collection|tier|seat|seats|integration|template|edition|bundle|licence
|licenses|license|licences|add-on|addon|workbook|café|thé|té|tè|tee
""")
_DETERMINERS = frozenset(("the", "my", "our", "your", "their", "his", "her", "a", "an", "this",
                          "that", "these", "those", "some", "any", "der", "die", "das", "den",
                          "le", "la", "les", "el", "los", "las", "il", "lo", "het", "o", "os"))
_STOCK_AFTER = re.compile(
    r"[ \t]+(?:is|are|was|were|ist|sind|est|sont|está|están|è|sono|is|zijn)[ \t]+(?:sold[ \t]out"
    r"|out[ \t]of[ \t]stock|back[ \t]in[ \t]stock|in[ \t]stock|discontinued|on[ \t]sale"
    r"|ausverkauft|wieder[ \t]da|en[ \t]rupture|épuisé|agotado|agotados|esaurito|esauriti"
    r"|uitverkocht|esgotado)", re.IGNORECASE)
_SIZE_AFTER = re.compile(r"[ \t]*\(?\d+(?:[.,]\d+)?[ \t]?(?:g|kg|ml|cl|l|oz|fl[ \t]?oz|lb|lbs"
                         r"|ct|pack|pk|x)\b|[ \t]+[x×][ \t]?\d+\b", re.IGNORECASE)
_NOUN_AFTER = re.compile(r"(?:['’]s)?[ \t]+([a-zà-ÿ]+(?:[ \t\-][a-zà-ÿ]+)?)")

# Products and brands shaped like people's names, which stand as products with no cue.
KNOWN_PRODUCTS = _words("""
earl grey|lady grey|dr pepper|dr. pepper|mrs meyer's|mrs. meyer's|mrs meyers|ben & jerry's
|ben and jerry's|jack daniel's|jack daniels|johnnie walker|jim beam|captain morgan|jose cuervo
|sam adams|samuel adams|tom ford|ruby tuesday|uncle ben's|aunt jemima|betty crocker
|chef boyardee|little debbie|sara lee|orville redenbacher|paul mitchell|kenneth cole
|vera wang|mr clean|mr. clean|mr muscle|mr. muscle|mr kipling|dr oetker|dr. oetker
|dr martens|dr. martens|dr. scholl's|dr scholl's|dr bronner's|dr. bronner's|mrs. butterworth's
|mrs butterworth's|old spice|tommy hilfiger|calvin klein|ralph lauren|hugo boss|ted baker
|jimmy choo|jo malone|marc jacobs|michael kors|kate spade|tory burch|estée lauder
|estee lauder|john deere|ray ban|ray-ban|fred perry|paul smith|ben sherman|laura ashley
|stella mccartney|charlotte tilbury|bobbi brown|mary kay|jack wolfskin|tim hortons
|wendy's|papa john's|carl's jr|marie callender's|newman's own|ben's original|hellmann's
|heinz|kellogg's|mcdonald's|apple pay|google pay|samsung pay|google sheets|google docs
|google drive|google meet|google workspace|google ads|google analytics|microsoft teams
|microsoft word|microsoft excel|amazon prime|prime video|sky glass|sky go|alexa|siri
|cortana|jack wolfskin|hermès|hermes|louis vuitton|christian dior|yves saint laurent
|giorgio armani|ralph lauren polo|dolce & gabbana|abercrombie & fitch|crabtree & evelyn
|barnes & noble|marks & spencer|johnson & johnson|procter & gamble|black & decker
|arm & hammer|dolce and gabbana|taylor made|taylormade|martha stewart|ben jerry
""")


_AMPERSAND_AFTER = re.compile(r"[ \t]*(?:&|and|und|et|y|e)[ \t]*([^\W\d_][\w'’]*)")
_AMPERSAND_BEFORE = re.compile(r"([^\W\d_]+)[ \t]*(?:&|and|und|et|y|e)[ \t]*\Z")
_TITLE_BEFORE = re.compile(r"([^\W\d_]{1,4})\.?[ \t]\Z")
_MULTIPLIER = re.compile(r"\d+[x×]")
_QUANTITY = re.compile(r"\d+[x×]?|[x×]")


def _norm(words: str) -> str:
    return " ".join(words.casefold().replace("’", "'").replace(".", "").split())


# Companies of one word ("Salesforce", "Chase") the person detector reads itself: "Chase" is
# also a name, which a greeting or a verb makes a person.
KNOWN = frozenset(_norm(w) for w in KNOWN_PRODUCTS) | {o for o in KNOWN_ORGS if " " in o}
# The first and the last words of those names: a run with neither is in no list, which spares
# building its spellings (this runs for every capitalised run of every text).
_FIRST = frozenset(n.split(" ", 1)[0] for n in KNOWN)
_LAST = frozenset(n.rsplit(" ", 1)[-1].removesuffix("'s") for n in KNOWN)
# The first word after a run, and the word before it, that may start a product cue.
_NEXT_WORD = re.compile(r"(?:['’]s)?[ \t]+\(?([^\W_]+)")
_AFTER_FIRST = (frozenset(w.split(" ", 1)[0] for w in PRODUCT_NOUNS)
                | frozenset(("is", "are", "was", "were", "ist", "sind", "est", "sont", "está",
                             "están", "è", "sono", "zijn", "x", "×")))
_BEFORE_LAST = _OF | frozenset(p.rsplit(" ", 1)[-1] for p in _BEFORE_PHRASES) | {"x", "×"}


def is_product(text: str, start: int, end: int) -> bool:
    """Whether the capitalised run at ``text[start:end]`` names a product: it is in the list
    of products or of companies, with the title before it, the possessive after it or the name
    it is joined to by "&" ("Mrs. Meyer's", "Ben & Jerry's"); or it stands where products
    stand."""
    return _named(text, start, end) or _in_context(text, start, end)


def _named(text: str, start: int, end: int) -> bool:
    run = text[start:end].casefold().replace("’", "'")
    first, _, rest = run.partition(" ")
    last = (rest or first).rsplit(" ", 1)[-1].removesuffix("'s").rstrip(".")
    if last not in _LAST and first.rstrip(".") not in _FIRST:
        return False
    whole = _norm(run)
    possessive = text.startswith(("'s", "’s"), end)
    forms = [whole, whole + "'s"] if possessive else [whole]
    title = _TITLE_BEFORE.search(text, max(0, start - 6), start)
    if title is not None:
        forms += [_norm(title.group(1)) + " " + f for f in forms]
    amp = _AMPERSAND_AFTER.match(text, end)
    if amp is not None:
        other = _norm(amp.group(1))
        forms += [f"{whole} & {other}", f"{whole} & {other}".removesuffix("'s")]
    amp = _AMPERSAND_BEFORE.search(text, max(0, start - 24), start)
    if amp is not None:
        other = _norm(amp.group(1))
        forms += [f"{other} & {f}" for f in forms[:2]]
    return any(f in KNOWN for f in forms)


def _in_context(text: str, start: int, end: int) -> bool:
    nxt = _NEXT_WORD.match(text, end)
    if nxt is not None and (nxt.group(1).casefold() in _AFTER_FIRST or nxt.group(1).isdigit()):
        if _STOCK_AFTER.match(text, end) or _SIZE_AFTER.match(text, end):
            return True
        noun = _NOUN_AFTER.match(text, end)
        if noun is not None:
            words = noun.group(1).replace("\t", " ").replace("-", " ")
            first = words.split(" ", 1)[0]
            if words in _SAFE_NOUNS or first in _SAFE_NOUNS:
                return True
            if (words in PRODUCT_NOUNS or first in PRODUCT_NOUNS) and _determined(text, start):
                return True
    return _before(text, start)


def _before(text: str, start: int) -> bool:
    """A container, a multiplier or a stock phrase right before: "a box of", "3 x", "2x",
    "out of", "a subscription to"."""
    if start < 2 or text[start - 1] not in " \t":
        return False
    lo = max(0, start - 24)
    at = max(text.rfind(" ", lo, start - 1), text.rfind("\t", lo, start - 1))
    last = text[at + 1 : start - 1].casefold()
    if last not in _BEFORE_LAST and not _MULTIPLIER.fullmatch(last):
        return False
    words = text[max(0, start - 32) : start].casefold().replace("’", "'").split()
    if not words:
        return False
    last = words[-1]
    if _MULTIPLIER.fullmatch(last) or last in ("x", "×") and len(words) >= 2 and words[
            -2].isdigit():
        return True
    if last in _OF and len(words) >= 2 and words[-2] in CONTAINERS:
        return True
    return any(" ".join(words[-k:]) in _BEFORE_PHRASES for k in (3, 2, 1) if len(words) >= k)


def _determined(text: str, start: int) -> bool:
    """Whether an article, a possessive or a quantity comes right before ``start``."""
    prev = text[max(0, start - 16) : start].casefold().split()
    return bool(prev) and (prev[-1] in _DETERMINERS or _QUANTITY.fullmatch(prev[-1]) is not None)
