"""Reconciliation of the points ledger (DESIGN §8): every account against its entries and holds. Reads only.

Checked for each account:
- `balance`: balance = Σ amounts of its entries;
- `held`: held = Σ amounts of its pending holds;
- `last_entry`: the last entry's balance_after = balance (0 with no entries);
- `chain`: each entry's balance_before = the previous entry's balance_after (0 for the first) and its balance_after
  = balance_before + amount;
- `negative`: no entry ever recorded a negative balance, and neither balance nor held is negative or held > balance;
- `lifetime`: lifetime_earned = Σ positive amounts and lifetime_spent = −Σ negative amounts;
- `version`: the entries' account versions rise strictly and none exceeds the account's version;
- `holds`: a posted hold posted at most its amount, through an entry of exactly −posted_amount on the same account.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Sum

from auctions.models import PriorityPointAccount, PriorityPointHold, PriorityPointTransaction
from preferences.models import AcademicYear


@dataclass
class AccountProblems:
    account_id: int
    faculty: str
    year: int
    problems: dict[str, list[str]] = field(default_factory=dict)

    def add(self, check: str, message: str) -> None:
        self.problems.setdefault(check, []).append(message)

    def as_dict(self) -> dict:
        return {"account": self.account_id, "faculty": self.faculty, "academic_year": self.year,
                "problems": self.problems}


@dataclass(frozen=True)
class Reconciliation:
    accounts: int
    entries: int
    holds: int
    broken: list[AccountProblems]

    @property
    def ok(self) -> bool:
        return not self.broken

    def as_dict(self) -> dict:
        return {"ok": self.ok, "accounts": self.accounts, "entries": self.entries, "holds": self.holds,
                "broken": [b.as_dict() for b in self.broken]}


def points_reconcile(*, year: AcademicYear | None = None) -> Reconciliation:
    """Check every invariant of every account (of `year`, or of all years); the broken accounts are listed with
    each problem found, by check name."""
    accounts = PriorityPointAccount.objects.select_related("faculty", "year").order_by("pk")
    if year is not None:
        accounts = accounts.filter(year=year)
    ids = list(accounts.values_list("pk", flat=True))
    pending = dict(
        PriorityPointHold.objects.filter(account_id__in=ids, status=PriorityPointHold.Status.PENDING)
        .values("account_id").annotate(total=Sum("amount")).values_list("account_id", "total")
    )
    entries = (PriorityPointTransaction.objects.filter(account_id__in=ids).order_by("account_id", "pk")
               .values_list("account_id", "pk", "amount", "balance_before", "balance_after", "account_version"))
    by_account: dict[int, list[tuple]] = {}
    count = 0
    for row in entries.iterator(chunk_size=5000):
        by_account.setdefault(row[0], []).append(row[1:])
        count += 1
    hold_entries = {pk: (amount, owner) for pk, amount, owner in PriorityPointTransaction.objects
                    .filter(account_id__in=ids, hold__isnull=False).values_list("pk", "amount", "account_id")}
    posted = PriorityPointHold.objects.filter(account_id__in=ids, status=PriorityPointHold.Status.POSTED)
    holds_by_account: dict[int, list[PriorityPointHold]] = {}
    for hold in posted:
        holds_by_account.setdefault(hold.account_id, []).append(hold)
    broken = []
    for account in accounts:
        found = AccountProblems(account.pk, account.faculty.external_id, account.year.label)
        _check_account(found, account, by_account.get(account.pk, []), pending.get(account.pk, 0) or 0)
        for hold in holds_by_account.get(account.pk, []):
            _check_posted_hold(found, hold, hold_entries)
        if found.problems:
            broken.append(found)
    holds = PriorityPointHold.objects.filter(account_id__in=ids).count()
    return Reconciliation(accounts=len(ids), entries=count, holds=holds, broken=broken)


def _check_account(found: AccountProblems, account: PriorityPointAccount, rows: list[tuple], pending: int) -> None:
    total = sum(row[1] for row in rows)
    if account.balance != total:
        found.add("balance", f"balance {account.balance} ≠ Σ entries {total}")
    if account.held != pending:
        found.add("held", f"held {account.held} ≠ Σ pending holds {pending}")
    last = rows[-1][3] if rows else 0
    if last != account.balance:
        found.add("last_entry", f"the last entry's balance_after {last} ≠ balance {account.balance}")
    previous_after, previous_version = 0, 0
    for pk, amount, before, after, version in rows:
        if before != previous_after:
            found.add("chain", f"entry #{pk}: balance_before {before} ≠ the previous balance_after {previous_after}")
        if after != before + amount:
            found.add("chain", f"entry #{pk}: balance_after {after} ≠ balance_before {before} + amount {amount}")
        if before < 0 or after < 0:
            found.add("negative", f"entry #{pk} recorded a negative balance ({before} → {after})")
        if version <= previous_version or version > account.version:
            found.add("version", f"entry #{pk}: account_version {version} out of order (previous {previous_version}, "
                                 f"account {account.version})")
        previous_after, previous_version = after, version
    if account.balance < 0 or account.held < 0 or account.held > account.balance:
        found.add("negative", f"balance {account.balance}, held {account.held}: need 0 ≤ held ≤ balance")
    earned = sum(row[1] for row in rows if row[1] > 0)
    spent = -sum(row[1] for row in rows if row[1] < 0)
    if (account.lifetime_earned, account.lifetime_spent) != (earned, spent):
        found.add("lifetime", f"lifetime earned/spent {account.lifetime_earned}/{account.lifetime_spent} ≠ "
                              f"Σ entries {earned}/{spent}")


def _check_posted_hold(found: AccountProblems, hold: PriorityPointHold, entries: dict[int, tuple[int, int]]) -> None:
    posted = hold.posted_amount or 0
    if posted > hold.amount:
        found.add("holds", f"hold #{hold.pk} posted {posted} > its amount {hold.amount}")
    if posted and entries.get(hold.entry_id) != (-posted, hold.account_id):
        found.add("holds", f"hold #{hold.pk} posted {posted} without an entry of −{posted} on its account")
