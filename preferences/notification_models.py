"""The e-mail outbox and each faculty member's opt-outs (DESIGN §14). Written only through
preferences.notifications; imported by preferences.models so Django registers them with the app.

Notifications live in preferences, the lowest app every sender can reach (it has Faculty): allocation, stability and
auctions call `notification_enqueue`, or connect a receiver that does."""

from __future__ import annotations

from django.db import models


class NotificationKind(models.TextChoices):
    WINDOW_OPENED = "window_opened", "The preference window opened"
    WINDOW_CLOSING = "window_closing", "The preference window closes in 48 hours and you have not submitted"
    SCHEDULE_PUBLISHED = "schedule_published", "A schedule was published"
    SWAP_PROPOSED = "swap_proposed", "A swap is proposed to you"
    SWAP_ACCEPTED = "swap_accepted", "A colleague accepted a swap with you"
    SWAP_DECLINED = "swap_declined", "A colleague declined a swap with you"
    SWAP_REVIEWED = "swap_reviewed", "A coordinator approved or refused your swap"
    AUCTION_SETTLED = "auction_settled", "An auction you bid in settled"


class Notification(models.Model):
    """One message to one faculty member about one event. The unique (recipient, event_key) makes every event send
    at most once however often it fires; the rendered parts are stored so a retry sends exactly what was meant."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Gave up after retries"
        SKIPPED = "skipped", "Not sent: the recipient turned this kind off before it went out"

    recipient = models.ForeignKey("preferences.Faculty", on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    event_key = models.CharField(max_length=200, help_text="What happened, e.g. swap_proposed:12:2026-07-06T10:00")
    to_address = models.EmailField()
    subject = models.CharField(max_length=200)
    body_text = models.TextField()
    body_html = models.TextField()
    link = models.URLField(max_length=500, help_text="The page to act on")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "event_key"], name="notification_once_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.recipient} ({self.get_status_display().lower()})"


class NotificationOptOut(models.Model):
    """A kind of message the faculty member turned off on their settings page; no row means it is on."""

    faculty = models.ForeignKey("preferences.Faculty", on_delete=models.CASCADE, related_name="notification_opt_outs")
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["faculty", "kind"]
        constraints = [models.UniqueConstraint(fields=["faculty", "kind"], name="notification_opt_out_once")]

    def __str__(self) -> str:
        return f"{self.faculty}: no “{self.get_kind_display()}”"
