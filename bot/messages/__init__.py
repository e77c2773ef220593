"""What members read: replies, markup, notices, boards, the weekly summary and picture."""
