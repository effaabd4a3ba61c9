"""Write ``pii_ids_dev.txt``: the labelled dev set for identity numbers (issue 14).

    python tests/ingest/data/make_id_set.py && python tests/ingest/data/build_pii_sets.py ids_dev

The texts below were written by hand, in the languages the redactor claims (en, de, fr, es,
it, nl, pt), before the ID_NUMBER rules they measure were changed: passports (GB, US, DE, FR,
ES, IT, NL, IN), driving licences (US states, UK DVLA, DE Führerschein) and national ids (DE
Personalausweis, FR NIR, ES DNI/NIE, IT codice fiscale, NL BSN, UK NINO, US SSN, IN Aadhaar,
DE Steuer-ID, PT cartão de cidadão, BR CPF), with the context word right before the value,
after it, a clause away, in brackets, after "is/ist/est/es/è", and in tables and forms; and
look-alikes that must stay (order, tracking, invoice and booking numbers, SKUs, versions,
IBAN-shaped strings that fail their check, dates and amounts next to the id words).

The values are generated, so that those with a checksum carry a valid one (or, where a text
says so, a wrong one): ``${kind}`` in a text is replaced by a fresh value of that kind from a
seeded generator, so the file is the same on every run. The markup is build_pii_sets.py's.
"""

from __future__ import annotations

import itertools
import random
import re
import sys
from pathlib import Path

from stdnum import luhn, verhoeff
from stdnum.br import cpf
from stdnum.de import idnr
from stdnum.iso7064 import mod_11_10
from stdnum.it import codicefiscale
from stdnum.pt import cc

HERE = Path(__file__).resolve().parent
rng = random.Random(14)
DIGITS = "0123456789"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def d(n: int) -> str:
    return "".join(rng.choice(DIGITS) for _ in range(n))


def u(n: int, alphabet: str = UPPER) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


_MRZ = {c: i for i, c in enumerate(DIGITS + UPPER)}


def mrz(s: str) -> str:
    return str(sum(_MRZ[c] * w for c, w in zip(s, itertools.cycle((7, 3, 1)))) % 10)


_PA = "CFGHJKLMNPRTVWXYZ" + DIGITS


def de_pa() -> str:  # Personalausweis since 2010: nine characters and the check digit
    s = rng.choice("LMNPRTVWXY") + u(8, _PA)
    return s + mrz(s)


def de_pa9() -> str:  # the same, written without its check digit
    return rng.choice("LMNPRTVWXY") + u(8, _PA)


def de_pa_bad() -> str:  # a wrong check digit
    s = rng.choice("LMNPRTVWXY") + u(8, _PA)
    return s + str((int(mrz(s)) + 1 + rng.randrange(9)) % 10)


def de_pass() -> str:  # Reisepass: C, F, G, H, J or K, eight more, and the check digit
    s = rng.choice("CFGHJK") + u(8, _PA)
    return s + mrz(s)


def de_fs() -> str:  # Führerschein: authority (4), serial (5), check digit, issue number
    return u(1) + d(3) + u(5, UPPER + DIGITS) + d(1) + d(1)


def de_steuer() -> str:
    while True:
        body = rng.choice("123456789") + d(9)
        v = body + mod_11_10.calc_check_digit(body)
        if idnr.is_valid(v):
            return rng.choice([v, f"{v[:2]} {v[2:5]} {v[5:8]} {v[8:]}"])


def nir(spaced: bool | None = None) -> str:
    sex = rng.choice("12")
    yy, mm = f"{rng.randrange(40, 100):02d}", f"{rng.randrange(1, 13):02d}"
    dept = rng.choice(["75", "69", "13", "33", "59", "2A", "44", "31", "06", "92"])
    com, order = f"{rng.randrange(1, 990):03d}", f"{rng.randrange(1, 999):03d}"
    body = sex + yy + mm + dept + com + order
    num = int(body.replace("2A", "19").replace("2B", "18"))
    key = f"{97 - num % 97:02d}"
    if spaced is None:
        spaced = rng.random() < 0.6
    if spaced:
        return f"{sex} {yy} {mm} {dept} {com} {order} {key}"
    return body + key


def nir_compact() -> str:
    return nir(False)


_DNI = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni() -> str:
    n = d(8)
    return n + _DNI[int(n) % 23]


def dni_dash() -> str:
    v = dni()
    return f"{v[:8]}-{v[8]}"


def dni_bad() -> str:
    n = d(8)
    return n + _DNI[(int(n) + 1 + rng.randrange(20)) % 23]


def nie() -> str:
    p = rng.choice("XYZ")
    n = d(7)
    return p + n + _DNI[int(str("XYZ".index(p)) + n) % 23]


def cf() -> str:
    body = (u(3, "BCDFGLMNPRSTVZ") + u(3, "BCDFGLMNPRSTVZ") + d(2) + rng.choice("ABCDEHLMPRST")
            + f"{rng.choice([rng.randrange(1, 32), rng.randrange(41, 72)]):02d}"
            + rng.choice(["H501", "F205", "A662", "L219", "G273", "D612", "F839"]))
    return body + codicefiscale.calc_check_digit(body)


def bsn() -> str:
    while True:
        body = d(8)
        last = sum(int(c) * w for c, w in zip(body, range(9, 1, -1))) % 11
        if last < 10 and body[0] != "0":
            return body + str(last)


def bsn_dotted() -> str:
    v = bsn()
    return f"{v[:4]}.{v[4:6]}.{v[6:]}"


