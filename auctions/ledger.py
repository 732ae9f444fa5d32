"""The priority-point ledger's services (DESIGN §8): every write to accounts, entries and holds goes through here.

Rules every function keeps:
- One transaction per call. Accounts are locked with SELECT … FOR UPDATE in ascending id order before anything is
  read or written, so two writers over the same accounts queue instead of deadlocking; the whole transaction is
  retried on a serialization failure or a deadlock (gtsched_site.transactions.retried_atomic). Called inside an open
  transaction (an auction's settlement), a service joins it, and that outer transaction is the one to retry.
- After every call: balance = Σ amounts of the account's entries, held = Σ amounts of its pending holds,
  0 ≤ held ≤ balance, and each entry's balance_before is the previous entry's balance_after. The database's check
  constraints refuse anything else.
- Idempotency: every entry and every hold has a key unique per account. The same key with the same request returns
  the first result (`replayed=True`) and changes nothing; the same key with a different request raises KeyConflict.
  Without a key, one is made up (the call is then not safe to repeat).
- Refusals are ValidationErrors naming the field (`amount`, `idempotency_key`, `hold`, …) and change nothing;
  LedgerConflict (KeyConflict, HoldResolved) marks those the API answers with 409.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from auctions import ledger_sql
from auctions.algorithms.vickrey import MAX_POINTS
from auctions.models import PriorityPointAccount, PriorityPointHold, PriorityPointTransaction
from gtsched_site.permissions import user_or_none
from gtsched_site.transactions import retried_atomic, retried_statement
from preferences.models import AcademicYear, Faculty

Account = PriorityPointAccount
Entry = PriorityPointTransaction
Hold = PriorityPointHold
EntryType = PriorityPointTransaction.Type

KEY_MAX = 200
DESCRIPTION_MAX = 300


class LedgerConflict(ValidationError):
    """A refusal caused by what was done before (a key reused for another request, a hold already resolved the
    other way), not by the request itself: the API answers 409."""


class KeyConflict(LedgerConflict):
    pass


class HoldResolved(LedgerConflict):
    pass


class InsufficientPoints(ValidationError):
    pass


# --- accounts -----------------------------------------------------------------------------------------------------

def points_account_get_or_create(*, faculty: Faculty, year: AcademicYear) -> Account:
    """The faculty member's account for the year, created empty (balance 0, version 0) on first use. Safe under
    concurrency: two first uses make one account."""
    account = Account.objects.filter(faculty=faculty, year=year).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(faculty=faculty, year=year)
    except IntegrityError:
        return Account.objects.get(faculty=faculty, year=year)


def accounts_lock(*, account_ids: Iterable[int]) -> dict[int, Account]:
    """Lock the accounts (SELECT … FOR UPDATE, ascending id: the ORDER BY sits below the row locks, so rows are
    locked in that order) and return them by id. Must run inside a transaction; a missing id is a ValidationError."""
    ids = sorted(set(account_ids))
    locked = ledger_sql.accounts_select_for_update(ids)
    missing = [i for i in ids if i not in locked]
    if missing:
        raise ValidationError({"account": f"No priority-point account {missing[0]}."})
    return locked


# --- entries ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Posting:
    """One entry to append: amount > 0 earns, < 0 spends (never below the account's held points)."""

    account_id: int
    amount: int
    type: str
    description: str = ""
    idempotency_key: str = ""
    auction_id: int | None = None
    week_id: int | None = None
    reverses_id: int | None = None

    def request_hash(self) -> str:
        fields = asdict(self)
        del fields["account_id"], fields["idempotency_key"]
        return _digest(fields)


@dataclass(frozen=True)
class Posted:
    entry: Entry
    replayed: bool


def _digest(fields: Mapping) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _key(key: str | None, field: str = "idempotency_key") -> str:
    if key is None or key == "":
        return f"auto:{uuid.uuid4().hex}"
    if not isinstance(key, str) or len(key) > KEY_MAX:
        raise ValidationError({field: f"An idempotency key is text of at most {KEY_MAX} characters."})
    return key


def _whole_points(value, field: str, *, allow_zero: bool = False, allow_negative: bool = True) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({field: "Give a whole number of points."})
    if value == 0 and not allow_zero:
        raise ValidationError({field: "The amount must not be 0."})
    if value < 0 and not allow_negative:
        raise ValidationError({field: "The amount must not be negative."})
    if abs(value) > MAX_POINTS:
        raise ValidationError({field: f"The amount must be at most {MAX_POINTS:,} points either way."})
    return value


def _check(postings: Sequence[Posting]) -> list[Posting]:
    if not postings:
        raise ValidationError({"postings": "Nothing to post."})
    checked, seen = [], set()
    for posting in postings:
        _whole_points(posting.amount, "amount")
        if posting.type not in EntryType.values:
            raise ValidationError({"type": f"{posting.type!r} is not an entry type; use one of {', '.join(EntryType.values)}."})
        if len(posting.description) > DESCRIPTION_MAX:
            raise ValidationError({"description": f"Keep the description under {DESCRIPTION_MAX} characters."})
        posting = Posting(**{**asdict(posting), "idempotency_key": _key(posting.idempotency_key)})
        if (posting.account_id, posting.idempotency_key) in seen:
            raise ValidationError({"idempotency_key": f"The key {posting.idempotency_key!r} appears twice for one account."})
        seen.add((posting.account_id, posting.idempotency_key))
        checked.append(posting)
    return checked


def _short(account: Account, amount: int) -> InsufficientPoints:
    # No figures in the message: the caller may be a coordinator correcting the account, and the held points would
    # give open (sealed) bids away. The owner sees their own figures on their points page.
    return InsufficientPoints({"amount": (
        f"{-amount} points cannot be taken: the account does not have that many available (points held by open "
        "bids cannot be spent)."
    )})


def _posted_in_locked(
    accounts: Mapping[int, Account], postings: Sequence[Posting], *, processed_by, skip_used_keys: bool = False,
) -> list[Posted]:
    """Append the postings to accounts already locked; the accounts are saved. Replays and conflicts by key (with
    skip_used_keys, a used key is a replay whatever it was used for). The keys are looked up only now, after the
    lock: under READ COMMITTED this statement's snapshot sees an entry committed by whoever held the lock before
    (a lookup in the locking statement itself would not)."""
    used = ledger_sql.keys_used((p.account_id, p.idempotency_key) for p in postings)
    earlier = Entry.objects.in_bulk([pk for pk, _ in used.values()]) if used else {}
    earlier = {pair: earlier[pk] for pair, (pk, _) in used.items()}
    results: list[Posted | None] = []
    new: list[Entry] = []
    touched: dict[int, Account] = {}
    for posting in postings:
        digest = posting.request_hash()
        first = earlier.get((posting.account_id, posting.idempotency_key))
        if first is not None:
            if first.request_hash != digest and not skip_used_keys:
                raise KeyConflict({"idempotency_key": (
                    f"The key {posting.idempotency_key!r} was used for a different entry "
                    f"({first.amount:+d} {first.type}, #{first.pk}); use a new key for a new entry."
                )})
            results.append(Posted(first, replayed=True))
            continue
        account = accounts[posting.account_id]
        after = account.balance + posting.amount
        if posting.amount < 0 and after < account.held:
            raise _short(account, posting.amount)
        account.version += 1
        entry = Entry(
            account_id=account.pk, amount=posting.amount, type=posting.type, description=posting.description,
            auction_id=posting.auction_id, week_id=posting.week_id, reverses_id=posting.reverses_id,
            processed_by_id=getattr(processed_by, "pk", None), balance_before=account.balance, balance_after=after,
            account_version=account.version, idempotency_key=posting.idempotency_key, request_hash=digest,
        )
        account.balance = after
        if posting.amount > 0:
            account.lifetime_earned += posting.amount
        else:
            account.lifetime_spent -= posting.amount
        new.append(entry)
        touched[account.pk] = account
        results.append(None)
    ledger_sql.entries_append(new, list(touched.values()))
    fresh = iter(new)
    return [result if result is not None else Posted(next(fresh), replayed=False) for result in results]


def ledger_post_many(*, postings: Sequence[Posting], processed_by=None, skip_used_keys: bool = False) -> list[Posted]:
    """Append several entries, to one account or several, all or nothing (e.g. a transfer: −x here, +x there).

    The accounts are locked in ascending id order; postings apply in the order given, each checked against the
    balance the earlier ones left (a debit may not take the balance below the held points). A posting whose key was
    used before with the same request is a replay (its first entry, nothing new); with a different one, KeyConflict
    — unless skip_used_keys, when a used key is a replay whatever it was used for (awards: once per key, ever).

    On PostgreSQL a single posting is one statement (auctions_ledger_post_one: the same lock, lookup, check and
    writes, server-side); outside a transaction that statement is its own (retried like a transaction on a deadlock), so it
    costs one round trip.
    """
    postings = _check(postings)
    processed_by = user_or_none(processed_by)
    if len(postings) == 1 and ledger_sql.post_one_in_one_statement():
        return [_post_one(postings[0], processed_by=processed_by, skip_used_keys=skip_used_keys)]
    return _post_many(postings, processed_by=processed_by, skip_used_keys=skip_used_keys)


@retried_atomic
def _post_many(postings: list[Posting], *, processed_by, skip_used_keys: bool) -> list[Posted]:
    accounts = accounts_lock(account_ids=[p.account_id for p in postings])
    return _posted_in_locked(accounts, postings, processed_by=processed_by, skip_used_keys=skip_used_keys)


@retried_statement
def _post_one(posting: Posting, *, processed_by, skip_used_keys: bool) -> Posted:
    """One posting by the server-side function; the outcomes and errors of _posted_in_locked."""
    digest = posting.request_hash()
    status, entry, first_hash = ledger_sql.post_one(
        account_id=posting.account_id, amount=posting.amount, type=posting.type, description=posting.description,
        auction_id=posting.auction_id, week_id=posting.week_id, reverses_id=posting.reverses_id,
        processed_by_id=getattr(processed_by, "pk", None), key=posting.idempotency_key, request_hash=digest,
    )
    if status == "posted":
        return Posted(entry, replayed=False)
    if status == "missing":
        raise ValidationError({"account": f"No priority-point account {posting.account_id}."})
    if status == "short":
        raise _short(Account(pk=posting.account_id), posting.amount)
    first = Entry.objects.get(pk=entry.pk)
    if first_hash != digest and not skip_used_keys:
        raise KeyConflict({"idempotency_key": (
            f"The key {posting.idempotency_key!r} was used for a different entry "
            f"({first.amount:+d} {first.type}, #{first.pk}); use a new key for a new entry."
        )})
    return Posted(first, replayed=True)


def ledger_post(
    *, account: Account, amount: int, type: str, description: str = "", idempotency_key: str | None = None,
    auction_id: int | None = None, week_id: int | None = None, processed_by=None,
) -> Posted:
    """Append one entry to `account` (see ledger_post_many): amount > 0 earns, < 0 spends and may not take the
    balance below the held points (InsufficientPoints on `amount`). Same key + same request → the first entry with
    replayed=True; same key + a different request → KeyConflict."""
    posting = Posting(account_id=account.pk, amount=amount, type=type, description=description,
                      idempotency_key=idempotency_key or "", auction_id=auction_id, week_id=week_id)
    return ledger_post_many(postings=[posting], processed_by=processed_by)[0]


def ledger_transfer(
    *, source: Account, target: Account, amount: int, type: str, description: str = "",
    idempotency_key: str | None = None, auction_id: int | None = None, processed_by=None,
) -> tuple[Posted, Posted]:
    """Move `amount` (> 0) points from `source` to `target` in one transaction: −amount on one, +amount on the
    other, both under `idempotency_key` (given: the pair replays together)."""
    _whole_points(amount, "amount", allow_negative=False)
    if source.pk == target.pk:
        raise ValidationError({"target": "A transfer needs two different accounts."})
    key = _key(idempotency_key)
    out, into = ledger_post_many(postings=[
        Posting(account_id=source.pk, amount=-amount, type=type, description=description, idempotency_key=key,
                auction_id=auction_id),
        Posting(account_id=target.pk, amount=amount, type=type, description=description, idempotency_key=key,
                auction_id=auction_id),
    ], processed_by=processed_by)
    return out, into


@retried_atomic
def points_grant(
    *, faculty: Faculty, year: AcademicYear, amount: int, reason: str, processed_by,
    idempotency_key: str | None = None,
) -> Posted:
    """A coordinator's grant with a reason: a positive amount is a `grant`; a negative one a correction (a
    `reversal` entry) that may not take the balance below the held points. Creates the account on first use."""
    amount = _whole_points(amount, "amount")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Write the reason for the grant; it is kept in the ledger."})
    if len(reason) > DESCRIPTION_MAX:
        raise ValidationError({"reason": f"Keep the reason under {DESCRIPTION_MAX} characters."})
    account = points_account_get_or_create(faculty=faculty, year=year)
    kind = EntryType.GRANT if amount > 0 else EntryType.REVERSAL
    return ledger_post(account=account, amount=amount, type=kind, description=reason,
                       idempotency_key=idempotency_key, processed_by=processed_by)


@retried_atomic
def ledger_entry_reverse(*, entry: Entry, reason: str, processed_by=None) -> Posted:
    """Correct an entry by a new one of the opposite amount (type `reversal`, pointing at it). Each entry is
    reversed at most once: a repeat returns the first reversal. Refused (InsufficientPoints) when taking back an
    earning would leave fewer points than are held."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Write why the entry is reversed; it is kept in the ledger."})
    if entry.type == EntryType.REVERSAL and entry.reverses_id is not None:
        raise ValidationError({"entry": "This entry is itself a reversal; post a new entry instead."})
    posting = Posting(account_id=entry.account_id, amount=-entry.amount, type=EntryType.REVERSAL,
                      description=f"Reversal of #{entry.pk}: {reason}"[:DESCRIPTION_MAX],
                      idempotency_key=f"reversal:{entry.pk}", reverses_id=entry.pk)
    accounts = accounts_lock(account_ids=[entry.account_id])
    first = Entry.objects.filter(reverses_id=entry.pk).first()
    if first is not None:
        return Posted(first, replayed=True)
    return _posted_in_locked(accounts, [posting], processed_by=user_or_none(processed_by))[0]


# --- holds (two-phase) ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HoldResult:
    hold: Hold
    replayed: bool
    entry: Entry | None = None


def _hold_hash(amount: int, auction_id: int | None, reason: str) -> str:
    return _digest({"amount": amount, "auction_id": auction_id, "reason": reason})


@retried_atomic
def hold_place(
    *, account: Account, amount: int, idempotency_key: str | None = None, auction_id: int | None = None,
    reason: str = "",
) -> HoldResult:
    """Hold `amount` (> 0) points of the account's available ones (a sealed bid): held rises, balance does not.
    InsufficientPoints on `amount` when fewer are available. Same key + same request → the first hold
    (replayed=True, whatever has happened to it since); same key + a different request → KeyConflict."""
    amount = _whole_points(amount, "amount", allow_negative=False)
    key = _key(idempotency_key)
    if len(reason) > DESCRIPTION_MAX:
        raise ValidationError({"reason": f"Keep the reason under {DESCRIPTION_MAX} characters."})
    locked = accounts_lock(account_ids=[account.pk])[account.pk]
    digest = _hold_hash(amount, auction_id, reason)
    first = Hold.objects.filter(account=locked, idempotency_key=key).first()
    if first is not None:
        if first.request_hash != digest:
            raise KeyConflict({"idempotency_key": (
                f"The key {key!r} was used for a different hold ({first.amount} points, #{first.pk}); use a new key."
            )})
        return HoldResult(first, replayed=True, entry=first.entry)
    if locked.available < amount:
        raise _short(locked, -amount)
    hold = Hold.objects.create(account=locked, amount=amount, auction_id=auction_id, reason=reason,
                               idempotency_key=key, request_hash=digest)
    locked.held += amount
    locked.version += 1
    ledger_sql.accounts_save([locked])
    return HoldResult(hold, replayed=False)


def _post_locked(account: Account, hold: Hold, amount: int, *, type: str, description: str, processed_by) -> HoldResult:
    if hold.status == Hold.Status.POSTED:
        if hold.posted_amount == amount:
            return HoldResult(hold, replayed=True, entry=hold.entry)
        raise HoldResolved({"hold": f"Hold #{hold.pk} was already posted for {hold.posted_amount} points."})
    if hold.status == Hold.Status.VOIDED:
        raise HoldResolved({"hold": f"Hold #{hold.pk} was voided; it cannot be posted."})
    amount = _whole_points(amount, "amount", allow_zero=True, allow_negative=False)
    if amount > hold.amount:
        raise ValidationError({"amount": f"At most the hold's {hold.amount} points can be posted, not {amount}."})
    account.held -= hold.amount  # the whole hold is released; the posted part leaves the balance below
    entry = None
    if amount:
        posting = Posting(account_id=account.pk, amount=-amount, type=type, description=description,
                          idempotency_key=f"hold:{hold.pk}:post", auction_id=hold.auction_id)
        entry = _posted_in_locked({account.pk: account}, [posting], processed_by=processed_by)[0].entry
    else:
        account.version += 1
        ledger_sql.accounts_save([account])
    hold.status, hold.posted_amount, hold.entry, hold.resolved_at = Hold.Status.POSTED, amount, entry, timezone.now()
    hold.save(update_fields=["status", "posted_amount", "entry", "resolved_at"])
    return HoldResult(hold, replayed=False, entry=entry)


def _void_locked(account: Account, hold: Hold) -> HoldResult:
    if hold.status == Hold.Status.VOIDED:
        return HoldResult(hold, replayed=True)
    if hold.status == Hold.Status.POSTED:
        raise HoldResolved({"hold": f"Hold #{hold.pk} was already posted for {hold.posted_amount} points."})
    account.held -= hold.amount
    account.version += 1
    ledger_sql.accounts_save([account])
    hold.status, hold.resolved_at = Hold.Status.VOIDED, timezone.now()
    hold.save(update_fields=["status", "resolved_at"])
    return HoldResult(hold, replayed=False)


def _lock_holds(hold_ids: Iterable[int]) -> tuple[dict[int, Account], dict[int, Hold]]:
    """Lock the holds' accounts (ascending), then the holds themselves (ascending)."""
    hold_ids = sorted(set(hold_ids))
    owners = dict(Hold.objects.filter(pk__in=hold_ids).values_list("pk", "account_id"))
    missing = [i for i in hold_ids if i not in owners]
    if missing:
        raise ValidationError({"hold": f"No hold {missing[0]}."})
    accounts = accounts_lock(account_ids=owners.values())
    holds = {h.pk: h for h in Hold.objects.select_for_update().filter(pk__in=hold_ids).order_by("pk")}
    return accounts, holds


@retried_atomic
def hold_post(
    *, hold: Hold, amount: int, type: str = EntryType.AUCTION_PAYMENT, description: str = "", processed_by=None,
) -> HoldResult:
    """Post a pending hold: `amount` (0 ≤ amount ≤ the hold) leaves the balance as one entry of −amount (none for
    0), and the whole hold is released. Exactly once: posting it again for the same amount is a no-op returning the
    first result (replayed=True); posting it for another amount, or posting a voided hold, raises HoldResolved."""
    accounts, holds = _lock_holds([hold.pk])
    locked = holds[hold.pk]
    return _post_locked(accounts[locked.account_id], locked, amount, type=type, description=description,
                        processed_by=user_or_none(processed_by))


@retried_atomic
def hold_void(*, hold: Hold) -> HoldResult:
    """Release a pending hold without posting anything (a loser, a withdrawal, a cancelled auction). Exactly once:
    voiding it again is a no-op returning the first result (replayed=True); voiding a posted hold raises
    HoldResolved."""
    accounts, holds = _lock_holds([hold.pk])
    locked = holds[hold.pk]
    return _void_locked(accounts[locked.account_id], locked)


@retried_atomic
def holds_settle(
    *, post: Mapping[int, int], void: Iterable[int] = (), type: str = EntryType.AUCTION_PAYMENT,
    description: str = "", processed_by=None,
) -> dict[int, HoldResult]:
    """Resolve many holds at once, all or nothing (an auction's settlement): `post` maps hold id → amount to post,
    `void` lists hold ids to void. Every account is locked first, in ascending id order. Each hold follows the
    exactly-once rules of hold_post / hold_void."""
    void = list(void)
    both = set(post) & set(void)
    if both:
        raise ValidationError({"hold": f"Hold {min(both)} cannot be both posted and voided."})
    accounts, holds = _lock_holds([*post, *void])
    actor = user_or_none(processed_by)
    results = {}
    for hold_id in sorted([*post, *void]):
        hold = holds[hold_id]
        account = accounts[hold.account_id]
        if hold_id in post:
            results[hold_id] = _post_locked(account, hold, post[hold_id], type=type, description=description,
                                            processed_by=actor)
        else:
            results[hold_id] = _void_locked(account, hold)
    return results

