"""Layer 1, ingest: what kind of personal data a field holds, read from its name.

A field named ``name``, ``full_name``, ``customerName`` or ``contact`` holds a person's name;
``address`` or ``shipping_address`` an address; ``dob`` or ``birth_date`` a date of birth;
``passport_no`` or ``national_id`` an identity number. A field of one of these kinds, when
redacted, is redacted whole as that kind, whatever the detectors find in it: a name field
holding "Sam" or "K. Nguyen" gives ``<PERSON_1>`` even where no rule would read a name.
"""

from __future__ import annotations

import re

from seamline.ingest._people_words import TITLES, norm


def _split(words: str, sep: str | None = None) -> list[str]:
    # Word lists written as one string: easier to read and to extend than a list literal.
    return words.split(sep)


_SPLIT = re.compile(r"[_\-.\s]+|(?<=[a-z0-9])(?=[A-Z])")
# Words that make "…name" the name of a thing, not of a person.
_THINGS = frozenset(_split(
    "file company org organisation organization business product account user domain host "
    "app application event field project plan brand store shop team group workspace "
    "tenant channel queue table column schema database db bucket repo repository branch "
    "server service device model package module class function method variable key tag "
    "label category city street country state region file_name filename screen nick "
    "nickname login handle path image document doc report dashboard job task"))
_PERSON_WORDS = frozenset(_split(
    "name fullname firstname lastname surname givenname familyname middlename forename "
    "contact contactname customername displayname sendername fromname recipientname "
    "cardholder cardholdername accountholder holder signatory requester author "
    "nom prenom prénom nombre apellido apellidos cognome naam voornaam achternaam vorname "
    "nachname"))
_ADDRESS_WORDS = frozenset(_split(
    "address street streetaddress addressline addressline1 addressline2 address1 address2 "
    "line1 line2 postcode postalcode zip zipcode postal adresse anschrift strasse straße "
    "direccion dirección indirizzo endereco endereço adres"))
_NOT_POSTAL = frozenset(_split("email e mail ip mac wallet web url server host remote bitcoin eth "
                        "crypto billing_email"))
_DOB_WORDS = frozenset(_split("dob birthdate birthday dateofbirth birth geburtsdatum "
                       "fechadenacimiento datadinascita datadenascimento geboortedatum"))
_ID_WORDS = frozenset(_split(
    "passport passportno passportnumber driverlicense driverslicense driverlicence "
    "driverslicence drivinglicence drivinglicense licensenumber licencenumber nationalid "
    "idnumber idcard identitycard taxid nino ninumber nationalinsurance nationalinsurancenumber "
    "bsn dni nie nif personalausweis steuerid codicefiscale nir sin cpf"))


def field_kind(name: str) -> str | None:
    """The PII kind a field named ``name`` holds whole (PERSON, ADDRESS, DOB, ID_NUMBER), or
    None when its name says nothing (free text: every kind is looked for in it)."""
    words = [w.lower() for w in _SPLIT.split(name) if w]
    if not words:
        return None
    joined = "".join(words)
    if joined in _DOB_WORDS or words[-1] in ("dob", "birthday") or "birth" in words:
        return "DOB"
    if joined in _ID_WORDS or any("".join(words[i:]) in _ID_WORDS for i in range(len(words))):
        return "ID_NUMBER"
    if words[-1] in ("address", "addr") or joined in _ADDRESS_WORDS:
        if set(words[:-1]) & _NOT_POSTAL:
            return None
        return "ADDRESS"
    if any(w in _ADDRESS_WORDS and w not in ("address",) for w in words) and not (
            set(words) & _NOT_POSTAL):
        return "ADDRESS"
    if words[-1] == "name" and set(words[:-1]) & _THINGS:
        return None
    if joined in _PERSON_WORDS or words[-1] in ("name", "surname", "firstname", "lastname") \
            or any("".join(words[i:]) in _PERSON_WORDS for i in range(1, len(words))):
        return "PERSON"
    return None


def whole_key(kind: str, value: str) -> str:
    """How a whole field's value is compared for its placeholder: a name by its words (titles
    left out, case folded), as the person detector keys the names it finds; anything else by
    its letters and digits, case folded."""
    if kind == "PERSON":
        words = [norm(w) for w in value.replace(",", " ").split()]
        return " ".join(w for w in words if w not in TITLES) or value.casefold()
    return "".join(c for c in value.casefold() if c.isalnum()) or value