def bsn_bad() -> str:  # fails the 11-proof
    while True:
        v = d(9)
        total = sum(int(c) * w for c, w in zip(v[:8], range(9, 1, -1))) - int(v[8])
        if total % 11 and v[0] != "0":
            return v


_NINO_A = "ABCEGHJKLMNOPRSTWXYZ"
_NINO_B = "ABCEGHJKLMNPRSTWXYZ"


def nino(spaced: bool | None = None) -> str:
    while True:
        p = rng.choice(_NINO_A) + rng.choice(_NINO_B)
        if p not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
            break
    n, s = d(6), rng.choice("ABCD")
    if spaced is None:
        spaced = rng.random() < 0.5
    return f"{p} {n[:2]} {n[2:4]} {n[4:]} {s}" if spaced else p + n + s


def nino_compact() -> str:
    return nino(False)


def ssn() -> str:
    return f"{rng.randrange(1, 899):03d}-{rng.randrange(1, 99):02d}-{rng.randrange(1, 9999):04d}"


def aadhaar() -> str:
    body = rng.choice("23456789") + d(10)
    v = body + verhoeff.calc_check_digit(body)
    return f"{v[:4]} {v[4:8]} {v[8:]}" if rng.random() < 0.7 else v


def aadhaar_bad() -> str:
    body = rng.choice("23456789") + d(10)
    c = int(verhoeff.calc_check_digit(body))
    v = body + str((c + 1 + rng.randrange(9)) % 10)
    return f"{v[:4]} {v[4:8]} {v[8:]}"


def pt_cc() -> str:
    while True:
        body = d(8) + rng.choice(DIGITS) + u(2)
        v = body + cc.calc_check_digit(body)
        if cc.is_valid(v):
            return f"{v[:8]} {v[8]} {v[9:]}"


def br_cpf() -> str:
    while True:
        body = d(9)
        v = body + _cpf_digits(body)
        if cpf.is_valid(v):
            return f"{v[:3]}.{v[3:6]}.{v[6:9]}-{v[9:]}"


def _cpf_digits(body: str) -> str:
    d1 = (sum(int(c) * w for c, w in zip(body, range(10, 1, -1))) * 10) % 11 % 10
    d2 = (sum(int(c) * w for c, w in zip(body + str(d1), range(11, 1, -1))) * 10) % 11 % 10
    return f"{d1}{d2}"


def ca_sin() -> str:
    body = rng.choice("123456789") + d(7)
    v = body + luhn.calc_check_digit(body)
    return f"{v[:3]} {v[3:6]} {v[6:]}"


def gb_pass() -> str:
    return rng.choice("1234567") + d(8)


def us_pass() -> str:
    return rng.choice([rng.choice("56") + d(8), rng.choice("ABC") + d(8)])


def fr_pass() -> str:
    return d(2) + u(2) + d(5)


def es_pass() -> str:
    return rng.choice(["PA", "AA", "XD"]) + u(1) + d(6)


def it_pass() -> str:
    return rng.choice(["YA", "YB", "AA", "YC"]) + d(7)


def it_cie() -> str:  # carta d'identità elettronica
    return "C" + u(1) + d(5) + u(2)


def it_patente() -> str:
    return u(2) + d(7) + u(1)


def nl_pass() -> str:
    alnum = UPPER.replace("O", "") + "123456789"
    return u(2, UPPER.replace("O", "")) + u(6, alnum) + rng.choice("123456789")


def in_pass() -> str:
    return rng.choice("JKLMNPRSTVZ") + rng.choice("123456789") + d(6)


def dvla() -> str:
    sur = rng.choice(["MORGA", "SMITH", "JONES", "PATEL", "WILLI", "OKAFO", "BROWN", "EVANS",
                      "KHAN9", "LI999", "TAYLO"])
    year = rng.randrange(50, 100)
    month = rng.randrange(1, 13) + rng.choice([0, 50])
    day = rng.randrange(1, 29)
    inits = rng.choice(["SM", "JA", "R9", "PK", "AB", "LT"])
    return f"{sur}{str(year)[0]}{month:02d}{day:02d}{str(year)[1]}{inits}9{u(2)}"


def dl_ca() -> str:
    return u(1) + d(7)


def dl_ny() -> str:
    return f"{d(3)} {d(3)} {d(3)}"


def dl_fl() -> str:
    return f"{u(1)}{d(3)}-{d(3)}-{d(2)}-{d(3)}-{d(1)}"


def dl_tx() -> str:
    return rng.choice("1234") + d(7)


def dl_il() -> str:
    return f"{u(1)}{d(3)}-{d(4)}-{d(4)}"


def dl_wa() -> str:
    return "WDL" + u(6, UPPER + DIGITS) + d(3)


def dl_pa() -> str:
    return f"{d(2)} {d(3)} {d(3)}"


def dl_nj() -> str:
    return f"{u(1)}{d(4)} {d(5)} {d(5)}"


# Look-alikes: numbers of things, which must stay.
def order() -> str:
    return rng.choice([d(8), d(9), "A-" + d(6), d(3) + "-" + d(7) + "-" + d(7)])


def ups() -> str:
    return "1Z" + u(6, UPPER + DIGITS) + d(10)


def fedex() -> str:
    return f"{d(4)} {d(4)} {d(4)}"


def usps() -> str:
    return "9400 " + " ".join(d(4) for _ in range(4)) + " " + d(2)


