"""Change templates: titles, descriptions, impact analyses, rollback plans, tests, validation.

Placeholders: the service words (``{name}``, ``{key}``, ``{users}``…) plus ``{ver}``, ``{n}``,
``{a}`` and ``{b}`` drawn per change. Pre-approved (``standard``) templates carry the template
ID written to ``standard_template``. Texts avoid the policy's placeholder words.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from opsledger.demo.scenarios import ALL_KINDS


@dataclass(frozen=True)
class ChangeText:
    """One kind of change."""

    key: str
    kinds: tuple[str, ...]
    title: str
    description: str
    justification: str
    impact: str
    rollback: str
    trigger: str
    testing: str
    validation: str
    minutes: tuple[int, int]
    template: str | None = None


NORMAL: tuple[ChangeText, ...] = (
    ChangeText(
        "db-upgrade",
        ("db",),
        "Upgrade {name} to PostgreSQL {pg}",
        "Minor version upgrade of the {name} primary and replicas, replicas first, then a "
        "controlled switchover to an upgraded replica.",
        "The current minor version has a known bug in logical replication; support ends this year.",
        "Writes pause for up to 60 seconds during the switchover; {users} may see one failed "
        "request, which the application retries.",
        "Switch back to the untouched former primary with the failover script, then rebuild "
        "the upgraded replicas from it.",
        "Replication errors or p99 write latency above 200 ms for 10 minutes after switchover.",
        "Upgrade rehearsed on the staging cluster restored from last night's backup.",
        "Replication healthy on all replicas; write latency and error rate at baseline.",
        (60, 180),
    ),
    ChangeText(
        "pool",
        ("db", "api", "web", "payments"),
        "Increase {name} connection pool from {a} to {b}",
        "Raise the application connection pool on {name} from {a} to {b} connections per node "
        "and the database connection limit to match.",
        "Pool saturation alerts fired during the last three peaks.",
        "Rolling restart of the application nodes; capacity drops by one node at a time.",
        "Redeploy the previous configuration version through the pipeline; rolling restart "
        "takes about 15 minutes.",
        "Connection errors above 0.5% or database CPU above 85% after the restart.",
        "Load test at 1.5 times last peak on staging with the new pool size.",
        "Pool utilisation below 60% at peak and no connection errors for one hour.",
        (30, 90),
    ),
    ChangeText(
        "release",
        ("web", "api", "payments", "search", "auth", "queue"),
        "Deploy {name} release {ver}",
        "Release {ver} of {name}: new delivery-slot logic, dependency updates and two "
        "performance improvements, rolled out through the canary stage.",
        "Delivers the quarter's roadmap items and patches two library vulnerabilities.",
        "Canary first at 5% of traffic; a faulty build would affect at most 5% of {users} for "
        "up to 10 minutes.",
        "Promote the previous build {prev} through the pipeline; takes about 8 minutes.",
        "Canary error rate above 1% or p95 latency 20% above baseline for 10 minutes.",
        "Full regression suite and contract tests green on the release candidate.",
        "Error rate and latency at baseline 30 minutes after full rollout; smoke tests green.",
        (30, 120),
    ),
    ChangeText(
        "tls",
        ("web", "api", "auth", "network", "payments"),
        "Rotate TLS certificates for {name}",
        "Replace the {name} load balancer certificates with the new intermediate chain issued "
        "by the corporate CA.",
        "The current intermediate certificate is withdrawn by the CA next month.",
        "Connections are drained per load balancer; clients reconnect within seconds.",
        "Re-import the previous certificate bundle kept in the secrets store and reload the "
        "load balancers (about 5 minutes).",
        "Handshake failures above 0.1% or any client pinning error reported.",
        "New chain validated against the client compatibility matrix in staging.",
        "Handshakes succeed from all probe locations; chain verified with openssl.",
        (30, 60),
    ),
    ChangeText(
        "k8s",
        ("web", "api", "search", "queue", "batch"),
        "Upgrade {name} cluster nodes to Kubernetes {k8s}",
        "Replace the {name} node pool with nodes on Kubernetes {k8s}, one availability zone at "
        "a time, with pod disruption budgets enforced.",
        "The running version leaves vendor support at the end of the quarter.",
        "Pods are rescheduled zone by zone; capacity stays above 70% throughout.",
        "Scale the old node pool back up and cordon the new pool; pods move back within "
        "20 minutes.",
        "Pods failing readiness for more than 5 minutes or error rate above 1%.",
        "Upgrade rehearsed on the staging cluster with production manifests.",
        "All pods ready on the new nodes; error rate and latency at baseline.",
        (90, 240),
    ),
    ChangeText(
        "firewall",
        ("network", "db", "api", "payments"),
        "Update firewall rules for {name}",
        "Replace the broad subnet rule for {name} with per-service rules generated from the "
        "service inventory.",
        "Audit finding: the subnet rule allows more hosts than the service needs.",
        "A missing rule would block a caller of {name}; callers were inventoried from flow logs.",
        "Re-apply the saved rule set from the firewall manager's version history (2 minutes).",
        "Any denied flow from a known caller in the firewall log during validation.",
        "Rules checked against 30 days of flow logs in the policy simulator.",
        "No unexpected denies for 30 minutes; synthetic checks from every caller green.",
        (30, 60),
    ),
    ChangeText(
        "cache",
        ("web", "api"),
        "Migrate {name} cache to the new Redis cluster",
        "Point {name} at the new Redis cluster with dual writes for one hour before cutting "
        "reads over.",
        "The old cluster runs on hardware due for retirement.",
        "Cache hit rate dips for about 10 minutes after the read cut-over; pages load slower.",
        "Flip the cache endpoint flag back to the old cluster, which stays warm for 7 days.",
        "Hit rate below 70% after 20 minutes or Redis errors above 0.1%.",
        "Dual-write mode tested in staging for two days with production-like traffic.",
        "Hit rate back above 90% and no Redis errors for one hour.",
        (60, 120),
    ),
    ChangeText(
        "volume",
        ("db", "batch", "search"),
        "Expand {name} data volume by {n} GB",
        "Online expansion of the {name} data volume by {n} GB and filesystem resize.",
        "The volume is forecast to reach 85% within six weeks.",
        "Online operation; a brief I/O latency increase is possible during the resize.",
        "Volume expansion cannot shrink back; on failure restore the filesystem from the "
        "snapshot taken before the change (about 40 minutes).",
        "Filesystem errors in the kernel log or I/O latency above 50 ms for 5 minutes.",
        "Resize procedure run on a snapshot clone of the volume in staging.",
        "Filesystem shows the new size; I/O latency at baseline; no kernel errors.",
        (30, 60),
    ),
    ChangeText(
        "schema",
        ("batch", "db"),
        "Apply schema migration {n} to {name}",
        "Add two nullable columns and a concurrent index to the {name} orders table.",
        "Needed by next week's delivery-tracking feature.",
        "Concurrent index build adds load for about 20 minutes; no table locks are taken.",
        "Run the down migration that drops the new index and columns (under 2 minutes).",
        "Lock waits above 5 seconds or replication lag above 60 seconds.",
        "Migration applied to a production-sized copy in staging; timing recorded.",
        "Migration recorded in the schema history table; query latency at baseline.",
        (30, 90),
    ),
    ChangeText(
        "vendor",
        ("wms", "workplace", "network"),
        "Apply vendor update {ver} to {name}",
        "Install vendor update {ver} on {name}, including the security fixes in the vendor "
        "bulletin.",
        "Closes two vulnerabilities rated high by the vendor.",
        "{name} is unavailable for up to 30 minutes while services restart.",
        "Restore the pre-change VM snapshot; the vendor confirmed snapshots are supported (20 "
        "minutes).",
        "Login or core transaction failures during post-change checks.",
        "Update installed on the vendor-provided test instance and checked by the key users.",
        "Key users confirmed login and core transactions; vendor health check green.",
        (60, 180),
    ),
)

STANDARD: tuple[ChangeText, ...] = (
    ChangeText(
        "patch",
        ALL_KINDS,
        "Monthly OS security patching of {name} hosts",
        "Apply this month's operating system security updates to the {name} hosts in rolling "
        "batches of 25%.",
        "Monthly patch cycle required by the vulnerability management policy.",
        "Hosts restart one batch at a time; capacity stays above 75%.",
        "Boot the previous kernel from the boot menu and pin the earlier package set.",
        "A host failing health checks 10 minutes after restart.",
        "Patches soaked on the staging hosts for five days.",
        "All hosts report the new patch level and pass health checks.",
        (60, 120),
        "STD-OS-PATCH",
    ),
    ChangeText(
        "cert",
        ("web", "api", "auth", "network", "workplace", "payments"),
        "Renew TLS certificate for {name}",
        "Install the renewed certificate for the {name} endpoint before the current one expires.",
        "The current certificate expires within 30 days.",
        "Listener reload only; existing connections are not dropped.",
        "Reload the previous certificate from the secrets store.",
        "Handshake failures reported by the synthetic probes.",
        "Certificate chain validated with openssl before installation.",
        "Synthetic probes show the new expiry date and successful handshakes.",
        (30, 45),
        "STD-CERT-RENEW",
    ),
    ChangeText(
        "scale",
        ("web", "api", "search", "queue"),
        "Add two nodes to the {name} pool",
        "Add two nodes to the {name} pool ahead of expected seasonal traffic.",
        "Capacity forecast shows 80% utilisation at next month's peak.",
        "New nodes join behind the load balancer after passing health checks; no user impact.",
        "Remove the two new nodes from the pool and terminate them.",
        "New nodes failing health checks or raising the error rate.",
        "Node image already in use on the existing pool.",
        "New nodes healthy and receiving traffic; utilisation spread evenly.",
        (30, 60),
        "STD-SCALE-OUT",
    ),
    ChangeText(
        "pipeline",
        ("web", "api", "search", "queue", "batch"),
        "Pipeline release {ver} of {name}",
        "Low-risk release {ver} of {name} through the automated pipeline with canary analysis.",
        "Routine product improvements and dependency updates.",
        "Canary analysis gates the rollout; at most 5% of traffic sees a faulty build.",
        "The pipeline promotes the previous build automatically when canary analysis fails.",
        "Canary analysis verdict below the pass threshold.",
        "Pipeline test stages green on the release candidate.",
        "Canary analysis passed and the full rollout completed.",
        (30, 60),
        "STD-RELEASE",
    ),
    ChangeText(
        "access",
        ("db", "batch"),
        "Grant read-only reporting access on {name}",
        "Grant the reporting service account read-only access to the {name} reporting schema.",
        "Requested by the analytics team for the weekly sales report.",
        "Read-only grant on the reporting schema; no effect on running workloads.",
        "Revoke the grant with the prepared revoke statement.",
        "Any write attempt by the account in the audit log.",
        "Grant statement reviewed against the access template.",
        "Account can read the reporting schema and cannot write; verified by a test query.",
        (30, 30),
        "STD-ACCESS",
    ),
)


def draw_words(rng: random.Random) -> dict[str, str]:
    """Random values for ``{ver}``, ``{prev}``, ``{pg}``, ``{k8s}``, ``{n}``, ``{a}``, ``{b}``."""
    major, minor = rng.randint(2, 9), rng.randint(0, 30)
    pool = rng.choice((20, 30, 40, 50))
    return {
        "ver": f"{major}.{minor}.{rng.randint(0, 9)}",
        "prev": f"{major}.{max(0, minor - 1)}.{rng.randint(0, 9)}",
        "pg": f"16.{rng.randint(2, 6)}",
        "k8s": f"1.{rng.randint(29, 32)}",
        "n": str(rng.choice((100, 200, 250, 500))),
        "a": str(pool),
        "b": str(pool + rng.choice((10, 20))),
    }


def fitting(texts: tuple[ChangeText, ...], kind: str) -> list[ChangeText]:
    """Templates that fit a service kind."""
    return [text for text in texts if kind in text.kinds]
