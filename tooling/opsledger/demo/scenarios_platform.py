"""Incident scenarios, first half: connection pools, replication, full disks, bad releases,
memory leaks, expired certificates, provider timeouts, DNS."""

from __future__ import annotations

from opsledger.demo.scenario_types import Action, Scenario

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "pool",
        "database",
        ("db", "api", "web", "payments"),
        ("P1", "P2", "P3"),
        "Connection pool exhausted on {name}",
        "slow pages and intermittent timeouts",
        "Checked pool metrics, found 95% of connections held by idle-in-transaction sessions "
        "from the reconciliation job; confirmed no database failover had happened.",
        "Terminated the idle-in-transaction sessions and paused the reconciliation job.",
        "Moved the reconciliation job to a read replica with its own pool of 10 connections.",
        "A reconciliation job kept long-lived transactions open and held most of the {name} "
        "connection pool during peak traffic.",
        (
            "The pool size had not been revisited since traffic doubled last year.",
            "The job had no statement timeout, so stuck sessions were never released.",
        ),
        (
            Action(
                "preventive",
                "Cap the reconciliation job at 10 connections on a dedicated replica",
                "Load test shows the job holds at most 10 connections under peak replay.",
            ),
            Action(
                "detective",
                "Alert when {key} pool utilisation stays above 80% for 5 minutes",
                "Alert fires in the staging drill and pages the {team} on-call.",
            ),
            Action(
                "corrective",
                "Set a 60-second idle-in-transaction timeout on {key}",
                "Parameter visible in the database configuration dump after rollout.",
            ),
        ),
        "raise the {key} connection pool limit and terminate stuck sessions",
    ),
    Scenario(
        "replication",
        "database",
        ("db", "batch"),
        ("P2", "P3", "P4"),
        "Replication lag on {name} replicas",
        "out-of-date order status and reports",
        "Compared WAL positions on each replica, saw one replica 40 minutes behind after a "
        "vacuum on a large table; network between zones was healthy.",
        "Removed the lagging replica from the read pool so reads went to healthy replicas.",
        "Rebuilt the lagging replica from a fresh base backup and returned it to the pool.",
        "An aggressive vacuum on the largest table generated more write-ahead log than the "
        "replica link could apply.",
        ("Vacuum settings were tuned for the old, smaller table.",),
        (
            Action(
                "preventive",
                "Schedule the large-table vacuum for {key} in the 02:00 quiet window",
                "Scheduler entry reviewed and first night's run completes before 04:00.",
            ),
            Action(
                "detective",
                "Page when {key} replica lag exceeds 120 seconds",
                "Lag alert triggers during a controlled lag test.",
            ),
        ),
        "remove the lagging {key} replica from the read pool",
    ),
    Scenario(
        "disk",
        "storage",
        ("db", "batch", "wms", "search"),
        ("P1", "P2", "P3"),
        "Disk volume full on {name}",
        "failed writes and error messages",
        "Found the data volume at 100% after verbose debug logging was left on; confirmed "
        "the database itself was intact.",
        "Rotated the debug logs and expanded the volume by 200 GB.",
        "Disabled debug logging and moved logs to the central log store with a 7-day policy.",
        "Debug logging enabled during an earlier diagnosis was never switched off and filled "
        "the data volume.",
        (
            "The disk alert threshold was 98%, too late to act before writes failed.",
            "No owner was recorded for the temporary logging change.",
        ),
        (
            Action(
                "detective",
                "Lower the {key} disk alert threshold to 85% with a 4-hour forecast",
                "Forecast alert fires in the staging drill at 85% usage.",
            ),
            Action(
                "process",
                "Require an expiry date on every temporary debug setting for {key}",
                "Checklist item present in the change template and used in two changes.",
            ),
        ),
        "expand the {key} data volume and rotate the debug logs",
    ),
    Scenario(
        "release",
        "deployment",
        ("web", "api", "payments", "search", "auth"),
        ("P1", "P2", "P3", "P4"),
        "Elevated 5xx errors on {name} after a release",
        "error pages on some requests",
        "Correlated the error spike with the release timestamp, checked the canary metrics "
        "and found a serialisation error in the new build's logs.",
        "Rolled the release back to the previous build through the deployment pipeline.",
        "Shipped a corrected build with a regression test for the serialisation path.",
        "A serialisation change in the release broke requests that carried an older payload "
        "format still sent by some clients.",
        (
            "The canary stage only received traffic from the newest clients.",
            "Contract tests did not cover the older payload format.",
        ),
        (
            Action(
                "preventive",
                "Add contract tests for both payload versions to the {key} pipeline",
                "Pipeline fails on a build that drops the older payload format.",
            ),
            Action(
                "detective",
                "Route 5% of all client versions to the {key} canary stage",
                "Canary dashboard shows traffic from every supported client version.",
            ),
            Action(
                "process",
                "Hold {key} releases when the canary error rate exceeds 1% for 10 minutes",
                "Automatic hold observed in a rehearsal with a faulty build.",
            ),
        ),
        "roll back the {key} release to the previous build",
    ),
    Scenario(
        "memory",
        "application",
        ("web", "api", "queue", "search"),
        ("P2", "P3", "P4"),
        "Memory leak restarting {name} workers",
        "occasional slow responses and dropped sessions",
        "Reviewed heap dumps from two workers and saw a cache of request objects growing "
        "without bound; CPU and traffic were normal.",
        "Restarted the workers in rotation and lowered the worker recycle interval.",
        "Deployed a build with a bounded cache and eviction by size.",
        "An in-process cache introduced in the previous quarter had no size limit.",
        ("Memory growth was visible for a week but no alert watched it.",),
        (
            Action(
                "detective",
                "Alert on {key} worker memory growth above 10% per hour",
                "Alert fires against the replayed leak in staging.",
            ),
            Action(
                "corrective",
                "Bound the {key} request cache to 50,000 entries",
                "Heap stays flat in a 24-hour soak test.",
            ),
        ),
        "recycle the {key} workers and lower the recycle interval",
    ),
    Scenario(
        "certificate",
        "certificate",
        ("web", "api", "auth", "network", "workplace", "payments"),
        ("P1", "P2", "P3"),
        "Expired TLS certificate on {name} endpoint",
        "certificate warnings and refused connections",
        "Checked the certificate chain with openssl and confirmed the leaf certificate had "
        "expired at midnight; the renewal job had failed silently.",
        "Installed a renewed certificate manually on the load balancers.",
        "Repaired the renewal job's DNS credentials and moved the certificate to automated "
        "renewal with alerting.",
        "The automated renewal job lost its DNS API credentials during a secret rotation and "
        "nothing reported the failure.",
        ("Expiry alerts were routed to a mailbox nobody watched.",),
        (
            Action(
                "detective",
                "Page the {team} on-call 14 days before any {key} certificate expires",
                "Test certificate with a 13-day expiry raises a page.",
            ),
            Action(
                "corrective",
                "Alert when the {key} certificate renewal job fails twice in a row",
                "Simulated renewal failure produces an alert within one hour.",
            ),
        ),
        "install a renewed certificate on the {key} load balancers",
    ),
    Scenario(
        "provider",
        "third-party",
        ("payments", "queue", "wms", "workplace", "auth"),
        ("P1", "P2", "P3"),
        "Upstream provider timeouts affecting {name}",
        "slow or failed requests to the provider",
        "Confirmed timeouts only on calls to {vendor}, opened a vendor ticket and checked "
        "their status page, which reported degraded performance in one region.",
        "Failed over to the provider's secondary region endpoint.",
        "The provider corrected its regional load balancer; traffic returned to the primary "
        "region after 30 minutes of clean metrics.",
        "A faulty load balancer in the provider's primary region dropped a share of requests.",
        ("Failover to the secondary region was manual and took 25 minutes to agree.",),
        (
            Action(
                "preventive",
                "Automate {key} failover to the secondary provider region",
                "Failover drill completes in under 5 minutes without manual steps.",
            ),
            Action(
                "process",
                "Agree a 15-minute escalation path with {vendor}",
                "Signed escalation contact sheet stored with the vendor contract.",
            ),
        ),
        "switch {key} traffic to the provider's secondary region",
    ),
    Scenario(
        "dns",
        "network",
        ("web", "api", "network", "search"),
        ("P1", "P2", "P3"),
        "DNS resolution failures for {name}",
        "name lookups failing for some clients",
        "Queried each resolver directly and found one resolver returning SERVFAIL after a "
        "zone transfer failed; upstream authoritative servers were healthy.",
        "Removed the failing resolver from the resolver pool.",
        "Re-ran the zone transfer with corrected keys and restored the resolver.",
        "A rotated transfer key was not deployed to one secondary resolver.",
        ("Key rotation was a manual step outside configuration management.",),
        (
            Action(
                "preventive",
                "Deploy DNS transfer keys for {key} from configuration management",
                "Key rotation dry run updates every resolver in one change.",
            ),
            Action(
                "detective",
                "Probe each resolver for {key} records every minute",
                "Synthetic probe dashboard shows one series per resolver.",
            ),
        ),
        "remove the failing resolver from the {key} resolver pool",
    ),
)