def royal_mail() -> str:
    return u(2) + d(9) + "GB"


def dhl() -> str:
    return "JJD" + d(18)


def invoice() -> str:
    return rng.choice(["INV-", "RE-", "FA-", "F"]) + d(4) + "-" + d(5)


def sku() -> str:
    return f"{u(2)}-{d(4)}-{u(2)}"


def iban_bad() -> str:
    return f"DE{d(2)} {d(4)} {d(4)} {d(4)} {d(4)} {d(2)}"


KINDS = {name: fn for name, fn in globals().items()
         if callable(fn) and not name.startswith("_") and name not in (
             "d", "u", "mrz", "main", "fill") and fn.__module__ == __name__}


def fill(template: str) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: KINDS[m.group(1)](), template)


# Each text: "@@ ID LANG GENRE", then the text with its markup (see build_pii_sets.py).
TEXTS = r"""
@@ x001 en email
Hi,

For the KYC check: my passport number is [[${gb_pass}|I]], expiry {{2031-04-09|date}}.

Thanks,
[[Hannah Whitfield|P]]
@@ x002 en email
Hello,

I've attached a scan of my passport (GB [[${gb_pass}|I]]) as requested.

Best,
[[Omar Siddiqui|P]]
@@ x003 en form
Document type: Passport
Issuing country: {{United Kingdom|city}}
Document number: [[${gb_pass}|I]]
Expiry date: {{14/08/2029|date}}
@@ x004 en chat
passport no is [[${us_pass}|I]] if u need it
@@ x005 en email
Hi team,

The passport I used for booking {{BK-${d8}|order}} has since been renewed; the new one is [[${us_pass}|I]].

[[Luis Ortega|P]]
@@ x006 en crm
Customer verified ID by phone. US passport [[${us_pass}|I]], issued {{March 2022|date}}.
@@ x007 en email
Hello,

[[${gb_pass}|I]] is my passport number, in case the form didn't save it.

Regards,
[[Fiona Gallagher|P]]
@@ x008 en email
Dear Sir or Madam,

My passport, which I renewed last year after the old one was damaged, has the number [[${gb_pass}|I]].

Yours faithfully,
[[Gareth Pryce|P]]
@@ x009 en lead
Passport #: [[${in_pass}|I]]
Nationality: Indian
Visa type: {{B1|other}}
@@ x010 en email
Hi,

The Indian passport of my colleague ([[${in_pass}|I]]) was rejected by the portal with {{ERR_DOC_FORMAT|error}}.

Cheers,
[[Sunil Menon|P]]
@@ x011 en table
| Traveller | Document | Number |
|---|---|---|
| [[Anika Sharma|P]] | Passport | [[${in_pass}|I]] |
| [[Rohan Das|P]] | Passport | [[${in_pass}|I]] |
@@ x012 en email
Hello,

We travel on {{12 June|date}}. Passports: [[${gb_pass}|I]] (me) and [[${gb_pass}|I]] (my son).

Thanks,
[[Claire Ashworth|P]]
@@ x013 en chat
can you update the passport on file? new number: [[${us_pass}|I]]
@@ x014 en email
Hi,

Our French guest's passport is [[${fr_pass}|I]]; she lands on {{Friday|date}}.

[[Martin Keogh|P]]
@@ x015 en form
passport_number: [[${nl_pass}|I]]
passport_country: NL
passport_expiry: {{2030-01-31|date}}
@@ x016 en email
Hello,

For the hotel check-in: Italian passport, number [[${it_pass}|I]].

Kind regards,
[[Giulia Conti|P]]
@@ x017 en email
Hi,

Spanish passport [[${es_pass}|I]] belongs to my husband, [[Javier Ruiz|P]].

[[Elena Ruiz|P]]
@@ x018 de email
Hallo,

meine Reisepassnummer ist [[${de_pass}|I]], gültig bis {{03.2032|date}}.

Viele Grüße
[[Katrin Hoffmann|P]]
@@ x019 de email
Guten Tag,

anbei die Daten für die Buchung {{${d8}|order}}: Reisepass [[${de_pass}|I]].

Mit freundlichen Grüßen
[[Tobias Brandt|P]]
@@ x020 de form
Ausweisart: Reisepass
Ausweisnummer: [[${de_pass}|I]]
Ausstellende Behörde: {{Stadt Köln|org}}
@@ x021 de email
Hallo,

meine Personalausweisnummer ist [[${de_pa}|I]].

Grüße
[[Jonas Weber|P]]
@@ x022 de email
Sehr geehrte Damen und Herren,

die Nummer meines Personalausweises lautet [[${de_pa}|I]] (gültig bis {{2033|date}}).

Mit freundlichen Grüßen
[[Sabine Krüger|P]]
@@ x023 de chat
Ausweis-Nr. [[${de_pa9}|I]], reicht das?
@@ x024 de email
Hallo,

ich habe den Personalausweis ([[${de_pa}|I]]) gestern hochgeladen, aber die App zeigt {{Fehler 4012|error}}.

VG
[[Lukas Schmitt|P]]
@@ x025 de form
Name: [[Petra Lang|P]]
Personalausweis-Nr.: [[${de_pa}|I]]
Geburtsort: {{Hamburg|city}}
@@ x026 de email
Hallo,

[[${de_pa}|I]] – das ist die Nummer auf meinem neuen Ausweis.

Danke
[[Mehmet Yilmaz|P]]
@@ x027 de email
Hallo,

mein Führerschein (Nummer [[${de_fs}|I]]) wurde bei der Mietwagenbuchung {{${d8}|order}} nicht akzeptiert.

Gruß
[[Stefan Bauer|P]]
@@ x028 de form
Führerscheinnummer: [[${de_fs}|I]]
Klasse: {{B|other}}
Ausstellungsdatum: {{12.05.2015|date}}
@@ x029 de email
Guten Tag,

meine Steuer-ID ist [[${de_steuer}|I]], bitte auf der Rechnung {{RE-2024-00871|order}} ergänzen.

Freundliche Grüße
[[Anja Vogt|P]]
@@ x030 de crm
Kundin hat Steueridentifikationsnummer [[${de_steuer}|I]] nachgereicht.
@@ x031 fr email
Bonjour,

mon numéro de sécurité sociale est le [[${nir}|I]].

Cordialement,
[[Camille Laurent|P]]
@@ x032 fr email
Bonjour,

Voici mon numéro INSEE : [[${nir}|I]]. Merci de mettre à jour mon dossier.

[[Julien Moreau|P]]
@@ x033 fr form
N° de sécurité sociale : [[${nir}|I]]
Caisse : {{CPAM de Lyon|org}}
@@ x034 fr email
Bonjour,

mon passeport ([[${fr_pass}|I]]) expire le {{4 mars 2027|date}} ; est-ce suffisant ?

Bien à vous,
[[Nathalie Girard|P]]
@@ x035 fr email
Bonjour,

le numéro de mon passeport est [[${fr_pass}|I]].

Merci,
[[Antoine Dubois|P]]
@@ x036 fr chat
ma carte vitale : [[${nir}|I]]
@@ x037 fr email
Bonjour,

J'ai reçu la facture {{${invoice}|order}}, mais le NIR indiqué ([[${nir}|I]]) n'est pas le mien.

[[Sophie Lefèvre|P]]
@@ x038 fr form
Pièce d'identité : carte nationale d'identité
Numéro : [[${fr_pass}|I]]
Date de délivrance : {{15/09/2020|date}}
@@ x039 es email
Hola,

mi DNI es [[${dni}|I]] y el pedido es el {{${order}|order}}.

Saludos,
[[Lucía Fernández|P]]
@@ x040 es email
Buenos días:

Les envío mi NIE ([[${nie}|I]]) para completar el alta.

Un saludo,
[[Andrei Popescu|P]]
@@ x041 es form
Nombre: [[Carmen Ortiz|P]]
DNI: [[${dni_dash}|I]]
Provincia: {{Sevilla|city}}
@@ x042 es email
Hola,

el número de mi pasaporte es [[${es_pass}|I]].

Gracias,
[[Pablo Navarro|P]]
@@ x043 es chat
te paso el documento: [[${dni}|I]]
@@ x044 es email
Hola,

[[${nie}|I]] es mi número de identidad de extranjero, por si lo necesitan para la factura {{${invoice}|order}}.

[[Mihaela Ionescu|P]]
@@ x045 es crm
Cliente envió copia del DNI, número [[${dni}|I]], y del carnet de conducir.
@@ x046 it email
Buongiorno,

il mio codice fiscale è [[${cf}|I]].

Cordiali saluti,
[[Marco Bianchi|P]]
@@ x047 it email
Salve,

per la fattura {{${invoice}|order}} vi servono i dati: codice fiscale [[${cf}|I]], residenza a {{Torino|city}}.

Grazie,
[[Francesca Romano|P]]
@@ x048 it form
Cognome: [[Esposito|P]]
Nome: [[Salvatore|P]]
C.F.: [[${cf}|I]]
@@ x049 it email
Buongiorno,

il numero del mio passaporto è [[${it_pass}|I]] e scade a {{ottobre 2028|date}}.

[[Alessandro Greco|P]]
@@ x050 it chat
cf [[${cf}|I]] grazie
@@ x051 it email
Buonasera,

vi invio la patente di guida (n. [[${it_patente}|I]]) per il noleggio.

[[Chiara Marino|P]]
@@ x052 nl email
Hallo,

mijn BSN is [[${bsn}|I]].

Met vriendelijke groet,
[[Daan de Vries|P]]
@@ x053 nl form
Burgerservicenummer: [[${bsn_dotted}|I]]
Gemeente: {{Utrecht|city}}
@@ x054 nl email
Beste,

Het paspoort van mijn dochter heeft nummer [[${nl_pass}|I]].

Groeten,
[[Sanne Bakker|P]]
@@ x055 nl email
Hoi,

mijn rijbewijsnummer is [[${d10}|I]], de bestelling is {{${order}|order}}.

[[Bram Visser|P]]
@@ x056 nl chat
bsn: [[${bsn}|I]]
@@ x057 en email
Hi,

My national insurance number is [[${nino}|I]], for the payroll form.

Thanks,
[[Rhys Edwards|P]]
@@ x058 en form
NI number: [[${nino}|I]]
Start date: {{01/09/2024|date}}
@@ x059 en email
Hello,

HMRC wrote to me about NINO [[${nino_compact}|I]] – is that on my account?

[[Lauren Price|P]]
@@ x060 en chat
ni no. [[${nino}|I]]
@@ x061 en email
Hi,

The DVLA licence number on my account is wrong. It should be [[${dvla}|I]].

Cheers,
[[Tom Morgan|P]]
@@ x062 en form
Driving licence number: [[${dvla}|I]]
Licence issue number: {{14|other}}
@@ x063 en email
Hi,

For the van hire ({{booking HX-${d6}|order}}): driving licence [[${dvla}|I]], valid until {{2029|date}}.

[[Aisha Khan|P]]
@@ x064 en email
Hello,

My California driver's license is [[${dl_ca}|I]].

[[Kevin Tran|P]]
@@ x065 en form
Driver License #: [[${dl_ny}|I]]
State: {{New York|city}}
Class: {{D|other}}
@@ x066 en email
Hi,

Florida DL [[${dl_fl}|I]] – please use it for the rental agreement.

[[Maria Gonzalez|P]]
@@ x067 en crm
Verified identity with Texas driver license [[${dl_tx}|I]].
@@ x068 en email
Hi,

My license (Illinois, [[${dl_il}|I]]) was scanned twice and the second one failed.

Thanks,
[[Brian Kowalski|P]]
@@ x069 en form
DL number: [[${dl_wa}|I]]
Issuing state: {{Washington|city}}
@@ x070 en email
Hello,

Pennsylvania driver's license no. [[${dl_pa}|I]], expiring {{2027|date}}.

[[Ashley Reed|P]]
@@ x071 en chat
my drivers license # is [[${dl_nj}|I]] (NJ)
@@ x072 en email
Hi,

My SSN is [[${ssn}|S]] and my date of birth is [[1984-02-11|D]].

[[Derek Hale|P]]
@@ x073 en email
Hello,

My Aadhaar number is [[${aadhaar}|I]]; the PAN is still pending.

Regards,
[[Priya Nair|P]]
@@ x074 en form
Aadhaar: [[${aadhaar}|I]]
City: {{Bengaluru|city}}
@@ x075 en email
Hi,

Please link Aadhaar [[${aadhaar}|I]] to account {{ACC-${d6}|order}}.

[[Vikram Rao|P]]
@@ x076 pt email
Olá,

o meu cartão de cidadão é o [[${pt_cc}|I]].

Obrigado,
[[João Ferreira|P]]
@@ x077 pt email
Olá,

segue meu CPF: [[${br_cpf}|I]]. O pedido é {{${order}|order}}.

Abraços,
[[Ana Paula Souza|P]]
@@ x078 en email
Hello,

My SIN is [[${ca_sin}|I]], for the T4 slip.

[[Mathieu Tremblay|P]]
@@ x079 en email
Hi,

My passport number, as printed on page 2, is [[${gb_pass}|I]].

[[Naomi Clarke|P]]
@@ x080 en email
Hi,

I need to change the passport on my booking. The old one was [[${gb_pass}|I]] and the new one is [[${gb_pass}|I]].

Thanks,
[[Callum Reid|P]]
@@ x081 de email
Hallo,

die Ausweisnummer (steht oben rechts auf der Vorderseite) ist [[${de_pa}|I]].

LG
[[Nina Schulz|P]]
@@ x082 de chat
Perso-Nr.: [[${de_pa}|I]]
@@ x083 de email
Guten Tag,

bei der Online-Ausweisfunktion mit meinem Personalausweis kommt {{Fehler 0x8008|error}}. Die Nummer des Ausweises ist [[${de_pa}|I]].

[[Thomas Richter|P]]
@@ x084 fr email
Bonjour,

Mon numéro de sécu, c'est le [[${nir}|I]].

[[Élise Martin|P]]
@@ x085 es email
Hola,

en la reserva {{${order}|order}} falta el documento de identidad del titular: es el [[${dni}|I]].

[[Sergio Molina|P]]
@@ x086 it email
Gentili,

allego il codice fiscale di mia madre, [[${cf}|I]], per la pratica {{${order}|order}}.

[[Laura Ferri|P]]
@@ x087 nl email
Goedemiddag,

Het burgerservicenummer van mijn zoon is [[${bsn}|I]].

[[Pieter Jansen|P]]
@@ x088 en email
Hi,

ID for the background check: UK passport number [[${gb_pass}|I]], NI number [[${nino}|I]].

[[Joe Barker|P]]
@@ x089 en table
Name\tDocument\tNumber
[[Ines Duarte|P]]\tPassport\t[[${es_pass}|I]]
[[Marek Novak|P]]\tPassport\t[[${it_pass}|I]]
@@ x090 en email
Hello,

I'm not sure which number you need: the one on my passport is [[${us_pass}|I]].

[[Carla Jimenez|P]]
@@ x091 de email
Hallo,

die Führerscheinnummer lautet [[${de_fs}|I]], ausgestellt in {{München|city}}.

[[Florian Huber|P]]
@@ x092 fr email
Bonjour,

voici le numéro de permis de conduire : [[${de_fs}|I]].

[[Hugo Bernard|P]]
@@ x093 es email
Hola,

mi carnet de conducir es el [[${dni}|I]], que coincide con el DNI.

[[Raúl Castillo|P]]
@@ x094 en email
Hi,

Passport details below.
Number: [[${in_pass}|I]]
Place of issue: {{Mumbai|city}}
Date of expiry: {{2030-07-15|date}}

[[Deepa Krishnan|P]]
@@ x095 en form
ID type: Driver's license
ID number: [[${dl_ca}|I]]
@@ x096 en email
Hi,

My passport is a German one ([[${de_pass}|I]]).

Best,
[[Lena Fischer|P]]
@@ x097 it form
Tipo documento: carta d'identità
Numero documento: [[${it_cie}|I]]
Comune di rilascio: {{Bologna|city}}
@@ x098 es form
Tipo de documento: NIE
Número: [[${nie}|I]]
@@ x099 en chat
the codice fiscale on the invoice should be [[${cf}|I]]
@@ x100 en email
Hello,

For the Spanish notary: my NIE, [[${nie}|I]], and my passport, [[${gb_pass}|I]].

[[Mark Ellison|P]]
@@ x101 de email
Hallo,

Personalausweis: [[${de_pa}|I]]
Reisepass: [[${de_pass}|I]]

Gruß
[[Emre Demir|P]]
@@ x102 en email
Hi,

Attached is the form. My ID (Personalausweis, [[${de_pa}|I]]) was issued in {{Berlin|city}}.

[[Klaus Neumann|P]]
@@ x103 fr email
Bonjour,

Je vous confirme mon numéro de sécurité sociale: [[${nir_compact}|I]].

[[Léa Fontaine|P]]
@@ x104 nl email
Hallo,

Voor de huurovereenkomst: BSN [[${bsn}|I]], paspoort [[${nl_pass}|I]].

[[Ruben Smit|P]]
@@ x105 en email
Hi,

Please verify me with my Aadhaar ([[${aadhaar}|I]]) instead of the passport.

[[Arjun Mehta|P]]
@@ x106 en email
Hi,

Texas DL: [[${dl_tx}|I]]
Florida DL (old): [[${dl_fl}|I]]

[[Cody Barnes|P]]
@@ x107 en crm
Caller gave NINO [[${nino}|I]] and passport [[${gb_pass}|I]]; identity confirmed.
@@ x108 de email
Hallo,

meine Steuer-Identifikationsnummer: [[${de_steuer}|I]].

[[Julia Wolf|P]]
@@ x109 it email
Buongiorno,

la mia patente è la n. [[${it_patente}|I]].

[[Davide Rinaldi|P]]
@@ x110 pt email
Bom dia,

o número do meu passaporte é [[${in_pass}|I]].

[[Rafael Lima|P]]
@@ x111 es email
Hola,

adjunto el pasaporte ([[${es_pass}|I]]) y el NIE ([[${nie}|I]]).

[[Olga Petrova|P]]
@@ x112 en email
Hi,

Just to confirm, my driving licence number is [[${dvla}|I]] and the hire is for {{3 days|amount}}.

[[Ellie Brooks|P]]
@@ x113 en email
Hello,

Passport: [[${nl_pass}|I]] (Dutch)

[[Sem Mulder|P]]
@@ x114 fr chat
numéro de passeport [[${fr_pass}|I]] merci
@@ x115 en email
Hi,

The BSN on my Dutch payslip is [[${bsn}|I]], which HR says is missing.

[[Noah de Jong|P]]
@@ x116 en email
Hi,

My codice fiscale is [[${cf}|I]] – could you add it to invoice {{${invoice}|order}}?

[[Matteo Gallo|P]]
@@ x117 en email
Hello,

I'm a resident in Spain, my DNI being [[${dni}|I]].

[[Gonzalo Pérez|P]]
@@ x118 de form
Ausweisdokument: Personalausweis
Dokumentennummer: [[${de_pa}|I]]
Gültig bis: {{01.06.2031|date}}
@@ x119 fr form
Type de pièce : passeport
N° : [[${fr_pass}|I]]
@@ x120 en email
Hi,

For the bank: passport ([[${us_pass}|I]]), SSN on file.

[[Tyler Ross|P]]
@@ x121 en email
Hi,

[[${nino}|I]] — that's my National Insurance number.

[[Megan Hughes|P]]
@@ x122 it email
Salve,

Per l'iscrizione: codice fiscale [[${cf}|I]], carta d'identità [[${it_cie}|I]].

[[Sara Colombo|P]]
@@ x123 nl form
Naam: [[Lotte Dekker|P]]
BSN: [[${bsn}|I]]
Woonplaats: {{Rotterdam|city}}
@@ x124 en email
Hello,

Aadhaar no. [[${aadhaar}|I]] and PAN are both on the KYC form.

[[Kavya Reddy|P]]
@@ x125 de email
Hallo,

anbei mein Ausweis – die Nummer ist [[${de_pa}|I]].

[[Markus Keller|P]]
@@ x126 es chat
dni [[${dni}|I]]
@@ x127 fr email
Bonjour,

Mon NIR ([[${nir}|I]]) apparaît mal sur l'attestation.

[[Manon Petit|P]]
@@ x128 en email
Hi,

My Personalausweisnummer ist [[${de_pa}|I]], sorry for the mix of languages.

[[Ben Hartmann|P]]
@@ x129 pt email
Olá,

CPF [[${br_cpf}|I]], nota fiscal {{${invoice}|order}}.

[[Beatriz Rocha|P]]
@@ x130 en email
Hi,

Passport GB [[${gb_pass}|I]], exp. {{09/2031|date}}.

[[Imogen Fox|P]]
@@ x131 en email
Hi,

Could you check why the verification of licence [[${dvla}|I]] keeps failing?

[[Harry Doyle|P]]
@@ x132 en email
Hello,

We are renting a car for {{$420|amount}}. Driver: [[Sam Lopez|P]], license [[${dl_ca}|I]].
@@ x133 de email
Hallo,

könnt ihr meine Reisepassnummer ändern? Richtig ist [[${de_pass}|I]].

[[Heike Zimmermann|P]]
@@ x134 es email
Hola,

Os confirmo: número de NIE [[${nie}|I]], pasaporte [[${es_pass}|I]].

[[Dmitri Volkov|P]]
@@ x135 it email
Buongiorno,

Mio codice fiscale: [[${cf}|I]]. Mio marito: [[${cf}|I]].

[[Paola Ricci|P]]
@@ x136 en email
Hi,

ID check done over video: passport [[${in_pass}|I]] (India), Aadhaar [[${aadhaar}|I]].

[[Neha Gupta|P]]
@@ x137 nl email
Hoi,

Mijn paspoortnummer: [[${nl_pass}|I]].

[[Femke Vos|P]]
@@ x138 en email
Hi,

Passport: [[${fr_pass}|I]]
Nationality: French

[[Chloé Roux|P]]
@@ x139 en form
Identity document
Type: Passport
No.: [[${it_pass}|I]]
@@ x140 en email
Hi,

My NIR is [[${nir}|I]] — my French social security number.

[[Pierre Blanc|P]]
@@ n001 en email
Hi,

My order {{${order}|order}} still hasn't shipped. The tracking number {{${ups}|order}} shows no movement.

[[Ruth Adler|P]]
@@ n002 en email
Hello,

FedEx tracking {{${fedex}|order}} says delivered, but nothing arrived.

[[Gavin Shaw|P]]
@@ n003 en email
Hi,

The parcel ({{${usps}|order}}, USPS) is stuck in {{Memphis|city}}.

[[Jade Collins|P]]
@@ n004 en email
Hello,

Royal Mail tracking {{${royal_mail}|order}} – it was a passport holder I ordered.

[[Owen Parry|P]]
@@ n005 de email
Hallo,

die Sendungsnummer {{${dhl}|order}} wird bei DHL nicht gefunden.

[[Uwe Krause|P]]
@@ n006 en email
Hi,

Invoice {{${invoice}|order}} lists SKU {{${sku}|order}} twice.

[[Elaine Ward|P]]
@@ n007 en email
Hello,

We upgraded to version {{4.12.3|version}} (build {{20240611.2|version}}) and the passport scanner integration broke.

[[Isaac Moss|P]]
@@ n008 en email
Hi,

Please pay into DE account {{${iban_bad}|other}} – sorry, that IBAN was mistyped, I'll resend.

[[Rosie Hart|P]]
@@ n009 en email
Hi,

My order ID is {{${d9}|order}}; the passport photo prints were the wrong size.

[[Zara Malik|P]]
@@ n010 en email
Hello,

The ID card reader (model {{IDR-${d4}|order}}) fails with {{E_TIMEOUT|error}}.

[[Nathan Cole|P]]
@@ n011 en chat
ticket id {{${d8}|order}}, still waiting
@@ n012 en email
Hi,

Order number {{${d10}|order}}, customer number {{${d8}|order}}.

[[Paige Turner|P]]
@@ n013 de email
Hallo,

Bestellnummer {{${d9}|order}}, Kundennummer {{${d8}|order}}. Der Personalausweis-Leser wird nicht erkannt.

[[Ralf Becker|P]]
@@ n014 de email
Hallo,

die AusweisApp stürzt in Version {{2.1.0|version}} ab.

[[Birgit Lorenz|P]]
@@ n015 fr email
Bonjour,

Ma commande {{${d9}|order}} contenait un étui de passeport abîmé.

[[Inès Garnier|P]]
@@ n016 fr email
Bonjour,

La facture {{${invoice}|order}} du {{12/03/2024|date}} est erronée.

[[Paul Mercier|P]]
@@ n017 es email
Hola,

El número de pedido es {{${d9}|order}} y el de seguimiento {{${ups}|order}}.

[[Marta Gil|P]]
@@ n018 it email
Buongiorno,

L'ordine {{${d9}|order}} non è arrivato; il numero di tracciamento è {{${dhl}|order}}.

[[Simone Leone|P]]
@@ n019 nl email
Hallo,

Mijn bestelnummer is {{${bsn}|order}}; de levering is te laat.

[[Tim Peters|P]]
@@ n020 en email
Hi,

The passport renewal fee of {{£88.50|amount}} was charged twice (transaction {{${d10}|order}}).

[[Dylan Hughes|P]]
@@ n021 en email
Hello,

Our passport expires on {{2031-04-09|date}}; can we still book for {{May 2031|date}}?

[[Iris Bennett|P]]
@@ n022 en email
Hi,

Reference {{${d9}|order}} – I think my driving test booking didn't go through.

[[Lewis Grant|P]]
@@ n023 en email
Hello,

Your licence key {{XJ4K-${d4}-PQ7M|other}} has expired.

{{Support Team|title}}
@@ n024 en email
Hi,

Booking reference {{${royal_mail}|order}}; the DNI field in the app is missing.

[[Ella Watts|P]]
@@ n025 es email
Hola,

El DNI no cabe en el formulario (error {{VAL-${d4}|error}}); mi pedido es {{${d8}|order}}.

[[Nerea Ramos|P]]
@@ n026 en email
Hi,

Case {{${d8}|order}}: the BSN field rejects every number.

[[Jasper Lee|P]]
@@ n027 en email
Hi,

Our SKU {{${sku}|order}} and part no. {{${d9}|order}} are out of stock.

[[Holly Byrne|P]]
@@ n028 en email
Hello,

Release {{v3.18.2|version}} fixed the passport upload; the build id was {{${d10}|order}}.

[[Ivan Horvat|P]]
@@ n029 en email
Hi,

Member number {{${d9}|order}} — I renewed my gym pass but the app still says expired.

[[Chris Nolan|P]]
@@ n030 en email
Hello,

Please quote PO {{${d8}|order}} on the invoice, not the ID number of the contract.

[[Amy Ford|P]]
@@ n031 de email
Hallo,

Rechnungsnummer {{${invoice}|order}}, Vertragsnummer {{${d10}|order}}.

[[Sven Koch|P]]
@@ n032 fr email
Bonjour,

Le numéro de suivi {{${royal_mail}|order}} ne fonctionne pas, et mon numéro client est {{${d8}|order}}.

[[Lucas Roussel|P]]
@@ n033 en email
Hi,

FedEx {{${fedex}|order}} and UPS {{${ups}|order}} — both late.

[[Grace Kim|P]]
@@ n034 en email
Hi,

My account number {{${d8}|order}} is linked to an old e-mail.

[[Fred Lane|P]]
@@ n035 it email
Salve,

Il codice prodotto {{${sku}|order}} e la fattura {{${invoice}|order}} non coincidono.

[[Elisa Sala|P]]
@@ n036 en email
Hi,

Serial number {{SN-${d10}|order}} on the ID scanner is worn off.

[[Kyle Dunn|P]]
@@ n037 en email
Hi,

The passport API returned {{HTTP 422|error}} for request {{req_${d8}|order}}.

[[Mia Stone|P]]
@@ n038 en email
Hello,

Our VAT number is {{GB${d9}|other}}, and the company number {{${d8}|other}}.

[[Lily Shaw|P]]
@@ n039 en email
Hi,

Flight {{BA 0117|other}}, seat {{14C|other}}, confirmation {{${royal_mail}|order}}.

[[Rory Quinn|P]]
@@ n040 de email
Hallo,

Ticketnummer {{${d8}|order}}: beim Hochladen des Führerscheins kommt {{HTTP 500|error}}.

[[Jana Roth|P]]
@@ n041 en email
Hi,

I tried to pay with card ending {{4242|other}}; order {{${d9}|order}}.

[[Eve Long|P]]
@@ n042 en email
Hi,

Please call me on [[+44 20 7946 0958|T]] about my passport renewal booking {{${d9}|order}}.

[[Jack Hale|P]]
@@ n043 de email
Hallo,

bitte rufen Sie mich unter [[+49 30 90182736|T]] an, es geht um den Personalausweis-Termin.

[[Moritz Frank|P]]
@@ n044 en email
Hi,

The DNI shown in the invoice is wrong: the invoice number is {{${invoice}|order}}.

[[Noor Aziz|P]]
@@ n045 en email
Hi,

Quote {{Q-${d6}|order}} covers {{12 licences|amount}} of the Pro plan.

[[Ada Quist|P]]
@@ n046 en email
Hello,

Your national ID upload for application {{APP-${d8}|order}} is under review.

{{Compliance Team|title}}
@@ n047 es email
Hola,

Pedido {{${d9}|order}}: la funda para el pasaporte llegó rota.

[[Irene Vidal|P]]
@@ n048 nl email
Hallo,

Factuurnummer {{${invoice}|order}}, klantnummer {{${d8}|order}}.

[[Koen Maas|P]]
@@ n049 en email
Hi,

Tracking: {{${fedex}|order}}. Ticket: {{${d8}|order}}.

[[Ian Frost|P]]
@@ n050 en email
Hi,

Docker image {{sha-${d8}|version}} broke the NINO validation.

[[Kit Moore|P]]
@@ n051 en email
Hello,

ID number verification for order {{${d10}|order}} failed — is the card's ID number required?

[[Nell Page|P]]
@@ n052 en email
Hi,

Your passport application reference is {{${d10}|order}}.

{{HM Passport Office|org}}
@@ n053 de email
Hallo,

die Vorgangsnummer {{${d10}|order}} für den Reisepassantrag ist unbekannt.

[[Ute Berg|P]]
@@ n054 en email
Hello,

IBAN {{${iban_bad}|other}} failed validation; please send a new one.

[[Tess Hale|P]]
@@ n055 en email
Hi,

The discount code {{${dni_bad}|other}} didn't work at checkout.

[[Alba Soler|P]]
@@ n056 en email
Hi,

Aadhaar OTP failed for request {{${aadhaar_bad}|order}}.

[[Ravi Iyer|P]]
@@ n057 nl email
Hallo,

Ordernummer {{${bsn_bad}|order}}, pakket nog niet bezorgd.

[[Jeroen Bos|P]]
@@ n058 en email
Hi,

The build {{2024.11.3|version}} shipped on {{3 March|date}} with {{1,200|amount}} fixes.

[[Pam Cross|P]]
"""


def main() -> int:
    out = fill(TEXTS.strip("\n")).replace("\\t", "\t") + "\n"
    (HERE / "pii_ids_dev.txt").write_text(out, encoding="utf-8")
    print(f"pii_ids_dev.txt: {out.count('@@ ')} texts")
    return 0


def d4() -> str:
    return d(4)


def d6() -> str:
    return d(6)


def d8() -> str:
    return d(8)


def d9() -> str:
    return d(9)


def d10() -> str:
    return d(10)


KINDS.update(d4=d4, d6=d6, d8=d8, d9=d9, d10=d10)

if __name__ == "__main__":
    sys.exit(main())
