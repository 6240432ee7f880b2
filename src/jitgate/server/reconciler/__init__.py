"""The composition of one reconciler tick: load state, plan, apply; result handlers, loop."""
