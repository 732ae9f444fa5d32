"""What auctions tells whoever listens (DESIGN §2): sent once the settlement's transaction has committed."""

from __future__ import annotations

from django.dispatch import Signal

# An auction settled (exactly once; a repeated settle sends nothing). Arguments: auction_id.
auction_settled = Signal()
