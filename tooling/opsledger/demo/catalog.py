"""The demo company's service catalog (``records/services.yaml``).

A mid-size online retailer: a storefront, checkout and payments, the orders database, single
sign-on, search, a warehouse system, notifications, a data platform and internal tools. Each
service carries the words its incidents and changes are written with (who uses it, what they
do with it, the unit that fails, the workaround) and its monitoring alerts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from opsledger.demo.people import TEAMS, Directory, Person


@dataclass(frozen=True)
class ServiceDef:
    """The fixed description of a service the demo may include."""

    key: str
    name: str
    tier: int
    team: str
    kind: str
    users: str
    user_one: str
    verb: str
    unit: str
    workaround: str
    alerts: tuple[str, ...]
    vendor: str | None = None
    description: str = ""


POOL: tuple[ServiceDef, ...] = (
    ServiceDef(
        "storefront-web",
        "Storefront web",
        1,
        "commerce",
        "web",
        "customers",
        "customer",
        "browse and buy on the website",
        "page views",
        "using the mobile app",
        ("StorefrontErrorRateHigh", "StorefrontLatencyP95High"),
        None,
        "Customer-facing website and its edge cache.",
    ),
    ServiceDef(
        "checkout",
        "Checkout API",
        1,
        "commerce",
        "api",
        "customers",
        "customer",
        "complete checkout",
        "checkout attempts",
        "retrying the order a few minutes later",
        ("CheckoutErrorRateHigh", "CheckoutLatencyP99High"),
        None,
        "Basket, delivery options and order placement.",
    ),
    ServiceDef(
        "payments",
        "Payment gateway",
        1,
        "payments",
        "payments",
        "customers",
        "customer",
        "pay for their orders",
        "payment authorisations",
        "paying with a saved wallet",
        ("PaymentAuthFailureRate", "PaymentProviderLatency"),
        "Payment provider support",
        "Card and wallet payments through the external payment provider.",
    ),
    ServiceDef(
        "orders-db",
        "Orders database",
        1,
        "platform",
        "db",
        "customers and store staff",
        "store colleague",
        "place or look up orders",
        "order writes",
        "placing the order by phone through the contact centre",
        ("OrdersDbPoolSaturation", "OrdersDbReplicationLag", "OrdersDbDiskUsage"),
        None,
        "PostgreSQL primary and replicas holding orders and payments state.",
    ),
    ServiceDef(
        "identity",
        "Identity and SSO",
        1,
        "identity",
        "auth",
        "employees and customers",
        "employee",
        "sign in",
        "sign-in attempts",
        "using a cached session on another device",
        ("SsoLoginFailureRate", "IdpCertificateExpiry"),
        "Identity provider support",
        "Customer accounts and employee single sign-on.",
    ),
    ServiceDef(
        "search",
        "Product search",
        2,
        "commerce",
        "search",
        "customers",
        "customer",
        "search the catalogue",
        "search queries",
        "browsing the category pages",
        ("SearchLatencyHigh", "SearchIndexStale"),
        None,
        "Search cluster and indexing pipeline.",
    ),
    ServiceDef(
        "catalog",
        "Product catalogue",
        2,
        "commerce",
        "api",
        "merchandisers",
        "merchandiser",
        "publish product changes",
        "catalogue updates",
        "queueing the edits in the bulk tool",
        ("CatalogApiErrorRate", "CatalogPublishLag"),
        None,
        "Product information and pricing service.",
    ),
    ServiceDef(
        "warehouse",
        "Warehouse management",
        2,
        "platform",
        "wms",
        "warehouse staff",
        "warehouse picker",
        "pick and pack orders",
        "pick lists",
        "printing paper pick lists",
        ("WmsQueueDepthHigh", "WmsScannerDisconnects"),
        "WMS vendor support",
        "Warehouse management system and handheld scanners.",
    ),
    ServiceDef(
        "notifications",
        "Customer notifications",
        2,
        "platform",
        "queue",
        "customers",
        "customer",
        "receive order e-mails and texts",
        "messages",
        "checking the order status page",
        ("NotifyQueueBacklog", "EmailBounceRateHigh"),
        "E-mail delivery provider",
        "Order and delivery e-mails and text messages.",
    ),
    ServiceDef(
        "data-platform",
        "Data platform",
        2,
        "data",
        "batch",
        "analysts",
        "analyst",
        "use the morning sales dashboards",
        "pipeline runs",
        "using the previous day's extract",
        ("EtlJobFailed", "WarehouseLoadLate"),
        None,
        "Nightly loads, the analytics warehouse and dashboards.",
    ),
    ServiceDef(
        "hr-portal",
        "HR portal",
        3,
        "workplace",
        "workplace",
        "employees",
        "employee",
        "book leave and view payslips",
        "portal requests",
        "asking HR to record the request",
        ("HrPortalUnavailable",),
        "HR software vendor",
        "Leave, payslips and employee records (vendor-hosted).",
    ),
    ServiceDef(
        "vpn",
        "Remote access VPN",
        3,
        "workplace",
        "network",
        "remote employees",
        "remote employee",
        "connect to internal tools",
        "VPN connections",
        "working from an office for the day",
        ("VpnGatewayDown", "VpnAuthFailures"),
        None,
        "Remote-access VPN gateways.",
    ),
)


@dataclass
class Service:
    """A service of the demo catalog, with its owner and (later) its runbooks."""

    spec: ServiceDef
    owner: Person
    availability_target: float
    runbooks: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def tier(self) -> int:
        return self.spec.tier

    @property
    def team(self) -> str:
        return self.spec.team

    def escalation(self) -> list[tuple[int | str, str]]:
        """The escalation ladder: service desk, team on-call, team engineering, vendor."""
        label = TEAMS.get(self.team, self.team.title())
        ladder: list[tuple[int | str, str]] = [
            (1, "Service Desk"),
            (2, f"{label} on-call"),
            (3, f"{label} engineering"),
        ]
        if self.spec.vendor:
            ladder.append(("vendor", self.spec.vendor))
        return ladder

    def words(self) -> dict[str, str]:
        """Placeholders for the text templates."""
        spec = self.spec
        return {
            "name": spec.name,
            "key": spec.key,
            "users": spec.users,
            "user_one": spec.user_one,
            "verb": spec.verb,
            "unit": spec.unit,
            "workaround": spec.workaround,
            "alert": spec.alerts[0],
            "team": TEAMS.get(spec.team, spec.team),
            "vendor": spec.vendor or f"{TEAMS.get(spec.team, spec.team)} engineering",
        }

    def to_yaml(self) -> dict[str, Any]:
        """The catalog entry."""
        entry: dict[str, Any] = {
            "id": self.key,
            "name": self.name,
            "description": self.spec.description,
            "tier": self.tier,
            "owner": self.owner.email,
            "availability_target": self.availability_target,
            "escalation": [{"tier": tier, "team": team} for tier, team in self.escalation()],
        }
        if self.runbooks:
            entry["runbooks"] = list(self.runbooks)
        return entry


_TARGETS = {1: (99.95, 99.9), 2: (99.9, 99.5), 3: (99.5, 99.0)}


def build_services(rng: random.Random, people: Directory) -> list[Service]:
    """8-12 services: every tier-1 service plus a random selection of the others."""
    core = [spec for spec in POOL if spec.tier == 1]
    others = [spec for spec in POOL if spec.tier != 1]
    count = rng.randint(max(8, len(core) + 3), min(12, len(POOL)))
    chosen = core + rng.sample(others, count - len(core))
    chosen.sort(key=lambda spec: POOL.index(spec))
    owners = people.approvers.get("service-owner") or people.commanders
    services = []
    for index, spec in enumerate(chosen):
        owner = owners[index % len(owners)]
        target = rng.choice(_TARGETS[spec.tier])
        services.append(Service(spec, owner, target))
    return services
