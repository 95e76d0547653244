"""Words the demo utility draws from: names as they are written in southern Benin (Fon,
Goun, Yoruba/Nago, Adja, Mina, Bariba and Dendi families, French and Muslim given names),
businesses, Cotonou-style addresses (quartiers, carrés, "von" alleys, landmarks) and the
mobile prefixes of the 10-digit Beninese numbering plan (+229 01 ...).
"""

from __future__ import annotations

MALE_FIRST = (
    "Koffi", "Kossi", "Codjo", "Comlan", "Dossou", "Sèna", "Sèdjro", "Zinsou", "Hounnou",
    "Arsène", "Aurélien", "Bienvenu", "Cyriaque", "Euloge", "Fiacre", "Gildas", "Hervé",
    "Ismaël", "Jean-Baptiste", "Judicaël", "Léandre", "Modeste", "Nestor", "Parfait",
    "Rodrigue", "Romuald", "Séverin", "Sylvain", "Théophile", "Ulrich", "Wilfried", "Yaya",
    "Zakari", "Abdou", "Moussa", "Ibrahim", "Saka", "Chabi", "Orou", "Bio", "Gounou",
    "Maurice", "Gérard", "Patrice", "Landry", "Crépin", "Félicien", "Boris", "Innocent",
    "Fortuné", "Gaston", "Honoré", "Aristide", "Serge", "Rachidi", "Lamidi", "Kamarou",
)  # fmt: skip

FEMALE_FIRST = (
    "Mariam", "Fatoumata", "Aïcha", "Afiavi", "Akouavi", "Bernadette", "Blandine", "Chimène",
    "Clarisse", "Edwige", "Estelle", "Fifamè", "Florence", "Gisèle", "Hortense", "Inès",
    "Josiane", "Laure", "Léontine", "Mirabelle", "Nadège", "Nafissatou", "Prudence",
    "Rachida", "Reine", "Rosine", "Sènami", "Sika", "Victoire", "Yétondé", "Zénabou",
    "Houéfa", "Bignon", "Dossi", "Kpèdétin", "Ablawa", "Adjoa", "Chantal", "Solange",
    "Odile", "Pélagie", "Armelle", "Flora", "Gloria", "Sandrine", "Carine", "Rafiatou",
    "Safiatou", "Awa", "Ramatou", "Nathalie", "Espérance", "Grâce", "Murielle",
)  # fmt: skip

SURNAMES = (
    "Adjovi", "Agbodjan", "Ahouansou", "Akpovi", "Amoussou", "Assogba", "Avocè", "Azon",
    "Bio", "Chabi", "Dossou", "Dossa", "Fagnon", "Gbaguidi", "Glèlè", "Hounkpatin",
    "Houngbédji", "Hounsou", "Houessou", "Kiki", "Kouton", "Lawani", "Mensah", "Noudéhou",
    "Orou", "Quenum", "Sagbo", "Sossou", "Tossou", "Yessoufou", "Zinsou", "Zannou",
    "Adéchian", "Agossou", "Ahoyo", "Akakpo", "Alapini", "Assani", "Atchadé", "Badarou",
    "Bocovo", "Dagba", "Djossou", "Fassinou", "Gandonou", "Gnonlonfoun", "Hazoumè", "Hessou",
    "Kpadonou", "Loko", "Padonou", "Sossa", "Tchibozo", "Vodounou", "Zossou", "Adjaho",
    "Affo", "Boni", "Sanni", "Toko", "Yarou", "Worou", "Gounou", "Bachabi", "Salifou",
    "Idrissou", "Adamou", "Lafia", "Ahanhanzo", "Dégbé", "Houénou", "Kakpo", "Sènou",
    "Tognifodé", "Adandé", "Akindès", "Oloudé", "Ogoubiyi", "Adéoti", "Olatoundé",
    "d'Almeida", "de Souza", "Da Silva", "Santos", "Paraïso", "Ayéna", "Dansou", "Houndjo",
)  # fmt: skip

