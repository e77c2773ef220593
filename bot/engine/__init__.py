"""The engine: one command or tap in, one reply out, inside one error boundary."""
