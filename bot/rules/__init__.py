"""Pure rules of time and progress: periods, local time, slots, quiet hours, streaks."""
