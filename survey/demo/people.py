"""Demo customers and the phone numbers and e-mail addresses they are reached at.

Names are Chinese for most customers (locale zh) and English for some (en). A
few addresses are shared by two customer records, as a family's phone or a
joint account's mailbox would be. E-mail addresses use the reserved example
domains, so nothing can ever reach a real mailbox. Each customer is drawn from
a random stream of its own, so any one can be drawn again when it is needed
instead of millions of them being kept in memory.
"""

from __future__ import annotations

import hashlib
import random
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from survey.demo.bulk import BulkWriter
from survey.demo.draws import Weights
from survey.models import Address, Customer, customer_address

SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"),
    ("郭", "guo"), ("何", "he"), ("高", "gao"), ("林", "lin"), ("罗", "luo"),
    ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"),
    ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("彭", "peng"),
)  # fmt: skip
GIVEN_NAMES = (
    ("芳", "fang"), ("伟", "wei"), ("娜", "na"), ("秀英", "xiuying"), ("敏", "min"),
    ("静", "jing"), ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"),
    ("洋", "yang"), ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("娟", "juan"),
    ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀兰", "xiulan"), ("霞", "xia"),
    ("平", "ping"), ("刚", "gang"), ("桂英", "guiying"), ("建华", "jianhua"),
    ("晓东", "xiaodong"), ("子涵", "zihan"), ("欣怡", "xinyi"), ("浩然", "haoran"),
    ("宇轩", "yuxuan"), ("雨桐", "yutong"), ("思远", "siyuan"), ("佳怡", "jiayi"),
    ("志强", "zhiqiang"), ("丹", "dan"), ("鑫", "xin"), ("倩", "qian"),
)  # fmt: skip
ENGLISH_FIRST = (
    "James", "Olivia", "Michael", "Emma", "Daniel", "Sophie", "Thomas", "Hannah", "Lucas",
    "Chloe", "Ryan", "Grace", "Ethan", "Mia", "Noah", "Isabella", "Jack", "Amelia", "Kevin",
    "Laura",
)  # fmt: skip
ENGLISH_LAST = (
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Martin", "Anderson", "Thompson",
    "Walker", "Lee", "Müller", "Dubois", "Rossi", "Tanaka", "Kim", "Nguyen", "Garcia",
    "O'Brien", "Novak", "Schmidt",
)  # fmt: skip
# (zone, weight): most customers live in the bank's zone; some are abroad.
ZH_ZONES = (("Asia/Shanghai", 95), (None, 2), ("Asia/Hong_Kong", 1), ("Asia/Singapore", 1),
            ("America/Vancouver", 1))  # fmt: skip
EN_ZONES = (("Asia/Shanghai", 55), ("Asia/Hong_Kong", 10), ("Asia/Singapore", 10),
            ("Europe/London", 10), ("America/New_York", 8), ("Australia/Sydney", 7))  # fmt: skip
MOBILE_PREFIXES = tuple(f"1{a}{b}" for a in "3589" for b in "0123456789")
# Customers living abroad mostly keep a local mobile: (country code, first digits, length).
ABROAD_MOBILES = {
    "Asia/Hong_Kong": ("+852", "69", 8),
    "Asia/Singapore": ("+65", "89", 8),
    "Europe/London": ("+44", "7", 10),
    "America/New_York": ("+1", "2", 10),
    "America/Vancouver": ("+1", "6", 10),
    "Australia/Sydney": ("+61", "4", 9),
}
MAIL_DOMAINS = ("example.com", "example.net", "example.org")

SHARE_PHONE = 0.03  # a family member's phone
SHARE_EMAIL = 0.01  # a joint account's mailbox
MAX_CUSTOMERS = 9_999_999  # numbers are unique by construction below this many customers


@dataclass(slots=True)
class DemoCustomer:
    """What the interaction and invitation generators need to know about a customer."""

    id: int
    external_id: str
    locale: str
    timezone: str | None
    # How often this customer contacts the bank, relative to others.
    activity: float
    name: str = ""
    created_at: datetime | None = None
    phone_id: int | None = None
    phone: str | None = None
    email_id: int | None = None
    email: str | None = None
    owns_phone: bool = False
    owns_email: bool = False


def _scrambled(index: int, digits: int) -> str:
    """Return ``digits`` digits that differ for every index below 10**digits (an affine bijection)."""
    return f"{(index * 48271 + 7919) % 10**digits:0{digits}d}"


def _mobile(rng: random.Random, zone: str | None, index: int) -> str:
    if zone in ABROAD_MOBILES and rng.random() < 0.8:
        country, starts, length = ABROAD_MOBILES[zone]
        # Every country's numbers have at least 7 free digits: unique below MAX_CUSTOMERS.
        return f"{country}{rng.choice(starts)}{_scrambled(index, length - 1)}"
    return "+86" + rng.choice(MOBILE_PREFIXES) + _scrambled(index, 8)


