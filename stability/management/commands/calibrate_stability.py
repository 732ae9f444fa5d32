"""manage.py calibrate_stability — fit the swap-request prediction to the recorded swap history (DESIGN §9)."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from gtsched_site.commands import field_errors, refuse
from stability.calibration import prediction_calibrate


class Command(BaseCommand):
    help = (
        "Fit predicted_swap_requests = A × (base + pressure × nash_distance) to the swap requests posted against "
        "every schedule published through the gate, store the coefficients (new reports use them) and print them "
        "with R² and the number of samples. Needs published schedules at two or more different distances."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the fit as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            calibration = prediction_calibrate(actor=None)
        except ValidationError as exc:
            refuse(self.stdout, field_errors(exc), as_json=options["json"], head="Nothing was stored:")
        output = {
            "calibration": calibration.pk, "base": calibration.base, "pressure": calibration.pressure,
            "r_squared": calibration.r_squared, "samples": calibration.samples,
        }
        if options["json"]:
            self.stdout.write(json.dumps(output, indent=2))
            return
        r2 = "—" if calibration.r_squared is None else f"{calibration.r_squared:.4f}"
        self.stdout.write(self.style.SUCCESS(
            f"Calibrated from {calibration.samples} published schedule(s): base {calibration.base:.4f}, "
            f"pressure {calibration.pressure:.4f}, R² {r2}. New stability reports use these coefficients."
        ))
