"""Past conversations for the chat benchmark: visitors, rooms and messages as rows.

Bodies mix Ukrainian, French and English words (with accents and apostrophes),
drawn with a Zipf-like skew, so search meets both very common and rare words, as
in a real support history. Everything is seeded: the same sizes give the same rows.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["History", "WORDS", "SEARCH_TERMS", "ADMINS", "chat_body", "utc_now"]

ADMINS = 5  # support admins who answered the past chats (ids 1..ADMINS)
GENERATOR_VERSION = "4"  # bump when the rows or how they are loaded change, so cached databases are rebuilt

UKRAINIAN = (
    "привіт дякую замовлення доставка оплата повернення гроші картка рахунок пароль акаунт "
    "допоможіть будь ласка чекаю відповідь сьогодні завтра тиждень посилка адреса телефон "
    "помилка сайт кошик знижка товар розмір колір гарантія ремонт скасувати підтвердження "
    "менеджер консультація питання проблема вирішено чудово добре швидко повільно їжак "
    "ґанок єнот щастя українська мова підписка тариф зв'язок"
).split()
FRENCH = (
    "bonjour merci commande livraison paiement remboursement carte compte mot passe aidez "
    "s'il vous plaît réponse aujourd'hui demain semaine colis adresse téléphone erreur site "
    "panier réduction produit taille couleur garantie réparation annuler confirmation "
    "conseiller question problème résolu très bien rapide lent garçon été élève déjà "
    "façade crème brûlée où naïve noël cœur reçu reçue abonnement facture"
).split()
ENGLISH = (
    "hello thanks order delivery payment refund card account password please help waiting "
    "answer today tomorrow week parcel address phone error website cart discount product size "
    "colour warranty repair cancel confirmation manager question problem solved great fast "
    "slow invoice subscription tracking number shipping login email update received broken"
).split()
WORDS = UKRAINIAN + FRENCH + ENGLISH
FIRST_NAMES = (
    "Олена Олександр Ірина Богдан Марія Тарас Юлія Андрій Élodie Amélie Hélène Jérôme François "
    "Céline Zoé Noël Emma Oliver Sophie James Grace Liam Chloé Ґанна Євген"
).split()
LAST_NAMES = (
    "Шевченко Коваленко Бондаренко Ткаченко Кравчук Dupont Lefèvre Müller Girard Bélanger "
    "Smith Johnson Brown Taylor García Łukasik"
).split()
# What support staff type into the search box: lower case, without accents, or as written.
SEARCH_TERMS = (
    "олена", "Олена", "замовлення", "повернення", "гарантія", "їжак", "ґанок", "шевченко",
    "elodie", "Élodie", "garcon", "garçon", "livraison", "remboursement", "creme brulee", "lefevre",
    "refund", "delivery", "password", "invoice", "tracking", "smith",
    "замов", "livr", "refu",  # prefixes, as typed before the word is finished
)

_WEIGHTS = [1.0 / (rank + 1) ** 0.9 for rank in range(len(WORDS))]
# Summed once: choices() given weights sums them on every call, 7 % of the load clients' CPU
# while they send; with the sums it draws the same words.
_CUM_WEIGHTS = list(itertools.accumulate(_WEIGHTS))


def chat_body(rng: random.Random, low: int = 4, high: int = 16) -> str:
    """A message of ``low``..``high`` words from the three languages, capitalised."""
    words = rng.choices(WORDS, cum_weights=_CUM_WEIGHTS, k=rng.randint(low, high))
    return " ".join(words).capitalize()


@dataclass(frozen=True)
class History:
    """``rooms`` past conversations holding ``messages`` messages in all."""

    rooms: int
    messages: int
    seed: int = 14

    @property
    def key(self) -> str:
        return f"v{GENERATOR_VERSION}-{self.rooms}r-{self.messages}m-s{self.seed}"

    def users(self, now: datetime) -> Iterator[tuple[Any, ...]]:
        """(id, role, name, email, created_at): the admins, then one guest per room."""
        start = now - timedelta(days=400)
        for i in range(1, ADMINS + 1):
            yield (i, "admin", f"Support {i}", f"support{i}@bench.test", start)
        rng = random.Random(self.seed)
        for i in range(self.rooms):
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            email = f"visitor{i}@example.test" if i % 3 == 0 else None
            yield (ADMINS + 1 + i, "guest", name, email, start)

    def rooms_and_messages(self, now: datetime) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
        """Each room row with its message rows.

        Room: (id, user_id, assigned_admin_id, status, priority, subject, last_message_at,
        last_message_preview, admin_unread_count, created_at, updated_at, resolved_at, closed_at,
        first_response_at, first_assigned_at).
        Message: (id, room_id, sender_id, sender_role, body, read_at, created_at).
        Closed chats span the past year; resolved, open and assigned ones are from the last
        five days (older resolved chats would have been closed by the auto-close sweep).
        """
        rng = random.Random(self.seed + 1)
        per_room, extra = divmod(self.messages, self.rooms)
        message_id = 0
        for index in range(self.rooms):
            room_id = index + 1
            user_id = ADMINS + 1 + index
            status = rng.choices(("closed", "resolved", "assigned", "open"), (85, 10, 3, 2))[0]
            days_ago = rng.uniform(5.5, 365) if status == "closed" else rng.uniform(0.01, 5)
            created = now - timedelta(days=days_ago)
            admin = rng.randint(1, ADMINS) if status != "open" else None
            count = per_room + (1 if index < extra else 0)
            messages: list[tuple[Any, ...]] = []
            at = created
            for n in range(count):
                at = at + timedelta(seconds=rng.randint(5, 300))
                by_visitor = n % 2 == 0 or admin is None
                message_id += 1
                body = chat_body(rng)
                messages.append((message_id, room_id, user_id if by_visitor else admin,
                                 "user" if by_visitor else "admin", body, at + timedelta(seconds=30), at))
            unread = 1 if status == "open" else 0
            answered = next((m[6] for m in messages if m[3] == "admin"), None)
            assigned = created + timedelta(seconds=rng.randint(2, 240)) if admin is not None else None
            last_at = messages[-1][6] if messages else None
            preview = messages[-1][4][:120] if messages else ""
            room = (room_id, user_id, admin, status, "urgent" if rng.random() < 0.05 else "normal",
                    chat_body(rng, 2, 5), last_at, preview, unread, created, last_at or created,
                    (last_at or created) if status in ("resolved", "closed") else None,
                    (last_at or created) if status == "closed" else None, answered, assigned)
            yield room, messages


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
