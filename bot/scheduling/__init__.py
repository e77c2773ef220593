"""What the bot sends by itself: planning, attention rules, the scheduler loop."""
