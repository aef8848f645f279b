"""Incident scenarios: what broke, how it was noticed, mitigated and fixed, and what was learnt.

Texts use ``{name}``, ``{key}``, ``{users}``, ``{unit}``, ``{alert}``, ``{team}`` and
``{vendor}`` from the service (see ``Service.words``). Statements are specific on purpose: none
of them uses a placeholder word of the policy (``tbd``, ``fixed``, ``resolved``, ``standard``…)
and no action title contains a vague phrase (``investigate``, ``improve monitoring``…); the
planted defects are the only exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_KINDS = (
    "web",
    "api",
    "payments",
    "db",
    "auth",
    "search",
    "wms",
    "queue",
    "batch",
    "workplace",
    "network",
)


@dataclass(frozen=True)
class Action:
    """A PIR action template: type, title, how completion is verified."""

    type: str
    title: str
    verification: str


@dataclass(frozen=True)
class Scenario:
    """One kind of incident."""

    key: str
    category: str
    kinds: tuple[str, ...]
    priorities: tuple[str, ...]
    title: str
    symptom: str
    troubleshooting: str
    mitigation: str
    fix: str
    cause: str
    factors: tuple[str, ...]
    actions: tuple[Action, ...]
    emergency: str


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
    Scenario(
        "capacity",
        "capacity",
        ("web", "api", "search", "payments"),
        ("P1", "P2", "P3"),
        "CPU saturation on {name} during peak traffic",
        "slow responses during the busiest hour",
        "Saw CPU at 98% on every node with traffic 40% above the weekly peak from a marketing "
        "campaign; no errors in the application logs.",
        "Scaled the node group out from 6 to 10 nodes.",
        "Raised the autoscaling ceiling and added the campaign calendar to capacity planning.",
        "A marketing campaign drove traffic beyond the autoscaling ceiling set last year.",
        ("Marketing campaigns were not shared with the operations team.",),
        (
            Action(
                "process",
                "Add the marketing campaign calendar to the {key} capacity review",
                "Next monthly capacity review minutes list the upcoming campaigns.",
            ),
            Action(
                "preventive",
                "Raise the {key} autoscaling ceiling to 16 nodes",
                "Autoscaling configuration shows the new ceiling; load test reaches 14 nodes.",
            ),
        ),
        "scale the {key} node group out to 10 nodes",
    ),
    Scenario(
        "backlog",
        "capacity",
        ("queue", "batch", "wms"),
        ("P2", "P3", "P4"),
        "Message backlog delaying {name}",
        "delays of up to an hour",
        "Found consumers stuck on a poison message that failed on every retry; broker health "
        "and disk were normal.",
        "Moved the poison message to the dead-letter queue and restarted the consumers.",
        "Deployed a consumer build that parks unparseable messages after three attempts.",
        "A malformed message blocked the consumers because retries had no limit.",
        ("The dead-letter queue existed but consumers never used it.",),
        (
            Action(
                "corrective",
                "Park {key} messages in the dead-letter queue after 3 failed attempts",
                "Integration test with a malformed message shows it parked after 3 attempts.",
            ),
            Action(
                "detective",
                "Alert when the {key} queue age exceeds 10 minutes",
                "Queue-age alert fires in the staging drill.",
            ),
        ),
        "move the poison message to the dead-letter queue and restart consumers",
    ),
    Scenario(
        "sso",
        "authentication",
        ("auth", "workplace", "network"),
        ("P1", "P2", "P3", "P4"),
        "Sign-in failures on {name}",
        "failed sign-ins and repeated password prompts",
        "Checked identity provider logs, found signature validation errors after the signing "
        "key rolled over; the new key was not yet in the service's metadata.",
        "Loaded the new signing key into the service metadata by hand.",
        "Enabled automatic metadata refresh every hour from the identity provider.",
        "The identity provider rolled its signing key and the service read metadata only at "
        "start-up.",
        ("The key rollover notice went to a former team member.",),
        (
            Action(
                "preventive",
                "Refresh {key} identity metadata every hour automatically",
                "Metadata timestamp on {key} changes hourly in the logs.",
            ),
            Action(
                "process",
                "Send identity provider notices for {key} to the {team} shared mailbox",
                "Vendor portal contact list shows the shared mailbox.",
            ),
        ),
        "load the new identity provider signing key into {key}",
    ),
    Scenario(
        "index",
        "data",
        ("search",),
        ("P2", "P3", "P4"),
        "Stale search index on {name}",
        "missing new products in search results",
        "Found the indexing job paused since a failed schema migration; search nodes were "
        "healthy and serving the old index.",
        "Restarted the indexing job from the last good checkpoint.",
        "Completed the schema migration and rebuilt the index in the quiet window.",
        "A failed schema migration paused the indexing job without raising an alert.",
        ("Index freshness was not monitored.",),
        (
            Action(
                "detective",
                "Alert when the {key} index is more than 30 minutes old",
                "Freshness alert fires when indexing is paused in staging.",
            ),
        ),
        "restart the {key} indexing job from the last checkpoint",
    ),
    Scenario(
        "flag",
        "configuration",
        ALL_KINDS,
        ("P2", "P3", "P4"),
        "Misconfigured feature flag on {name}",
        "a feature behaving inconsistently",
        "Compared flag states across environments and found a percentage rollout set to "
        "100% in production instead of 10%.",
        "Set the feature flag back to the intended 10% rollout.",
        "Added an approval step for production flag changes above 25%.",
        "A production feature flag was edited instead of the staging one.",
        ("Production and staging flags looked identical in the flag console.",),
        (
            Action(
                "process",
                "Require a second approver for {key} production flags above 25%",
                "Flag console audit log shows two approvers on the next large rollout.",
            ),
            Action(
                "preventive",
                "Colour production environments red in the {key} flag console",
                "Screenshot of the console attached to the tracker item.",
            ),
        ),
        "set the {key} feature flag back to a 10% rollout",
    ),
    Scenario(
        "packet-loss",
        "network",
        ("network", "db", "api", "web"),
        ("P1", "P2", "P3"),
        "Packet loss between zones affecting {name}",
        "intermittent timeouts",
        "Ran path tests between zones and saw 8% loss on one transit link; the cloud "
        "provider confirmed a faulty line card.",
        "Drained traffic away from the affected zone.",
        "The provider replaced the line card; traffic was rebalanced across zones.",
        "A faulty line card on a provider transit link dropped packets between two zones.",
        ("Zone draining was a manual runbook step.",),
        (
            Action(
                "preventive",
                "Automate draining a zone for {key} from the deployment tool",
                "Zone drain drill completes in under 10 minutes.",
            ),
        ),
        "drain {key} traffic away from the affected zone",
    ),
    Scenario(
        "access",
        "access",
        ("workplace", "auth", "wms", "network", "batch"),
        ("P3", "P4"),
        "User unable to access {name}",
        "an access denied message",
        "Checked the user's group memberships and found the account missing from the access "
        "group after a team move.",
        "Added the user back to the correct access group.",
        "Corrected the joiner-mover-leaver mapping for the user's new team.",
        "The team move removed the user from a group the new role still needs.",
        ("Role mappings are maintained by hand.",),
        (
            Action(
                "process",
                "Add {key} access to the role mapping for the user's new team",
                "Role mapping file shows the group for the team.",
            ),
        ),
        "restore the user's {key} access group",
    ),
    Scenario(
        "scanners",
        "hardware",
        ("wms",),
        ("P2", "P3", "P4"),
        "Handheld scanners disconnecting from {name}",
        "scanners dropping off the wireless network",
        "Checked the wireless controller and saw scanners roaming between access points "
        "every few seconds after a firmware update.",
        "Pinned the scanners to the previous wireless profile.",
        "Rolled the access point firmware back and scheduled the vendor fix.",
        "An access point firmware update changed roaming thresholds for older scanners.",
        ("Firmware updates were not tested with the scanner fleet.",),
        (
            Action(
                "process",
                "Test access point firmware with two scanner models before rollout",
                "Test record for both scanner models attached to the next firmware change.",
            ),
        ),
        "pin the warehouse scanners to the previous wireless profile",
    ),
    Scenario(
        "etl",
        "data",
        ("batch",),
        ("P2", "P3", "P4"),
        "Nightly load failed on {name}",
        "dashboards showing the previous day's figures",
        "Read the job logs and found the load failing on a column added upstream without "
        "notice; source extracts were complete.",
        "Re-ran the load with the new column mapped.",
        "Added schema-change detection to the extract step with a notice to the source team.",
        "An upstream system added a column without notice and the strict loader rejected it.",
        ("No contract existed with the upstream team for schema changes.",),
        (
            Action(
                "preventive",
                "Detect upstream schema changes in the {key} extract step",
                "Test extract with an extra column produces a warning, not a failure.",
            ),
            Action(
                "process",
                "Agree a 5-day schema change notice with upstream system owners",
                "Notice period recorded in the data contract document.",
            ),
        ),
        "re-run the {key} load with the new column mapped",
    ),
)


def scenarios_for(kind: str, priority: str) -> list[Scenario]:
    """Scenarios that fit a service kind and a priority."""
    return [s for s in SCENARIOS if kind in s.kinds and priority in s.priorities]
