"""What an answer does to a member's progress, and how a period closes."""