BUSINESS_KINDS = (
    "Boulangerie", "Pharmacie", "Quincaillerie", "Hôtel", "Restaurant", "Maquis", "Clinique",
    "Groupe Scolaire", "Cyber Café", "Atelier de couture", "Salon de coiffure", "Boutique",
    "Ets", "Imprimerie", "Garage", "Station-service", "Supermarché", "Menuiserie",
    "Cabinet médical", "Pressing", "Alimentation générale", "Bar-Restaurant", "Auberge",
)  # fmt: skip

BUSINESS_NAMES = (
    "La Grâce", "Le Bon Berger", "Sainte Rita", "du Lac", "L'Excellence", "Bénédiction",
    "La Providence", "Dieu Merci", "Les Cocotiers", "La Lagune", "Le Phare", "Étoile",
    "Saint Michel", "Le Palmier", "Akpakpa Centre", "La Confiance", "Espoir", "Le Baobab",
    "Les Rôniers", "Jéricho", "Vodjè Plus", "Sèdjro", "Gloire à Dieu", "L'Éternel",
)  # fmt: skip

INDUSTRY_KINDS = (
    "Usine de glace", "Savonnerie", "Huilerie", "Brasserie artisanale", "Scierie",
    "Unité de transformation de cajou", "Imprimerie industrielle", "Fabrique de briques",
    "Atelier de soudure", "Minoterie", "Unité d'eau minérale", "Usine de jus de fruits",
    "Chambre froide", "Fabrique de pâtes", "Tôlerie", "Plasturgie",
)  # fmt: skip

# Quartiers of Cotonou (Littoral), Abomey-Calavi (Atlantique), Sèmè-Podji (Ouémé).
QUARTIERS = {
    ("Cotonou", "Littoral"): (
        "Akpakpa",
        "Cadjèhoun",
        "Fidjrossè",
        "Gbégamey",
        "Zogbo",
        "Agla",
        "Vodjè",
        "Houéyiho",
        "Sainte Rita",
        "Jéricho",
        "Dantokpa",
        "Ganhi",
        "Haie Vive",
        "Gbèdjromèdé",
        "Kouhounou",
        "Sikècodji",
        "Missèbo",
        "Tokpa",
        "Mènontin",
        "Vêdoko",
        "Aïdjèdo",
        "Dédokpo",
        "Ahouansori",
        "Avotrou",
        "Sènadé",
        "Zongo",
        "Tanto",
        "Minonkpo",
    ),
    ("Abomey-Calavi", "Atlantique"): (
        "Godomey",
        "Togbin",
        "Cococodji",
        "Zoca",
        "Tankpè",
        "Kpota",
        "Zopah",
        "Akassato",
    ),
    ("Sèmè-Podji", "Ouémé"): ("Ekpè", "Agblangandan", "Djèrègbé", "Tohouè", "Sèmè"),
}

LANDMARKS = (
    "Derrière la mosquée", "Près de l'église Saint-Michel", "En face de la pharmacie",
    "À côté du marché", "Von du CEG", "Après le carrefour", "Derrière l'école primaire",
    "Près du château d'eau", "Face à la station-service", "Von de la maternité",
    "Près du terrain de football", "Derrière le commissariat", "À côté du maquis",
)  # fmt: skip

# 10-digit plan (since Nov 2024): 01 + the former 8-digit number; MTN and Moov prefixes.
MOBILE_PREFIXES = (
    "0190", "0191", "0196", "0197", "0161", "0162", "0166", "0167", "0169", "0151",
    "0152", "0194", "0195", "0198", "0199", "0160", "0163", "0164", "0165", "0168",
)  # fmt: skip

EMAIL_DOMAINS = ("gmail.com", "yahoo.fr", "hotmail.com", "outlook.fr")

METER_MODELS = {
    # meter type -> (make, model, serial prefix) options
    "postpaid": (("Hexing", "HXE110-KP", "HXE"), ("Inhemeter", "DDS666", "IHM"),
                 ("CLOU", "CL710K22", "CLU")),
    "prepaid": (("Hexing", "HXE110-KP STS", "HXP"), ("Inhemeter", "DDSY666 STS", "IHP"),
                ("Conlog", "BEC23", "CNL")),
    "smart": (("Landis+Gyr", "E450", "LGZ"), ("Itron", "ACE6000", "ITR"),
              ("Hexing", "HXE310 AMI", "HXS")),
}  # fmt: skip
