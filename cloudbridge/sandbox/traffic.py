"""The sample OLTP workload of the sandbox's "sales" database."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

SCHEMA_SQL = Path(__file__).with_name("schema.sql")
COUNTRIES = ["GB", "FR", "DE", "NL", "IE", "ES", "IT", "PL", "SE", "US"]
STATUSES = ["new", "paid", "shipped", "cancelled"]
# The schema change the validator must catch: a column the metadata does not know.
# Nullable and without a default: "add column ... default x" writes no row changes, so rows not
# touched afterwards would never carry x downstream (DMS behaves the same; such a change needs a
# table reload). Rows not touched stay NULL on both sides.
SCHEMA_CHANGE = "alter table public.products add column discontinued boolean"


@dataclass
class Counts:
    """How many changes the workload made, and which tables changed after the schema change."""

    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    schema_changes: int = 0
    touched_after_change: dict[str, set] = field(default_factory=dict)


def create_schema(connection: Any) -> None:
    """Create the sandbox's OLTP schema (customers, products, orders, order lines)."""
    connection.execute(SCHEMA_SQL.read_text())


def money(rng: random.Random, low: float, high: float) -> Decimal:
    """A random amount of money between ``low`` and ``high``, to the cent."""
    return Decimal(str(round(rng.uniform(low, high), 2)))


class Workload:
    """OLTP traffic on the sandbox's schema: seeded, repeatable inserts, updates and deletes."""

    def __init__(self, connection: Any, seed: int = 7):
        self.db, self.rng = connection, random.Random(seed)
        self.next_customer = self.next_order = self.next_product = 1
        self.counts = Counts()
        # Held around each use from more than one thread (the traffic loop, a DMS load's window).
        self.lock = threading.RLock()

    def seed(self, customers: int, products: int, orders: int) -> None:
        """Insert the starting rows."""
        for _ in range(products):
            self.new_product()
        for _ in range(customers):
            self.new_customer()
        for _ in range(orders):
            self.new_order()
        self.counts = Counts()  # the seed is the full load, not traffic

    def new_product(self) -> None:
        """Insert one product."""
        n = self.next_product
        self.next_product += 1
        self.db.execute(
            "insert into products (product_id, sku, name, unit_price, weight_kg, stock, released_on) "
            "values (%s,%s,%s,%s,%s,%s,%s)",
            (n, f"SKU-{n:05d}", f"Product {n}", money(self.rng, 1, 500), round(self.rng.uniform(0.1, 20), 3),
             self.rng.randint(0, 500), datetime(2020, 1, 1).date() + timedelta(days=self.rng.randint(0, 1500))),
        )  # fmt: skip
        self.counts.inserts += 1

    def new_customer(self) -> None:
        """Insert one customer."""
        n = self.next_customer
        self.next_customer += 1
        self.db.execute(
            "insert into customers (customer_id, email, full_name, country_code, is_active, credit_limit, created_at) "
            "values (%s,%s,%s,%s,%s,%s,%s)",
            (n, f"customer{n}@example.com", f"Customer {n} O'Brien", self.rng.choice(COUNTRIES),
             self.rng.random() > 0.1,
             money(self.rng, 100, 10_000) if self.rng.random() > 0.2 else None,
             datetime.now(UTC) - timedelta(days=self.rng.randint(0, 900), microseconds=self.rng.randint(0, 999_999))),
        )  # fmt: skip
        self.counts.inserts += 1

    def new_order(self) -> None:
        """Insert one order with one to four lines, in one transaction."""
        n = self.next_order
        self.next_order += 1
        lines = [
            (self.rng.randint(1, self.next_product - 1), self.rng.randint(1, 5)) for _ in range(self.rng.randint(1, 4))
        ]
        prices = [money(self.rng, 1, 300) for _ in lines]
        total = sum(p * q for p, (_, q) in zip(prices, lines, strict=True))
        with self.db.transaction():
            self.db.execute(
                "insert into orders (order_id, customer_id, status, ordered_at, total, notes) "
                "values (%s,%s,%s,%s,%s,%s)",
                (n, self.rng.randint(1, self.next_customer - 1), "new", datetime.now().replace(microsecond=0), total,
                 self.rng.choice([None, "leave at the door", "gift — wrap it", "call first"])),
            )  # fmt: skip
            for line_no, ((product, quantity), price) in enumerate(zip(lines, prices, strict=True), start=1):
                self.db.execute(
                    "insert into order_lines (order_id, line_no, product_id, quantity, unit_price, discount_pct) "
                    "values (%s,%s,%s,%s,%s,%s)",
                    (
                        n,
                        line_no,
                        product,
                        quantity,
                        price,
                        self.rng.choice([Decimal("0"), Decimal("5.00"), Decimal("12.50")]),
                    ),
                )
        self.counts.inserts += 1 + len(lines)

    def step(self) -> None:
        """One OLTP transaction: mostly new orders, some updates, a few deletes."""
        roll = self.rng.random()
        if roll < 0.35:
            self.new_order()
        elif roll < 0.45:
            self.new_customer()
        elif roll < 0.70:
            order = self.rng.randint(1, self.next_order - 1)
            self.counts.updates += self.db.execute(
                "update orders set status = %s where order_id = %s", (self.rng.choice(STATUSES[1:]), order)
            ).rowcount
        elif roll < 0.85:
            customer = self.rng.randint(1, self.next_customer - 1)
            self.counts.updates += self.db.execute(
                "update customers set credit_limit = %s, is_active = not is_active where customer_id = %s",
                (money(self.rng, 100, 20_000), customer),
            ).rowcount
        elif roll < 0.93:
            product = self.rng.randint(1, self.next_product - 1)
            self.counts.updates += self.db.execute(
                "update products set stock = greatest(stock - 1, 0), unit_price = %s where product_id = %s",
                (money(self.rng, 1, 500), product),
            ).rowcount
            if self.counts.schema_changes:  # carries the new column: its file is quarantined
                self.counts.touched_after_change["public.products"].add(product)
        else:
            order = self.rng.randint(1, self.next_order - 1)
            self.counts.deletes += self.db.execute("delete from orders where order_id = %s", (order,)).rowcount

    def schema_change(self, touch: int = 3) -> set:
        """Add a column to products and change a few rows: DMS writes the new column."""
        self.db.execute(SCHEMA_CHANGE)
        products = set(self.rng.sample(range(1, self.next_product), touch))
        for product in sorted(products):
            self.db.execute("update products set discontinued = true, stock = 0 where product_id = %s", (product,))
        self.counts.schema_changes += 1
        self.counts.updates += len(products)
        self.counts.touched_after_change["public.products"] = set(products)
        return products
