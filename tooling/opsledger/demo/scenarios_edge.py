"""Incident scenarios, second half: capacity, queue backlogs, sign-in, stale search index,
feature flags, packet loss, access, warehouse scanners, failed data loads."""

from __future__ import annotations

from opsledger.demo.scenario_types import ALL_KINDS, Action, Scenario

SCENARIOS: tuple[Scenario, ...] = (
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
