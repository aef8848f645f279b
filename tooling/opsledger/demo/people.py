"""The demo company's people: approvers from the policy, engineers, commanders, service desk.

People are identified by e-mail address, exactly as git records them. Approvers come from the
policy's ``approvers`` lists (their names are derived from the address), so the demo never
invents an approver the policy does not know. Engineers, incident commanders and service-desk
agents are a fixed cast; none of them holds an approver role, which keeps segregation of
duties clean unless a defect is planted on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DOMAIN = "example.com"

TEAMS: Mapping[str, str] = {
    "commerce": "Commerce",
    "payments": "Payments",
    "platform": "Platform",
    "data": "Data",
    "identity": "Identity",
    "workplace": "Workplace IT",
    "service-desk": "Service Desk",
}

# (name, team, incident commander?)
_CAST: tuple[tuple[str, str, bool], ...] = (
    ("Sofia Marin", "commerce", True),
    ("Lucas Moreau", "commerce", False),
    ("Hannah Okafor", "commerce", False),
    ("Tariq Aziz", "commerce", False),
    ("Raj Patel", "payments", True),
    ("Ingrid Holm", "payments", False),
    ("Mateo Alvarez", "payments", False),
    ("Jonas Weber", "platform", True),
    ("Aisha Bello", "platform", True),
    ("Daniel Novak", "platform", False),
    ("Mei Lin", "platform", False),
    ("Kofi Mensah", "platform", False),
    ("Erik Lindqvist", "data", True),
    ("Yuki Tanaka", "data", False),
    ("Carlos Mendes", "data", False),
    ("Fatima Zahra", "identity", True),
    ("Noah Schmidt", "identity", False),
    ("Chloe Dubois", "workplace", True),
    ("Ben Carter", "workplace", False),
    ("Olivia Brown", "service-desk", False),
    ("Samir Khan", "service-desk", False),
    ("Elena Petrova", "service-desk", False),
    ("Liam O'Connor", "service-desk", False),
)


@dataclass(frozen=True)
class Person:
    """Someone who writes, approves or commits records."""

    name: str
    email: str
    team: str = ""

    @property
    def git_ident(self) -> str:
        """``Name <email>`` as git writes an author or committer."""
        return f"{self.name} <{self.email}>"


def email_for(name: str) -> str:
    """``Liam O'Connor`` → ``liam.oconnor@example.com``."""
    local = ".".join("".join(ch for ch in part if ch.isalnum()) for part in name.lower().split())
    return f"{local}@{DOMAIN}"


def name_for(email: str) -> str:
    """``priya.shah@example.com`` → ``Priya Shah``."""
    local = email.split("@", 1)[0]
    return " ".join(part.capitalize() for part in local.replace("_", ".").split(".") if part)


@dataclass(frozen=True)
class Directory:
    """Everyone in the demo company, by role."""

    approvers: Mapping[str, tuple[Person, ...]]
    engineers: Mapping[str, tuple[Person, ...]]
    commanders: tuple[Person, ...]
    service_desk: tuple[Person, ...]
    by_email: Mapping[str, Person] = field(default_factory=dict)

    def role_of(self, person: Person) -> tuple[str, ...]:
        """The approver roles ``person`` holds, in policy order."""
        return tuple(role for role, people in self.approvers.items() if person in people)

    @property
    def head_of_operations(self) -> Person:
        """The first CAB member (or first approver) - sets the repository up."""
        for role in ("cab", *self.approvers):
            if self.approvers.get(role):
                return self.approvers[role][0]
        return self.commanders[0]

    def team_engineers(self, team: str) -> tuple[Person, ...]:
        """Engineers of ``team`` (the platform team when the team has none)."""
        return self.engineers.get(team) or self.engineers["platform"]


def build_directory(approvers: Mapping[str, tuple[str, ...]]) -> Directory:
    """The cast plus the policy's approvers."""
    by_email: dict[str, Person] = {}
    roles: dict[str, tuple[Person, ...]] = {}
    for role, emails in approvers.items():
        people = []
        for email in emails:
            person = by_email.setdefault(email, Person(name_for(email), email, "operations"))
            people.append(person)
        roles[role] = tuple(people)
    engineers: dict[str, list[Person]] = {}
    commanders: list[Person] = []
    desk: list[Person] = []
    for name, team, commands in _CAST:
        email = email_for(name)
        if email in by_email:
            continue
        person = Person(name, email, team)
        by_email[email] = person
        if team == "service-desk":
            desk.append(person)
            continue
        engineers.setdefault(team, []).append(person)
        if commands:
            commanders.append(person)
    return Directory(
        approvers=roles,
        engineers={team: tuple(people) for team, people in engineers.items()},
        commanders=tuple(commanders),
        service_desk=tuple(desk),
        by_email=by_email,
    )
