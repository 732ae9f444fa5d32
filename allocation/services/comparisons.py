"""Comparisons: several mechanisms on the same inputs with the same seed, grouped for a side-by-side page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from allocation.algorithms import registry
from allocation.models import AllocationRun, Comparison
from allocation.services.options import options_clean
from allocation.services.runs import allocation_run_start
from gtsched_site.limits import seed_clean, seed_draw
from gtsched_site.permissions import user_or_none
from preferences.models import AcademicYear


def comparison_start(
    *,
    year: AcademicYear,
    mechanisms: Sequence[str],
    seed: int | None,
    options_by_mechanism: Mapping[str, Mapping[str, Any]] | None,
    actor,
) -> Comparison:
    """Run several mechanisms on the same inputs with the same seed; returns the Comparison grouping the runs.

    A repeated request while all its runs are still pending/running returns the earlier comparison.
    """
    if isinstance(mechanisms, str) or not isinstance(mechanisms, Sequence) or not mechanisms:
        raise ValidationError({"mechanisms": "Choose at least one mechanism to run."})
    errors: dict[str, list[str]] = {}
    names = list(dict.fromkeys(mechanisms))
    if len(names) != len(mechanisms):
        errors.setdefault("mechanisms", []).append("Each mechanism can appear only once.")
    unknown = [m for m in names if m not in registry.MECHANISMS]
    if unknown:
        errors.setdefault("mechanisms", []).append(
            f"Unknown mechanism(s) {', '.join(map(repr, unknown))}; choose from {', '.join(registry.MECHANISMS)}."
        )
    options_by_mechanism = dict(options_by_mechanism or {})
    for name in options_by_mechanism:
        if name not in names:
            errors.setdefault(f"options_by_mechanism.{name}", []).append(f"{name!r} is not one of the mechanisms compared.")
    try:
        seed = seed_clean(seed)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    cleaned: dict[str, dict[str, Any]] = {}
    if not errors:
        for name in names:
            try:
                cleaned[name] = options_clean(mechanism=name, options=options_by_mechanism.get(name))
            except ValidationError as exc:
                _rekey(errors, exc, name)
    if errors:
        raise ValidationError(errors)
    seed = seed_draw() if seed is None else seed
    with transaction.atomic():
        results = []
        for name in names:
            try:
                results.append(allocation_run_start(year=year, mechanism=name, options=cleaned[name], seed=seed, actor=actor))
            except ValidationError as exc:
                _rekey(errors, exc, name)
        if errors:
            raise ValidationError(errors)
        earlier = {run.comparison_id for run, _ in results}
        if not any(created for _, created in results) and len(earlier) == 1 and None not in earlier:
            return Comparison.objects.get(pk=earlier.pop())
        comparison = Comparison.objects.create(
            year=year, seed=seed, mechanisms=names, options_by_mechanism=cleaned, created_by=user_or_none(actor),
        )
        AllocationRun.objects.filter(pk__in=[run.pk for run, _ in results if run.comparison_id is None]).update(
            comparison=comparison
        )
    return comparison


def _rekey(errors: dict[str, list[str]], exc: ValidationError, mechanism: str) -> None:
    """A run's `options.<name>` errors as `options_by_mechanism.<mechanism>.<name>`."""
    for key, messages in exc.message_dict.items():
        if key.startswith("options."):
            key = f"options_by_mechanism.{mechanism}.{key.removeprefix('options.')}"
        elif key == "options":
            key = f"options_by_mechanism.{mechanism}"
        elif key == "mechanism":
            key = "mechanisms"
        errors.setdefault(key, []).extend(messages)
