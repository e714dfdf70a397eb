"""Demo customers and the phone numbers and e-mail addresses they are reached at.

Names are Chinese for most customers (locale zh) and English for some (en). A
few addresses are shared by two customer records, as a family's phone or a
joint account's mailbox would be. E-mail addresses use the reserved example
domains, so nothing can ever reach a real mailbox.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from survey.demo.bulk import Progress, insert_rows
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


@dataclass(slots=True)
class DemoCustomer:
    """What the interaction and invitation generators need to know about a customer."""

    id: int
    external_id: str
    locale: str
    timezone: str | None
    # How often this customer contacts the bank, relative to others.
    activity: float
    phone_id: int | None = None
    phone: str | None = None
    email_id: int | None = None
    email: str | None = None


def _mobile(rng: random.Random, zone: str | None) -> str:
    if zone in ABROAD_MOBILES and rng.random() < 0.8:
        country, starts, length = ABROAD_MOBILES[zone]
        rest = length - 1
        return f"{country}{rng.choice(starts)}{rng.randrange(10**rest):0{rest}d}"
    return "+86" + rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def _weighted(rng: random.Random, options: tuple[tuple[str | None, int], ...]) -> str | None:
    values, weights = zip(*options, strict=True)
    return rng.choices(values, weights)[0]


def create_customers(
    rng: random.Random, count: int, before: datetime, progress: Progress
) -> list[DemoCustomer]:
    """Create ``count`` customers with their addresses; return them in creation order."""
    customers: list[dict] = []
    addresses: list[dict] = []
    address_index: dict[tuple[str, str], int] = {}
    links: list[tuple[int, int]] = []  # (customer index, address index)
    activity: list[float] = []

    def address(kind: str, value: str, created_at: datetime) -> int:
        key = (kind, value)
        if key not in address_index:
            address_index[key] = len(addresses)
            addresses.append({"kind": kind, "value": value, "created_at": created_at})
        return address_index[key]

    phones: list[str] = []
    emails: list[str] = []
    external = 100000
    for index in range(count):
        external += 1 + rng.randrange(12)
        created_at = before - timedelta(days=rng.uniform(30, 2500))
        if rng.random() < 0.85:
            locale = "zh"
            (surname, surname_py), (given, given_py) = (
                rng.choice(SURNAMES),
                rng.choice(GIVEN_NAMES),
            )
            name, mailbox = surname + given, f"{given_py}.{surname_py}"
            zone = _weighted(rng, ZH_ZONES)
        else:
            locale = "en"
            first, last = rng.choice(ENGLISH_FIRST), rng.choice(ENGLISH_LAST)
            name = f"{first} {last}"
            mailbox = f"{first}.{last}".lower().replace("'", "").replace("ü", "ue")
            zone = _weighted(rng, EN_ZONES)
        customers.append(
            {
                "external_id": f"C-{external}",
                "name": name,
                "locale": locale,
                "timezone": zone,
                "created_at": created_at,
                "updated_at": created_at,
            }
        )
        activity.append(rng.paretovariate(2.5))
        has_phone = rng.random() < 0.93
        has_email = not has_phone or rng.random() < 0.7
        if has_phone:
            if phones and rng.random() < SHARE_PHONE:
                phone = rng.choice(phones)
            else:
                phone = _mobile(rng, zone)
                phones.append(phone)
            links.append((index, address("phone", phone, created_at)))
        if has_email:
            if emails and rng.random() < SHARE_EMAIL:
                email = rng.choice(emails)
            else:
                email = f"{mailbox}{rng.randrange(10, 9999)}@{rng.choice(MAIL_DOMAINS)}"
                emails.append(email)
            links.append((index, address("email", email, created_at)))

    with progress.phase("customers", len(customers) + len(addresses) + len(links)) as step:
        customer_ids = insert_rows(Customer, customers, step) or []
        address_ids = insert_rows(Address, addresses, step) or []
        rows = [
            {"customer_id": customer_ids[c], "address_id": address_ids[a]}
            for c, a in dict.fromkeys(links)
        ]
        insert_rows(customer_address, rows, step)

    found: list[DemoCustomer] = [
        DemoCustomer(
            customer_ids[i], row["external_id"], row["locale"], row["timezone"], activity[i]
        )
        for i, row in enumerate(customers)
    ]
    for c, a in links:
        if addresses[a]["kind"] == "phone":
            found[c].phone_id, found[c].phone = address_ids[a], addresses[a]["value"]
        else:
            found[c].email_id, found[c].email = address_ids[a], addresses[a]["value"]
    return found
