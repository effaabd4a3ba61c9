"""Layer 1, ingest: the words around and inside names that the person detector reads.

Greetings, sign-offs, titles and labels say that a name follows; job titles, company
suffixes, departments and well-known products say that a capitalised word is not a name.
Lower-case, in the languages of the labelled set (en, de, fr, es, it, pt, nl) and a few more.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(w.strip() for w in text.split("|") if w.strip())


# "Hi Sarah", "Dear Mr Whitaker", "thanks Beth!": right before a name.
GREETINGS = _words("""
hi|hello|hey|heya|hiya|howdy|dear|morning|good morning|good afternoon|good evening|greetings
|thanks|thank you|thanks so much|many thanks|thx|ty|cheers|hallo|servus|moin|liebe|lieber
|liebes|sehr geehrte|sehr geehrter|guten morgen|guten tag|guten abend|bonjour|bonsoir|salut
|coucou|cher|chère|chers|hola|buenos días|buenas tardes|buenas|estimado|estimada|querido
|querida|ciao|salve|buongiorno|buonasera|gentile|gentilissimo|gentilissima|caro|cara|olá|oi
|bom dia|boa tarde|prezado|prezada|beste|geachte|hoi|hej|hei|cześć|dzień dobry|witam|ahoj
|merhaba|danke|merci|gracias|grazie|obrigado|obrigada|bedankt
""")
GREETING_AT_END = re.compile(
    r"(?:^|(?<=[\s>\"'(]))(?:" + "|".join(sorted((re.escape(g) for g in GREETINGS), key=len,
                                                  reverse=True)) + r")[ \t,!]*\Z", re.IGNORECASE)

# A line that closes a message; the name is on the line after it (or after it on its line).
SIGN_OFFS = _words("""
thanks|thank you|thanks again|many thanks|thanks so much|thanks in advance|thanks a lot
|thank you so much|thx|ty|ta|cheers|best|best regards|best wishes|kind regards|kindest regards
|warm regards|warmest regards|regards|sincerely|yours sincerely|yours faithfully|yours truly
|yours|respectfully|all the best|take care|cordially|with thanks|love|br|rgds|talk soon
|viele grüße|viele grüsse|beste grüße|beste grüsse|liebe grüße|liebe grüsse|lg|vg|mfg
|mit freundlichen grüßen|mit freundlichen grüssen|freundliche grüße|freundliche grüsse
|herzliche grüße|herzliche grüsse|schöne grüße|gruß|grüße|gruss|grüsse|danke|vielen dank
|danke schön|besten dank|cordialement|bien cordialement|bien à vous|merci|merci beaucoup
|merci d'avance|bonne journée|amitiés|salutations|sincères salutations|à bientôt|saludos
|un saludo|saludos cordiales|atentamente|gracias|muchas gracias|un abrazo|cordiales saludos
|cordiali saluti|distinti saluti|saluti|grazie|grazie mille|a presto|un saluto|obrigado
|obrigada|atenciosamente|abraços|abraço|cumprimentos|att|met vriendelijke groet
|vriendelijke groet|groeten|groetjes|bedankt|dank je|dank u|hartelijke groet|mvg|pozdrawiam
|dziękuję|med vänlig hälsning|hälsningar|mvh|hilsen|terveisin|saygılarımla
""")
_SIGN_OFF_ALT = "|".join(sorted((re.escape(s) for s in SIGN_OFFS), key=len, reverse=True))
SIGN_OFF_LINE = re.compile(r"[ \t>]*(?:" + _SIGN_OFF_ALT + r")[ \t]*[,.!;:]*[ \t]*\Z", re.IGNORECASE)
# "Thanks, Devon" / "Cheers Tom" on one line: the sign-off, then the name ending the line.
SIGN_OFF_INLINE = re.compile(r"(?:^|(?<=[\s>]))(?:" + _SIGN_OFF_ALT + r")[ \t]*[,!]?[ \t]+\Z",
                             re.IGNORECASE)
# "-- Priscilla", "— Tom" at the start of a line.
DASH_SIGN = re.compile(r"(?:^|\n)[ \t>]*(?:--?|—|–|~)[ \t]*\Z")

# Titles, part of the name's span: "<PERSON_1>" hides "Dr. Patel" whole.
TITLES = _words("""
mr|mrs|ms|miss|mx|dr|prof|professor|sir|dame|lord|lady|rev|herr|frau|hr|fr|m|mme|mlle
|monsieur|madame|mademoiselle|sr|sra|srta|señor|señora|señorita|don|doña|dña|dott|dott.ssa
|dr.ssa|sig|sig.ra|signor|signora|signorina|ing|avv|dhr|mevr|mw|nurse|capt|captain|judge
|senhor|senhora|sra.|dipl|mag
""")

# "Name: …", "Attendees: …", "account holder …", "her name is …": a name comes next.
LABELS = _words("""
name|full name|first name|last name|surname|given name|family name|contact|contact name
|customer|customer name|applicant|patient|employee|attendees|present|participants|from|to|cc
|bcc|signed by|account holder|account name|cardholder|cardholder name|name on card
|ansprechpartner|ansprechpartnerin|kontakt|kunde|kundin|nom|prénom|nom complet|nombre
|apellido|apellidos|nome|cognome|naam|voornaam|achternaam|lead|primary contact
|billing contact|new contact|owner|champion|assignee|requester|reporter|agent|candidate
|beneficiary|recipient|sender|guest|passenger|traveller|traveler|student|member|tenant
|landlord|signatory|witness|referred by|emergency contact|next of kin|spouse|partner name
|employee name|patient name|my name is|i'm|i am|this is|it's|name's|her name is
|his name is|their name is|named|ich heiße|mein name ist|ich bin|je m'appelle|je suis
|me llamo|mi nombre es|soy|mi chiamo|sono|il mio nome è|meu nome é|eu sou|sou o|sou a
|mijn naam is|ik ben|spoke to|spoke with|talked to|met with|call with|meeting with
|demo with|intro call with|exit call with|chiamata con|reunión con|rendez-vous avec|rdv avec
|termin mit|gespräch mit|ligação com|reunião com|contact:|kontakt mit|per
""")
LABEL_AT_END = re.compile(
    r"(?:^|(?<=[\s>(,;]))(?:" + "|".join(sorted((re.escape(x) for x in LABELS), key=len,
                                                 reverse=True)) + r")[ \t]*[:：=\-–]?[ \t]*\Z",
    re.IGNORECASE)
# Labels that introduce several people, comma- or "and"-separated, on the rest of the line.
LIST_LABELS = re.compile(
    r"(?:attendees|present|participants|invitees|cc|bcc|to|team|people|contacts|teilnehmer"
    r"|anwesend|participants|présents|asistentes|partecipanti|presentes|deelnemers)[ \t]*[:：][^\n]*\Z",
    re.IGNORECASE)

# Before or after a name in running text: weaker hints, taken only with a name-like word.
_WEAK_BEFORE = _words("""
with|to|by|cc|ask|asked|tell|told|thank|thanks to|met|meet|call|called|contact
|contacted|remove|removed|add|added|invite|invited|email|emailed|ping|pinged|cc'd|assign
|assigned to|forward to|copy|copied|according to|colleague|colleagues|manager
|boss|wife|husband|son|daughter|mother|father|mom|mum|dad|sister|brother|friend|client
|contractor|employee|customer|user|member|hire|hires|patient|tenant|mit|avec|con|met
|merci à|grâce à|gracias a|grazie a|danke an|dank aan|obrigado a|obrigada a|obrigado ao
|obrigada ao
""")
# Of those, the ones that are no preposition: "ask Will", "cc Grant" (but "with Chase",
# "to Sky" may be the bank and the broadband).
VERB_BEFORE = _WEAK_BEFORE - _words("with|to|by|cc|mit|avec|con|met|thanks to|according to")
# A verb of speech or of doing after a word makes it someone: "Will said", "Rose's".
SPEECH_AFTER = re.compile(
    r"\A(?:['’]s[ \t]|[ \t]+(?:said|says|asked|asks|wrote|writes|told|tells|mentioned"
    r"|confirmed|agreed|approved|replied|joined|signed|emailed|phoned|rang|suggested"
    r"|promised|explained|noted|hat|ha|dijo|disse|zei|sagte|meinte|schrieb|écrit|dit"
    r"|escribió|scrive|scritto|escreveu)\b)", re.IGNORECASE)
WEAK_WORDS = _WEAK_BEFORE
WEAK_BEFORE = re.compile(
    r"(?:^|(?<=[\s(]))(?:" + "|".join(sorted((re.escape(x) for x in _WEAK_BEFORE), key=len,
                                             reverse=True)) + r")[ \t]+\Z", re.IGNORECASE)
WEAK_AFTER = re.compile(
    r"\A(?:['’]s\b|[ \t]+(?:said|says|asked|asks|wrote|writes|told|tells|called|calls"
    r"|mentioned|will|would|is|was|has|had|joined|left|confirmed|agreed|approved|replied"
    r"|sent|received|reports|reported|wants|needs|who|here|from)\b"
    r"|[ \t]*\((?!\d)|,[ \t]+(?:our|the|my|his|her|their|a|an|one|who|from|at)\b)", re.IGNORECASE)

# Words that close a message's name line: "Renee\nHarlow Dental", "Sharon Kaplan, HR".
# Capitalised words that are no name of a person, whatever the lexicon says.
NOT_NAMES = _words("""
team|all|everyone|everybody|there|folks|guys|friends|colleagues|support|customer|customers
|client|clients|sir|madam|madame|monsieur|damen|herren|kollegen|kolleginnen|zusammen|tous
|toutes|todos|todas|equipo|equipe|équipe|tutti|allemaal|iedereen|admin|administrator|hiring
|user|users|members|partners|world|anyone|someone|somebody|nobody|mom|mum|dad|i|im|ive|id
|ok|okay|yes|no|hi|hello|hey|dear|thanks|thank|please|sorry|regards|best|cheers|note|notes
|subject|re|fwd|fw|ps|pps|attn|attention|urgent|important|update|question|request|issue
|problem|error|warning|info|debug|trace|fatal|critical|high|low|normal|medium|system
|assistant|ai|bot|bitte|danke|merci|gracias|grazie|obrigado|obrigada|bedankt|gruß|grüße
|hallo|bonjour|hola|ciao|olá|salut|liebe|lieber|cher|chère|estimado|estimada|gentile|caro
|cara|beste|geachte|sehr|geehrte|geehrter|herr|frau|mister|missus|señor|señora|signor
|signora|senhor|senhora|meneer|mevrouw|ihr|ihre|votre|vos|su|sus|il|la|le|les|el|los|las
|der|die|das|het|een|de|du|des|di|da|do|dos|van|von|the|a|an|our|your|my|his|her|their
|its|this|that|these|those|mr|mrs|ms|dr|prof|customer service|kundenservice|service
|helpdesk|desk|office|hq|operations|engineering|sales|marketing|finance|accounts|billing
|payroll|hr|it|devops|security|legal|compliance|procurement|purchasing|einkauf|vertrieb
|buchhaltung|personal|personalabteilung|kundendienst|recursos|humanos|servizio|clienti
|ufficio|comptabilité|direction|equipo|departamento|département|abteilung|afdeling
|klantenservice|atendimento|suporte|facturación|facturation|fatturazione|contabilidad
|events|claims|department|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january
|february|march|april|may|june|july|august|september|october|november|december|montag
|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|januar|februar|märz|juni|juli
|oktober|dezember|christmas|easter|black|cyber|covid|q1|q2|q3|q4|h1|h2|utc|gmt|est|pst|cet
|pdf|csv|api|sdk|sso|scim|url|vat|eu|uk|us|usa|sie|ihnen|ihren|ihrem|ihrer|du|dich|dir
|dein|deine|euch|euer|vous|usted|ustedes|lei|voi|você|vocês|jij|jullie|uw|ni|ono|ona|wir
|uns|unser|unsere|nous|nosotros|noi|nós|wij|ons|onze|ich|je|yo|io|eu|ik
""")

# Job titles: inside a run they make it a role ("Office Manager"), after a name a signature.
TITLE_WORDS = _words("""
manager|director|head|lead|chief|officer|president|vp|svp|evp|ceo|cto|cfo|coo|cio|cmo|cro
|cpo|ciso|founder|co-founder|cofounder|owner|partner|engineer|developer|designer|analyst
|consultant|specialist|coordinator|assistant|administrator|admin|executive|associate
|representative|rep|agent|supervisor|intern|accountant|controller|bookkeeper|recruiter
|receptionist|secretary|clerk|advisor|adviser|architect|scientist|researcher|editor|writer
|marketer|strategist|producer|technician|operative|operator|doctor|dentist|hygienist|teacher
|principal|dean|chair|chairman|chairwoman|treasurer|trustee|staff|leader|sales|marketing
|finance|operations|engineering|procurement|purchasing|support|success|customer|account
|accounts|payable|receivable|payroll|hr|it|legal|compliance|security|platform|product|data
|business|development|strategy|growth|revenue|technology|information|analytics|helpdesk
|service|services|care|people|talent|office|store|warehouse|geschäftsführer|geschäftsführerin
|leiter|leiterin|teamleiter|teamleiterin|vorstand|abteilungsleiter|abteilungsleiterin
|sachbearbeiter|sachbearbeiterin|einkauf|vertrieb|buchhaltung|directeur|directrice
|responsable|chef|gérant|gérante|drh|pdg|dg|director|directora|gerente|jefe|jefa
|responsabile|direttore|direttrice|amministratore|diretor|diretora|coordenador|coordenadora
|marketing|ventas|vendas|acquisti|commerciale|financier|financière|financiero|financiera
|comercial|compras|de|of|and|the|senior|junior|principal|staff|global|regional|national
|general|managing|deputy|assistant|interim|acting|vice|sr|jr|team|coordinator|officer
""")

# A last word that makes a run a company: "Harlow Dental", "Fjord Shipping AS".
ORG_SUFFIXES = _words("""
inc|ltd|llc|llp|plc|gmbh|ag|kg|se|sa|sas|sarl|srl|spa|bv|nv|ab|as|asa|oy|co|corp
|corporation|company|group|holdings|partners|associates|solutions|systems|technologies
|technology|tech|software|labs|lab|studio|studios|media|digital|consulting|services|service
|logistics|dental|clinic|health|healthcare|medical|pharma|bank|capital|ventures|fund
|insurance|realty|properties|foods|food|farms|motors|auto|energy|industries|interiors
|architecture|architects|design|legal|law|hotel|hotels|restaurant|cafe|café|bakery|store
|shop|market|warehousing|foundation|trust|university|college|school|academy|institute
|hospital|pharmacy|fitness|events|travel|airlines|airways|shipping|freight|transport
|electric|electronics|networks|cloud|analytics|data|ai|pay|payments|finance|financial
|accounting|traders|trading|supplies|supply|manufacturing|works|construction|builders|homes
|living|coffee|brewing|brewery|surf|outdoors|sports|team|support|helpdesk|desk|department
|office|hq|operations|engineering|sales|marketing|hr|it|devops|security|platform|partners
|kundenservice|logistik|söhne|soehne|verlag|werke|gruppe|stiftung|groupe|frères|fils
|hermanos|hijos|fratelli|irmãos|zonen|care|wellness|beauty|salon|spa|garage|agency
|network|telecom|mobile|labs|club|league|association|council|ministry|agency|studio
|portal|app|platform|suite|hub|center|centre|plan|edition|pro|plus|premium|starter
|business|enterprise|basic|ultimate|online|express|direct|one|go|cards|card|pass
""")
# A first word that makes a run a company or a place: "Maison Lenoir", "Groupe Lumière".
ORG_PREFIXES = _words("""
maison|groupe|grupo|banco|banca|casa|hotel|café|club|studio|bank|team|bureau|atelier
|cabinet|clínica|clinica|farmacia|institut|instituto|fondation|fundación|fondazione
|stichting|universidad|università|universität|university|college|school|hospital|hôpital
|ospedale|ministerio|ministère|ministero|museo|musée|museum|lake|mount|mt|port|fort|saint
|san|santa|são|st|new|north|south|east|west|upper|lower|greater|royal|the|camp|cape|isle
|bay|glen|park|central|national|international|global|united|first|air|radio|tv
""")

# Well-known companies and products that look like names or that the model reads as people.
KNOWN_ORGS = _words("""
salesforce|hubspot|contoso|fabrikam|northwind|tailspin|adventure works|globex|initech
|umbrella|hooli|acme|stripe|shopify|zendesk|freshdesk|intercom|slack|jira|confluence|asana
|trello|notion|zoom|teams|microsoft teams|google|microsoft|apple|amazon|aws|azure|okta
|github|gitlab|paypal|klarna|adyen|quickbooks|xero|sage|netsuite|oracle|sap|ibm|datadog
|snowflake|looker|tableau|power bi|mixpanel|segment|twilio|sendgrid|mailchimp|docusign
|dropbox|box|figma|canva|adobe|pipedrive|gusto|bamboohr|workday|rippling|deel|chase
|barclays|hsbc|santander|revolut|monzo|wise|visa|mastercard|amex|american express|discover
|dhl|ups|fedex|usps|royal mail|morgan stanley|goldman sachs|jp morgan
|johnson & johnson|procter & gamble|marks & spencer|ben & jerry|harley davidson
|rolls royce|mercedes benz|louis vuitton|calvin klein|ralph lauren|tommy hilfiger|hugo boss
|john lewis|ted baker|tim hortons|dunkin|ford|tesla|toyota|honda|samsung|galaxy|lenovo
|dell|hp|cisco|intel|nvidia|android|iphone|ipad|mac|macbook|windows|linux|ubuntu|chrome
|firefox|safari|edge|opera|gmail|outlook|hotmail|yahoo|whatsapp|telegram|signal|facebook
|instagram|linkedin|twitter|tiktok|youtube|netflix|spotify|uber|lyft|airbnb|booking
|expedia|ebay|etsy|walmart|target|costco|ikea|lidl|aldi|tesco|sainsbury|carrefour
|mercadona|h&m|nike|adidas|puma|coleman|patagonia|rei|decathlon|postgres|postgresql
|mysql|mongodb|redis|kafka|kubernetes|docker|terraform|ansible|jenkins|circleci|vercel
|netlify|heroku|cloudflare|fastly|akamai|sentry|pagerduty|opsgenie|grafana|prometheus
|elastic|kibana|splunk|new relic|dynatrace|auth0|onelogin|ping identity|duo|lastpass
|1password|bitwarden|zapier|make|ifttt|airtable|monday|smartsheet|clickup|basecamp
|wrike|miro|loom|calendly|typeform|surveymonkey|qualtrics|hotjar|amplitude|heap|pendo
|braze|iterable|klaviyo|marketo|pardot|eloqua|outreach|salesloft|gong|chorus|apollo
|zoominfo|clearbit|6sense|demandbase|woocommerce|magento|bigcommerce|wix|squarespace
|wordpress|ghost|webflow|contentful|sanity|strapi|algolia|mapbox|here|tomtom|waze
|openai|anthropic|claude|chatgpt|gemini|copilot|bard|llama|mistral|cohere|hugging face
|datev|lexware|sevdesk|personio|n26|commerzbank|deutsche bank|sparkasse|ing|rabobank
|abn amro|bnp paribas|société générale|crédit agricole|la poste|correos|poste italiane
|vodafone|telekom|o2|movistar
|petrobras|itaú|bradesco|nubank|mercado libre|rappi|glovo|deliveroo|just eat|bolt
|free now|blablacar|doctolib|qonto|payfit|lucca|swile|ledger|dataiku|mirakl
|contentsquare|sendinblue|brevo|odoo|holded|factorial|cabify|typeform|sumup|mollie
|adyen|bunq|picnic|coolblue|bol|booking.com|tomtom|philips|heineken|unilever|shell
|wells fargo|jpmorgan chase|jp morgan chase|chase bank|capital one|charles schwab
|edward jones|raymond james|merrill lynch|grant thornton|ernst & young|baker mckenzie
|clifford chance|allen & overy|jack wolfskin|jack daniel's|jack daniels|john deere
|ray-ban|ray ban|marks and spencer|frank body|paul smith|fred perry|ted baker|marc jacobs
|michael kors|kate spade|tory burch|jimmy choo|jo malone|estée lauder|estee lauder
|charlotte tilbury|bobbi brown|mary kay|walt disney|warner bros|fisher price|dow jones
|sherwin williams|kraft heinz|hewlett packard|dr martens|ben sherman|stella mccartney
|victoria's secret|papa john's|tim horton|wendy's|sky|sky go|sky q|sky broadband
|sky glass|sky mobile|bt|virgin media|bill.com|bill pay|chase sapphire|frank recruitment
|guy carpenter|lloyds|natwest|halifax|nationwide|starling
""")

# First words of a run that are sentence openers, not names, even when capitalised.
OPENERS = _words("""
please|thanks|thank|hi|hello|hey|dear|also|and|but|or|so|then|now|today|yesterday|tomorrow
|when|where|why|what|which|who|how|if|as|at|on|in|for|from|to|with|by|after|before|since
|because|while|just|only|still|even|my|our|your|their|his|her|the|a|an|this|that|these
|those|we|you|they|he|she|it|i|is|are|was|were|can|could|would|should|will|shall|may
|might|must|do|does|did|have|has|had|not|no|yes|ok|any|all|some|every|each|both|either
|neither|none|one|two|three|here|there|hope|hoping|sorry|unfortunately|however|also
|attached|see|let|let's|note|ps|re|fwd|fw|aw|wg|tr|rv|dear|liebe|lieber|sehr|bonjour|hola
|ciao|olá|hallo|beste|geachte|ich|wir|sie|bitte|danke|je|nous|vous|merci|yo|nosotros
|usted|gracias|io|noi|lei|grazie|eu|nós|você|obrigado|ik|wij|u|mijn|onze|kunt|kan
""")


def norm(word: str) -> str:
    """The form the sets above hold: lower case, dots and curly apostrophes dropped."""
    return word.casefold().replace("’", "'").rstrip(".")
