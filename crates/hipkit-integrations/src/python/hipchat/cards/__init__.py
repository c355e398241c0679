"""Cards for notifications and messages (hipchat.cards.Card)."""