_ZH_ZONES = Weights(ZH_ZONES)
_EN_ZONES = Weights(EN_ZONES)


class Customers:
    """The demo's customers, each drawn from its own index, so none needs to be kept in memory.

    Customer ``i`` has id ``first_id + i``; its own phone, if any, has address id
    ``first_address_id + 2 i`` and its own e-mail ``first_address_id + 2 i + 1``. A
    shared address is an earlier customer's. Only the running sum of how often each
    customer calls (8 bytes a customer) is kept, to pick who calls.
    """

    def __init__(
        self, seed: int, count: int, first_id: int, first_address_id: int, before: datetime
    ) -> None:
        if count > MAX_CUSTOMERS:
            raise ValueError(f"at most {MAX_CUSTOMERS:,} demo customers")
        self.count = count
        self.first_id = first_id
        self.first_address_id = first_address_id
        self.before = before
        self._seed = int.from_bytes(hashlib.sha256(f"{seed}:customers".encode()).digest()[:6])
        self.cumulative_activity = array("d")
        self.get = lru_cache(maxsize=1 << 15)(self._draw)

    def _draw(self, index: int) -> DemoCustomer:
        rng = random.Random(self._seed * MAX_CUSTOMERS + index)
        created_at = self.before - timedelta(days=rng.uniform(30, 2500))
        if rng.random() < 0.85:
            locale = "zh"
            (surname, surname_py), (given, given_py) = (
                rng.choice(SURNAMES),
                rng.choice(GIVEN_NAMES),
            )
            name, mailbox = surname + given, f"{given_py}.{surname_py}"
            zone = _ZH_ZONES.draw(rng)
        else:
            locale = "en"
            first, last = rng.choice(ENGLISH_FIRST), rng.choice(ENGLISH_LAST)
            name = f"{first} {last}"
            mailbox = f"{first}.{last}".lower().replace("'", "").replace("ü", "ue")
            zone = _EN_ZONES.draw(rng)
        customer = DemoCustomer(
            id=self.first_id + index,
            external_id=f"C-{100001 + 7 * index + rng.randrange(7)}",
            locale=locale,
            timezone=zone,
            activity=rng.paretovariate(2.5),
            name=name,
            created_at=created_at,
        )
        has_phone = rng.random() < 0.93
        has_email = not has_phone or rng.random() < 0.7
        if has_phone:
            sharer = self._sharer(rng, index, SHARE_PHONE)
            if sharer is not None and sharer.phone_id is not None:
                customer.phone_id, customer.phone = sharer.phone_id, sharer.phone
            else:
                customer.phone_id = self.first_address_id + 2 * index
                customer.phone = _mobile(rng, zone, index)
                customer.owns_phone = True
        if has_email:
            sharer = self._sharer(rng, index, SHARE_EMAIL)
            if sharer is not None and sharer.email_id is not None:
                customer.email_id, customer.email = sharer.email_id, sharer.email
            else:
                customer.email_id = self.first_address_id + 2 * index + 1
                number = _scrambled(index, 7).lstrip("0") or "0"
                customer.email = f"{mailbox}{number}@{rng.choice(MAIL_DOMAINS)}"
                customer.owns_email = True
        return customer

    def _sharer(self, rng: random.Random, index: int, share: float) -> DemoCustomer | None:
        """An earlier customer whose address this one uses, or None (the usual case)."""
        if index == 0 or rng.random() >= share:
            return None
        return self.get(rng.randrange(index))

    def pick(self, rng: random.Random, count: int) -> list[DemoCustomer]:
        """Draw ``count`` customers, the more active ones more often."""
        indexes = rng.choices(range(self.count), cum_weights=self.cumulative_activity, k=count)
        return [self.get(i) for i in indexes]

    def write(self, writer: BulkWriter, step: Callable[[int], None]) -> None:
        """Write every customer, their own addresses and their links, a batch at a time."""
        total, written = 0.0, 0
        for index in range(self.count):
            customer = self.get(index)
            total += customer.activity
            self.cumulative_activity.append(total)
            created = customer.created_at
            writer.add(
                Customer,
                {
                    "id": customer.id,
                    "external_id": customer.external_id,
                    "name": customer.name,
                    "locale": customer.locale,
                    "timezone": customer.timezone,
                    "created_at": created,
                    "updated_at": created,
                },
            )
            for kind, address_id, value, own in (
                ("phone", customer.phone_id, customer.phone, customer.owns_phone),
                ("email", customer.email_id, customer.email, customer.owns_email),
            ):
                if address_id is None:
                    continue
                if own:
                    writer.add(
                        Address,
                        {"id": address_id, "kind": kind, "value": value, "created_at": created},
                    )
                writer.add(customer_address, {"customer_id": customer.id, "address_id": address_id})
            if writer.full():
                writer.flush()
                step(index + 1 - written)
                written = index + 1
        writer.flush()
        step(self.count - written)
